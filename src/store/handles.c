/*
 * handles.c -- the process-wide table of checked handles (statestore.h
 * convention 9, ss_handle_checks).
 *
 * A checked handle is a 64-bit token, never an address:
 *
 *     bits 63..60  type (1 provider, 2 store, 3 iterator; never 0, so a
 *                  token is never NULL, and on x86-64 and AArch64 never
 *                  a canonical address: dereferenced by mistake it
 *                  faults instead of reading memory)
 *     bits 59..32  slot index in the table
 *     bits 31..0   the slot's generation when the token was made
 *
 * A slot holds the object and a tag: (type << 32 | generation) while
 * live, (0 << 32 | next generation) while free.  A lookup accepts a token
 * only if the slot's tag equals the token's type and generation.
 *
 * Invariant 1: a released token is refused forever.  Release bumps the
 * slot's generation before the slot can be reused, and a slot whose
 * generation reaches 2^32 - 1 is retired (never reused) instead of
 * wrapping, so no later token of the slot can equal an old one.
 * Invariant 2: lookups take no lock.  Chunks of CHUNK slots are
 * allocated as the table grows and never moved or freed (not even when
 * checks are switched off), so a lookup that reads a chunk pointer may
 * use it at any time; chunk pointers and tags are published with release
 * stores and read with acquire loads.  Registration and release, which
 * change the free list, hold `lock`.
 * Invariant 3: both modes count live handles in ss_handle__state, in the
 * same word as the mode bit, so ss_handle_checks switches only from and
 * to zero handles: a registration racing a switch either is counted
 * first (the switch's compare-and-swap fails and sees it) or sees the new
 * mode.  Every live handle was therefore made in the current mode.
 *
 * Calls on one token from two threads at once (a use racing its free)
 * are not made safe here: the object may go between lookup and use.
 * Convention 4 still forbids them.
 *
 *   slot:  UNUSED --register--> LIVE(gen) --release--> FREE(gen + 1)
 *                                  ^                        |
 *                                  +-------register---------+
 *          (gen 2^32 - 1 released: RETIRED, never on the free list)
 */
#include "store/handles.h"

#include "util/error.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

_Atomic uint64_t ss_handle__state;

#define CHUNK 1024u
#define MAX_CHUNKS 16384u /* 16M live handles; the token has room for 256M */
#define NO_SLOT UINT32_MAX

typedef struct slot {
    _Atomic uint64_t tag;
    _Atomic(void *) obj;
    uint32_t next_free; /* under `lock` */
} slot;

static _Atomic(slot *) chunks[MAX_CHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t free_head = NO_SLOT; /* under `lock` */
static uint32_t used;                /* slots ever handed out, under `lock` */

static const char *const type_names[] = {"?", "provider", "store", "iterator"};
static const char *const articles[] = {"a", "a", "a", "an"};

static slot *
slot_at(uint32_t index)
{
    slot *c =
        atomic_load_explicit(&chunks[index / CHUNK], memory_order_acquire);

    return c ? &c[index % CHUNK] : NULL;
}

int
ss_handle_checks(int on)
{
    uint64_t cur = atomic_load(&ss_handle__state);
    uint64_t want = on ? SS_HANDLE__CHECKED : 0;

    if (on < 0 || (cur & SS_HANDLE__CHECKED) == want)
        return (cur & SS_HANDLE__CHECKED) != 0;
    if (on && sizeof(void *) < sizeof(uint64_t))
        return ss_error_set(SS_EINVAL, "ss_handle_checks: checked handles "
                                       "need 64-bit pointers");
    do {
        if (cur & ~SS_HANDLE__CHECKED)
            return ss_error_set(SS_EINVAL,
                                "ss_handle_checks(%d): %" PRIu64
                                " handles (providers, stores, iterators) "
                                "are live; switch before the first "
                                "provider is opened or after the last "
                                "is closed",
                                on, cur & ~SS_HANDLE__CHECKED);
    } while (!atomic_compare_exchange_weak(&ss_handle__state, &cur, want));
    return (cur & SS_HANDLE__CHECKED) != 0;
}

static int
take_slot(uint32_t *out)
{
    slot *c;

    if (free_head != NO_SLOT) {
        *out = free_head;
        free_head = slot_at(free_head)->next_free;
        return 0;
    }
    if (used == CHUNK * MAX_CHUNKS)
        return ss_error_set(SS_ENOMEM,
                            "checked handles: %u handles are live, "
                            "the most the table holds",
                            used);
    if (used % CHUNK == 0) {
        if (!(c = calloc(CHUNK, sizeof(*c))))
            return ss_error_set(SS_ENOMEM, "checked handles: out of memory "
                                           "growing the table");
        atomic_store_explicit(&chunks[used / CHUNK], c, memory_order_release);
    }
    *out = used++;
    return 0;
}

int
ss_handle__register(void **out, unsigned type, void *obj)
{
    uint64_t old = atomic_fetch_add(&ss_handle__state, 1);
    uint32_t index = 0, gen;
    slot *sl;
    int rc;

    if (!(old & SS_HANDLE__CHECKED)) {
        *out = obj;
        return 0;
    }
    pthread_mutex_lock(&lock);
    rc = take_slot(&index);
    pthread_mutex_unlock(&lock);
    if (rc < 0) {
        atomic_fetch_sub(&ss_handle__state, 1);
        *out = NULL;
        return rc;
    }
    /* The slot is ours alone until the tag below publishes it. */
    sl = slot_at(index);
    gen = (uint32_t)atomic_load_explicit(&sl->tag, memory_order_relaxed);
    atomic_store_explicit(&sl->obj, obj, memory_order_relaxed);
    atomic_store_explicit(&sl->tag, (uint64_t)type << 32 | gen,
                          memory_order_release);
    *out =
        (void *)(uintptr_t)((uint64_t)type << 60 | (uint64_t)index << 32 | gen);
    return 0;
}

void
ss_handle__release(void *handle)
{
    uint64_t token = (uint64_t)(uintptr_t)handle;
    uint32_t index = (uint32_t)(token >> 32) & 0x0fffffffu;
    uint32_t gen = (uint32_t)token;
    slot *sl;

    if (ss_handle__checked()) {
        sl = slot_at(index);
        pthread_mutex_lock(&lock);
        /* Invariant 1: the slot's next token differs from every earlier
         * one, or it has none (retired: the free tag matches no token). */
        atomic_store_explicit(&sl->tag, gen == UINT32_MAX ? gen : gen + 1u,
                              memory_order_release);
        if (gen != UINT32_MAX) {
            sl->next_free = free_head;
            free_head = index;
        }
        pthread_mutex_unlock(&lock);
    }
    atomic_fetch_sub(&ss_handle__state, 1);
}

int
ss_handle__lookup(void **obj_out, const void *handle, unsigned type,
                  const char *fn)
{
    uint64_t token = (uint64_t)(uintptr_t)handle;
    unsigned token_type = (unsigned)(token >> 60);
    uint32_t index = (uint32_t)(token >> 32) & 0x0fffffffu;
    slot *sl = NULL;

    *obj_out = NULL;
    if (!handle)
        return 0;
    if (token_type >= 1 && token_type <= 3 && index < CHUNK * MAX_CHUNKS)
        sl = slot_at(index);
    if (!sl)
        return ss_error_set(SS_EINVAL,
                            "%s: %p is not %s %s handle (checked "
                            "handles are on)",
                            fn, handle, articles[type], type_names[type]);
    if (token_type != type)
        return ss_error_set(SS_EINVAL, "%s: got %s %s handle, not %s %s handle",
                            fn, articles[token_type], type_names[token_type],
                            articles[type], type_names[type]);
    if (atomic_load_explicit(&sl->tag, memory_order_acquire) !=
        ((uint64_t)type << 32 | (uint32_t)token))
        return ss_error_set(SS_EINVAL,
                            "%s: %s handle is stale (freed or "
                            "closed)",
                            fn, type_names[type]);
    *obj_out = atomic_load_explicit(&sl->obj, memory_order_relaxed);
    return 0;
}
