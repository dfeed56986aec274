/*
 * commit_sort.h -- ordering a batch's changes for its delta file.
 */
#ifndef SS_MEMORY_COMMIT_SORT_H
#define SS_MEMORY_COMMIT_SORT_H

#include "providers/memory/memory_map.h"

#include <stddef.h>
#include <stdint.h>

typedef struct commit_rec {
    uint64_t head;  /* first 8 key bytes, big-endian, zero-padded */
    uint32_t index; /* position in the change list */
    uint32_t rank;  /* the family's file-local id */
} commit_rec;

/* Fill recs[i] for change i. */
void commit_rec_init(commit_rec *r, const mm_change *e, uint32_t index,
                     uint32_t rank);

/* Sort by (rank, key bytes, index): the file's order, with a key's
 * entries in the order the batch made them.  `tmp` has room for n.
 * O(n) byte passes (LSD radix) on (rank, head), then insertion sort of
 * the rare runs whose first 8 key bytes tie. */
void commit_sort(commit_rec *recs, commit_rec *tmp, size_t n,
                 const mm_change *changes);

#endif
