/*
 * rocksdb_commit.c -- commit latency of the rocksdb provider in both
 * checkpoint modes, for a state of N keys and batches of 10k changed keys
 * (issue 3: "the changelog commit costs about 10k records' worth, whatever
 * the state size").
 *
 * For each mode (changelog, SST snapshot; each with and without
 * rocksdb.track_num_keys, whose prior-state reads keep num_keys exact)
 * and each N: a fresh checkpoint
 * folder; N keys (16 B keys, 64 B values, bench_util) put in batches of
 * 500k and committed; then R commits of 10k overwrites of random existing
 * keys, each timed by ss_provider_metrics' commit_* fields, with
 * maintenance (snapshot merge, retention, object collection) run between
 * commits and not timed.  Prints the median and the slowest commit, the
 * split of the median, and the ratio of each mode's commit at N to the
 * same mode's commit at the smallest N (1.0 = independent of state size).
 *
 *   rocksdb_commit [--quick] [--reps R] [--keys N[,N...]]
 *     default: --keys 1000000,10000000 --reps 15
 *     --quick: --keys 100000,300000 --reps 5
 *
 * Ends with BENCH lines (DESIGN.md):
 *   BENCH rocksdb_commit10k_<mode>_<N> <median ms> ms
 *   BENCH rocksdb_commit10k_<mode>_<N>_vs_<N0> <ratio> x
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "statestore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_BATCH 500000u
#define CHANGES 10000u
#define MAX_SIZES 4u
#define MAX_REPS 64u

typedef struct mode {
    const char *name;
    const char *option;
    const char *track; /* rocksdb.track_num_keys */
} mode;

#define N_MODES 4u
static const mode modes[N_MODES] = {
    {"changelog", "rocksdb.changelog_checkpointing=true",
     "rocksdb.track_num_keys=true"},
    {"sst", "rocksdb.changelog_checkpointing=false",
     "rocksdb.track_num_keys=true"},
    {"changelog_untracked", "rocksdb.changelog_checkpointing=true",
     "rocksdb.track_num_keys=false"},
    {"sst_untracked", "rocksdb.changelog_checkpointing=false",
     "rocksdb.track_num_keys=false"},
};

/* Medians of one (mode, N) run, in ms. */
typedef struct result {
    double total, slowest, collect, file, flush, checkpoint, upload, meta;
    double apply; /* total minus the named parts */
    uint64_t uploaded, reused, meta_bytes;
} result;

static int
fail(const char *what, int rc)
{
    fprintf(stderr, "rocksdb_commit: %s: %s (%s)\n", what, ss_error_last(),
            ss_strerror(rc));
    return rc;
}

static int
put_key(ss_store *s, uint32_t i, unsigned gen)
{
    unsigned char key[KEY_LEN];

    make_key(key, i);
    return ss_store_put(s, SS_CF_DEFAULT, (ss_slice){key, KEY_LEN},
                        (ss_slice){value_for(i, gen), VALUE_LEN});
}

static int
fill(ss_provider *p, uint64_t n, uint64_t *version)
{
    ss_store *s;
    uint64_t i = 0, end;
    int rc;

    while (i < n) {
        if ((rc = ss_provider_load(&s, p, *version)) < 0)
            return fail("load", rc);
        for (end = i + FILL_BATCH < n ? i + FILL_BATCH : n; i < end; i++)
            if ((rc = put_key(s, (uint32_t)i, 0)) < 0) {
                ss_store_free(s);
                return fail("put", rc);
            }
        rc = ss_store_commit(version, s);
        ss_store_free(s);
        if (rc < 0)
            return fail("commit", rc);
        if ((rc = ss_provider_maintenance(p)) < 0)
            return fail("maintenance", rc);
    }
    return 0;
}

static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static int
run(result *r, const char *dir, const mode *md, uint64_t n, unsigned reps)
{
    const char *opts[] = {"provider=rocksdb",
                          md->option,
                          md->track,
                          "rocksdb.memory_budget=256M",
                          "min_versions_to_retain=3",
                          "min_deltas_for_snapshot=5"};
    double total[MAX_REPS], collect[MAX_REPS], file[MAX_REPS];
    double flush[MAX_REPS], ckpt[MAX_REPS], upload[MAX_REPS];
    double meta[MAX_REPS], apply[MAX_REPS];
    ss_metrics m, m0;
    ss_provider *p;
    ss_store *s;
    uint64_t version = 0, rng = 42 + n, t0;
    unsigned rep, j;
    int rc;

    memset(r, 0, sizeof(*r));
    if ((rc = ss_provider_open(&p, dir, opts, 6)) < 0)
        return fail("open", rc);
    t0 = now_ns();
    if ((rc = fill(p, n, &version)) < 0)
        goto out;
    fprintf(stderr, "rocksdb_commit: %s, %" PRIu64 " keys filled in %.1f s\n",
            md->name, n, (double)(now_ns() - t0) / 1e9);
    memset(&m0, 0, sizeof(m0));
    m0.version = SS_METRICS_VERSION;
    if ((rc = ss_provider_metrics(&m0, p)) < 0)
        goto out;
    for (rep = 0; rep < reps; rep++) {
        if ((rc = ss_provider_load(&s, p, version)) < 0) {
            fail("load", rc);
            goto out;
        }
        for (j = 0; j < CHANGES; j++)
            if ((rc = put_key(s, (uint32_t)(rng_next(&rng) % n), rep + 1)) < 0)
                break;
        if (rc == 0)
            rc = ss_store_commit(&version, s);
        ss_store_free(s);
        if (rc < 0) {
            fail("commit", rc);
            goto out;
        }
        memset(&m, 0, sizeof(m));
        m.version = SS_METRICS_VERSION;
        if ((rc = ss_provider_metrics(&m, p)) < 0)
            goto out;
        total[rep] = ms(m.commit_total_ns);
        collect[rep] = ms(m.commit_collect_ns);
        file[rep] =
            ms(m.commit_encode_ns + m.commit_write_ns + m.commit_sync_ns);
        flush[rep] = ms(m.commit_flush_ns);
        ckpt[rep] = ms(m.commit_checkpoint_ns);
        upload[rep] = ms(m.commit_upload_ns);
        meta[rep] = ms(m.commit_metadata_ns);
        apply[rep] = total[rep] - collect[rep] - file[rep] - flush[rep] -
                     ckpt[rep] - upload[rep] - meta[rep];
        if (total[rep] > r->slowest)
            r->slowest = total[rep];
        r->meta_bytes = m.commit_bytes;
        if ((rc = ss_provider_maintenance(p)) < 0) {
            fail("maintenance", rc);
            goto out;
        }
    }
    r->uploaded = (m.objects_uploaded - m0.objects_uploaded) / reps;
    r->reused = (m.objects_reused - m0.objects_reused) / reps;
    r->total = median(total, reps);
    r->collect = median(collect, reps);
    r->file = median(file, reps);
    r->flush = median(flush, reps);
    r->checkpoint = median(ckpt, reps);
    r->upload = median(upload, reps);
    r->meta = median(meta, reps);
    r->apply = median(apply, reps);
out:
    ss_provider_close(p);
    return rc;
}

static void
remove_dir(const char *dir)
{
    char cmd[1200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "rocksdb_commit: could not remove %s\n", dir);
}

static int
parse_sizes(uint64_t *sizes, unsigned *n, const char *arg)
{
    char *end;

    *n = 0;
    while (*arg && *n < MAX_SIZES) {
        sizes[(*n)++] = strtoull(arg, &end, 10);
        if (end == arg || sizes[*n - 1] < CHANGES || sizes[*n - 1] > UINT32_MAX)
            return -1;
        arg = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return *n ? 0 : -1;
}

int
main(int argc, char **argv)
{
    uint64_t sizes[MAX_SIZES] = {1000000, 10000000};
    unsigned n_sizes = 2, reps = 15, i, k;
    result res[N_MODES][MAX_SIZES];
    char base[] = "/tmp/ss-bench-commit-XXXXXX", dir[256], a[32], b[32];
    int rc = 0;

    for (i = 1; i < (unsigned)argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            sizes[0] = 100000;
            sizes[1] = 300000;
            n_sizes = 2;
            reps = 5;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < (unsigned)argc) {
            reps = (unsigned)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--keys") && i + 1 < (unsigned)argc) {
            if (parse_sizes(sizes, &n_sizes, argv[++i]) < 0) {
                fprintf(stderr, "rocksdb_commit: bad --keys\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: rocksdb_commit [--quick] [--reps R] "
                            "[--keys N[,N...]]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "rocksdb_commit: --reps must be 1..%u\n", MAX_REPS);
        return 2;
    }
    if (!mkdtemp(base)) {
        perror("rocksdb_commit: mkdtemp");
        return 1;
    }
    value_pool_init();
    for (k = 0; k < N_MODES && rc == 0; k++)
        for (i = 0; i < n_sizes && rc == 0; i++) {
            snprintf(dir, sizeof(dir), "%s/%s-%u", base, modes[k].name, i);
            rc = run(&res[k][i], dir, &modes[k], sizes[i], reps);
            remove_dir(dir);
        }
    remove_dir(base);
    if (rc < 0)
        return 1;

    printf("commit of %u changed keys (overwrites), median of %u commits; "
           "ms\n",
           CHANGES, reps);
    printf("%-19s %6s %8s %8s %8s %8s %8s %8s %8s %8s %8s %6s %6s\n", "mode",
           "keys", "total", "slowest", "collect", "file", "apply", "flush",
           "ckpt", "upload", "meta", "up", "reuse");
    for (k = 0; k < N_MODES; k++)
        for (i = 0; i < n_sizes; i++) {
            const result *r = &res[k][i];

            printf("%-19s %6s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f "
                   "%8.2f %8.2f %6" PRIu64 " %6" PRIu64 "\n",
                   modes[k].name, format_count(a, sizeof(a), sizes[i]),
                   r->total, r->slowest, r->collect, r->file, r->apply,
                   r->flush, r->checkpoint, r->upload, r->meta, r->uploaded,
                   r->reused);
        }
    printf("\ncollect = reading each changed key's prior state (exact "
           "num_keys); file = the changelog's encode + write + fsync; "
           "apply = the rest\n(write batch applied to RocksDB); flush, "
           "ckpt, upload, meta = SST mode's parts; up/reuse = SST objects "
           "uploaded / listed again per commit.\n\n");
    for (k = 0; k < N_MODES; k++)
        for (i = 0; i < n_sizes; i++) {
            format_count(a, sizeof(a), sizes[i]);
            printf("BENCH rocksdb_commit10k_%s_%s %.2f ms\n", modes[k].name, a,
                   res[k][i].total);
            if (i > 0) {
                format_count(b, sizeof(b), sizes[0]);
                printf("BENCH rocksdb_commit10k_%s_%s_vs_%s %.2f x\n",
                       modes[k].name, a, b, res[k][i].total / res[k][0].total);
            }
        }
    return 0;
}
