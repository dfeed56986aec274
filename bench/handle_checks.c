/*
 * handle_checks.c -- what checked handles (header convention 9,
 * ss_handle_checks) cost per call: get, put, iter_next and
 * ss_store_version (no work but the handle's decode), unchecked next to
 * checked, in the same process on the same keys (16 B) and values
 * (64 B).
 *
 * Each repeat runs both modes, in alternating order: switch the mode (no
 * handle is live in between), open a fresh provider, put N keys and
 * commit them (version 1), free the store and load version 1 again (from
 * memory), then time PASSES passes of each of
 *   get        every key once, shuffled; the value's first word checked
 *   iter_next  one full iteration of the N keys
 *   version    4N calls of ss_store_version: the decode alone
 *   put        every key overwritten once, shuffled (the batch is
 *              aborted after the last pass)
 * and close the provider.  N is small (10k: the state stays in cache) so
 * that the calls' own cost, not memory misses, is what is compared.  A
 * repeat's figure is its fastest pass (the least disturbed by the other
 * processes of a shared machine); the result is the median over repeats;
 * `ratio` is checked / unchecked and `delta_ns` their difference, both
 * from the same run.  Any API error or wrong value exits 1.
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include "statestore.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPS 64
#define PASSES 15

enum { OP_GET, OP_PUT, OP_ITER, OP_VERSION, N_OPS };
static const char *const op_names[N_OPS] = {"get", "put", "iter_next",
                                            "version"};

typedef struct bench {
    uint32_t n;
    unsigned reps;
    const char *parent;
    const char *provider;
    uint32_t *order;
    double ns[2][N_OPS][MAX_REPS]; /* [checked][op][rep] per call */
} bench;

static void
die(const char *what, int rc)
{
    fprintf(stderr, "handle_checks: %s: %d (%s) %s\n", what, rc,
            ss_strerror(rc), ss_error_last());
    exit(1);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static ss_slice
slice(const void *data, size_t len)
{
    ss_slice s;

    s.data = data;
    s.len = len;
    return s;
}

static void
run_mode(bench *b, int checked, unsigned rep)
{
    const char *opts[] = {"compression=none", "maintenance_interval_ms=0",
                          "min_deltas_for_snapshot=1000000", NULL};
    char dir[1024], prov_opt[64];
    unsigned char key[KEY_LEN];
    ss_provider *p;
    ss_store *s;
    ss_iter *it;
    ss_slice k, v;
    uint64_t t0, sum = 0, version;
    double best[N_OPS], ns;
    uint32_t i, found;
    unsigned pass, op;
    int rc;

    if ((rc = ss_handle_checks(checked)) < 0)
        die("ss_handle_checks", rc);
    snprintf(dir, sizeof(dir), "%s/ss-bench-handles-XXXXXX", b->parent);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(prov_opt, sizeof(prov_opt), "provider=%s", b->provider);
    opts[3] = prov_opt;
    if ((rc = ss_provider_open(&p, dir, opts, 4)) < 0)
        die("ss_provider_open", rc);
    if ((rc = ss_provider_load(&s, p, 0)) < 0)
        die("load 0", rc);
    for (i = 0; i < b->n; i++) {
        make_key(key, i);
        if ((rc = ss_store_put(s, SS_CF_DEFAULT, slice(key, KEY_LEN),
                               slice(value_for(i, 0), VALUE_LEN))) < 0)
            die("fill put", rc);
    }
    if ((rc = ss_store_commit(&version, s)) < 0)
        die("commit", rc);
    ss_store_free(s);
    if ((rc = ss_provider_load(&s, p, 1)) < 0)
        die("load 1", rc);

    for (op = 0; op < N_OPS; op++)
        best[op] = 1e30;
    for (pass = 0; pass < PASSES; pass++) {
        t0 = now_ns();
        for (i = 0; i < b->n; i++) {
            make_key(key, b->order[i]);
            if ((rc = ss_store_get(&v, s, SS_CF_DEFAULT, slice(key, KEY_LEN))) <
                0)
                die("get", rc);
            if (v.len != VALUE_LEN ||
                load_word(v.data) != load_word(value_for(b->order[i], 0))) {
                fprintf(stderr, "handle_checks: wrong value for key %u\n",
                        b->order[i]);
                exit(1);
            }
        }
        ns = (double)(now_ns() - t0) / b->n;
        best[OP_GET] = ns < best[OP_GET] ? ns : best[OP_GET];

        t0 = now_ns();
        found = 0;
        if ((rc = ss_store_iter(&it, s, SS_CF_DEFAULT)) < 0)
            die("iter", rc);
        while ((rc = ss_iter_next(it, &k, &v)) == 0) {
            sum += load_word(v.data);
            found++;
        }
        if (rc != SS_EDONE)
            die("iter_next", rc);
        ss_iter_free(it);
        ns = (double)(now_ns() - t0) / b->n;
        best[OP_ITER] = ns < best[OP_ITER] ? ns : best[OP_ITER];
        if (found != b->n) {
            fprintf(stderr, "handle_checks: iteration found %u keys, not %u\n",
                    found, b->n);
            exit(1);
        }

        t0 = now_ns();
        for (i = 0; i < 4 * b->n; i++)
            sum += ss_store_version(s);
        ns = (double)(now_ns() - t0) / (4.0 * b->n);
        best[OP_VERSION] = ns < best[OP_VERSION] ? ns : best[OP_VERSION];
        if (sum == 0)
            exit(1); /* version 1, 4N times: never 0 */
    }
    /* Puts last: they change the store the passes above read. */
    for (pass = 0; pass < PASSES; pass++) {
        t0 = now_ns();
        for (i = 0; i < b->n; i++) {
            make_key(key, b->order[i]);
            if ((rc = ss_store_put(s, SS_CF_DEFAULT, slice(key, KEY_LEN),
                                   slice(value_for(b->order[i], 1 + pass % 2),
                                         VALUE_LEN))) < 0)
                die("put", rc);
        }
        ns = (double)(now_ns() - t0) / b->n;
        best[OP_PUT] = ns < best[OP_PUT] ? ns : best[OP_PUT];
    }
    for (op = 0; op < N_OPS; op++)
        b->ns[checked][op][rep] = best[op];
    if ((rc = ss_store_abort(s)) < 0)
        die("abort", rc);
    result_sink += sum;
    ss_store_free(s);
    ss_provider_close(p);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint32_t
parse_count(const char *s)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);

    if (*end == 'k')
        n *= 1000, end++;
    else if (*end == 'M')
        n *= 1000000, end++;
    if (*end || n == 0 || n > 100000000ull) {
        fprintf(stderr, "handle_checks: bad count '%s'\n", s);
        exit(2);
    }
    return (uint32_t)n;
}

int
main(int argc, char **argv)
{
    static bench b;
    double med[2][N_OPS];
    uint64_t rng = 7;
    unsigned rep, op;
    uint32_t i;
    int a, mode, first;

    b.n = 10000;
    b.reps = 9;
    b.parent = "/tmp";
    b.provider = "memory";
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--keys") == 0 && a + 1 < argc) {
            b.n = parse_count(argv[++a]);
        } else if (strcmp(argv[a], "--reps") == 0 && a + 1 < argc) {
            b.reps = (unsigned)parse_count(argv[++a]);
        } else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc) {
            b.parent = argv[++a];
        } else if (strcmp(argv[a], "--provider") == 0 && a + 1 < argc) {
            b.provider = argv[++a];
        } else if (strcmp(argv[a], "--quick") == 0) {
            b.reps = 3;
        } else {
            fprintf(stderr,
                    "usage: %s [--keys N] [--reps R] [--dir DIR] "
                    "[--provider memory|rocksdb] [--quick]\n"
                    "Prints a table, then 'BENCH <name> <value> <unit>' "
                    "lines.\n",
                    argv[0]);
            return 2;
        }
    }
    if (b.reps > MAX_REPS)
        b.reps = MAX_REPS;
    value_pool_init();
    if (!(b.order = malloc(b.n * sizeof(*b.order))))
        return 1;
    for (i = 0; i < b.n; i++)
        b.order[i] = i;
    shuffle(b.order, b.n, &rng);

    for (rep = 0; rep < b.reps; rep++) {
        first = (int)(rep % 2); /* alternate which mode runs first */
        run_mode(&b, first, rep);
        run_mode(&b, !first, rep);
    }
    if (ss_handle_checks(0) < 0)
        die("ss_handle_checks(0)", -1);

    printf("handle_checks: provider %s, %u keys, median of %u repeats "
           "(ns per call)\n",
           b.provider, b.n, b.reps);
    printf("%-10s %10s %10s %8s %8s\n", "op", "unchecked", "checked", "ratio",
           "delta");
    for (op = 0; op < N_OPS; op++) {
        for (mode = 0; mode < 2; mode++)
            med[mode][op] = median(b.ns[mode][op], b.reps);
        printf("%-10s %10.1f %10.1f %8.3f %8.1f\n", op_names[op], med[0][op],
               med[1][op], med[1][op] / med[0][op], med[1][op] - med[0][op]);
    }
    for (op = 0; op < N_OPS; op++) {
        printf("BENCH handle_checks.%s.%s.unchecked_ns %.1f ns\n", b.provider,
               op_names[op], med[0][op]);
        printf("BENCH handle_checks.%s.%s.checked_ns %.1f ns\n", b.provider,
               op_names[op], med[1][op]);
        printf("BENCH handle_checks.%s.%s.ratio %.3f x\n", b.provider,
               op_names[op], med[1][op] / med[0][op]);
        printf("BENCH handle_checks.%s.%s.delta_ns %.1f ns\n", b.provider,
               op_names[op], med[1][op] - med[0][op]);
    }
    free(b.order);
    return 0;
}
