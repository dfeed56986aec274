/*
 * memory_ops.c -- what a point operation and a micro-batch cost in the
 * memory provider, next to two bare open-addressing tables measured in the
 * same process on the same keys and values.
 *
 * Why two baselines.  "bare-indirect" (16 B slots: 64-bit hash tag plus a
 * pointer to a malloc'd record {u32 klen, u32 vlen, key, value}) is the
 * layout any store of variable-length keys needs, so store/bare-indirect
 * is the overhead of the library itself.  "bare-inline" (80 B slots
 * holding the 16 B key and 64 B value) is the fastest fixed-size layout,
 * so store/bare-inline is the honest distance to the hardware.  Both use
 * linear probing, a power-of-two capacity sized for load factor <= 0.8
 * after every insert the program makes, XXH3-64 over the key, backward
 * shift deletion (no tombstones), and slot arrays from mmap with
 * MADV_HUGEPAGE (the library does the same for its big tables; --no-thp
 * turns it off for the baselines).  Overwrites of equal length go in
 * place.
 *
 * What runs, for each key count N (keys 16 B, values 64 B):
 *   1. Fill: load version 0, put N keys in batches of 100k, commit each.
 *   2. Peak RSS, heap growth and ss_metrics.memory_bytes after the fill.
 *   3. On the latest version, loaded from memory: gets that hit (every key
 *      once, in a random order unlike the insert order), gets that miss,
 *      overwrites of random existing keys, inserts of new keys, removes of
 *      random existing keys.  Each write phase runs in its own batch that
 *      is then ABORTED and the version loaded again, so every phase starts
 *      from the same N keys.  Spot checks after each phase prove the
 *      writes happened and that abort undid them.
 *   4. Commit of exactly 10k changed keys into the N-key store, repeated;
 *      the median, with the commit_* split from ss_provider_metrics.
 *   5. The provider is closed and the heap trimmed; then each bare table
 *      is built and put through the same phases.  Baselines are built
 *      after the store is gone so that each one's RSS growth is its own.
 * Then, once: the per-batch workload of a stream processor.  A fresh
 * store of 10k rows (committed as version 1 and loaded from memory), a
 * batch of 10k puts with 0%, 50% or 100% of the keys already present,
 * and a commit; the same 10k puts into a bare table holding the same 10k
 * rows.  Medians over many batches.
 *
 * Every get checks the value's length and first word against what was
 * put, and sampled keys are compared in full; any mismatch or API error
 * makes the program exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "bench_util.h"
#include "statestore.h"

#define FILL_BATCH 100000u
#define COMMIT_CHANGES 10000u
#define BATCH_ROWS 10000u
#define SAMPLE_CHECKS 1000u
#define MAX_SIZES 8u
#define MAX_BENCH_LINES 512u
#define DIR_LEN 3072u /* leaves room for our file names */
#define PATH_LEN 4096u
#define LABEL_LEN 24u

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#define HAVE_MALLINFO2 1
#else
#define HAVE_MALLINFO2 0
#endif

/* ------------------------------------------------------------ utilities */

/* A "Name:   123 kB" field of /proc/self/status, in KiB (0 if absent). */
static uint64_t
status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(field);
    uint64_t kib = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kib = strtoull(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static uint64_t
max_rss_kib(void)
{
    struct rusage usage;

    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return 0;
    return (uint64_t)usage.ru_maxrss;
}

/* Reset VmHWM to the current RSS so each size reports its own peak. */
static void
reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");

    if (f == NULL)
        return;
    fputs("5", f);
    fclose(f);
}

/* Bytes malloc has handed out and not had back. */
static uint64_t
heap_in_use(void)
{
#if HAVE_MALLINFO2
    struct mallinfo2 info = mallinfo2();

    return (uint64_t)info.uordblks + (uint64_t)info.hblkhd;
#else
    return 0;
#endif
}

/* Give freed heap back to the kernel so the next phase's RSS growth is
 * its own and not a reuse of pages an earlier phase left behind. */
static void
trim_heap(void)
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
             struct FTW *walk)
{
    (void)st;
    (void)flag;
    (void)walk;
    return remove(path);
}

/* Only ever called on directories this program created. */
static void
remove_tree(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
        errno != ENOENT)
        fprintf(stderr, "memory_ops: could not remove %s: %s\n", path,
                strerror(errno));
}

static void *
map_slots(size_t bytes, int use_thp)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (use_thp)
        (void)madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

/* Smallest power of two keeping the load factor <= 0.8 at max_keys. */
static uint64_t
table_capacity(uint64_t max_keys)
{
    uint64_t capacity = 16;

    while (capacity * 4 < max_keys * 5)
        capacity <<= 1;
    return capacity;
}

static uint64_t
hash_key(const unsigned char *key, size_t len)
{
    return XXH3_64bits(key, len);
}

/* -------------------------------------------------- bare-indirect table */

typedef struct bare_record {
    uint32_t key_len;
    uint32_t value_len;
    unsigned char bytes[]; /* key, then value */
} bare_record;

typedef struct indirect_slot {
    uint64_t hash;
    bare_record *record; /* NULL: empty */
} indirect_slot;

typedef struct indirect_table {
    indirect_slot *slots;
    uint64_t mask;
    uint64_t count;
    size_t slots_bytes;
} indirect_table;

static int
indirect_create(indirect_table *t, uint64_t capacity, int use_thp)
{
    t->slots_bytes = (size_t)capacity * sizeof(indirect_slot);
    t->slots = map_slots(t->slots_bytes, use_thp);
    t->mask = capacity - 1;
    t->count = 0;
    return t->slots ? 0 : -1;
}

static void
indirect_destroy(indirect_table *t)
{
    uint64_t i;

    if (t->slots == NULL)
        return;
    for (i = 0; i <= t->mask; i++)
        free(t->slots[i].record);
    munmap(t->slots, t->slots_bytes);
    t->slots = NULL;
}

/* The slot holding `key`, or the empty slot where it would go. */
static indirect_slot *
indirect_lookup(const indirect_table *t, const unsigned char *key,
                size_t key_len, uint64_t hash)
{
    uint64_t i = hash & t->mask;
    indirect_slot *slot;

    for (;;) {
        slot = &t->slots[i];
        if (slot->record == NULL)
            return slot;
        if (slot->hash == hash && slot->record->key_len == key_len &&
            memcmp(slot->record->bytes, key, key_len) == 0)
            return slot;
        i = (i + 1) & t->mask;
    }
}

static int
indirect_get(const indirect_table *t, const unsigned char *key, size_t key_len,
             const unsigned char **value_out, size_t *len_out)
{
    indirect_slot *slot =
        indirect_lookup(t, key, key_len, hash_key(key, key_len));

    if (slot->record == NULL)
        return 0;
    *value_out = slot->record->bytes + key_len;
    *len_out = slot->record->value_len;
    return 1;
}

static int
indirect_put(indirect_table *t, const unsigned char *key, size_t key_len,
             const unsigned char *value, size_t value_len)
{
    uint64_t hash = hash_key(key, key_len);
    indirect_slot *slot = indirect_lookup(t, key, key_len, hash);
    bare_record *record = slot->record;

    if (record != NULL && record->value_len == value_len) {
        memcpy(record->bytes + key_len, value, value_len);
        return 0;
    }
    if (record == NULL && (t->count + 1) * 10 > (t->mask + 1) * 9) {
        fprintf(stderr, "memory_ops: bare-indirect table over 90%% full\n");
        return -1;
    }
    free(record);
    record = malloc(sizeof *record + key_len + value_len);
    if (record == NULL) {
        fprintf(stderr, "memory_ops: bare-indirect: out of memory\n");
        return -1;
    }
    record->key_len = (uint32_t)key_len;
    record->value_len = (uint32_t)value_len;
    memcpy(record->bytes, key, key_len);
    memcpy(record->bytes + key_len, value, value_len);
    if (slot->record == NULL)
        t->count++;
    slot->hash = hash;
    slot->record = record;
    return 0;
}

static void
indirect_remove(indirect_table *t, const unsigned char *key, size_t key_len)
{
    indirect_slot *slot =
        indirect_lookup(t, key, key_len, hash_key(key, key_len));
    uint64_t hole, next, home;

    if (slot->record == NULL)
        return;
    free(slot->record);
    hole = (uint64_t)(slot - t->slots);
    next = hole;
    /* Backward shift: an entry may fill the hole unless its home slot
     * lies cyclically after the hole, where a lookup would not reach it. */
    for (;;) {
        next = (next + 1) & t->mask;
        if (t->slots[next].record == NULL)
            break;
        home = t->slots[next].hash & t->mask;
        if (((next - home) & t->mask) >= ((next - hole) & t->mask)) {
            t->slots[hole] = t->slots[next];
            hole = next;
        }
    }
    t->slots[hole].record = NULL;
    t->count--;
}

/* ---------------------------------------------------- bare-inline table */

typedef struct inline_slot {
    uint64_t k0, k1; /* both 0: empty */
    unsigned char value[VALUE_LEN];
} inline_slot;

_Static_assert(sizeof(inline_slot) == 80, "inline slot is 80 bytes");

typedef struct inline_table {
    inline_slot *slots;
    uint64_t mask;
    uint64_t count;
    size_t slots_bytes;
} inline_table;

static int
inline_create(inline_table *t, uint64_t capacity, int use_thp)
{
    t->slots_bytes = (size_t)capacity * sizeof(inline_slot);
    t->slots = map_slots(t->slots_bytes, use_thp);
    t->mask = capacity - 1;
    t->count = 0;
    return t->slots ? 0 : -1;
}

static void
inline_destroy(inline_table *t)
{
    if (t->slots != NULL)
        munmap(t->slots, t->slots_bytes);
    t->slots = NULL;
}

static inline_slot *
inline_lookup(const inline_table *t, const unsigned char *key)
{
    uint64_t k0 = load_word(key), k1 = load_word(key + 8);
    uint64_t i = hash_key(key, KEY_LEN) & t->mask;
    inline_slot *slot;

    for (;;) {
        slot = &t->slots[i];
        if ((slot->k0 == k0 && slot->k1 == k1) || (slot->k0 | slot->k1) == 0)
            return slot;
        i = (i + 1) & t->mask;
    }
}

static int
inline_get(const inline_table *t, const unsigned char *key,
           const unsigned char **value_out, size_t *len_out)
{
    inline_slot *slot = inline_lookup(t, key);

    if ((slot->k0 | slot->k1) == 0)
        return 0;
    *value_out = slot->value;
    *len_out = VALUE_LEN;
    return 1;
}

static int
inline_put(inline_table *t, const unsigned char *key,
           const unsigned char *value)
{
    inline_slot *slot = inline_lookup(t, key);

    if ((slot->k0 | slot->k1) == 0) {
        if ((load_word(key) | load_word(key + 8)) == 0 ||
            (t->count + 1) * 10 > (t->mask + 1) * 9) {
            fprintf(stderr, "memory_ops: bare-inline: zero key or table "
                            "over 90%% full\n");
            return -1;
        }
        slot->k0 = load_word(key);
        slot->k1 = load_word(key + 8);
        t->count++;
    }
    memcpy(slot->value, value, VALUE_LEN);
    return 0;
}

static void
inline_remove(inline_table *t, const unsigned char *key)
{
    inline_slot *slot = inline_lookup(t, key);
    uint64_t hole, next, home;
    unsigned char moved_key[KEY_LEN];

    if ((slot->k0 | slot->k1) == 0)
        return;
    hole = (uint64_t)(slot - t->slots);
    next = hole;
    for (;;) {
        next = (next + 1) & t->mask;
        if ((t->slots[next].k0 | t->slots[next].k1) == 0)
            break;
        /* No stored hash in this layout: rehash to find the home slot. */
        memcpy(moved_key, &t->slots[next].k0, 8);
        memcpy(moved_key + 8, &t->slots[next].k1, 8);
        home = hash_key(moved_key, KEY_LEN) & t->mask;
        if (((next - home) & t->mask) >= ((next - hole) & t->mask)) {
            t->slots[hole] = t->slots[next];
            hole = next;
        }
    }
    t->slots[hole].k0 = 0;
    t->slots[hole].k1 = 0;
    t->count--;
}

/* ------------------------------------------ one interface for all three */

typedef enum impl_kind { IMPL_STORE, IMPL_INDIRECT, IMPL_INLINE } impl_kind;
#define IMPL_COUNT 3

static const char *const impl_names[IMPL_COUNT] = {"store", "bare-indirect",
                                                   "bare-inline"};

typedef struct target {
    impl_kind kind;
    ss_store *store;
    indirect_table *indirect;
    inline_table *inlined;
} target;

/* A list of key numbers: explicit, or first, first+1, ... when NULL. */
typedef struct key_list {
    const uint32_t *indexes;
    uint32_t first;
    size_t count;
} key_list;

static uint32_t
key_at(const key_list *keys, size_t i)
{
    return keys->indexes ? keys->indexes[i] : keys->first + (uint32_t)i;
}

static int
store_failed(int rc, const char *what, uint32_t key_index)
{
    fprintf(stderr, "memory_ops: store %s (key %" PRIu32 "): %s: %s\n", what,
            key_index, ss_strerror(rc), ss_error_last());
    return -1;
}

/* 1 found, 0 absent, negative on a store error. */
static int
target_get(const target *t, const unsigned char *key,
           const unsigned char **value_out, size_t *len_out)
{
    ss_slice key_slice = {key, KEY_LEN};
    ss_slice value;
    int rc;

    switch (t->kind) {
    case IMPL_STORE:
        rc = ss_store_get(&value, t->store, SS_CF_DEFAULT, key_slice);
        if (rc == SS_ENOTFOUND)
            return 0;
        if (rc < 0)
            return rc;
        *value_out = value.data;
        *len_out = value.len;
        return 1;
    case IMPL_INDIRECT:
        return indirect_get(t->indirect, key, KEY_LEN, value_out, len_out);
    default: return inline_get(t->inlined, key, value_out, len_out);
    }
}

static int
target_put(const target *t, const unsigned char *key,
           const unsigned char *value)
{
    ss_slice key_slice = {key, KEY_LEN};
    ss_slice value_slice = {value, VALUE_LEN};

    switch (t->kind) {
    case IMPL_STORE:
        return ss_store_put(t->store, SS_CF_DEFAULT, key_slice, value_slice);
    case IMPL_INDIRECT:
        return indirect_put(t->indirect, key, KEY_LEN, value, VALUE_LEN);
    default: return inline_put(t->inlined, key, value);
    }
}

static int
target_remove(const target *t, const unsigned char *key)
{
    ss_slice key_slice = {key, KEY_LEN};

    switch (t->kind) {
    case IMPL_STORE: return ss_store_remove(t->store, SS_CF_DEFAULT, key_slice);
    case IMPL_INDIRECT: indirect_remove(t->indirect, key, KEY_LEN); return 0;
    default: inline_remove(t->inlined, key); return 0;
    }
}

static int
op_failed(const target *t, int rc, const char *what, uint32_t key_index)
{
    if (t->kind == IMPL_STORE)
        return store_failed(rc, what, key_index);
    fprintf(stderr, "memory_ops: %s %s failed (key %" PRIu32 ")\n",
            impl_names[t->kind], what, key_index);
    return -1;
}

/*
 * Timed gets.  Each hit's length and first word are checked against
 * generation `gen`, which also makes the value bytes part of the result
 * so no layout gets credit for returning a pointer it never followed.
 */
static int
timed_gets(double *ns_out, const target *t, const key_list *keys, unsigned gen,
           int expect_hit)
{
    unsigned char key[KEY_LEN];
    const unsigned char *value = NULL;
    size_t len = 0, i, found = 0, wrong = 0;
    uint64_t checksum = 0, word, start;
    uint32_t key_index;
    int rc;

    start = now_ns();
    for (i = 0; i < keys->count; i++) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_get(t, key, &value, &len);
        if (rc < 0)
            return op_failed(t, rc, "get", key_index);
        if (rc == 0)
            continue;
        found++;
        if (len != VALUE_LEN) {
            wrong++;
            continue;
        }
        word = load_word(value);
        checksum += word;
        if (word != load_word(value_for(key_index, gen)))
            wrong++;
    }
    *ns_out = (double)(now_ns() - start) / (double)keys->count;
    result_sink += checksum;
    if (wrong != 0 || found != (expect_hit ? keys->count : 0)) {
        fprintf(stderr,
                "memory_ops: %s gets: %zu of %zu found (expected "
                "%s), %zu wrong values\n",
                impl_names[t->kind], found, keys->count,
                expect_hit ? "all" : "none", wrong);
        return -1;
    }
    return 0;
}

static int
timed_puts(double *ns_out, const target *t, const key_list *keys, unsigned gen)
{
    unsigned char key[KEY_LEN];
    uint64_t start;
    uint32_t key_index;
    size_t i;
    int rc;

    start = now_ns();
    for (i = 0; i < keys->count; i++) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_put(t, key, value_for(key_index, gen));
        if (rc < 0)
            return op_failed(t, rc, "put", key_index);
    }
    *ns_out = (double)(now_ns() - start) / (double)keys->count;
    return 0;
}

static int
timed_removes(double *ns_out, const target *t, const key_list *keys)
{
    unsigned char key[KEY_LEN];
    uint64_t start;
    uint32_t key_index;
    size_t i;
    int rc;

    start = now_ns();
    for (i = 0; i < keys->count; i++) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_remove(t, key);
        if (rc < 0)
            return op_failed(t, rc, "remove", key_index);
    }
    *ns_out = (double)(now_ns() - start) / (double)keys->count;
    return 0;
}

/* Untimed: up to SAMPLE_CHECKS keys spread over the list, full compare. */
static int
check_sample(const target *t, const key_list *keys, unsigned gen,
             int expect_present, const char *when)
{
    unsigned char key[KEY_LEN];
    const unsigned char *value = NULL;
    size_t len = 0, i, step;
    uint32_t key_index;
    int rc;

    step = keys->count / SAMPLE_CHECKS + 1;
    for (i = 0; i < keys->count; i += step) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_get(t, key, &value, &len);
        if (rc < 0)
            return op_failed(t, rc, "get", key_index);
        if (rc != expect_present ||
            (rc == 1 &&
             (len != VALUE_LEN ||
              memcmp(value, value_for(key_index, gen), VALUE_LEN) != 0))) {
            fprintf(stderr,
                    "memory_ops: %s %s: key %" PRIu32 " is %s "
                    "(expected %s, generation %u)\n",
                    impl_names[t->kind], when, key_index,
                    rc == 0 ? "absent" : "present with another value",
                    expect_present ? "present" : "absent", gen);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- bench state */

typedef struct bench_line {
    char name[96];
    double value;
    int decimals;
    char unit[8];
} bench_line;

typedef struct bench_ctx {
    const char *compression;
    char dir[DIR_LEN];
    int quick;
    int use_thp;
    size_t min_ops;
    size_t get_passes;
    size_t commit_reps;
    size_t batch_reps;
    bench_line lines[MAX_BENCH_LINES];
    size_t line_count;
    /* For the commit ratio printed last: N-key store vs 10k-row store. */
    size_t size_count;
    char size_labels[MAX_SIZES][LABEL_LEN];
    double commit10k_ms[MAX_SIZES];
    double get_ratio[MAX_SIZES][IMPL_COUNT];
    double put_ratio[MAX_SIZES][IMPL_COUNT];
    double batch_commit10k_ms;
    double batch_put_ratio[3][IMPL_COUNT];
    double batch_total_ratio[3][IMPL_COUNT];
} bench_ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void
bench_add(bench_ctx *ctx, double value, int decimals, const char *unit,
          const char *name_format, ...)
{
    bench_line *line;
    va_list args;

    if (ctx->line_count == MAX_BENCH_LINES)
        return;
    line = &ctx->lines[ctx->line_count++];
    va_start(args, name_format);
    vsnprintf(line->name, sizeof line->name, name_format, args);
    va_end(args);
    line->value = value;
    line->decimals = decimals;
    snprintf(line->unit, sizeof line->unit, "%s", unit);
}

static int
open_provider(ss_provider **out, const char *path, const char *compression)
{
    char compression_option[64];
    const char *options[5];
    int rc;

    snprintf(compression_option, sizeof compression_option, "compression=%s",
             compression);
    options[0] = "provider=memory";
    options[1] = compression_option;
    /* Snapshots and file deletion would land in the middle of timed
     * phases; this benchmark is about the per-batch path only. */
    options[2] = "min_deltas_for_snapshot=1000000";
    options[3] = "max_versions_in_memory=2";
    options[4] = "maintenance_interval_ms=0";
    rc = ss_provider_open(out, path, options, 5);
    if (rc < 0) {
        fprintf(stderr, "memory_ops: open %s: %s: %s\n", path, ss_strerror(rc),
                ss_error_last());
        return -1;
    }
    return 0;
}

static int
provider_metrics(ss_metrics *out, ss_provider *provider)
{
    int rc;

    memset(out, 0, sizeof *out);
    out->version = SS_METRICS_VERSION;
    rc = ss_provider_metrics(out, provider);
    if (rc < 0)
        return store_failed(rc, "metrics", 0);
    return 0;
}

/* ------------------------------------------------------ one key count N */

typedef enum op_kind {
    OP_GET_HIT,
    OP_GET_MISS,
    OP_PUT_OVERWRITE,
    OP_PUT_INSERT,
    OP_REMOVE
} op_kind;
#define OP_COUNT 5

static const char *const op_labels[OP_COUNT] = {
    "get (hit)", "get (miss)", "put (overwrite)", "put (insert new)", "remove"};
static const char *const op_bench_names[OP_COUNT] = {"get", "get_miss", "put",
                                                     "put_insert", "remove"};

typedef struct size_run {
    uint64_t n;
    char label[LABEL_LEN];
    key_list ops[OP_COUNT];
    const uint32_t *perm;
    uint64_t capacity; /* bare tables' slots */
    double ns[IMPL_COUNT][OP_COUNT];
    double cold_ns[IMPL_COUNT][OP_COUNT]; /* first pass, heap growing */
    double fill_ns[IMPL_COUNT]; /* per key; store includes its commits */
    /* Store fill. */
    double fill_seconds, fill_put_ns, fill_commit_seconds;
    size_t fill_commits;
    /* Memory (bytes) after the fill / build. */
    uint64_t store_memory_bytes, store_heap_growth, store_rss_growth;
    uint64_t store_peak_rss, process_max_rss, rss_after_close;
    uint64_t versions_in_memory;
    uint64_t bare_bytes[IMPL_COUNT], bare_rss_growth[IMPL_COUNT];
    /* Store load, abort, commit. */
    double load_us, abort_ms[OP_COUNT];
    double commit_ms, commit_put_ns;
    double commit_total_ms, commit_collect_ms, commit_encode_ms;
    double commit_write_ms, commit_sync_ms, metric_load_us;
    uint64_t commit_records, commit_bytes;
} size_run;

static int
load_version(ss_store **out, double *us_out, ss_provider *provider,
             uint64_t version)
{
    uint64_t start = now_ns();
    int rc = ss_provider_load(out, provider, version);

    if (rc < 0)
        return store_failed(rc, "load", 0);
    if (us_out != NULL)
        *us_out = (double)(now_ns() - start) / 1e3;
    return 0;
}

static int
abort_and_reload(target *t, double *abort_ms_out, double *load_us_out,
                 ss_provider *provider, uint64_t version)
{
    uint64_t start = now_ns();
    int rc = ss_store_abort(t->store);

    if (rc < 0)
        return store_failed(rc, "abort", 0);
    *abort_ms_out = (double)(now_ns() - start) / 1e6;
    ss_store_free(t->store);
    t->store = NULL;
    return load_version(&t->store, load_us_out, provider, version);
}

static int
store_fill(size_run *r, ss_provider *provider, uint64_t *version_out)
{
    key_list batch;
    ss_store *store = NULL;
    uint64_t version = 0, start, put_ns = 0, commit_ns = 0, t0, t1, t2;
    double ns;
    int rc;

    start = now_ns();
    r->fill_commits = 0;
    for (batch.first = 0; batch.first < r->n; batch.first += FILL_BATCH) {
        batch.indexes = NULL;
        batch.count = r->n - batch.first < FILL_BATCH
                          ? (size_t)(r->n - batch.first)
                          : FILL_BATCH;
        if (load_version(&store, NULL, provider, version) < 0)
            return -1;
        t0 = now_ns();
        {
            target t = {IMPL_STORE, store, NULL, NULL};

            if (timed_puts(&ns, &t, &batch, 0) < 0)
                goto fail;
        }
        t1 = now_ns();
        rc = ss_store_commit(&version, store);
        if (rc < 0) {
            store_failed(rc, "commit", 0);
            goto fail;
        }
        t2 = now_ns();
        ss_store_free(store);
        store = NULL;
        put_ns += t1 - t0;
        commit_ns += t2 - t1;
        r->fill_commits++;
    }
    r->fill_seconds = (double)(now_ns() - start) / 1e9;
    r->fill_ns[IMPL_STORE] = r->fill_seconds * 1e9 / (double)r->n;
    r->fill_put_ns = (double)put_ns / (double)r->n;
    r->fill_commit_seconds = (double)commit_ns / 1e9;
    *version_out = version;
    return 0;
fail:
    ss_store_free(store);
    return -1;
}

/* What a write phase leaves, and what its abort must restore. */
typedef struct write_expect {
    unsigned gen_after;
    int present_after;
    int present_after_abort;
} write_expect;

static int
timed_write(double *ns_out, const target *t, const key_list *keys, op_kind op)
{
    if (op == OP_REMOVE)
        return timed_removes(ns_out, t, keys);
    return timed_puts(ns_out, t, keys, op == OP_PUT_OVERWRITE ? 1 : 0);
}

/*
 * One store write phase, run twice, each pass in its own batch that is
 * aborted.  The first pass grows the heap, and on this VM first-touch
 * page faults cost ~2 ns per byte, so it is reported apart as "cold"; the
 * second gets whatever the allocator kept of what abort freed, as a stream
 * processor's next batch gets what a dropped version freed.
 */
static int
store_write_phase(size_run *r, target *t, ss_provider *provider,
                  uint64_t version, op_kind op)
{
    static const write_expect expects[OP_COUNT] = {
        {0, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 1, 0}, {0, 0, 1}};
    const write_expect *e = &expects[op];
    const key_list *keys = &r->ops[op];
    double ns[2], load_us;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        if (timed_write(&ns[pass], t, keys, op) < 0 ||
            check_sample(t, keys, e->gen_after, e->present_after,
                         "after the write phase") < 0 ||
            abort_and_reload(t, &r->abort_ms[op], &load_us, provider, version) <
                0 ||
            check_sample(t, keys, 0, e->present_after_abort, "after abort") < 0)
            return -1;
    }
    r->cold_ns[IMPL_STORE][op] = ns[0];
    r->ns[IMPL_STORE][op] = ns[1];
    return 0;
}

static int
store_point_ops(size_run *r, const bench_ctx *ctx, target *t,
                ss_provider *provider, uint64_t version)
{
    double passes[8];
    size_t p;

    for (p = 0; p < ctx->get_passes; p++)
        if (timed_gets(&passes[p], t, &r->ops[OP_GET_HIT], 0, 1) < 0)
            return -1;
    r->ns[IMPL_STORE][OP_GET_HIT] = median(passes, ctx->get_passes);
    for (p = 0; p < ctx->get_passes; p++)
        if (timed_gets(&passes[p], t, &r->ops[OP_GET_MISS], 0, 0) < 0)
            return -1;
    r->ns[IMPL_STORE][OP_GET_MISS] = median(passes, ctx->get_passes);
    if (store_write_phase(r, t, provider, version, OP_PUT_OVERWRITE) < 0 ||
        store_write_phase(r, t, provider, version, OP_PUT_INSERT) < 0 ||
        store_write_phase(r, t, provider, version, OP_REMOVE) < 0)
        return -1;
    return 0;
}

/* Commit exactly COMMIT_CHANGES overwrites into the N-key store. */
static int
store_commits(size_run *r, const bench_ctx *ctx, target *t,
              ss_provider *provider, uint64_t *version)
{
    double commit_ms[16], put_ns[16], load_us[16], total[16], collect[16];
    double encode[16], write_ms[16], sync[16], metric_load[16];
    ss_metrics m;
    key_list changes;
    uint64_t start;
    size_t rep;
    int rc;

    changes.first = 0;
    changes.count = COMMIT_CHANGES;
    for (rep = 0; rep < ctx->commit_reps; rep++) {
        changes.indexes =
            r->perm + (rep * COMMIT_CHANGES) % (r->n - COMMIT_CHANGES + 1);
        if (timed_puts(&put_ns[rep], t, &changes, 2 + (unsigned)rep) < 0)
            return -1;
        start = now_ns();
        rc = ss_store_commit(version, t->store);
        if (rc < 0)
            return store_failed(rc, "commit", 0);
        commit_ms[rep] = (double)(now_ns() - start) / 1e6;
        if (provider_metrics(&m, provider) < 0)
            return -1;
        total[rep] = (double)m.commit_total_ns / 1e6;
        collect[rep] = (double)m.commit_collect_ns / 1e6;
        encode[rep] = (double)m.commit_encode_ns / 1e6;
        write_ms[rep] = (double)m.commit_write_ns / 1e6;
        sync[rep] = (double)m.commit_sync_ns / 1e6;
        r->commit_records = m.commit_records;
        r->commit_bytes = m.commit_bytes;
        ss_store_free(t->store);
        t->store = NULL;
        if (load_version(&t->store, &load_us[rep], provider, *version) < 0 ||
            provider_metrics(&m, provider) < 0)
            return -1;
        metric_load[rep] = (double)m.load_ns / 1e3;
        if (m.num_keys != r->n) {
            fprintf(stderr,
                    "memory_ops: %" PRIu64 " keys after commit, "
                    "expected %" PRIu64 "\n",
                    m.num_keys, r->n);
            return -1;
        }
    }
    if (check_sample(t, &changes, 2 + (unsigned)(ctx->commit_reps - 1), 1,
                     "after commit and reload") < 0)
        return -1;
    r->commit_ms = median(commit_ms, ctx->commit_reps);
    r->commit_put_ns = median(put_ns, ctx->commit_reps);
    r->load_us = median(load_us, ctx->commit_reps);
    r->metric_load_us = median(metric_load, ctx->commit_reps);
    r->commit_total_ms = median(total, ctx->commit_reps);
    r->commit_collect_ms = median(collect, ctx->commit_reps);
    r->commit_encode_ms = median(encode, ctx->commit_reps);
    r->commit_write_ms = median(write_ms, ctx->commit_reps);
    r->commit_sync_ms = median(sync, ctx->commit_reps);
    return 0;
}

static int
run_store(size_run *r, const bench_ctx *ctx)
{
    char path[PATH_LEN];
    ss_provider *provider = NULL;
    target t = {IMPL_STORE, NULL, NULL, NULL};
    ss_metrics m;
    uint64_t version, rss_before, heap_before;
    int result = -1;

    snprintf(path, sizeof path, "%s/store-%s", ctx->dir, r->label);
    trim_heap();
    reset_peak_rss();
    rss_before = status_kib("VmRSS") * 1024u;
    heap_before = heap_in_use();
    if (open_provider(&provider, path, ctx->compression) < 0)
        goto out;
    fprintf(stderr, "memory_ops: %s: filling the store\n", r->label);
    if (store_fill(r, provider, &version) < 0 ||
        provider_metrics(&m, provider) < 0)
        goto out;
    if (m.num_keys != r->n) {
        fprintf(stderr,
                "memory_ops: store holds %" PRIu64 " keys after "
                "the fill, expected %" PRIu64 "\n",
                m.num_keys, r->n);
        goto out;
    }
    r->store_memory_bytes = m.memory_bytes;
    r->versions_in_memory = m.versions_in_memory;
    r->store_heap_growth = heap_in_use() - heap_before;
    r->store_rss_growth = status_kib("VmRSS") * 1024u - rss_before;
    r->store_peak_rss = status_kib("VmHWM") * 1024u;
    r->process_max_rss = max_rss_kib() * 1024u;

    fprintf(stderr, "memory_ops: %s: store point operations\n", r->label);
    if (load_version(&t.store, NULL, provider, version) < 0 ||
        check_sample(&t, &r->ops[OP_GET_HIT], 0, 1, "after fill") < 0 ||
        store_point_ops(r, ctx, &t, provider, version) < 0 ||
        store_commits(r, ctx, &t, provider, &version) < 0)
        goto out;
    result = 0;
out:
    ss_store_free(t.store);
    ss_provider_close(provider);
    remove_tree(path);
    trim_heap();
    r->rss_after_close = status_kib("VmRSS") * 1024u;
    return result;
}

static int
run_baseline(size_run *r, const bench_ctx *ctx, impl_kind kind)
{
    indirect_table indirect = {NULL, 0, 0, 0};
    inline_table inlined = {NULL, 0, 0, 0};
    target t = {kind, NULL, &indirect, &inlined};
    key_list all = {NULL, 0, 0};
    double passes[8], ns;
    uint64_t rss_before, heap_before;
    size_t p;
    int result = -1, rc;

    fprintf(stderr, "memory_ops: %s: %s\n", r->label, impl_names[kind]);
    trim_heap();
    rss_before = status_kib("VmRSS") * 1024u;
    heap_before = heap_in_use();
    if (kind == IMPL_INDIRECT)
        rc = indirect_create(&indirect, r->capacity, ctx->use_thp);
    else
        rc = inline_create(&inlined, r->capacity, ctx->use_thp);
    if (rc < 0) {
        fprintf(stderr, "memory_ops: cannot map %s slots\n", impl_names[kind]);
        return -1;
    }
    all.count = r->n;
    if (timed_puts(&r->fill_ns[kind], &t, &all, 0) < 0)
        goto out;
    r->bare_rss_growth[kind] = status_kib("VmRSS") * 1024u - rss_before;
    if (kind == IMPL_INDIRECT)
        r->bare_bytes[kind] =
            indirect.slots_bytes + (heap_in_use() - heap_before);
    else
        r->bare_bytes[kind] = inlined.slots_bytes;
    if (check_sample(&t, &all, 0, 1, "after fill") < 0)
        goto out;

    for (p = 0; p < ctx->get_passes; p++)
        if (timed_gets(&passes[p], &t, &r->ops[OP_GET_HIT], 0, 1) < 0)
            goto out;
    r->ns[kind][OP_GET_HIT] = median(passes, ctx->get_passes);
    for (p = 0; p < ctx->get_passes; p++)
        if (timed_gets(&passes[p], &t, &r->ops[OP_GET_MISS], 0, 0) < 0)
            goto out;
    r->ns[kind][OP_GET_MISS] = median(passes, ctx->get_passes);
    if (timed_puts(&r->ns[kind][OP_PUT_OVERWRITE], &t,
                   &r->ops[OP_PUT_OVERWRITE], 1) < 0 ||
        check_sample(&t, &r->ops[OP_PUT_OVERWRITE], 1, 1, "after overwrite") <
            0)
        goto out;
    /* Inserts twice, like the store's (cold, then steady state), each
     * taken out again untimed so that the timed removes, like the store's,
     * start from exactly N keys. */
    for (p = 0; p < 2; p++) {
        if (timed_puts(p == 0 ? &r->cold_ns[kind][OP_PUT_INSERT]
                              : &r->ns[kind][OP_PUT_INSERT],
                       &t, &r->ops[OP_PUT_INSERT], 0) < 0 ||
            check_sample(&t, &r->ops[OP_PUT_INSERT], 0, 1, "after insert") <
                0 ||
            timed_removes(&ns, &t, &r->ops[OP_PUT_INSERT]) < 0 ||
            check_sample(&t, &r->ops[OP_PUT_INSERT], 0, 0,
                         "after removing inserts") < 0)
            goto out;
    }
    if (timed_removes(&r->ns[kind][OP_REMOVE], &t, &r->ops[OP_REMOVE]) < 0 ||
        check_sample(&t, &r->ops[OP_REMOVE], 0, 0, "after remove") < 0)
        goto out;
    result = 0;
out:
    indirect_destroy(&indirect);
    inline_destroy(&inlined);
    return result;
}

static double
mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static void
print_size_report(size_run *r, bench_ctx *ctx)
{
    const char *label = r->label;
    double n = (double)r->n, ratio_ind, ratio_inl;
    int op;

    printf("\n== N = %s keys (%" PRIu64 "): fill\n", label, r->n);
    printf("store: %zu commit(s) of <= %u keys: %.2f s, %.1f ns/key "
           "(puts %.1f ns/key, commits %.2f s in all)\n",
           r->fill_commits, FILL_BATCH, r->fill_seconds, r->fill_ns[IMPL_STORE],
           r->fill_put_ns, r->fill_commit_seconds);
    printf("bare-indirect: %.1f ns/key, bare-inline: %.1f ns/key "
           "(presized inserts, nothing durable)\n",
           r->fill_ns[IMPL_INDIRECT], r->fill_ns[IMPL_INLINE]);

    printf("\n== N = %s: point operations, ns/op\n", label);
    printf("%-17s %9s %8s %8s %8s %10s %10s\n", "operation", "ops", "store",
           "bare-ind", "bare-inl", "store/ind", "store/inl");
    for (op = 0; op < OP_COUNT; op++) {
        ratio_ind = r->ns[IMPL_STORE][op] / r->ns[IMPL_INDIRECT][op];
        ratio_inl = r->ns[IMPL_STORE][op] / r->ns[IMPL_INLINE][op];
        printf("%-17s %9zu %8.1f %8.1f %8.1f %9.2fx %9.2fx\n", op_labels[op],
               r->ops[op].count, r->ns[IMPL_STORE][op],
               r->ns[IMPL_INDIRECT][op], r->ns[IMPL_INLINE][op], ratio_ind,
               ratio_inl);
        bench_add(ctx, r->ns[IMPL_STORE][op], 1, "ns", "memory.%s.%s.ns", label,
                  op_bench_names[op]);
        bench_add(ctx, ratio_ind, 2, "x", "memory.%s.%s.ratio_indirect", label,
                  op_bench_names[op]);
        bench_add(ctx, ratio_inl, 2, "x", "memory.%s.%s.ratio_inline", label,
                  op_bench_names[op]);
        bench_add(ctx, r->ns[IMPL_INDIRECT][op], 1, "ns",
                  "memory.%s.bare_indirect.%s.ns", label, op_bench_names[op]);
        bench_add(ctx, r->ns[IMPL_INLINE][op], 1, "ns",
                  "memory.%s.bare_inline.%s.ns", label, op_bench_names[op]);
    }
    printf("store     = memory provider, version loaded from memory; each "
           "write phase is\n            one batch, aborted afterwards "
           "(abort ms: overwrite %.1f,\n            insert %.1f, remove "
           "%.1f); gets: median of %zu passes\n",
           r->abort_ms[OP_PUT_OVERWRITE], r->abort_ms[OP_PUT_INSERT],
           r->abort_ms[OP_REMOVE], ctx->get_passes);
    printf("          writes: second pass of each phase; the first pass, "
           "while the heap\n            grows (page faults), took: "
           "overwrite %.1f, insert %.1f,\n            remove %.1f ns "
           "(bare-indirect insert %.1f, bare-inline %.1f)\n",
           r->cold_ns[IMPL_STORE][OP_PUT_OVERWRITE],
           r->cold_ns[IMPL_STORE][OP_PUT_INSERT],
           r->cold_ns[IMPL_STORE][OP_REMOVE],
           r->cold_ns[IMPL_INDIRECT][OP_PUT_INSERT],
           r->cold_ns[IMPL_INLINE][OP_PUT_INSERT]);
    for (op = OP_PUT_OVERWRITE; op < OP_COUNT; op++)
        bench_add(ctx, r->cold_ns[IMPL_STORE][op], 1, "ns",
                  "memory.%s.%s.cold_ns", label, op_bench_names[op]);
    printf("bare-ind  = bare-indirect: 16 B slots {64-bit hash, pointer} -> "
           "malloc'd record\n            {u32 klen, u32 vlen, key, value}; "
           "layout of any var-length store\n");
    printf("bare-inl  = bare-inline: 80 B slots {16 B key, 64 B value}; "
           "fastest fixed-size layout\n");
    printf("both bare = linear probing, 2^%d slots (load %.2f at N), XXH3-64,"
           " THP %s\n",
           __builtin_ctzll(r->capacity), n / (double)r->capacity,
           ctx->use_thp ? "madvise" : "off");

    printf("\n== N = %s: memory after fill\n", label);
    printf("%-40s %10s %8s\n", "", "MiB", "B/key");
    printf("%-40s %10.1f %8.1f\n", "store ss_metrics.memory_bytes",
           mib(r->store_memory_bytes), (double)r->store_memory_bytes / n);
    printf("%-40s %10.1f %8.1f\n", "store heap growth (mallinfo2)",
           mib(r->store_heap_growth), (double)r->store_heap_growth / n);
    printf("%-40s %10.1f %8.1f\n", "store RSS growth (VmRSS)",
           mib(r->store_rss_growth), (double)r->store_rss_growth / n);
    printf("%-40s %10.1f\n", "peak RSS during store fill (VmHWM)",
           mib(r->store_peak_rss));
    printf("%-40s %10.1f\n", "process peak so far (ru_maxrss)",
           mib(r->process_max_rss));
    printf("%-40s %10.1f\n", "RSS after closing the store, trimmed",
           mib(r->rss_after_close));
    printf("%-40s %10.1f %8.1f\n", "bare-indirect slots + heap growth",
           mib(r->bare_bytes[IMPL_INDIRECT]),
           (double)r->bare_bytes[IMPL_INDIRECT] / n);
    printf("%-40s %10.1f %8.1f\n", "bare-indirect RSS growth",
           mib(r->bare_rss_growth[IMPL_INDIRECT]),
           (double)r->bare_rss_growth[IMPL_INDIRECT] / n);
    printf("%-40s %10.1f %8.1f\n", "bare-inline slots",
           mib(r->bare_bytes[IMPL_INLINE]),
           (double)r->bare_bytes[IMPL_INLINE] / n);
    printf("%-40s %10.1f %8.1f\n", "bare-inline RSS growth",
           mib(r->bare_rss_growth[IMPL_INLINE]),
           (double)r->bare_rss_growth[IMPL_INLINE] / n);
    printf("(store measured first, then closed and the heap trimmed; each "
           "bare table is\n built afterwards, so each RSS growth is that "
           "phase's own; versions in memory: %" PRIu64 ")\n",
           r->versions_in_memory);

    printf("\n== N = %s: commit of %u changed keys (overwrites), median of "
           "%zu\n",
           label, COMMIT_CHANGES, ctx->commit_reps);
    printf("puts before the commit       %8.1f ns/row\n", r->commit_put_ns);
    printf("ss_store_commit (wall)       %8.3f ms\n", r->commit_ms);
    printf("  metrics commit_total       %8.3f ms\n", r->commit_total_ms);
    printf("  metrics commit_collect     %8.3f ms\n", r->commit_collect_ms);
    printf("  metrics commit_encode      %8.3f ms\n", r->commit_encode_ms);
    printf("  metrics commit_write       %8.3f ms\n", r->commit_write_ms);
    printf("  metrics commit_sync        %8.3f ms\n", r->commit_sync_ms);
    printf("  not in any commit_* part   %8.3f ms\n",
           r->commit_total_ms - r->commit_collect_ms - r->commit_encode_ms -
               r->commit_write_ms - r->commit_sync_ms);
    printf("  records / bytes (last)     %8" PRIu64 " / %" PRIu64 "\n",
           r->commit_records, r->commit_bytes);
    printf("load of the new version      %8.1f us (metrics load_ns %.1f us)"
           "\n",
           r->load_us, r->metric_load_us);
    printf("target: ~0.5 ms + 100 ns x 10k = ~1.5 ms, independent of N\n");

    bench_add(ctx, r->fill_seconds, 2, "s", "memory.%s.fill.s", label);
    bench_add(ctx, r->fill_ns[IMPL_STORE], 1, "ns", "memory.%s.fill.ns_per_key",
              label);
    bench_add(ctx, mib(r->store_memory_bytes), 1, "MiB",
              "memory.%s.memory_bytes.MiB", label);
    bench_add(ctx, (double)r->store_memory_bytes / n, 1, "B",
              "memory.%s.memory_bytes.per_key", label);
    bench_add(ctx, (double)r->store_rss_growth / n, 1, "B",
              "memory.%s.rss_growth.per_key", label);
    bench_add(ctx, (double)r->store_heap_growth / n, 1, "B",
              "memory.%s.heap_growth.per_key", label);
    bench_add(ctx, mib(r->store_peak_rss), 1, "MiB", "memory.%s.peak_rss.MiB",
              label);
    bench_add(ctx, (double)r->bare_bytes[IMPL_INDIRECT] / n, 1, "B",
              "memory.%s.bare_indirect.bytes_per_key", label);
    bench_add(ctx, (double)r->bare_bytes[IMPL_INLINE] / n, 1, "B",
              "memory.%s.bare_inline.bytes_per_key", label);
    bench_add(ctx,
              (double)r->store_memory_bytes /
                  (double)r->bare_bytes[IMPL_INDIRECT],
              2, "x", "memory.%s.memory.ratio_indirect", label);
    bench_add(
        ctx, (double)r->store_memory_bytes / (double)r->bare_bytes[IMPL_INLINE],
        2, "x", "memory.%s.memory.ratio_inline", label);
    bench_add(ctx, r->commit_ms, 3, "ms", "memory.%s.commit10k.ms", label);
    bench_add(ctx, r->commit_collect_ms, 3, "ms",
              "memory.%s.commit10k.collect_ms", label);
    bench_add(ctx, r->commit_encode_ms, 3, "ms",
              "memory.%s.commit10k.encode_ms", label);
    bench_add(ctx, r->commit_write_ms, 3, "ms", "memory.%s.commit10k.write_ms",
              label);
    bench_add(ctx, r->commit_sync_ms, 3, "ms", "memory.%s.commit10k.sync_ms",
              label);
    bench_add(ctx, (double)r->commit_bytes, 0, "B", "memory.%s.commit10k.bytes",
              label);
    bench_add(ctx, r->load_us, 1, "us", "memory.%s.load.us", label);
    fflush(stdout);
}

static int
run_size(bench_ctx *ctx, uint64_t n)
{
    size_run *r = calloc(1, sizeof *r);
    uint32_t *perm = NULL, *hits = NULL;
    uint64_t rng = 0x5eed0000u + n;
    size_t i, n_hits, n_change;
    int result = -1, kind;

    if (r == NULL)
        return -1;
    r->n = n;
    format_count(r->label, sizeof r->label, n);
    perm = malloc((size_t)n * sizeof *perm);
    if (perm == NULL)
        goto out;
    for (i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    shuffle(perm, (size_t)n, &rng);
    r->perm = perm;

    /* Gets visit every key once in shuffled order, cycling when N is
     * below the op floor so each figure averages over >= min_ops calls. */
    n_hits = n > ctx->min_ops ? (size_t)n : ctx->min_ops;
    if (n_hits == n) {
        r->ops[OP_GET_HIT].indexes = perm;
    } else {
        hits = malloc(n_hits * sizeof *hits);
        if (hits == NULL)
            goto out;
        for (i = 0; i < n_hits; i++)
            hits[i] = perm[i % n];
        r->ops[OP_GET_HIT].indexes = hits;
    }
    r->ops[OP_GET_HIT].count = n_hits;
    /* Writes: up to min_ops distinct keys; inserts and removes at most
     * N/2 so they change the table's size by a bounded factor. */
    n_change = n < ctx->min_ops ? (size_t)n : ctx->min_ops;
    r->ops[OP_PUT_OVERWRITE].indexes = perm;
    r->ops[OP_PUT_OVERWRITE].count = n_change;
    n_change = n / 2 < ctx->min_ops ? (size_t)(n / 2) : ctx->min_ops;
    r->ops[OP_PUT_INSERT].first = (uint32_t)n;
    r->ops[OP_PUT_INSERT].count = n_change;
    r->ops[OP_REMOVE].indexes = perm + (n - n_change);
    r->ops[OP_REMOVE].count = n_change;
    r->ops[OP_GET_MISS].first = (uint32_t)(n + n_change);
    r->ops[OP_GET_MISS].count = ctx->min_ops;
    r->capacity = table_capacity(n + n_change);

    if (run_store(r, ctx) < 0 || run_baseline(r, ctx, IMPL_INDIRECT) < 0 ||
        run_baseline(r, ctx, IMPL_INLINE) < 0)
        goto out;
    print_size_report(r, ctx);
    if (ctx->size_count < MAX_SIZES) {
        snprintf(ctx->size_labels[ctx->size_count], sizeof ctx->size_labels[0],
                 "%s", r->label);
        for (kind = IMPL_INDIRECT; kind < IMPL_COUNT; kind++) {
            ctx->get_ratio[ctx->size_count][kind] =
                r->ns[IMPL_STORE][OP_GET_HIT] / r->ns[kind][OP_GET_HIT];
            ctx->put_ratio[ctx->size_count][kind] =
                r->ns[IMPL_STORE][OP_PUT_OVERWRITE] /
                r->ns[kind][OP_PUT_OVERWRITE];
        }
        ctx->commit10k_ms[ctx->size_count++] = r->commit_ms;
    }
    result = 0;
out:
    free(hits);
    free(perm);
    free(r);
    return result;
}

/* ------------------------------------------------------ batch workload */

typedef struct batch_figures {
    double load_us, put_ns, commit_ns, bare_ns[IMPL_COUNT];
    double collect_ms, encode_ms, write_ms, sync_ms;
    uint64_t commit_records;
} batch_figures;

/* One stream-processor batch on a fresh store of BATCH_ROWS rows. */
static int
batch_store_rep(batch_figures *out, const bench_ctx *ctx, const key_list *rows,
                const char *path)
{
    ss_provider *provider = NULL;
    target t = {IMPL_STORE, NULL, NULL, NULL};
    key_list base = {NULL, 0, BATCH_ROWS};
    ss_metrics m;
    uint64_t version = 0, start;
    double ns;
    int result = -1, rc;

    if (open_provider(&provider, path, ctx->compression) < 0)
        return -1;
    if (load_version(&t.store, NULL, provider, 0) < 0 ||
        timed_puts(&ns, &t, &base, 0) < 0)
        goto out;
    if ((rc = ss_store_commit(&version, t.store)) < 0) {
        store_failed(rc, "commit", 0);
        goto out;
    }
    ss_store_free(t.store);
    t.store = NULL;
    if (load_version(&t.store, &out->load_us, provider, version) < 0 ||
        timed_puts(&ns, &t, rows, 1) < 0)
        goto out;
    out->put_ns = ns * (double)rows->count;
    start = now_ns();
    if ((rc = ss_store_commit(&version, t.store)) < 0) {
        store_failed(rc, "commit", 0);
        goto out;
    }
    out->commit_ns = (double)(now_ns() - start);
    if (provider_metrics(&m, provider) < 0)
        goto out;
    out->commit_records = m.commit_records;
    out->collect_ms = (double)m.commit_collect_ns / 1e6;
    out->encode_ms = (double)m.commit_encode_ns / 1e6;
    out->write_ms = (double)m.commit_write_ns / 1e6;
    out->sync_ms = (double)m.commit_sync_ns / 1e6;
    result = 0;
out:
    ss_store_free(t.store);
    ss_provider_close(provider);
    remove_tree(path);
    return result;
}

static int
batch_bare_rep(batch_figures *out, const bench_ctx *ctx, impl_kind kind,
               const key_list *rows)
{
    indirect_table indirect = {NULL, 0, 0, 0};
    inline_table inlined = {NULL, 0, 0, 0};
    target t = {kind, NULL, &indirect, &inlined};
    key_list base = {NULL, 0, BATCH_ROWS};
    uint64_t capacity = table_capacity(2 * BATCH_ROWS);
    double ns;
    int result = -1, rc;

    if (kind == IMPL_INDIRECT)
        rc = indirect_create(&indirect, capacity, ctx->use_thp);
    else
        rc = inline_create(&inlined, capacity, ctx->use_thp);
    if (rc == 0 && timed_puts(&ns, &t, &base, 0) == 0 &&
        timed_puts(&ns, &t, rows, 1) == 0 &&
        check_sample(&t, rows, 1, 1, "after batch") == 0) {
        out->bare_ns[kind] = ns * (double)rows->count;
        result = 0;
    }
    indirect_destroy(&indirect);
    inline_destroy(&inlined);
    return result;
}

static int
run_batch_workload(bench_ctx *ctx)
{
    static const unsigned overwrite_pcts[3] = {0, 50, 100};
    double load_us[64], put[64], commit[64], total[64], bare[IMPL_COUNT][64];
    double row_put, row_total, row_bare[IMPL_COUNT], commit_ms;
    double parts[4][3][64], split[3][4];
    uint32_t existing[BATCH_ROWS], rows_buf[BATCH_ROWS];
    key_list rows = {rows_buf, 0, BATCH_ROWS};
    char path[PATH_LEN];
    batch_figures f;
    uint64_t rng;
    size_t mix, rep, i, n_overwrite;
    uint64_t records = 0;
    int kind;

    printf("\n== batch workload: store of %u rows (loaded from memory), put "
           "%u rows, commit;\n   median of %zu batches, each on a fresh "
           "store and a fresh bare table\n",
           BATCH_ROWS, BATCH_ROWS, ctx->batch_reps);
    printf("%-9s %8s %10s %10s %13s %10s %10s\n", "overwrite", "load us",
           "put ns/row", "commit ms", "put+commit", "bare-ind", "bare-inl");
    printf("%-9s %8s %10s %10s %13s %10s %10s\n", "", "", "", "", "ns/row",
           "ns/row", "ns/row");
    for (mix = 0; mix < 3; mix++) {
        for (rep = 0; rep < ctx->batch_reps; rep++) {
            rng = 0xba7c4u + mix * 1000u + rep;
            for (i = 0; i < BATCH_ROWS; i++)
                existing[i] = (uint32_t)i;
            shuffle(existing, BATCH_ROWS, &rng);
            n_overwrite = BATCH_ROWS * overwrite_pcts[mix] / 100u;
            for (i = 0; i < BATCH_ROWS; i++)
                rows_buf[i] =
                    i < n_overwrite ? existing[i] : (uint32_t)(BATCH_ROWS + i);
            shuffle(rows_buf, BATCH_ROWS, &rng);
            memset(&f, 0, sizeof f);
            snprintf(path, sizeof path, "%s/batch-%u-%zu", ctx->dir,
                     overwrite_pcts[mix], rep);
            /* Interleaved so all three see the same machine noise. */
            if (batch_store_rep(&f, ctx, &rows, path) < 0 ||
                batch_bare_rep(&f, ctx, IMPL_INDIRECT, &rows) < 0 ||
                batch_bare_rep(&f, ctx, IMPL_INLINE, &rows) < 0)
                return -1;
            load_us[rep] = f.load_us;
            put[rep] = f.put_ns;
            commit[rep] = f.commit_ns;
            total[rep] = f.put_ns + f.commit_ns;
            for (kind = IMPL_INDIRECT; kind < IMPL_COUNT; kind++)
                bare[kind][rep] = f.bare_ns[kind];
            records = f.commit_records;
            parts[0][mix][rep] = f.collect_ms;
            parts[1][mix][rep] = f.encode_ms;
            parts[2][mix][rep] = f.write_ms;
            parts[3][mix][rep] = f.sync_ms;
        }
        for (i = 0; i < 4; i++)
            split[mix][i] = median(parts[i][mix], ctx->batch_reps);
        row_put = median(put, ctx->batch_reps) / BATCH_ROWS;
        row_total = median(total, ctx->batch_reps) / BATCH_ROWS;
        commit_ms = median(commit, ctx->batch_reps) / 1e6;
        for (kind = IMPL_INDIRECT; kind < IMPL_COUNT; kind++)
            row_bare[kind] = median(bare[kind], ctx->batch_reps) / BATCH_ROWS;
        printf("%8u%% %8.1f %10.1f %10.3f %13.1f %10.1f %10.1f\n",
               overwrite_pcts[mix], median(load_us, ctx->batch_reps), row_put,
               commit_ms, row_total, row_bare[IMPL_INDIRECT],
               row_bare[IMPL_INLINE]);
        if (records != BATCH_ROWS)
            printf("   note: metrics commit_records = %" PRIu64 ", "
                   "expected %u\n",
                   records, BATCH_ROWS);
        if (overwrite_pcts[mix] == 100)
            ctx->batch_commit10k_ms = commit_ms;
        for (kind = IMPL_INDIRECT; kind < IMPL_COUNT; kind++) {
            ctx->batch_put_ratio[mix][kind] = row_put / row_bare[kind];
            ctx->batch_total_ratio[mix][kind] = row_total / row_bare[kind];
        }

        bench_add(ctx, row_put, 1, "ns", "memory.batch.overwrite%u.ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_total, 1, "ns",
                  "memory.batch.overwrite%u.put_commit_ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, commit_ms, 3, "ms", "memory.batch.overwrite%u.commit_ms",
                  overwrite_pcts[mix]);
        bench_add(ctx, median(load_us, ctx->batch_reps), 1, "us",
                  "memory.batch.overwrite%u.load_us", overwrite_pcts[mix]);
        bench_add(ctx, row_bare[IMPL_INDIRECT], 1, "ns",
                  "memory.batch.overwrite%u.bare_indirect_ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_bare[IMPL_INLINE], 1, "ns",
                  "memory.batch.overwrite%u.bare_inline_ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_put / row_bare[IMPL_INDIRECT], 2, "x",
                  "memory.batch.overwrite%u.ratio_indirect",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_put / row_bare[IMPL_INLINE], 2, "x",
                  "memory.batch.overwrite%u.ratio_inline", overwrite_pcts[mix]);
        bench_add(ctx, row_total / row_bare[IMPL_INDIRECT], 2, "x",
                  "memory.batch.overwrite%u.put_commit_ratio_indirect",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_total / row_bare[IMPL_INLINE], 2, "x",
                  "memory.batch.overwrite%u.put_commit_ratio_inline",
                  overwrite_pcts[mix]);
        fflush(stdout);
    }
    printf("commit split (ms, medians of ss_provider_metrics):\n");
    printf("%-9s %8s %8s %8s %8s\n", "overwrite", "collect", "encode", "write",
           "sync");
    for (mix = 0; mix < 3; mix++)
        printf("%8u%% %8.3f %8.3f %8.3f %8.3f\n", overwrite_pcts[mix],
               split[mix][0], split[mix][1], split[mix][2], split[mix][3]);
    printf("ratios, put phase:   store/bare-indirect and store/bare-inline "
           "in BENCH *.ratio_*\n");
    printf("put+commit includes the fsync'd delta file; the bare tables "
           "write nothing\n");
    return 0;
}

/* ------------------------------------------------------------------ main */

static const char *
verdict(int met)
{
    return met ? "met" : "MISSED";
}

/* The targets, judged against bare-indirect (the layout a store of
 * variable-length keys needs); bare-inline figures in brackets. */
static void
print_targets(const bench_ctx *ctx)
{
    static const unsigned overwrite_pcts[3] = {0, 50, 100};
    const double commit_target_ms = 0.5 + 100e-9 * COMMIT_CHANGES * 1e3;
    double ratio;
    size_t i;

    printf("\n== targets: store/bare-indirect (store/bare-inline)\n");
    for (i = 0; i < ctx->size_count; i++) {
        printf("%-5s get           %5.2fx (%5.2fx)  <= 1.5x   %s\n",
               ctx->size_labels[i], ctx->get_ratio[i][IMPL_INDIRECT],
               ctx->get_ratio[i][IMPL_INLINE],
               verdict(ctx->get_ratio[i][IMPL_INDIRECT] <= 1.5));
        printf("%-5s put           %5.2fx (%5.2fx)  <= 1.5x   %s\n",
               ctx->size_labels[i], ctx->put_ratio[i][IMPL_INDIRECT],
               ctx->put_ratio[i][IMPL_INLINE],
               verdict(ctx->put_ratio[i][IMPL_INDIRECT] <= 1.5));
        ratio = ctx->commit10k_ms[i] / ctx->batch_commit10k_ms;
        printf("%-5s commit10k  %6.3f ms, %.2fx the 10k-row store's; "
               "~%.1f ms and ~1x   %s\n",
               ctx->size_labels[i], ctx->commit10k_ms[i], ratio,
               commit_target_ms,
               verdict(ctx->commit10k_ms[i] <= 1.33 * commit_target_ms &&
                       ratio <= 1.5));
    }
    for (i = 0; i < 3; i++) {
        printf("batch %3u%% put  %5.2fx (%5.2fx)  <= 2x     %s;  "
               "put+commit %5.2fx (%5.2fx)\n",
               overwrite_pcts[i], ctx->batch_put_ratio[i][IMPL_INDIRECT],
               ctx->batch_put_ratio[i][IMPL_INLINE],
               verdict(ctx->batch_put_ratio[i][IMPL_INDIRECT] <= 2.0),
               ctx->batch_total_ratio[i][IMPL_INDIRECT],
               ctx->batch_total_ratio[i][IMPL_INLINE]);
    }
    printf("(commit10k counted met when <= 1.33 x %.1f ms and <= 1.5x the "
           "10k-row store's)\n",
           commit_target_ms);
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: memory_ops [--keys N[,N...]] [--dir DIR] [--quick]\n"
            "                  [--compression none|lz4] [--no-thp]\n"
            "\n"
            "  --keys N,...     key counts to run (suffix k or M allowed);\n"
            "                   default 1000000 (100000 with --quick).\n"
            "                   10M needs several GiB:\n"
            "                   --keys 1000000,10000000\n"
            "  --dir DIR        parent of the checkpoint directory "
            "(default /tmp);\n"
            "                   a fresh subdirectory is made and removed\n"
            "  --quick          fewer ops and repetitions (smoke test)\n"
            "  --compression C  store option compression=C (default none)\n"
            "  --no-thp         no MADV_HUGEPAGE for the bare tables' slots\n"
            "\n"
            "Prints tables, then one 'BENCH <name> <value> <unit>' line per "
            "figure.\n");
}

static int
parse_counts(uint64_t *counts, size_t *count_out, const char *text)
{
    char *end;
    unsigned long long value;
    size_t count = 0;

    while (*text != '\0') {
        errno = 0;
        value = strtoull(text, &end, 10);
        if (end == text || errno != 0)
            return -1;
        if (*end == 'k' || *end == 'K') {
            value *= 1000u;
            end++;
        } else if (*end == 'm' || *end == 'M') {
            value *= 1000000u;
            end++;
        }
        /* Key numbers up to N + 2 * min_ops must fit in 32 bits. */
        if (value < 2 * COMMIT_CHANGES || value > 1000000000u ||
            count == MAX_SIZES)
            return -1;
        counts[count++] = value;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        text = end;
    }
    *count_out = count;
    return count ? 0 : -1;
}

static const char *
thp_mode(char *buf, size_t size)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char *open_bracket, *close_bracket;

    snprintf(buf, size, "unknown");
    if (f == NULL)
        return buf;
    if (fgets(buf, (int)size, f) != NULL) {
        open_bracket = strchr(buf, '[');
        close_bracket = open_bracket ? strchr(open_bracket, ']') : NULL;
        if (close_bracket != NULL) {
            *close_bracket = '\0';
            memmove(buf, open_bracket + 1, strlen(open_bracket + 1) + 1);
        }
    }
    fclose(f);
    return buf;
}

int
main(int argc, char **argv)
{
    static bench_ctx ctx;
    uint64_t counts[MAX_SIZES];
    size_t count_total = 0, i;
    const char *parent = "/tmp", *keys_arg = NULL;
    char thp[64];
    int status = 0;

    ctx.compression = "none";
    ctx.use_thp = 1;
    for (i = 1; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--keys") == 0 && i + 1 < (size_t)argc) {
            keys_arg = argv[++i];
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < (size_t)argc) {
            parent = argv[++i];
        } else if (strcmp(argv[i], "--compression") == 0 &&
                   i + 1 < (size_t)argc) {
            ctx.compression = argv[++i];
        } else if (strcmp(argv[i], "--quick") == 0) {
            ctx.quick = 1;
        } else if (strcmp(argv[i], "--no-thp") == 0) {
            ctx.use_thp = 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (keys_arg == NULL)
        keys_arg = ctx.quick ? "100000" : "1000000";
    if (parse_counts(counts, &count_total, keys_arg) < 0) {
        fprintf(stderr,
                "memory_ops: bad --keys '%s' (each %u..1e9, at most"
                " %u)\n",
                keys_arg, 2 * COMMIT_CHANGES, MAX_SIZES);
        return 2;
    }
    ctx.min_ops = ctx.quick ? 100000u : 1000000u;
    ctx.get_passes = ctx.quick ? 1u : 3u;
    ctx.commit_reps = ctx.quick ? 3u : 7u;
    ctx.batch_reps = ctx.quick ? 10u : 50u;
    snprintf(ctx.dir, sizeof ctx.dir, "%s/memory_ops.XXXXXX", parent);
    if (mkdtemp(ctx.dir) == NULL) {
        fprintf(stderr, "memory_ops: mkdtemp %s: %s\n", ctx.dir,
                strerror(errno));
        return 1;
    }
    value_pool_init();

    printf("memory_ops: statestore %s, provider=memory, compression=%s,\n"
           "  keys %u B, values %u B, max_versions_in_memory=2, "
           "min_deltas_for_snapshot=1000000,\n  THP %s (system: %s), "
           "checkpoint dir %s (removed at end)%s\n",
           SS_VERSION_STRING, ctx.compression, KEY_LEN, VALUE_LEN,
           ctx.use_thp ? "madvise for bare tables" : "off for bare tables",
           thp_mode(thp, sizeof thp), ctx.dir, ctx.quick ? ", QUICK" : "");
    fflush(stdout);

    for (i = 0; i < count_total && status == 0; i++)
        if (run_size(&ctx, counts[i]) < 0)
            status = 1;
    if (status == 0 && run_batch_workload(&ctx) < 0)
        status = 1;
    remove_tree(ctx.dir);
    if (status != 0) {
        fprintf(stderr, "memory_ops: FAILED\n");
        return status;
    }

    for (i = 0; i < ctx.size_count; i++)
        bench_add(&ctx, ctx.commit10k_ms[i] / ctx.batch_commit10k_ms, 2, "x",
                  "memory.%s.commit10k.ratio_vs_10k_store", ctx.size_labels[i]);
    printf("\n== commit of 10k changes: N-key store vs 10k-row store "
           "(same run)\n");
    for (i = 0; i < ctx.size_count; i++)
        printf("%-6s %8.3f ms vs %8.3f ms = %.2fx\n", ctx.size_labels[i],
               ctx.commit10k_ms[i], ctx.batch_commit10k_ms,
               ctx.commit10k_ms[i] / ctx.batch_commit10k_ms);
    print_targets(&ctx);
    printf("\n");
    for (i = 0; i < ctx.line_count; i++)
        printf("BENCH %s %.*f %s\n", ctx.lines[i].name, ctx.lines[i].decimals,
               ctx.lines[i].value, ctx.lines[i].unit);
    printf("memory_ops: OK (checksum %" PRIu64 ")\n", result_sink);
    return 0;
}
