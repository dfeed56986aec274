/*
 * commit_sort.c -- LSD radix sort of a batch's changes (commit_sort.h).
 *
 * A comparison sort of 10k changes cost ~1.2 ms of a ~5 ms commit
 * (bench/memory_ops); byte passes cost a tenth of that.  Passes whose
 * byte is the same in every record (a shared key prefix, a single
 * family) are skipped.
 *
 * Invariant: the result is ordered by (rank, key, index) -- the same
 * order mm_key_cmp gives -- because every pass is stable, the passes run
 * from the least significant byte, and ties on (rank, head) are finished
 * on the full key: insertion sort for short runs, qsort_r (ordered by
 * (key, index), so still stable) for long ones -- keys sharing an 8-byte
 * prefix, such as a window start followed by a group key, would make
 * insertion sort quadratic.
 */
#include "providers/memory/commit_sort.h"

#include <stdlib.h>
#include <string.h>

void
commit_rec_init(commit_rec *r, const mm_change *e, uint32_t index,
                uint32_t rank)
{
    uint64_t h = 0;
    uint32_t i;

    for (i = 0; i < 8; i++)
        h = (h << 8) | (i < e->klen ? e->key[i] : 0);
    r->head = h;
    r->index = index;
    r->rank = rank;
}

static unsigned
digit(const commit_rec *r, unsigned pass)
{
    return pass < 8 ? (unsigned)(r->head >> (8 * pass)) & 0xff : r->rank;
}

/* One stable counting pass; returns 0 if skipped (all digits equal). */
static int
radix_pass(commit_rec *dst, const commit_rec *src, size_t n, unsigned pass)
{
    size_t count[256], i, sum = 0, c;

    memset(count, 0, sizeof(count));
    for (i = 0; i < n; i++)
        count[digit(&src[i], pass)]++;
    if (count[digit(&src[0], pass)] == n)
        return 0;
    for (i = 0; i < 256; i++) {
        c = count[i];
        count[i] = sum;
        sum += c;
    }
    for (i = 0; i < n; i++)
        dst[count[digit(&src[i], pass)]++] = src[i];
    return 1;
}

#define INSERTION_MAX 16u

static int
full_cmp(const commit_rec *x, const commit_rec *y, const mm_change *changes)
{
    const mm_change *a = &changes[x->index], *b = &changes[y->index];
    int c = mm_key_cmp(a->key, a->klen, b->key, b->klen);

    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int
qsort_cmp(const void *a, const void *b, void *changes)
{
    return full_cmp(a, b, changes);
}

void
commit_sort(commit_rec *recs, commit_rec *tmp, size_t n,
            const mm_change *changes)
{
    commit_rec *src = recs, *dst = tmp, *t, x;
    size_t i, j, run;
    unsigned pass;

    if (n < 2)
        return;
    for (pass = 0; pass < 9; pass++) {
        if (radix_pass(dst, src, n, pass)) {
            t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != recs)
        memcpy(recs, src, n * sizeof(*recs));
    for (run = 0; run < n; run = j) {
        for (j = run + 1; j < n && recs[j].rank == recs[run].rank &&
                          recs[j].head == recs[run].head;
             j++)
            ;
        if (j - run > INSERTION_MAX) {
            qsort_r(recs + run, j - run, sizeof(*recs), qsort_cmp,
                    (void *)changes);
            continue;
        }
        for (i = run + 1; i < j; i++) {
            x = recs[i];
            size_t k = i;
            while (k > run && full_cmp(&recs[k - 1], &x, changes) > 0) {
                recs[k] = recs[k - 1];
                k--;
            }
            recs[k] = x;
        }
    }
}
