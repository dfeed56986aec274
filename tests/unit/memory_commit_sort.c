/*
 * memory_commit_sort.c -- the radix sort of a batch's changes equals a
 * comparison sort by (rank, key, index) (commit_sort.c invariant), on
 * keys built to tie on their first 8 bytes, repeat, and differ only in
 * length or trailing zero bytes.
 */
#include "harness.h"
#include "providers/memory/commit_sort.h"

#include <stdlib.h>
#include <string.h>

#define N 3000

static const mm_change *sort_changes;

static int
reference_cmp(const void *a, const void *b)
{
    const commit_rec *x = a, *y = b;
    const mm_change *p = &sort_changes[x->index], *q = &sort_changes[y->index];
    int c;

    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    c = mm_key_cmp(p->key, p->klen, q->key, q->klen);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void
test_commit_sort__equals_comparison_sort(ss_test *t)
{
    static unsigned char keys[N][20];
    static mm_change changes[N];
    static commit_rec got[N], want[N], tmp[N];
    uint64_t rng = 12345;
    size_t i, round;
    int differ;

    for (round = 0; round < 20; round++) {
        for (i = 0; i < N; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            /* Few distinct prefixes, short tails: many ties and repeats. */
            memset(keys[i], (int)((rng >> 60) & 1), 8);
            keys[i][8] = (unsigned char)((rng >> 40) % 3);
            keys[i][9] = (unsigned char)((rng >> 33) % 2);
            changes[i].key = keys[i];
            changes[i].klen = 1 + (uint32_t)((rng >> 20) % 10);
            commit_rec_init(&got[i], &changes[i], (uint32_t)i,
                            (uint32_t)((rng >> 10) % (round % 3 + 1)));
            want[i] = got[i];
        }
        sort_changes = changes;
        qsort(want, N, sizeof(commit_rec), reference_cmp);
        commit_sort(got, tmp, N, changes);
        differ = 0;
        for (i = 0; i < N; i++)
            differ |= got[i].index != want[i].index;
        ss_test_context(t, "round %zu", round);
        SS_CHECK(!differ);
    }
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(commit_sort, equals_comparison_sort),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
