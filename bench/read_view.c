/*
 * read_view.c -- issue 10, item 3: a read view of the live version
 * (ss_provider_load_view) against the way to read a version beside the
 * writer before it (ss_provider_load_readonly, which rebuilds the state
 * from the checkpoint files), and what an open view costs the writer.
 *
 * For each provider (memory; rocksdb in both checkpoint modes when
 * built): version 1 holds N keys (16 B keys, 64 B values); the writable
 * store is loaded at 1, as Spark's getStore(v) beside getReadStore(v).
 * Each round:
 *   - open_view / open_readonly: open the store of version 1 and read
 *     one key (ms);
 *   - get_view / get_readonly: GETS random hits through each (ns/get);
 *   - put_with_view / put_alone: GETS overwrites of random keys by the
 *     writer with one view open and with none, the batch aborted after
 *     each (ns/put).
 * Median and spread (min..max) of the rounds; the ratios compare two
 * figures of the same run.  Any wrong value exits 1.
 *
 *   read_view [--keys N] [--dir DIR] [--rounds R]
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
#define GETS 200000u

const char *bench_name = "read_view";

/* Open version 1 as a view or read-only and read key 0: ms. */
static double
time_open(ss_provider *p, int view, ss_store **out)
{
    unsigned char key[KEY_LEN];
    uint64_t t0 = now_ns();
    ss_slice v;

    if (view)
        TRY("load_view", ss_provider_load_view(out, p, 1));
    else
        TRY("load_readonly", ss_provider_load_readonly(out, p, 1));
    make_key(key, 0);
    TRY("get", ss_store_get(&v, *out, SS_CF_DEFAULT, sl(key, KEY_LEN)));
    if (v.len != VALUE_LEN || memcmp(v.data, value_for(0, 0), VALUE_LEN))
        die("wrong value for key 0", SS_EINVAL);
    return (double)(now_ns() - t0) / 1e6;
}

/* GETS random hits of version 1: ns per get. */
static double
time_gets(ss_store *s, const uint32_t *order)
{
    unsigned char key[KEY_LEN];
    uint64_t t0 = now_ns(), sum = 0;
    ss_slice v;
    uint32_t i;

    for (i = 0; i < GETS; i++) {
        make_key(key, order[i]);
        TRY("get", ss_store_get(&v, s, SS_CF_DEFAULT, sl(key, KEY_LEN)));
        if (v.len != VALUE_LEN)
            die("wrong value length", SS_EINVAL);
        sum += load_word(v.data);
    }
    result_sink += sum;
    return (double)(now_ns() - t0) / GETS;
}

/* GETS overwrites by the writer (loaded at 1), then abort: ns per put. */
static double
time_puts(ss_provider *p, const uint32_t *order, unsigned gen)
{
    unsigned char key[KEY_LEN];
    ss_store *w = NULL;
    uint64_t t0;
    uint32_t i;

    TRY("load", ss_provider_load(&w, p, 1));
    t0 = now_ns();
    for (i = 0; i < GETS; i++) {
        make_key(key, order[i]);
        TRY("put", ss_store_put(w, SS_CF_DEFAULT, sl(key, KEY_LEN),
                                sl(value_for(order[i], gen), VALUE_LEN)));
    }
    t0 = now_ns() - t0;
    ss_store_free(w); /* aborts */
    return (double)t0 / GETS;
}

static void
report(const char *name, const char *what, double *v, int rounds,
       const char *unit)
{
    double lo, hi, m = median(v, (size_t)rounds);

    spread(v, (size_t)rounds, &lo, &hi);
    printf("  %-16s %10.3f %s (%.3f..%.3f)\n", what, m, unit, lo, hi);
    printf("BENCH read_view.%s.%s %.3f %s\n", name, what, m, unit);
}

static void
bench_one(const char *name, const char *const *opts, size_t nopts,
          const char *dir, uint32_t nkeys, int rounds)
{
    char loc[512], cmd[600];
    double ov[MAX_ROUNDS], oro[MAX_ROUNDS], gv[MAX_ROUNDS], gro[MAX_ROUNDS];
    double pv[MAX_ROUNDS], pa[MAX_ROUNDS], m1, m2;
    unsigned char key[KEY_LEN];
    uint32_t *order = malloc(GETS * sizeof(*order)), i;
    uint64_t rng = 42;
    ss_provider *p = NULL;
    ss_store *s = NULL, *view = NULL, *ro = NULL;
    int r;

    if (!order)
        die("malloc", SS_ENOMEM);
    for (i = 0; i < GETS; i++)
        order[i] = (uint32_t)(rng_next(&rng) % nkeys);
    snprintf(loc, sizeof(loc), "%s/read_view-%s-%d", dir, name, (int)getpid());
    TRY("open", ss_provider_open(&p, loc, opts, nopts));
    TRY("load", ss_provider_load(&s, p, 0));
    for (i = 0; i < nkeys; i++) {
        make_key(key, i);
        TRY("put", ss_store_put(s, SS_CF_DEFAULT, sl(key, KEY_LEN),
                                sl(value_for(i, 0), VALUE_LEN)));
    }
    TRY("commit", ss_store_commit(NULL, s));
    ss_store_free(s);
    for (r = 0; r < rounds; r++) {
        /* The writer at version 1, as Spark holds it. */
        TRY("load", ss_provider_load(&s, p, 1));
        ov[r] = time_open(p, 1, &view);
        oro[r] = time_open(p, 0, &ro);
        gv[r] = time_gets(view, order);
        gro[r] = time_gets(ro, order);
        ss_store_free(ro);
        ss_store_free(s);
        pv[r] = time_puts(p, order, (unsigned)r + 1);
        ss_store_free(view);
        pa[r] = time_puts(p, order, (unsigned)r + 1);
    }
    ss_provider_close(p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", loc);
    if (system(cmd) != 0)
        fprintf(stderr, "read_view: could not remove %s\n", loc);
    free(order);
    printf("%s (%u keys):\n", name, nkeys);
    report(name, "open_view", ov, rounds, "ms");
    report(name, "open_readonly", oro, rounds, "ms");
    report(name, "get_view", gv, rounds, "ns");
    report(name, "get_readonly", gro, rounds, "ns");
    report(name, "put_with_view", pv, rounds, "ns");
    report(name, "put_alone", pa, rounds, "ns");
    m1 = median(ov, (size_t)rounds);
    m2 = median(oro, (size_t)rounds);
    printf("  open: view is %.0fx faster than a read-only load\n", m2 / m1);
    printf("BENCH read_view.%s.open_ratio_readonly_vs_view %.1f x\n", name,
           m2 / m1);
    printf("BENCH read_view.%s.get_ratio_view_vs_readonly %.3f x\n", name,
           median(gv, (size_t)rounds) / median(gro, (size_t)rounds));
    printf("BENCH read_view.%s.put_ratio_with_view_vs_alone %.3f x\n", name,
           median(pv, (size_t)rounds) / median(pa, (size_t)rounds));
}

int
main(int argc, char **argv)
{
    static const char *const mem[] = {"provider=memory", "compression=none"};
#ifdef SS_BENCH_HAVE_ROCKSDB
    static const char *const cl[] = {"provider=rocksdb",
                                     "rocksdb.changelog_checkpointing=true",
                                     "compression=none"};
    static const char *const sst[] = {"provider=rocksdb",
                                      "rocksdb.changelog_checkpointing=false"};
#endif
    bench_args args = {1000000, "/tmp", 5};
    int rc;

    if ((rc = bench_parse(&args, argc, argv, 1u, MAX_ROUNDS)) != 0)
        return rc;
    value_pool_init();
    printf("read_view: version 1 of %u keys, writer loaded at 1; %d rounds "
           "(median, min..max)\n",
           args.keys, args.rounds);
    bench_one("memory", mem, 2, args.dir, args.keys, args.rounds);
#ifdef SS_BENCH_HAVE_ROCKSDB
    bench_one("rocksdb.changelog", cl, 3, args.dir, args.keys, args.rounds);
    bench_one("rocksdb.sst", sst, 2, args.dir, args.keys, args.rounds);
#endif
    return 0;
}
