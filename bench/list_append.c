/*
 * list_append.c -- issue 10, item 5: the cost of ss_store_append to lists
 * of 1, 100 and 10,000 values, against the nearest existing call (a put
 * of one value), per provider.
 *
 * For each list length L: version 1 holds 100k values in lists of L
 * (100k / L keys, 16 B keys, 64 B values) and 100k plain keys.  Each
 * round loads version 1 (from memory) and times APPENDS appends spread
 * over the keys, then aborts; then the same number of puts overwriting
 * plain keys, and aborts; then APPENDS appends again, committed (ns per
 * append including the commit).  Median and min..max of the rounds; the
 * ratio is append / put in the same run.  A cost that does not grow with
 * the list shows as equal figures for L = 1, 100 and 10,000.
 *
 *   list_append [--rounds R] [--dir DIR]
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
#define VALUES 100000u
#define APPENDS 10000u

const char *bench_name = "list_append";

/* APPENDS appends (or puts) from version 1; ns each.  commit: commit
 * instead of abort, and count it. */
static double
run(ss_provider *p, unsigned cf, uint32_t keys, int append, int commit,
    uint64_t *version)
{
    unsigned char key[KEY_LEN];
    ss_store *s = NULL;
    uint64_t t0;
    uint32_t i;

    TRY("load", ss_provider_load(&s, p, *version));
    t0 = now_ns();
    for (i = 0; i < APPENDS; i++) {
        make_key(key, (i * 7919u) % keys);
        if (append)
            TRY("append", ss_store_append(s, cf, sl(key, KEY_LEN),
                                          sl(value_for(i, 1), VALUE_LEN)));
        else
            TRY("put", ss_store_put(s, cf, sl(key, KEY_LEN),
                                    sl(value_for(i, 1), VALUE_LEN)));
    }
    if (commit)
        TRY("commit", ss_store_commit(version, s));
    t0 = now_ns() - t0;
    ss_store_free(s); /* aborts an uncommitted batch */
    return (double)t0 / APPENDS;
}

static void
bench_one(const char *name, const char *const *opts, size_t nopts,
          const char *dir, uint32_t len, int rounds)
{
    double ap[MAX_ROUNDS], pu[MAX_ROUNDS], ac[MAX_ROUNDS], lo, hi, ma, mp;
    char loc[512], cmd[600];
    unsigned char key[KEY_LEN];
    uint32_t keys = VALUES / len, i;
    ss_provider *p = NULL;
    ss_store *s = NULL;
    unsigned lcf, pcf;
    uint64_t v = 1, cv;
    int r;

    snprintf(loc, sizeof(loc), "%s/list_append-%s-%u-%d", dir, name, len,
             (int)getpid());
    TRY("open", ss_provider_open(&p, loc, opts, nopts));
    TRY("cf", ss_provider_cf(&lcf, p, "lists", SS_CF_LIST));
    TRY("cf", ss_provider_cf(&pcf, p, "plain", 0));
    TRY("load", ss_provider_load(&s, p, 0));
    for (i = 0; i < VALUES; i++) {
        make_key(key, i % keys);
        TRY("append", ss_store_append(s, lcf, sl(key, KEY_LEN),
                                      sl(value_for(i, 0), VALUE_LEN)));
        make_key(key, i);
        TRY("put", ss_store_put(s, pcf, sl(key, KEY_LEN),
                                sl(value_for(i, 0), VALUE_LEN)));
    }
    TRY("commit", ss_store_commit(NULL, s));
    ss_store_free(s);
    cv = v;
    for (r = 0; r < rounds; r++) {
        ap[r] = run(p, lcf, keys, 1, 0, &v);
        pu[r] = run(p, pcf, VALUES, 0, 0, &v);
        ac[r] = run(p, lcf, keys, 1, 1, &cv);
    }
    ss_provider_close(p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", loc);
    if (system(cmd) != 0)
        fprintf(stderr, "list_append: could not remove %s\n", loc);
    ma = median(ap, (size_t)rounds);
    mp = median(pu, (size_t)rounds);
    spread(ap, (size_t)rounds, &lo, &hi);
    printf("%-18s len %5u  append %7.0f ns (%.0f..%.0f)", name, len, ma, lo,
           hi);
    spread(pu, (size_t)rounds, &lo, &hi);
    printf("  put %7.0f ns (%.0f..%.0f)  ratio %.2f", mp, lo, hi, ma / mp);
    printf("  append+commit %7.0f ns\n", median(ac, (size_t)rounds));
    printf("BENCH list_append.%s.len%u.append_ns %.1f ns\n", name, len, ma);
    printf("BENCH list_append.%s.len%u.put_ns %.1f ns\n", name, len, mp);
    printf("BENCH list_append.%s.len%u.ratio_vs_put %.3f x\n", name, len,
           ma / mp);
    printf("BENCH list_append.%s.len%u.append_commit_ns %.1f ns\n", name, len,
           median(ac, (size_t)rounds));
}

int
main(int argc, char **argv)
{
    static const char *const mem[] = {"provider=memory", "compression=none"};
#ifdef SS_BENCH_HAVE_ROCKSDB
    static const char *const rdb[] = {"provider=rocksdb",
                                      "rocksdb.changelog_checkpointing=true",
                                      "compression=none"};
#endif
    static const uint32_t lens[] = {1, 100, 10000};
    bench_args args = {0, "/tmp", 5};
    int i, rc;

    if ((rc = bench_parse(&args, argc, argv, 1u, MAX_ROUNDS)) != 0)
        return rc;
    value_pool_init();
    printf("list_append: %u appends per round over lists of each length "
           "(%u values in all), %d rounds (median, min..max)\n",
           APPENDS, VALUES, args.rounds);
    for (i = 0; i < 3; i++)
        bench_one("memory", mem, 2, args.dir, lens[i], args.rounds);
#ifdef SS_BENCH_HAVE_ROCKSDB
    for (i = 0; i < 3; i++)
        bench_one("rocksdb", rdb, 3, args.dir, lens[i], args.rounds);
#endif
    return 0;
}
