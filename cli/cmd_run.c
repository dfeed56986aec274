/*
 * cmd_run.c -- `statestore run`: the micro-batch runner (the main job).
 *
 * Parses the query from the command line into ss_run_options and hands
 * it to ss_run (src/runner/runner.c), which does the work.
 */
#include "cli.h"

#include "runner/parse.h"
#include "runner/runner.h"
#include "util/error.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
run_usage(FILE *f)
{
    fprintf(
        f,
        "usage: statestore run --input DIR|- --checkpoint DIR --event-time F\n"
        "                      [--window D [--slide D] --group-by F[,F...]\n"
        "                       --agg A[,A...]] [--dedup F[,F...]] "
        "[options]\n"
        "\n"
        "Run a streaming query in micro-batches over a directory of JSON-lines "
        "or\n"
        "CSV files that grows over time (or stdin), with state in partitioned "
        "state\n"
        "stores under the checkpoint folder.  Each batch's offsets are logged "
        "before\n"
        "it runs and a commit is logged after its state and output are "
        "durable, so\n"
        "a killed run started again resumes exactly once: its output equals "
        "that of\n"
        "an uninterrupted run.\n"
        "\n"
        "query:\n"
        "  --event-time F    event-time field: epoch milliseconds or ISO 8601 "
        "UTC\n"
        "  --window D        window length (e.g. 1m, 30s, 500ms, 1h)\n"
        "  --slide D         slide of sliding windows (default: = --window, "
        "tumbling)\n"
        "  --group-by F,...  grouping fields (1 to 8)\n"
        "  --agg A,...       count, sum:F, min:F, max:F, avg:F\n"
        "  --watermark D     allowed lateness: watermark = max event time "
        "seen - D\n"
        "                    (default 0); older records are dropped and "
        "counted\n"
        "  --mode M          append (default): emit each window once, when "
        "the\n"
        "                    watermark passes its end; update: emit the "
        "windows a\n"
        "                    batch changed\n"
        "  --dedup F,...     drop records whose fields repeat an earlier "
        "record's\n"
        "                    (within the watermark); alone, outputs the "
        "distinct\n"
        "                    records; with --window, feeds the aggregation\n"
        "\n"
        "input and output:\n"
        "  --input DIR|-     *.jsonl/*.json/*.ndjson/*.csv files, read in "
        "name order;\n"
        "                    new files must sort after the ones already read. "
        "'-':\n"
        "                    JSON lines on stdin (kept in the checkpoint for "
        "replay)\n"
        "  --format F        input format json|csv (default: by file "
        "extension)\n"
        "  --output DIR|-    one file per batch, part-<batch>.jsonl, written "
        "atomically\n"
        "                    and replaced on replay; '-' = stdout "
        "(at-least-once)\n"
        "  --output-format F json (default) or csv\n"
        "  --max-files N     files per batch (default: no bound)\n"
        "  --max-records N   lines per batch (default: no bound; stdin "
        "10000)\n"
        "  --on-bad-input A  skip (default: count, report file:line, go on) "
        "or fail\n"
        "\n"
        "state and execution:\n"
        "  --checkpoint DIR  offsets/, commits/, state/<operator>/<partition>/ "
        "and the\n"
        "                    query fingerprint; a different query is "
        "refused\n"
        "  --provider P      memory (default) or rocksdb\n"
        "  -o key=value      store option (README, Configuration); "
        "repeatable\n"
        "  --partitions P    state partitions by key hash (default 4)\n"
        "  --threads T       worker threads (default: online cores)\n"
        "  --follow          keep polling the input for new files (Ctrl-C "
        "stops\n"
        "                    after the current batch)\n"
        "  --poll-ms N       follow: poll interval (default 1000)\n"
        "  --max-batches N   stop after N batches\n"
        "  --metrics-json F  append one JSON line of metrics per batch to F\n"
        "  -q                no per-batch progress lines\n"
        "\n"
        "examples:\n"
        "  statestore run --input data/sample --checkpoint ck --output out \\\n"
        "      --event-time ts --window 1m --group-by page --agg "
        "count,sum:bytes \\\n"
        "      --watermark 10s\n"
        "  statestore run --input events/ --checkpoint ck --output - \\\n"
        "      --event-time ts --window 1m --slide 30s --group-by user,page "
        "\\\n"
        "      --agg count,avg:latency_ms --mode update --provider rocksdb\n"
        "  statestore run --input events/ --checkpoint ck2 --output dedup/ \\\n"
        "      --event-time ts --dedup user,event_id --watermark 1m\n"
        "\n"
        "Exit status: 0 when the available input is processed, 1 on an error "
        "(the\n"
        "message names the file, line or option), 2 on a usage error.\n");
}

typedef struct run_args {
    ss_run_options o;
    cli_opts opts;
    const char *provider;
    char group_buf[512], agg_buf[512], dedup_buf[512];
    int quiet;
} run_args;

static int
parse_u64(uint64_t *out, const char *flag, const char *v)
{
    char *end;
    unsigned long long x;

    if (!v || !v[0] || v[0] == '-') {
        fprintf(stderr, "statestore run: %s needs a number\n", flag);
        return -1;
    }
    x = strtoull(v, &end, 10);
    if (*end) {
        fprintf(stderr, "statestore run: %s: '%s' is not a number\n", flag, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int
parse_uns(unsigned *out, const char *flag, const char *v)
{
    uint64_t x;

    if (parse_u64(&x, flag, v) < 0)
        return -1;
    if (x > 1000000) {
        fprintf(stderr, "statestore run: %s: %s is too large\n", flag, v);
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

static int
parse_dur(int64_t *out, const char *flag, const char *v)
{
    if (!v || ss_parse__duration(out, v) < 0) {
        fprintf(stderr,
                "statestore run: %s: '%s' is not a duration (e.g. 500ms, "
                "10s, 1m, 2h)\n",
                flag, v ? v : "");
        return -1;
    }
    return 0;
}

/* Split a comma list into `names` (at most max), in place in buf. */
static int
split_list(const char **names, size_t *n, size_t max, char *buf, size_t bufsize,
           const char *flag, const char *v)
{
    char *save = NULL, *item;

    if (!v || !v[0] || strlen(v) >= bufsize) {
        fprintf(stderr, "statestore run: %s needs a list of fields\n", flag);
        return -1;
    }
    strcpy(buf, v);
    *n = 0;
    for (item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        if (*n == max) {
            fprintf(stderr, "statestore run: %s: more than %zu fields\n", flag,
                    max);
            return -1;
        }
        names[(*n)++] = item;
    }
    if (*n == 0) {
        fprintf(stderr, "statestore run: %s needs a list of fields\n", flag);
        return -1;
    }
    return 0;
}

static int
parse_args(run_args *a, int argc, char **argv)
{
    ss_run_options *o = &a->o;
    int have_slide = 0, have_group = 0, have_agg = 0, i;

    for (i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0, takes = 1;

        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            run_usage(stdout);
            return 1;
        } else if (strcmp(f, "-q") == 0) {
            a->quiet = 1;
            takes = 0;
        } else if (strcmp(f, "--follow") == 0) {
            o->follow = 1;
            takes = 0;
        } else if (!v) {
            fprintf(stderr,
                    "statestore run: unknown or incomplete option "
                    "'%s'\n\n",
                    f);
            run_usage(stderr);
            return 2;
        } else if (strcmp(f, "--input") == 0) {
            o->input = v;
        } else if (strcmp(f, "--checkpoint") == 0) {
            o->checkpoint = v;
        } else if (strcmp(f, "--output") == 0) {
            o->output = v;
        } else if (strcmp(f, "--event-time") == 0) {
            o->event_time = v;
        } else if (strcmp(f, "--window") == 0) {
            rc = parse_dur(&o->wagg.window_ms, f, v);
            o->have_window = 1;
        } else if (strcmp(f, "--slide") == 0) {
            rc = parse_dur(&o->wagg.slide_ms, f, v);
            have_slide = 1;
        } else if (strcmp(f, "--watermark") == 0) {
            rc = parse_dur(&o->lateness_ms, f, v);
        } else if (strcmp(f, "--group-by") == 0) {
            rc = split_list(o->wagg.group, &o->wagg.n_group, SS_WAGG_MAX_GROUP,
                            a->group_buf, sizeof(a->group_buf), f, v);
            have_group = 1;
        } else if (strcmp(f, "--agg") == 0) {
            if (strlen(v) >= sizeof(a->agg_buf)) {
                fprintf(stderr, "statestore run: --agg too long\n");
                return 2;
            }
            strcpy(a->agg_buf, v);
            have_agg = 1;
        } else if (strcmp(f, "--dedup") == 0) {
            rc = split_list(o->dedup, &o->n_dedup, SS_RUN_MAX_DEDUP,
                            a->dedup_buf, sizeof(a->dedup_buf), f, v);
        } else if (strcmp(f, "--mode") == 0) {
            if (strcmp(v, "append") == 0)
                o->wagg.update_mode = 0;
            else if (strcmp(v, "update") == 0)
                o->wagg.update_mode = 1;
            else
                rc = -1, fprintf(stderr, "statestore run: --mode is append "
                                         "or update\n");
        } else if (strcmp(f, "--format") == 0) {
            if (strcmp(v, "json") == 0)
                o->input_format = SS_IN_JSON;
            else if (strcmp(v, "csv") == 0)
                o->input_format = SS_IN_CSV;
            else
                rc = -1, fprintf(stderr, "statestore run: --format is json "
                                         "or csv\n");
        } else if (strcmp(f, "--output-format") == 0) {
            if (strcmp(v, "json") == 0)
                o->output_format = SS_OUT_JSON;
            else if (strcmp(v, "csv") == 0)
                o->output_format = SS_OUT_CSV;
            else
                rc = -1, fprintf(stderr, "statestore run: --output-format "
                                         "is json or csv\n");
        } else if (strcmp(f, "--on-bad-input") == 0) {
            if (strcmp(v, "skip") == 0)
                o->bad_input_fatal = 0;
            else if (strcmp(v, "fail") == 0)
                o->bad_input_fatal = 1;
            else
                rc = -1, fprintf(stderr, "statestore run: --on-bad-input is "
                                         "skip or fail\n");
        } else if (strcmp(f, "--provider") == 0) {
            a->provider = v;
        } else if (strcmp(f, "-o") == 0) {
            rc = cli_opts_add(&a->opts, v);
        } else if (strcmp(f, "--partitions") == 0) {
            rc = parse_uns(&o->partitions, f, v);
        } else if (strcmp(f, "--threads") == 0) {
            rc = parse_uns(&o->threads, f, v);
        } else if (strcmp(f, "--max-files") == 0) {
            rc = parse_uns(&o->max_files, f, v);
        } else if (strcmp(f, "--max-records") == 0) {
            rc = parse_u64(&o->max_records, f, v);
        } else if (strcmp(f, "--max-batches") == 0) {
            rc = parse_u64(&o->max_batches, f, v);
        } else if (strcmp(f, "--poll-ms") == 0) {
            rc = parse_uns(&o->poll_ms, f, v);
        } else if (strcmp(f, "--metrics-json") == 0) {
            o->metrics_json = v;
        } else {
            fprintf(stderr, "statestore run: unknown option '%s'\n\n", f);
            run_usage(stderr);
            return 2;
        }
        if (rc < 0)
            return 2;
        i += takes;
    }
    if (!o->input || !o->checkpoint || !o->event_time) {
        fprintf(stderr, "statestore run: --input, --checkpoint and "
                        "--event-time are required\n\n");
        run_usage(stderr);
        return 2;
    }
    if (o->have_window) {
        if (!have_group || !have_agg) {
            fprintf(stderr, "statestore run: --window needs --group-by and "
                            "--agg\n");
            return 2;
        }
        if (!have_slide)
            o->wagg.slide_ms = o->wagg.window_ms;
        if (ss_wagg__parse_aggs(&o->wagg, a->agg_buf) < 0) {
            fprintf(stderr, "statestore run: %s\n", ss_error_last());
            return 2;
        }
    } else if (have_group || have_agg || have_slide) {
        fprintf(stderr, "statestore run: --group-by, --agg and --slide need "
                        "--window\n");
        return 2;
    }
    o->wagg.lateness_ms = o->lateness_ms;
    return 0;
}

int
cmd_run(int argc, char **argv)
{
    static run_args a;
    static char prov_opt[128];
    ss_run_stats st;
    const char *opts[70];
    size_t n = 0, i;
    int rc;

    memset(&a, 0, sizeof(a));
    ss_run_options_init(&a.o);
    if ((rc = parse_args(&a, argc, argv)) != 0)
        return rc == 1 ? 0 : rc;
    if (a.provider) {
        snprintf(prov_opt, sizeof(prov_opt), "provider=%s", a.provider);
        opts[n++] = prov_opt;
    }
    for (i = 0; i < a.opts.n; i++)
        opts[n++] = a.opts.items[i];
    a.o.store_options = opts;
    a.o.n_store_options = n;
    a.o.progress = a.quiet ? NULL : stderr;
    a.o.errors = stderr;
    a.o.stop = &stop_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rc = ss_run(&st, &a.o);
    if (st.batches == 0)
        fprintf(stderr,
                "statestore run: no new input (%" PRIu64
                " batches committed in %s)\n",
                st.first_batch, a.o.checkpoint);
    else
        fprintf(stderr,
                "statestore run: batches %" PRIu64 "..%" PRIu64 " (%" PRIu64
                " replayed): %" PRIu64 " rows in, %" PRIu64 " bad, %" PRIu64
                " late, %" PRIu64 " duplicates, %" PRIu64 " rows out\n",
                st.first_batch, st.first_batch + st.batches - 1, st.replayed,
                st.rows_in, st.bad, st.late, st.duplicates, st.rows_out);
    if (rc < 0)
        return cli_fail("run", "run", rc);
    return 0;
}
