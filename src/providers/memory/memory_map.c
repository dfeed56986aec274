/*
 * memory_map.c -- hash index, treap, nodes and change lists (see .h).
 *
 * Invariant 1 (ownership): every node is owned by exactly one place: a
 * map slot, or one entry of one change list.  Swapping moves ownership,
 * never copies, so a node is freed exactly once.
 * Invariant 2: a hash index keeps count <= 3/4 cap with linear probing
 * and backward-shift deletion (no tombstones), so a lookup stops at the
 * first empty slot.  Its slots are sorted by (hash, key): a key's home
 * is the hash's top bits and inserts keep each run sorted, with a tail
 * of slots past the last home instead of wrapping around.
 * So an iteration can resume after any change by seeking its last
 * (hash, key), as a treap iteration seeks its last key (mm_iter_next).
 * Invariant 3: a change list applied forward then backward (or the
 * reverse) leaves the map and the list exactly as they were.
 */
#include "providers/memory/memory_map.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define MIN_CAP 16u
/* A batch's change list grows its key arena and its entry array from
 * small first sizes, doubling, so a batch of one key costs a few hundred
 * bytes of memory_limit_bytes, not a whole 64 KiB chunk (issue 9, item
 * 12); big batches reach KEY_CHUNK after a handful of chunks. */
#define KEY_CHUNK (64u * 1024u)
#define KEY_CHUNK_FIRST 256u
#define ENTRIES_FIRST 8u

uint64_t
mm_hash(const void *key, size_t klen)
{
    return XXH3_64bits(key, klen);
}

int
mm_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    return ss_key_cmp(a, alen, b, blen);
}

/* ----------------------------------------------------------------- nodes */

size_t
mm_node_size(size_t klen, size_t vlen)
{
    return sizeof(mm_node) + klen + vlen;
}

size_t
mm_alloc_cost(size_t size)
{
    /* An upper bound of glibc malloc's usable size: a heap chunk is the
     * request plus a header word in 16-byte steps (32 at least), and a
     * big one (from 128 KiB, the default mmap threshold) may be mapped
     * in whole pages less a two-word header.  ASan's allocator counts
     * the request itself, which is less. */
    size_t chunk = (size + 8 + 15) & ~(size_t)15;

    if (chunk < 32)
        chunk = 32;
    if (size >= 128u * 1024u)
        return ((chunk + 8 + 4095) & ~(size_t)4095) - 16;
    return chunk - 8;
}

mm_node *
mm_node_new(ss_budget *b, const void *key, size_t klen, const void *value,
            size_t vlen, uint64_t version)
{
    mm_node *n = ss_budget_alloc(b, mm_node_size(klen, vlen));

    if (!n)
        return NULL;
    n->version = version;
    n->klen = (uint32_t)klen;
    n->vlen = (uint32_t)vlen;
    n->vcap = (uint32_t)vlen;
    n->copy = 0;
    memcpy(n->data, key, klen);
    if (vlen)
        memcpy(n->data + klen, value, vlen);
    return n;
}

void
mm_node_free(ss_budget *b, mm_node *n)
{
    ss_budget_free(b, n);
}

/* ------------------------------------------------------------ hash index */

/* Slots of an index with `cap` homes: a tail past the last home (a
 * quarter of cap, at most 64) lets runs end without wrapping around;
 * small while cap is, since memory_limit_bytes counts it. */
static size_t
hash_slots(size_t cap)
{
    return cap ? cap + (cap / 4 < 64 ? cap / 4 : 64) : 0;
}

/* Home slot of `hash`: its top bits, so homes rise with the hash and a
 * table kept sorted by hash stays sorted when it doubles. */
static size_t
hash_home(const mm_cf *cf, uint64_t hash)
{
    return (size_t)(hash >> cf->shift);
}

/* (hash, key) order: the order an unordered family is iterated in. */
static int
slot_cmp(const mm_slot *s, uint64_t hash, const void *key, size_t klen)
{
    if (s->hash != hash)
        return s->hash < hash ? -1 : 1;
    return mm_key_cmp(s->node->data, s->node->klen, key, klen);
}

static unsigned
log2_of(size_t cap)
{
    unsigned b = 0;

    while (((size_t)1 << b) < cap)
        b++;
    return b;
}

/* Lay `n` sorted slots into a fresh array of `cap` homes; false if one
 * would land past the tail (then the caller doubles again). */
static bool
hash_lay_out(mm_slot *to, size_t cap, const mm_slot *from, size_t nfrom)
{
    unsigned shift = 64 - log2_of(cap);
    size_t i, pos = 0, home;

    for (i = 0; i < nfrom; i++) {
        if (!from[i].node)
            continue;
        home = (size_t)(from[i].hash >> shift);
        if (pos < home)
            pos = home;
        if (pos >= hash_slots(cap))
            return false;
        to[pos++] = from[i];
    }
    return true;
}

static int
hash_resize(mm_map *m, mm_cf *cf, size_t cap)
{
    mm_slot *slots;

    for (;; cap *= 2) {
        slots = ss_budget_calloc_large(m->budget,
                                       hash_slots(cap) * sizeof(mm_slot));
        if (!slots)
            return ss_error_set(SS_ENOMEM,
                                "out of memory growing a hash index "
                                "to %zu slots",
                                cap);
        if (hash_lay_out(slots, cap, cf->slots, hash_slots(cf->cap)))
            break;
        ss_budget_free_large(m->budget, slots,
                             hash_slots(cap) * sizeof(mm_slot));
    }
    if (cf->cap)
        ss_budget_free_large(m->budget, cf->slots,
                             hash_slots(cf->cap) * sizeof(mm_slot));
    cf->slots = slots;
    cf->cap = cap;
    cf->shift = 64 - log2_of(cap);
    cf->gen++;
    return 0;
}

static mm_slot *
hash_find(mm_cf *cf, const void *key, size_t klen, uint64_t hash)
{
    size_t i, end;
    mm_slot *s;

    if (!cf->cap)
        return NULL;
    /* Sorted: stop at the first empty slot or larger hash. */
    for (i = hash_home(cf, hash), end = hash_slots(cf->cap); i < end; i++) {
        s = &cf->slots[i];
        if (!s->node || s->hash > hash)
            return NULL;
        if (s->hash == hash && s->node->klen == klen &&
            memcmp(s->node->data, key, klen) == 0)
            return s;
    }
    return NULL;
}

static size_t
hash_insert_cost(const mm_cf *cf)
{
    /* A full tail doubles once more at worst; counted as one doubling,
     * which the 3/4 load factor makes all but impossible to exceed. */
    if (cf->cap && (cf->count + 1) * 4 <= cf->cap * 3)
        return 0;
    return mm_alloc_cost(hash_slots(cf->cap ? cf->cap * 2 : MIN_CAP) *
                         sizeof(mm_slot));
}

static int
hash_insert(mm_map *m, mm_cf *cf, mm_node *n, uint64_t hash)
{
    size_t i, j, end;
    int rc;

    if (!cf->cap || (cf->count + 1) * 4 > cf->cap * 3) {
        if ((rc = hash_resize(m, cf, cf->cap ? cf->cap * 2 : MIN_CAP)) < 0)
            return rc;
    }
    for (;;) {
        end = hash_slots(cf->cap);
        /* Skip the smaller members of the run, then find the run's end:
         * the new slot goes in between, the rest moves up by one. */
        for (i = hash_home(cf, hash);
             i < end && cf->slots[i].node &&
             slot_cmp(&cf->slots[i], hash, n->data, n->klen) < 0;
             i++)
            ;
        for (j = i; j < end && cf->slots[j].node; j++)
            ;
        if (j < end)
            break;
        if ((rc = hash_resize(m, cf, cf->cap * 2)) < 0)
            return rc;
    }
    memmove(&cf->slots[i + 1], &cf->slots[i], (j - i) * sizeof(mm_slot));
    cf->slots[i].hash = hash;
    cf->slots[i].node = n;
    cf->count++;
    cf->gen++;
    return 0;
}

static void
hash_delete_slot(mm_cf *cf, mm_slot *s)
{
    size_t i = (size_t)(s - cf->slots), end = hash_slots(cf->cap);

    /* Backward shift: pull the rest of the run down while its members
     * sit past their home, keeping the table sorted and gap-free. */
    for (; i + 1 < end && cf->slots[i + 1].node &&
           hash_home(cf, cf->slots[i + 1].hash) <= i;
         i++)
        cf->slots[i] = cf->slots[i + 1];
    cf->slots[i].node = NULL;
    cf->slots[i].hash = 0;
    cf->count--;
    cf->gen++;
}

/* First slot at or after `from` whose (hash, key) is above the given
 * one (or at/above it when !strict): where an unordered iteration
 * resumes after the table changed under it. */
static size_t
hash_seek(const mm_cf *cf, uint64_t hash, const void *key, size_t klen,
          bool strict)
{
    size_t i = hash_home(cf, hash), end = hash_slots(cf->cap);
    int c;

    for (; i < end; i++) {
        if (!cf->slots[i].node)
            continue;
        c = slot_cmp(&cf->slots[i], hash, key, klen);
        if (c > 0 || (c == 0 && !strict))
            break;
    }
    return i;
}

/* ----------------------------------------------------------------- treap */

static uint32_t
next_prio(mm_map *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return (uint32_t)(m->rng >> 32);
}

static int
node_cmp(const mm_node *n, const void *key, size_t klen)
{
    return mm_key_cmp(n->data, n->klen, key, klen);
}

static mm_tnode **
tree_find(mm_cf *cf, const void *key, size_t klen)
{
    mm_tnode **p = &cf->root;
    int c;

    while (*p) {
        c = node_cmp((*p)->node, key, klen);
        if (c == 0)
            return p;
        p = c > 0 ? &(*p)->left : &(*p)->right;
    }
    return NULL;
}

static mm_tnode *
tree_insert(mm_tnode *root, mm_tnode *t)
{
    mm_tnode *x;

    if (!root)
        return t;
    if (node_cmp(root->node, t->node->data, t->node->klen) > 0) {
        root->left = tree_insert(root->left, t);
        if (root->left->prio > root->prio) {
            x = root->left;
            root->left = x->right;
            x->right = root;
            return x;
        }
    } else {
        root->right = tree_insert(root->right, t);
        if (root->right->prio > root->prio) {
            x = root->right;
            root->right = x->left;
            x->left = root;
            return x;
        }
    }
    return root;
}

static mm_tnode *
tree_merge(mm_tnode *a, mm_tnode *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->prio > b->prio) {
        a->right = tree_merge(a->right, b);
        return a;
    }
    b->left = tree_merge(a, b->left);
    return b;
}

static void
tree_free(ss_budget *b, mm_tnode *t)
{
    mm_tnode *stack[128], *x;
    size_t depth = 0;

    /* Iterative with a bounded stack: treap depth is O(log n) w.h.p.;
     * past 128 we fall back to recursion on the spilled subtree. */
    if (t)
        stack[depth++] = t;
    while (depth) {
        x = stack[--depth];
        if (x->left) {
            if (depth < 128)
                stack[depth++] = x->left;
            else
                tree_free(b, x->left);
        }
        if (x->right) {
            if (depth < 128)
                stack[depth++] = x->right;
            else
                tree_free(b, x->right);
        }
        mm_node_free(b, x->node);
        ss_budget_free(b, x);
    }
}

/* ------------------------------------------------------------------- map */

int
mm_map_new(mm_map **out, ss_budget *budget)
{
    mm_map *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (!m)
        return ss_error_set(SS_ENOMEM, "out of memory creating a map");
    m->budget = budget;
    m->rng = 0x9E3779B97F4A7C15ull;
    *out = m;
    return 0;
}

void
mm_map_add_cf(mm_map *m, unsigned cf, bool ordered)
{
    if (cf >= m->ncf)
        m->ncf = cf + 1;
    m->cf[cf].ordered = ordered;
}

void
mm_map_free(mm_map *m)
{
    unsigned c;
    size_t i;

    if (!m)
        return;
    for (c = 0; c < m->ncf; c++) {
        mm_cf *cf = &m->cf[c];

        for (i = 0; i < (hash_slots(cf->cap)); i++)
            if (cf->slots[i].node)
                mm_node_free(m->budget, cf->slots[i].node);
        if (cf->cap)
            ss_budget_free_large(m->budget, cf->slots,
                                 hash_slots(cf->cap) * sizeof(mm_slot));
        tree_free(m->budget, cf->root);
    }
    free(m);
}

mm_node **
mm_map_find(mm_map *m, unsigned cf, const void *key, size_t klen, uint64_t hash)
{
    mm_cf *c = &m->cf[cf];
    mm_tnode **t;
    mm_slot *s;

    if (c->ordered) {
        t = tree_find(c, key, klen);
        return t ? &(*t)->node : NULL;
    }
    s = hash_find(c, key, klen, hash);
    return s ? &s->node : NULL;
}

void
mm_map_prefetch(const mm_map *m, unsigned cf, uint64_t hash, int stage)
{
    const mm_cf *c = &m->cf[cf];
    const mm_slot *s;

    if (c->ordered || !c->cap)
        return;
    s = &c->slots[hash_home(c, hash)];
    if (stage == 0)
        __builtin_prefetch(s);
    else if (s->node) /* stage 1 runs once the slot is cached */
        __builtin_prefetch(s->node);
}

size_t
mm_map_insert_cost(const mm_map *m, unsigned cf)
{
    return m->cf[cf].ordered ? mm_alloc_cost(sizeof(mm_tnode))
                             : hash_insert_cost(&m->cf[cf]);
}

int
mm_map_insert(mm_map *m, unsigned cf, mm_node *n, uint64_t hash)
{
    mm_cf *c = &m->cf[cf];
    mm_tnode *t;
    int rc;

    if (c->ordered) {
        t = ss_budget_alloc(m->budget, sizeof(*t));
        if (!t)
            return ss_error_set(SS_ENOMEM, "out of memory inserting a key");
        t->node = n;
        t->left = t->right = NULL;
        t->prio = next_prio(m);
        c->root = tree_insert(c->root, t);
        c->count++;
        c->gen++;
    } else if ((rc = hash_insert(m, c, n, hash)) < 0) {
        return rc;
    }
    m->nkeys++;
    return 0;
}

mm_node *
mm_map_delete(mm_map *m, unsigned cf, const void *key, size_t klen,
              uint64_t hash)
{
    mm_cf *c = &m->cf[cf];
    mm_tnode **tp, *t;
    mm_slot *s;
    mm_node *n;

    if (c->ordered) {
        if (!(tp = tree_find(c, key, klen)))
            return NULL;
        t = *tp;
        n = t->node;
        *tp = tree_merge(t->left, t->right);
        ss_budget_free(m->budget, t);
        c->count--;
        c->gen++;
    } else {
        if (!(s = hash_find(c, key, klen, hash)))
            return NULL;
        n = s->node;
        hash_delete_slot(c, s);
    }
    m->nkeys--;
    return n;
}

int
mm_map_apply(mm_map *m, unsigned cf, unsigned op, const void *key, size_t klen,
             const void *value, size_t vlen, uint64_t version)
{
    uint64_t h = mm_hash(key, klen);
    mm_node **slot = mm_map_find(m, cf, key, klen, h), *n;
    int rc;

    if (op == SS_OP_REMOVE) {
        if (slot)
            mm_node_free(m->budget, mm_map_delete(m, cf, key, klen, h));
        return 0;
    }
    if (op == SS_OP_CF_DROP) { /* every key of the family goes */
        mm_iter it;

        if (cf >= m->ncf)
            return 0;
        if ((rc = mm_iter_init(&it, m, cf, "", 0, "", 0, "", 0)) == 0)
            while ((rc = mm_iter_next(&it, &n)) == 0)
                mm_node_free(m->budget,
                             mm_map_delete(m, cf, MM_KEY(n), n->klen,
                                           mm_hash(MM_KEY(n), n->klen)));
        mm_iter_release(&it);
        return rc == SS_EDONE ? 0 : rc;
    }
    if (!ss_budget_fits(m->budget, mm_alloc_cost(mm_node_size(klen, vlen)) +
                                       mm_map_insert_cost(m, cf)))
        return ss_error_set(SS_ELIMIT,
                            "memory_limit_bytes=%llu reached "
                            "(%llu bytes in use)",
                            (unsigned long long)m->budget->limit,
                            (unsigned long long)m->budget->used);
    n = mm_node_new(m->budget, key, klen, value, vlen, version);
    if (!n)
        return ss_error_set(SS_ENOMEM, "out of memory loading a key");
    if (slot) {
        mm_node_free(m->budget, *slot);
        *slot = n;
        return 0;
    }
    if ((rc = mm_map_insert(m, cf, n, h)) < 0)
        mm_node_free(m->budget, n);
    return rc;
}

/* ----------------------------------------------------------- change list */

int
mm_changes_new(mm_changes **out, ss_budget *b, uint64_t version)
{
    mm_changes *c = ss_budget_alloc(b, sizeof(*c));

    *out = NULL;
    if (!c)
        return ss_error_set(SS_ENOMEM, "out of memory starting a batch");
    memset(c, 0, sizeof(*c));
    c->version = version;
    *out = c;
    return 0;
}

/* The capacity of the arena's next chunk, to hold `len` bytes. */
static size_t
chunk_cap(const mm_changes *c, size_t len)
{
    size_t cap = KEY_CHUNK_FIRST;

    if (c->keys)
        cap = c->keys->cap >= KEY_CHUNK / 2 ? KEY_CHUNK : c->keys->cap * 2;
    return len > cap ? len : cap;
}

/* Room for `len` more bytes (8-aligned) in the arena; 0 or SS_ENOMEM. */
static int
arena_reserve(mm_changes *c, ss_budget *b, size_t len)
{
    mm_chunk *ch;
    size_t cap;

    if (c->keys) {
        c->keys->used = (c->keys->used + 7) & ~(size_t)7;
        if (c->keys->cap >= c->keys->used &&
            c->keys->cap - c->keys->used >= len)
            return 0;
    }
    cap = chunk_cap(c, len);
    ch = ss_budget_alloc(b, sizeof(mm_chunk) + cap);
    if (!ch)
        return ss_error_set(SS_ENOMEM, "out of memory recording a change");
    ch->next = c->keys;
    ch->used = 0;
    ch->cap = cap;
    c->keys = ch;
    return 0;
}

static size_t
arena_cost(const mm_changes *c, size_t len)
{
    size_t used;

    if (c->keys) {
        used = (c->keys->used + 7) & ~(size_t)7;
        if (c->keys->cap >= used && c->keys->cap - used >= len)
            return 0;
    }
    return mm_alloc_cost(sizeof(mm_chunk) + chunk_cap(c, len));
}

static int
entry_reserve(mm_changes *c, ss_budget *b)
{
    mm_change *grown;
    size_t cap;

    if (c->len < c->cap)
        return 0;
    cap = c->cap ? c->cap * 2 : ENTRIES_FIRST;
    grown = ss_budget_realloc(b, c->v, cap * sizeof(mm_change));
    if (!grown)
        return ss_error_set(SS_ENOMEM, "out of memory recording a change");
    c->v = grown;
    c->cap = cap;
    return 0;
}

static size_t
entry_cost(const mm_changes *c)
{
    return c->len < c->cap
               ? 0
               : mm_alloc_cost((c->cap ? c->cap * 2 : ENTRIES_FIRST) *
                               sizeof(mm_change));
}

size_t
mm_changes_push_cost(const mm_changes *c, size_t klen)
{
    return entry_cost(c) + arena_cost(c, klen);
}

int
mm_changes_push(mm_changes *c, ss_budget *b, unsigned cf, const void *key,
                size_t klen, uint64_t hash, mm_node *other)
{
    mm_change *e;
    int rc;

    if ((rc = entry_reserve(c, b)) < 0 || (rc = arena_reserve(c, b, klen)) < 0)
        return rc;
    e = &c->v[c->len++];
    e->key = c->keys->data + c->keys->used;
    memcpy(c->keys->data + c->keys->used, key, klen);
    c->keys->used += klen;
    e->klen = (uint32_t)klen;
    e->hash = hash;
    e->cf = (uint16_t)cf;
    e->kind = MM_CHANGE_NODE;
    e->other = other;
    return 0;
}

size_t
mm_changes_copy_cost(const mm_changes *c, const mm_node *n)
{
    return entry_cost(c) + arena_cost(c, mm_node_size(n->klen, n->vcap));
}

int
mm_changes_copy(mm_changes *c, ss_budget *b, unsigned cf, mm_node *n,
                uint64_t hash)
{
    size_t size = mm_node_size(n->klen, n->vcap);
    mm_change *e;
    mm_node *copy;
    int rc;

    if ((rc = entry_reserve(c, b)) < 0 || (rc = arena_reserve(c, b, size)) < 0)
        return rc;
    copy = (mm_node *)(void *)(c->keys->data + c->keys->used);
    memcpy(copy, n, mm_node_size(n->klen, n->vlen));
    c->keys->used += size;
    e = &c->v[c->len];
    e->other = copy;
    e->key = MM_KEY(copy);
    e->klen = n->klen;
    e->hash = hash;
    e->cf = (uint16_t)cf;
    e->kind = MM_CHANGE_COPY;
    n->copy = (uint32_t)++c->len;
    return 0;
}

/* Exchange the version, length and value bytes of two nodes of the same
 * key and capacity. */
static void
swap_contents(mm_node *a, mm_node *b)
{
    unsigned char *x = MM_VAL(a), *y = MM_VAL(b), t;
    uint64_t version = a->version;
    uint32_t vlen = a->vlen, copy = a->copy, i, n;

    n = a->vlen > b->vlen ? a->vlen : b->vlen;
    for (i = 0; i < n; i++) {
        t = x[i];
        x[i] = y[i];
        y[i] = t;
    }
    a->version = b->version;
    a->vlen = b->vlen;
    a->copy = b->copy;
    b->version = version;
    b->vlen = vlen;
    b->copy = copy;
}

void
mm_changes_uncopy(mm_changes *c, mm_node *n)
{
    mm_change *e = &c->v[n->copy - 1];

    swap_contents(n, e->other);
    /* The entry's key still points into the arena copy, which lives as
     * long as the list. */
    e->other = n;
    e->kind = MM_CHANGE_NODE;
    n->copy = 0;
}

static int
swap_one(mm_map *m, mm_change *e)
{
    mm_node **slot = mm_map_find(m, e->cf, e->key, e->klen, e->hash);
    mm_node *cur = slot ? *slot : NULL;
    int rc;

    if (e->kind == MM_CHANGE_COPY) {
        /* The map holds the very node the copy was taken from. */
        if (!slot)
            return ss_error_set(SS_ECORRUPT,
                                "in-memory version history "
                                "lost a key of %u bytes",
                                e->klen);
        swap_contents(cur, e->other);
        return 0;
    }
    if (slot && e->other) {
        *slot = e->other;
    } else if (slot) {
        mm_map_delete(m, e->cf, e->key, e->klen, e->hash);
    } else if (e->other) {
        if ((rc = mm_map_insert(m, e->cf, e->other, e->hash)) < 0)
            return rc;
    }
    e->other = cur;
    return 0;
}

int
mm_changes_swap(mm_map *m, mm_changes *c, bool backward)
{
    size_t i;
    int rc;

    /* A key touched twice in a batch (removed, then put again) has two
     * entries; order makes each entry see the state the other left. */
    for (i = 0; i < c->len; i++)
        if ((rc = swap_one(m, &c->v[backward ? c->len - 1 - i : i])) < 0)
            return rc;
    return 0;
}

void
mm_changes_free(ss_budget *b, mm_changes *c)
{
    mm_chunk *ch, *next;
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->len; i++)
        if (c->v[i].kind == MM_CHANGE_NODE && c->v[i].other)
            mm_node_free(b, c->v[i].other);
    for (ch = c->keys; ch; ch = next) {
        next = ch->next;
        ss_budget_free(b, ch);
    }
    ss_budget_free(b, c->v);
    ss_budget_free(b, c);
}

/* -------------------------------------------------------------- iterator */

static int
push(mm_iter *it, mm_tnode *t)
{
    mm_tnode **grown;

    if (it->depth == it->stack_cap) {
        it->stack_cap = it->stack_cap ? it->stack_cap * 2 : 64;
        grown = realloc(it->stack, it->stack_cap * sizeof(*grown));
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory iterating");
        it->stack = grown;
    }
    it->stack[it->depth++] = t;
    return 0;
}

/* Fill the stack with the ancestors of the first key >= key (> key when
 * strict), so its top is that key. */
static int
tree_seek(mm_iter *it, const void *key, size_t klen, bool strict)
{
    mm_tnode *t;
    int c, rc;

    it->depth = 0;
    for (t = it->map->cf[it->cf].root; t;) {
        c = klen ? node_cmp(t->node, key, klen) : 1;
        if (c > 0 || (c == 0 && !strict)) {
            if ((rc = push(it, t)) < 0)
                return rc;
            t = t->left;
        } else {
            t = t->right;
        }
    }
    return 0;
}

int
mm_iter_init(mm_iter *it, mm_map *m, unsigned cf, const void *prefix,
             size_t prefix_len, const void *start, size_t start_len,
             const void *end, size_t end_len)
{
    mm_cf *c = &m->cf[cf];

    memset(it, 0, sizeof(*it));
    it->map = m;
    it->cf = cf;
    it->prefix = prefix;
    it->prefix_len = prefix_len;
    it->end = end;
    it->end_len = end_len;
    it->has_end = end_len > 0;
    it->start = prefix_len ? prefix : start;
    it->start_len = prefix_len ? prefix_len : start_len;
    it->gen = c->gen;
    if (!c->ordered)
        return 0;
    return tree_seek(it, it->start, it->start_len, false);
}

static bool
has_prefix(const mm_iter *it, const mm_node *n)
{
    return n->klen >= it->prefix_len &&
           memcmp(n->data, it->prefix, it->prefix_len) == 0;
}

/* The family changed since the last step: find the place after the last
 * key returned again (insertions, removals, rotations and a doubled hash
 * index all move things). */
static int
resume(mm_iter *it, mm_cf *cf)
{
    it->gen = cf->gen;
    if (!it->started)
        return cf->ordered ? tree_seek(it, it->start, it->start_len, false) : 0;
    if (cf->ordered)
        return tree_seek(it, it->last, it->last_len, true);
    it->slot = cf->cap
                   ? hash_seek(cf, it->last_hash, it->last, it->last_len, true)
                   : 0;
    return 0;
}

/* Keep the key returned: the caller may remove it before the next step,
 * and resuming needs it. */
static int
remember(mm_iter *it, const mm_node *n, uint64_t hash)
{
    unsigned char *grown;

    if (n->klen > it->last_cap) {
        grown = realloc(it->last, n->klen);
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory iterating");
        it->last = grown;
        it->last_cap = n->klen;
    }
    memcpy(it->last, n->data, n->klen);
    it->last_len = n->klen;
    it->last_hash = hash;
    it->started = true;
    return 0;
}

int
mm_iter_seek_after(mm_iter *it, const void *key, size_t klen, uint64_t hash)
{
    unsigned char *grown;

    if (klen > it->last_cap) {
        grown = realloc(it->last, klen);
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory iterating");
        it->last = grown;
        it->last_cap = klen;
    }
    memcpy(it->last, key, klen);
    it->last_len = klen;
    it->last_hash = it->map->cf[it->cf].ordered ? 0 : hash;
    it->started = true;
    it->done = false;
    return resume(it, &it->map->cf[it->cf]);
}

int
mm_iter_next(mm_iter *it, mm_node **out)
{
    mm_cf *cf = &it->map->cf[it->cf];
    mm_tnode *t, *x;
    mm_node *n;
    int rc;

    if (it->done)
        return SS_EDONE;
    if (it->gen != cf->gen && (rc = resume(it, cf)) < 0)
        return rc;
    if (!cf->ordered) {
        while (it->slot < (hash_slots(cf->cap))) {
            mm_slot *s = &cf->slots[it->slot++];

            if (s->node && has_prefix(it, s->node)) {
                if ((rc = remember(it, s->node, s->hash)) < 0)
                    return rc;
                *out = s->node;
                return 0;
            }
        }
        it->done = true;
        return SS_EDONE;
    }
    if (it->depth == 0) {
        it->done = true;
        return SS_EDONE;
    }
    t = it->stack[--it->depth];
    for (x = t->right; x; x = x->left)
        if ((rc = push(it, x)) < 0)
            return rc;
    n = t->node;
    if (!has_prefix(it, n) ||
        (it->has_end && node_cmp(n, it->end, it->end_len) >= 0)) {
        it->depth = 0;
        it->done = true;
        return SS_EDONE;
    }
    if ((rc = remember(it, n, 0)) < 0)
        return rc;
    *out = n;
    return 0;
}

void
mm_iter_release(mm_iter *it)
{
    free(it->stack);
    free(it->last);
    it->stack = NULL;
    it->last = NULL;
}
