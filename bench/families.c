/*
 * families.c -- what column families created and dropped inside a store
 * cost (ss_store_cf_create, ss_store_cf_drop).
 *
 * For each provider config (memory; rocksdb in changelog and SST
 * snapshot mode when built): version 1 holds family "big" with N keys
 * (16 B keys, 64 B values).  Each round loads version 1 again (from
 * memory) and commits version 2 three ways:
 *   - create: ss_store_cf_create of a new family, then commit (against a
 *     commit of an empty batch);
 *   - drop: ss_store_cf_drop("big"), then commit;
 *   - removes: iterate "big" removing every key, then commit (the only
 *     way before families could be dropped; the family stays, empty).
 * Median of the rounds; the ratio is drop / removes in the same run, and
 * the commit's file bytes (delta or meta) are reported for both.
 *
 *   families [--keys N] [--dir DIR] [--rounds R]
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

const char *bench_name = "families";

static uint64_t
commit_bytes(ss_provider *p)
{
    ss_metrics m;

    memset(&m, 0, sizeof(m));
    m.version = SS_METRICS_VERSION;
    TRY("metrics", ss_provider_metrics(&m, p));
    return m.commit_bytes;
}

enum { WAY_EMPTY, WAY_CREATE, WAY_DROP, WAY_REMOVES, N_WAYS };

/* One round of `way` on version 1: ns for the call(s) and the commit. */
static void
run_way(ss_provider *p, unsigned big, int way, double *call_ns,
        double *commit_ns, uint64_t *bytes)
{
    ss_store *s = NULL;
    ss_iter *it = NULL;
    ss_slice k;
    unsigned id;
    uint64_t t0, t1, t2;
    int rc;

    TRY("load", ss_provider_load(&s, p, 1));
    t0 = now_ns();
    if (way == WAY_CREATE) {
        TRY("cf_create", ss_store_cf_create(&id, s, "new", 0));
    } else if (way == WAY_DROP) {
        TRY("cf_drop", ss_store_cf_drop(s, big));
    } else if (way == WAY_REMOVES) {
        TRY("iter", ss_store_iter(&it, s, big));
        while ((rc = ss_iter_next(it, &k, NULL)) == 0)
            TRY("remove", ss_store_remove(s, big, k));
        if (rc != SS_EDONE)
            die("iter_next", rc);
        ss_iter_free(it);
    }
    t1 = now_ns();
    TRY("commit", ss_store_commit(NULL, s));
    t2 = now_ns();
    ss_store_free(s);
    *call_ns = (double)(t1 - t0);
    *commit_ns = (double)(t2 - t1);
    *bytes = commit_bytes(p);
}

static void
bench_one(const char *name, const char *const *extra, const char *dir,
          uint32_t nkeys, int rounds)
{
    static const char *const way_names[N_WAYS] = {"empty", "create", "drop",
                                                  "removes"};
    const char *opts[4] = {NULL};
    char loc[512], cmd[600];
    unsigned char key[KEY_LEN];
    ss_provider *p = NULL;
    ss_store *s = NULL;
    unsigned big;
    uint32_t i;
    double call[N_WAYS][MAX_ROUNDS], com[N_WAYS][MAX_ROUNDS];
    double mc[N_WAYS], mm[N_WAYS];
    uint64_t bytes[N_WAYS] = {0};
    size_t n = 0;
    int r, w;

    while (extra[n]) {
        opts[n] = extra[n];
        n++;
    }
    opts[n++] = "compression=none";
    snprintf(loc, sizeof(loc), "%s/families-%s-%d", dir, name, (int)getpid());
    TRY("open", ss_provider_open(&p, loc, opts, n));
    TRY("load", ss_provider_load(&s, p, 0));
    TRY("cf_create", ss_store_cf_create(&big, s, "big", 0));
    for (i = 0; i < nkeys; i++) {
        make_key(key, i);
        TRY("put", ss_store_put(s, big, sl(key, KEY_LEN),
                                sl(value_for(i, 0), VALUE_LEN)));
    }
    TRY("commit", ss_store_commit(NULL, s));
    ss_store_free(s);
    for (r = 0; r < rounds; r++)
        for (w = 0; w < N_WAYS; w++)
            run_way(p, big, w, &call[w][r], &com[w][r], &bytes[w]);
    ss_provider_close(p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", loc);
    if (system(cmd) != 0)
        fprintf(stderr, "families: could not remove %s\n", loc);
    for (w = 0; w < N_WAYS; w++) {
        mc[w] = median(call[w], (size_t)rounds);
        mm[w] = median(com[w], (size_t)rounds);
        printf("%-18s %-8s call %10.3f ms   commit %10.3f ms   file %9llu B\n",
               name, way_names[w], mc[w] / 1e6, mm[w] / 1e6,
               (unsigned long long)bytes[w]);
    }
    printf("BENCH families.%s.create_call_us %.1f us\n", name,
           mc[WAY_CREATE] / 1e3);
    printf("BENCH families.%s.create_commit_ms %.3f ms\n", name,
           mm[WAY_CREATE] / 1e6);
    printf("BENCH families.%s.empty_commit_ms %.3f ms\n", name,
           mm[WAY_EMPTY] / 1e6);
    printf("BENCH families.%s.drop_total_ms %.3f ms\n", name,
           (mc[WAY_DROP] + mm[WAY_DROP]) / 1e6);
    printf("BENCH families.%s.removes_total_ms %.3f ms\n", name,
           (mc[WAY_REMOVES] + mm[WAY_REMOVES]) / 1e6);
    printf("BENCH families.%s.drop_vs_removes_ratio %.3f x\n", name,
           (mc[WAY_DROP] + mm[WAY_DROP]) / (mc[WAY_REMOVES] + mm[WAY_REMOVES]));
    printf("BENCH families.%s.drop_file_bytes %llu B\n", name,
           (unsigned long long)bytes[WAY_DROP]);
    printf("BENCH families.%s.removes_file_bytes %llu B\n", name,
           (unsigned long long)bytes[WAY_REMOVES]);
}

int
main(int argc, char **argv)
{
    static const char *const memory[] = {"provider=memory", NULL};
#ifdef SS_BENCH_HAVE_ROCKSDB
    static const char *const changelog[] = {
        "provider=rocksdb", "rocksdb.changelog_checkpointing=true", NULL};
    static const char *const sst[] = {"provider=rocksdb", NULL};
#endif
    bench_args args = {100000, "/tmp", 5};
    int rc;

    if ((rc = bench_parse(&args, argc, argv, 1u, MAX_ROUNDS)) != 0)
        return rc;
    value_pool_init();
    printf("families: family of %u keys; create a family, drop it, or "
           "remove its keys one by one, then commit (%d rounds, median)\n",
           args.keys, args.rounds);
    bench_one("memory", memory, args.dir, args.keys, args.rounds);
#ifdef SS_BENCH_HAVE_ROCKSDB
    bench_one("rocksdb_changelog", changelog, args.dir, args.keys, args.rounds);
    bench_one("rocksdb_snapshot", sst, args.dir, args.keys, args.rounds);
#endif
    return 0;
}
