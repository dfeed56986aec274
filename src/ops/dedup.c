/*
 * dedup.c -- streaming deduplication with a watermark, on the public
 * store API only.
 *
 * State, per partition store:
 *   family "dedup"      key = dedup key -> value = first event time
 *                       (8 bytes, ss_wagg__enc_time)
 *   family "dedup_time" (ordered) key = first event time (8 bytes) ||
 *                       dedup key -> empty value
 *
 * Invariants:
 * 1. A row is kept iff no row with the same dedup key was kept earlier
 *    (in batch order, then input order) and not yet evicted.
 * 2. Before a batch with watermark W is applied, every key whose first
 *    event time is < W is removed from both families, so state is
 *    bounded by the keys seen within the watermark delay.
 * 3. The two families change together in one commit.
 */
#include "ops/dedup.h"

#include "util/buf.h"
#include "util/error.h"

#include <string.h>

static ss_slice
mkslice(const void *data, size_t len)
{
    ss_slice s;

    s.data = data;
    s.len = len;
    return s;
}

static int
evict(uint64_t *evicted, ss_store *store, unsigned cf_keys, unsigned cf_time,
      int64_t watermark)
{
    unsigned char lo[8], hi[8];
    ss_iter *it = NULL;
    ss_slice k;
    int rc;

    if (watermark == INT64_MIN)
        return 0;
    ss_wagg__enc_time(lo, INT64_MIN);
    ss_wagg__enc_time(hi, watermark);
    if ((rc = ss_store_range_scan(&it, store, cf_time, mkslice(lo, 8),
                                  mkslice(hi, 8))) < 0)
        goto out;
    while ((rc = ss_iter_next(it, &k, NULL)) == 0) {
        if (k.len < 8) {
            rc = ss_error_set(SS_ECORRUPT, "dedup: %zu-byte time key", k.len);
            goto out;
        }
        /* The iterator survives the removes (statestore.h). */
        if ((rc = ss_store_remove(store, cf_time, k)) < 0 ||
            (rc = ss_store_remove(
                 store, cf_keys,
                 mkslice((const unsigned char *)k.data + 8, k.len - 8))) < 0)
            goto out;
        (*evicted)++;
    }
    if (rc == SS_EDONE)
        rc = 0;
out:
    ss_iter_free(it);
    return rc;
}

int
ss_dedup__apply(uint64_t *dropped_out, uint64_t *evicted_out,
                unsigned char *keep, ss_store *store, unsigned cf_keys,
                unsigned cf_time, const ss_rec *recs, const uint32_t *idx,
                size_t n, const unsigned char *arena, int64_t watermark)
{
    ss_buf tk = SS_BUF_INIT;
    unsigned char t8[8];
    ss_slice v;
    size_t i;
    int rc;

    *dropped_out = 0;
    *evicted_out = 0;
    if ((rc = evict(evicted_out, store, cf_keys, cf_time, watermark)) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        const ss_rec *r = &recs[idx[i]];
        ss_slice key = mkslice(arena + r->dkey_off, r->dkey_len);

        rc = ss_store_get(&v, store, cf_keys, key);
        if (rc == 0) {
            keep[idx[i]] = 0;
            (*dropped_out)++;
            continue;
        }
        if (rc != SS_ENOTFOUND)
            goto out;
        keep[idx[i]] = 1;
        ss_wagg__enc_time(t8, r->ts);
        tk.len = 0;
        if ((rc = ss_buf_append(&tk, t8, 8)) < 0 ||
            (rc = ss_buf_append(&tk, key.data, key.len)) < 0 ||
            (rc = ss_store_put(store, cf_keys, key, mkslice(t8, 8))) < 0 ||
            (rc = ss_store_put(store, cf_time, mkslice(tk.data, tk.len),
                               mkslice("", 0))) < 0)
            goto out;
    }
    rc = 0;
out:
    ss_buf_free(&tk);
    return rc;
}
