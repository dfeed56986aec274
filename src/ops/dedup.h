/*
 * dedup.h -- streaming deduplication by key fields, with a watermark.
 */
#ifndef SS_OPS_DEDUP_H
#define SS_OPS_DEDUP_H

#include "ops/window_agg.h"
#include "statestore.h"

#include <stddef.h>
#include <stdint.h>

/*
 * For rows recs[idx[i]] of one partition, in order: set keep[idx[i]] to
 * 1 if its dedup key was not seen before (and remember it), 0 if it is a
 * duplicate.  First removes keys whose first event time is below
 * `watermark`.  Families: `cf_keys` (key -> first event time) and
 * `cf_time` (ordered: time || key -> "", for eviction).  Does not commit.
 * @param[out] dropped_out  duplicates found
 * @param[out] evicted_out  keys evicted
 * @return 0, SS_ENOMEM, SS_ELIMIT, SS_EINVAL, SS_ECORRUPT
 */
int ss_dedup__apply(uint64_t *dropped_out, uint64_t *evicted_out,
                    unsigned char *keep, ss_store *store, unsigned cf_keys,
                    unsigned cf_time, const ss_rec *recs, const uint32_t *idx,
                    size_t n, const unsigned char *arena, int64_t watermark);

#endif
