/*
 * memory_map.h -- the memory provider's in-memory state.
 *
 * A map holds one version of every column family: a hash index for
 * unordered families, a treap for ordered ones.  Each key/value lives in
 * one heap node; an index slot points at it.
 *
 * A change list (mm_changes) records, for each key a batch touched, the
 * node that key had before (or NULL).  Swapping a list against the map
 * exchanges the two sides, which moves the map one version back -- and
 * swapping again moves it forward.  That is how the provider keeps the
 * last few versions in memory at a cost proportional to what changed.
 */
#ifndef SS_MEMORY_MAP_H
#define SS_MEMORY_MAP_H

#include "format/frame.h"
#include "util/alloc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mm_node {
    uint64_t version; /* the batch that wrote this node */
    uint32_t klen;
    uint32_t vlen;
    uint32_t vcap;
    uint32_t copy;        /* written in place by batch `version`: 1 + index of
                      its COPY change entry; else 0 */
    unsigned char data[]; /* key, then value */
} mm_node;

#define MM_KEY(n) ((n)->data)
#define MM_VAL(n) ((n)->data + (n)->klen)

typedef struct mm_slot {
    uint64_t hash;
    mm_node *node; /* NULL = empty */
} mm_slot;

typedef struct mm_tnode {
    mm_node *node;
    struct mm_tnode *left, *right;
    uint32_t prio;
} mm_tnode;

typedef struct mm_cf {
    bool ordered;
    mm_slot *slots; /* hash index (unordered): homes plus a tail */
    size_t cap;     /* homes, a power of two (0 = no index yet) */
    unsigned shift; /* home = hash >> shift */
    size_t count;
    mm_tnode *root; /* treap (ordered families) */
    uint64_t gen;   /* bumped by every insert, delete and resize */
} mm_cf;

typedef struct mm_map {
    ss_budget *budget;
    unsigned ncf;
    uint64_t nkeys;
    uint64_t rng;
    mm_cf cf[SS_MAX_CFS];
} mm_map;

/* A NODE entry owns `other`, a heap node (NULL = key absent); swapping
 * exchanges it with the map's slot.  A COPY entry's `other` is a copy of
 * a node, in the list's arena, taken before the batch wrote that same
 * node in place; swapping exchanges the two nodes' contents (same key,
 * same capacity).  COPY avoids a malloc per overwrite (mm_changes_copy). */
enum { MM_CHANGE_NODE = 0, MM_CHANGE_COPY = 1 };

typedef struct mm_change {
    mm_node *other;
    const unsigned char *key; /* in the list's arena */
    uint64_t hash;
    uint32_t klen;
    uint16_t cf;
    uint16_t kind;
} mm_change;

typedef struct mm_chunk {
    struct mm_chunk *next;
    size_t used, cap;
    unsigned char data[];
} mm_chunk;

typedef struct mm_changes {
    uint64_t version; /* the version this list leads to */
    /* The families before and after the batch (format/frame.h). */
    ss_cf_set cfs_before, cfs_after;
    mm_change *v;
    size_t len, cap;
    mm_chunk *keys;
} mm_changes;

uint64_t mm_hash(const void *key, size_t klen);

int mm_map_new(mm_map **out, ss_budget *budget);
/* Add family `cf` (ids are dense, in declaration order). */
void mm_map_add_cf(mm_map *m, unsigned cf, bool ordered);
void mm_map_free(mm_map *m);

/* The slot holding `key`, or NULL if absent.  Valid until the next
 * insert or delete. */
mm_node **mm_map_find(mm_map *m, unsigned cf, const void *key, size_t klen,
                      uint64_t hash);
/* Start loading the cache lines a lookup of `hash` will touch: stage 0
 * the slot, stage 1 (some lookups later, the slot now cached) the node. */
void mm_map_prefetch(const mm_map *m, unsigned cf, uint64_t hash, int stage);
/* Bytes one more insert into `cf` may allocate (index growth). */
size_t mm_map_insert_cost(const mm_map *m, unsigned cf);
/* Insert a node whose key is absent.  SS_ENOMEM leaves the map as it
 * was. */
int mm_map_insert(mm_map *m, unsigned cf, mm_node *n, uint64_t hash);
/* Unlink and return the node holding key (NULL if absent). */
mm_node *mm_map_delete(mm_map *m, unsigned cf, const void *key, size_t klen,
                       uint64_t hash);

mm_node *mm_node_new(ss_budget *b, const void *key, size_t klen,
                     const void *value, size_t vlen, uint64_t version);
size_t mm_node_size(size_t klen, size_t vlen);
/* Bytes the budget counts for an allocation of `size` bytes (the
 * allocator rounds up): cost estimates use it so a put that fits never
 * takes memory_bytes past memory_limit_bytes. */
size_t mm_alloc_cost(size_t size);
void mm_node_free(ss_budget *b, mm_node *n);

/* Upsert / remove used when replaying files into a map. */
int mm_map_apply(mm_map *m, unsigned cf, unsigned op, const void *key,
                 size_t klen, const void *value, size_t vlen, uint64_t version);

int mm_changes_new(mm_changes **out, ss_budget *b, uint64_t version);
/* Bytes the next push of a klen-byte key may allocate. */
size_t mm_changes_push_cost(const mm_changes *c, size_t klen);
int mm_changes_push(mm_changes *c, ss_budget *b, unsigned cf, const void *key,
                    size_t klen, uint64_t hash, mm_node *other);
/* Bytes the next mm_changes_copy of `n` may allocate. */
size_t mm_changes_copy_cost(const mm_changes *c, const mm_node *n);
/* Record a COPY entry for `n` (about to be written in place) and mark n
 * with its index.  n->version is left to the caller. */
int mm_changes_copy(mm_changes *c, ss_budget *b, unsigned cf, mm_node *n,
                    uint64_t hash);
/* Undo an in-place write: put the copy's contents back into `n` and turn
 * the entry into a NODE entry owning `n` (which the caller unlinks from
 * the map).  For a node about to be replaced or removed in its batch. */
void mm_changes_uncopy(mm_changes *c, mm_node *n);
/* Exchange the list with the map (see top).  `backward` walks the list
 * in reverse, undoing a batch; forward redoes it.  On SS_ENOMEM the map
 * is half-moved and must be discarded. */
int mm_changes_swap(mm_map *m, mm_changes *c, bool backward);
/* Free the list and every node it holds. */
void mm_changes_free(ss_budget *b, mm_changes *c);

/* Iteration over one family: keys in byte order if ordered, in (hash,
 * key) order otherwise.  It survives writes to the map: each step
 * returns the first key after the one it returned last, in the map as it
 * is at that step (a step after a change seeks that key again).  The
 * bounds are borrowed for the iterator's life. */
typedef struct mm_iter {
    mm_map *map;
    unsigned cf;
    size_t slot;
    mm_tnode **stack;
    size_t depth, stack_cap;
    const unsigned char *prefix;
    size_t prefix_len;
    const unsigned char *start;
    size_t start_len;
    const unsigned char *end;
    size_t end_len;
    bool has_end;
    bool started, done;
    uint64_t gen;        /* the family's gen the position belongs to */
    unsigned char *last; /* copy of the last key returned */
    size_t last_len, last_cap;
    uint64_t last_hash;
} mm_iter;

int mm_iter_init(mm_iter *it, mm_map *m, unsigned cf, const void *prefix,
                 size_t prefix_len, const void *start, size_t start_len,
                 const void *end, size_t end_len);
/* Next node: 0, SS_EDONE at the end (and ever after), SS_ENOMEM.  The
 * key of the node returned is also kept in it->last until the next
 * step. */
int mm_iter_next(mm_iter *it, mm_node **out);
/* Place the iterator just after (hash, key), as if it had returned that
 * key last, even one the map does not hold (for unordered families
 * `hash` is the key's mm_hash).  A finished iterator goes on again. */
int mm_iter_seek_after(mm_iter *it, const void *key, size_t klen,
                       uint64_t hash);
void mm_iter_release(mm_iter *it);

int mm_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
