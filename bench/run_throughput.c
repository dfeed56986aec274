/*
 * run_throughput.c -- end-to-end events/s of `statestore run`'s windowed
 * aggregation (src/runner) on the memory and rocksdb providers, with the
 * time split into read+parse, operators (of which store commits), and
 * sink.
 *
 * Workload: 1M distinct user keys; E events (default 4M) in 10 JSON-lines
 * files, one file per batch, user drawn uniformly, event times spread over
 * one hour, one 1-hour tumbling window grouped by user with count and
 * sum:bytes, so state grows to (at most) 1M window rows and every batch
 * reads and rewrites about E/10 of them.  4 partitions, 2 threads.
 *
 * Usage: run_throughput [--events N] [--keys N] [--dir DIR] [--quick]
 * Ends with BENCH lines (bench/README.md).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp */
#endif
#include "bench_util.h"
#include "runner/runner.h"
#include "statestore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_FILES 10

static uint64_t
parse_n(const char *s)
{
    char *end;
    double v = strtod(s, &end);

    if (*end == 'k' || *end == 'K')
        v *= 1e3;
    else if (*end == 'M')
        v *= 1e6;
    return (uint64_t)v;
}

static int
gen_input(const char *dir, uint64_t events, uint64_t keys, uint64_t *bytes)
{
    int64_t base = 1714557600000;
    uint64_t seed = 1, i;
    char path[1200];
    int f;

    *bytes = 0;
    if (mkdir(dir, 0755) < 0)
        return -1;
    for (f = 0; f < N_FILES; f++) {
        FILE *fp;
        uint64_t n = events / N_FILES;

        snprintf(path, sizeof(path), "%s/ev-%02d.jsonl", dir, f);
        if (!(fp = fopen(path, "w")))
            return -1;
        for (i = 0; i < n; i++) {
            uint64_t r = rng_next(&seed);
            int64_t ts = base + (int64_t)((f * n + i) * 3600000 / events);
            int w = fprintf(fp,
                            "{\"ts\":%" PRId64 ",\"user\":\"user%08" PRIu64
                            "\",\"bytes\":%" PRIu64 "}\n",
                            ts, r % keys, (r >> 40) % 10000);

            if (w < 0) {
                fclose(fp);
                return -1;
            }
            *bytes += (uint64_t)w;
        }
        if (fclose(fp) != 0)
            return -1;
    }
    return 0;
}

typedef struct result {
    double secs, read, state, commit, sink;
    uint64_t rows, state_rows, state_bytes;
} result;

static int
run_one(result *res, const char *provider, const char *in, const char *ck)
{
    static char group[] = "user", aggs[] = "count,sum:bytes";
    const char *opts[2];
    ss_run_options o;
    ss_run_stats st;
    uint64_t t0;

    ss_run_options_init(&o);
    o.input = in;
    o.checkpoint = ck;
    o.output = NULL;
    o.event_time = "ts";
    o.lateness_ms = 60000;
    o.partitions = 4;
    o.threads = 2;
    o.max_files = 1;
    o.have_window = 1;
    o.wagg.window_ms = o.wagg.slide_ms = 3600000;
    o.wagg.lateness_ms = o.lateness_ms;
    o.wagg.n_group = 1;
    o.wagg.group[0] = group;
    if (ss_wagg__parse_aggs(&o.wagg, aggs) < 0)
        return -1;
    opts[0] = strcmp(provider, "rocksdb") == 0 ? "provider=rocksdb"
                                               : "provider=memory";
    opts[1] = "rocksdb.changelog_checkpointing=true";
    o.store_options = opts;
    o.n_store_options = strcmp(provider, "rocksdb") == 0 ? 2 : 1;
    o.progress = stderr;
    t0 = now_ns();
    if (ss_run(&st, &o) < 0) {
        fprintf(stderr, "run_throughput: %s: %s\n", provider, ss_error_last());
        return -1;
    }
    res->secs = (double)(now_ns() - t0) / 1e9;
    res->read = (double)st.read_ns / 1e9;
    res->state = (double)st.state_ns / 1e9;
    res->commit = (double)st.commit_ns / 1e9;
    res->sink = (double)st.sink_ns / 1e9;
    res->rows = st.rows_in;
    res->state_rows = st.state_rows;
    res->state_bytes = st.state_bytes;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *providers[] = {"memory", "rocksdb"};
    uint64_t events = 4000000, keys = 1000000, in_bytes;
    const char *parent = "/tmp";
    char root[1024], in[1100], ck[1200], cmd[1300];
    result res[2];
    int i, n = 2;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            events = parse_n(argv[++i]);
        else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            keys = parse_n(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            parent = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            events = 200000, keys = 50000;
        else {
            fprintf(stderr, "usage: run_throughput [--events N] [--keys N] "
                            "[--dir DIR] [--quick]\n");
            return 2;
        }
    }
    snprintf(root, sizeof(root), "%s/run_throughput.XXXXXX", parent);
    if (!mkdtemp(root)) {
        perror(root);
        return 1;
    }
    snprintf(in, sizeof(in), "%s/in", root);
    fprintf(stderr,
            "generating %" PRIu64 " events over %" PRIu64 " keys in %s ...\n",
            events, keys, in);
    if (gen_input(in, events, keys, &in_bytes) < 0) {
        perror(in);
        return 1;
    }
#ifndef SS_BENCH_HAVE_ROCKSDB
    n = 1;
#endif
    for (i = 0; i < n; i++) {
        snprintf(ck, sizeof(ck), "%s/ck-%s", root, providers[i]);
        if (run_one(&res[i], providers[i], in, ck) < 0)
            return 1;
    }
    printf("\nwindowed aggregation, %" PRIu64 " events (%.0f MB JSON), "
           "%" PRIu64 " keys, 10 batches, 4 partitions, 2 threads\n\n",
           events, (double)in_bytes / 1e6, keys);
    printf("%-8s %10s %12s %8s %9s %8s %8s %10s %9s\n", "provider", "seconds",
           "events/s", "read+", "operators", "(commit)", "sink", "state",
           "state");
    printf("%-8s %10s %12s %8s %9s %8s %8s %10s %9s\n", "", "", "", "parse", "",
           "", "", "rows", "MiB");
    for (i = 0; i < n; i++)
        printf(
            "%-8s %10.2f %12.0f %7.0f%% %8.0f%% %7.0f%% %7.0f%% %10" PRIu64
            " %9.1f\n",
            providers[i], res[i].secs, (double)res[i].rows / res[i].secs,
            100 * res[i].read / res[i].secs, 100 * res[i].state / res[i].secs,
            100 * res[i].commit / res[i].secs, 100 * res[i].sink / res[i].secs,
            res[i].state_rows, (double)res[i].state_bytes / 1048576.0);
    printf("\n");
    for (i = 0; i < n; i++) {
        printf("BENCH run.%s.events_per_s %.0f events/s\n", providers[i],
               (double)res[i].rows / res[i].secs);
        printf("BENCH run.%s.read_parse_share %.3f x\n", providers[i],
               res[i].read / res[i].secs);
        printf("BENCH run.%s.operators_share %.3f x\n", providers[i],
               res[i].state / res[i].secs);
        printf("BENCH run.%s.commit_share %.3f x\n", providers[i],
               res[i].commit / res[i].secs);
        printf("BENCH run.%s.state_rows %" PRIu64 " rows\n", providers[i],
               res[i].state_rows);
    }
    if (n == 2)
        printf("BENCH run.memory_vs_rocksdb.ratio %.2f x\n",
               res[1].secs / res[0].secs);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : 1;
}
