/*
 * iter_writes.c -- issue 10, item 1: removing while iterating, against
 * the way the operators had to do it before (collect the keys during the
 * scan, remove them after: the old src/ops/keylist.h).
 *
 * For each provider (memory; rocksdb when built) and family kind
 * (unordered, ordered): a committed version of N keys (16 B keys, 64 B
 * values); then, from that version loaded again each round,
 *   - iter_remove: one iteration removing every other key as it is
 *     returned (an eviction loop);
 *   - keylist: the same scan copying the doomed keys into a buffer, then
 *     a second pass removing them;
 * each round aborted, so every round starts from the same N keys.
 * Median and spread of ROUNDS rounds, ns per key scanned; the ratio is
 * iter_remove / keylist in the same run.
 *
 *   iter_writes [--keys N] [--dir DIR] [--rounds R]
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_api.h"
#include "bench_util.h"
#include "statestore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROUNDS 15

const char *bench_name = "iter_writes";

/* Is key index i (from its bytes) doomed: every other key. */
static int
doomed(ss_slice k)
{
    return (((const unsigned char *)k.data)[KEY_LEN - 1] & 1) == 0;
}

static uint64_t
run_iter_remove(ss_store *s, unsigned cf, uint64_t *removed)
{
    ss_iter *it = NULL;
    ss_slice k;
    uint64_t t0 = now_ns();
    int rc;

    TRY("iter", ss_store_iter(&it, s, cf));
    while ((rc = ss_iter_next(it, &k, NULL)) == 0) {
        if (doomed(k)) {
            TRY("remove", ss_store_remove(s, cf, k));
            (*removed)++;
        }
    }
    if (rc != SS_EDONE)
        die("iter_next", rc);
    ss_iter_free(it);
    return now_ns() - t0;
}

static uint64_t
run_keylist(ss_store *s, unsigned cf, uint64_t *removed)
{
    ss_iter *it = NULL;
    ss_slice k;
    unsigned char *list = NULL, *grown;
    size_t len = 0, cap = 0, off;
    uint64_t t0 = now_ns();
    int rc;

    TRY("iter", ss_store_iter(&it, s, cf));
    while ((rc = ss_iter_next(it, &k, NULL)) == 0) {
        if (!doomed(k))
            continue;
        if (len + 4 + k.len > cap) {
            cap = cap ? cap * 2 : 1u << 16;
            if (!(grown = realloc(list, cap)))
                die("realloc", SS_ENOMEM);
            list = grown;
        }
        memcpy(list + len, &(uint32_t){(uint32_t)k.len}, 4);
        memcpy(list + len + 4, k.data, k.len);
        len += 4 + k.len;
    }
    if (rc != SS_EDONE)
        die("iter_next", rc);
    ss_iter_free(it);
    for (off = 0; off < len;) {
        uint32_t n;

        memcpy(&n, list + off, 4);
        TRY("remove", ss_store_remove(s, cf, sl(list + off + 4, n)));
        (*removed)++;
        off += 4 + n;
    }
    free(list);
    return now_ns() - t0;
}

static void
bench_one(const char *provider, const char *dir, uint32_t nkeys, unsigned flags,
          int rounds)
{
    const char *opts[] = {NULL, "compression=none"};
    char optbuf[64], loc[512], name[96], cmd[600];
    unsigned char key[KEY_LEN];
    ss_provider *p = NULL;
    ss_store *s = NULL;
    unsigned cf;
    uint32_t i;
    double a[MAX_ROUNDS], b[MAX_ROUNDS], ma, mb, lo, hi;
    uint64_t removed, want = 0;
    int r;

    snprintf(optbuf, sizeof(optbuf), "provider=%s", provider);
    opts[0] = optbuf;
    snprintf(loc, sizeof(loc), "%s/iter_writes-%s-%u-%d", dir, provider, flags,
             (int)getpid());
    TRY("open", ss_provider_open(&p, loc, opts, 2));
    TRY("cf", ss_provider_cf(&cf, p, "f", flags));
    TRY("load", ss_provider_load(&s, p, 0));
    for (i = 0; i < nkeys; i++) {
        make_key(key, i);
        if (doomed(sl(key, KEY_LEN)))
            want++;
        TRY("put", ss_store_put(s, cf, sl(key, KEY_LEN),
                                sl(value_for(i, 0), VALUE_LEN)));
    }
    TRY("commit", ss_store_commit(NULL, s));
    ss_store_free(s);
    for (r = 0; r < rounds; r++) {
        removed = 0;
        TRY("load", ss_provider_load(&s, p, 1));
        a[r] = (double)run_iter_remove(s, cf, &removed) / nkeys;
        ss_store_free(s); /* aborts */
        if (removed != want)
            die("iter_remove removed the wrong count", SS_EINVAL);
        removed = 0;
        TRY("load", ss_provider_load(&s, p, 1));
        b[r] = (double)run_keylist(s, cf, &removed) / nkeys;
        ss_store_free(s);
        if (removed != want)
            die("keylist removed the wrong count", SS_EINVAL);
    }
    ss_provider_close(p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", loc);
    if (system(cmd) != 0)
        fprintf(stderr, "iter_writes: could not remove %s\n", loc);
    ma = median(a, (size_t)rounds);
    mb = median(b, (size_t)rounds);
    snprintf(name, sizeof(name), "%s.%s", provider,
             flags & SS_CF_ORDERED ? "ordered" : "unordered");
    spread(a, (size_t)rounds, &lo, &hi);
    printf("%-20s iter_remove %8.1f ns/key (%.1f..%.1f)", name, ma, lo, hi);
    spread(b, (size_t)rounds, &lo, &hi);
    printf("   keylist %8.1f ns/key (%.1f..%.1f)   ratio %.2f\n", mb, lo, hi,
           ma / mb);
    printf("BENCH iter_writes.%s.iter_remove_ns_per_key %.1f ns\n", name, ma);
    printf("BENCH iter_writes.%s.keylist_ns_per_key %.1f ns\n", name, mb);
    printf("BENCH iter_writes.%s.ratio_vs_keylist %.3f x\n", name, ma / mb);
}

int
main(int argc, char **argv)
{
    bench_args args = {1000000, "/tmp", 5};
    int rc;

    if ((rc = bench_parse(&args, argc, argv, 2u, MAX_ROUNDS)) != 0)
        return rc;
    value_pool_init();
    printf("iter_writes: %u keys, remove every other one while iterating, "
           "%d rounds (median, min..max)\n",
           args.keys, args.rounds);
    bench_one("memory", args.dir, args.keys, 0, args.rounds);
    bench_one("memory", args.dir, args.keys, SS_CF_ORDERED, args.rounds);
#ifdef SS_BENCH_HAVE_ROCKSDB
    bench_one("rocksdb", args.dir, args.keys, 0, args.rounds);
    bench_one("rocksdb", args.dir, args.keys, SS_CF_ORDERED, args.rounds);
#endif
    return 0;
}
