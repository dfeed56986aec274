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
#include <sys/stat.h>
#include <unistd.h>

/* The signal that asked the run to stop (SIGINT, SIGTERM), or 0. */
static volatile sig_atomic_t stop_flag;

/* The first SIGINT/SIGTERM stops the run at the next batch boundary
 * (SA_RESETHAND: a second one kills it, which a restart recovers from
 * exactly once).  Only async-signal-safe calls here. */
static void
on_signal(int sig)
{
    static const char msg[] = "statestore run: stopping after the current "
                              "batch (signal again to stop at once)\n";
    ssize_t n;

    stop_flag = sig;
    n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)n;
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
        "Bad input: a line that does not parse, lacks a field the query "
        "needs, or\n"
        "has a group-by/dedup key over the store's key limit, and a CSV "
        "file whose\n"
        "header does not name those fields, are reported as file:line and "
        "skipped\n"
        "(--on-bad-input skip).  With --on-bad-input fail the run stops "
        "there;\n"
        "running again with skip replays that batch and skips exactly "
        "those lines.\n"
        "\n"
        "Output numbers: counts and integer values exactly, other values "
        "with the\n"
        "fewest digits that read back as the same double; an aggregate with "
        "no\n"
        "value, or past double's range (a sum overflowing to infinity), is "
        "null\n"
        "(CSV: an empty cell).\n"
        "\n"
        "Exit status: 0 when the available input is processed, 1 on an error "
        "(the\n"
        "message names the file, line or option), 2 on a usage error, 3 when "
        "another\n"
        "run is using the checkpoint (or took over its state), 128+N "
        "when\n"
        "signal N (SIGINT 130, SIGTERM 143) stopped the run at a batch "
        "boundary\n"
        "(every batch it started is committed; run again to continue).\n");
}

typedef struct run_args {
    ss_run_options o;
    cli_opts opts;
    const char *provider;
    char group_buf[512], agg_buf[512], dedup_buf[512];
    char input_buf[4096];
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

/* A path option's value: given and not empty. */
static int
parse_path(const char **out, const char *flag, const char *v)
{
    if (!v[0]) {
        fprintf(stderr, "statestore run: %s needs a path (got \"\")\n", flag);
        return -1;
    }
    *out = v;
    return 0;
}

/*
 * `path` spelt one way, into out: repeated and trailing slashes and "."
 * components dropped ("dir/", "./dir" and "dir//" are "dir"), so the
 * query fingerprint does not depend on how the folder was typed.  ".."
 * and symbolic links are kept as given (resolving them would tie the
 * checkpoint to one working directory).
 */
static int
normalize_path(char *out, size_t size, const char *path)
{
    const char *p = path;
    size_t n = 0, len;

    if (strlen(path) >= size)
        return -1;
    if (*p == '/')
        out[n++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        len = strcspn(p, "/");
        if (len == 0)
            break;
        if (!(len == 1 && p[0] == '.')) {
            if (n && out[n - 1] != '/')
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = '\0';
    return 0;
}

/* Do two folder paths name the same folder?  By device and inode when
 * both exist, else by their normalised spelling. */
static int
same_dir(const char *a, const char *b)
{
    char na[4096], nb[4096];
    struct stat sa, sb;

    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (normalize_path(na, sizeof(na), a) < 0 ||
        normalize_path(nb, sizeof(nb), b) < 0)
        return 0;
    return strcmp(na, nb) == 0;
}

/* Split a comma list into `names` (at most max), in place in buf. */
static int
split_list(const char **names, size_t *n, size_t max, char *buf, size_t bufsize,
           const char *flag, const char *v)
{
    char *save = NULL, *item;
    size_t i;

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
        for (i = 0; i < *n; i++)
            if (strcmp(names[i], item) == 0) {
                fprintf(stderr, "statestore run: %s: '%s' is given twice\n",
                        flag, item);
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
            rc = parse_path(&o->input, f, v);
        } else if (strcmp(f, "--checkpoint") == 0) {
            rc = parse_path(&o->checkpoint, f, v);
        } else if (strcmp(f, "--output") == 0) {
            rc = parse_path(&o->output, f, v);
        } else if (strcmp(f, "--event-time") == 0) {
            if (!v[0])
                rc = -1, fprintf(stderr, "statestore run: --event-time "
                                         "needs a field name\n");
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
            rc = parse_path(&o->metrics_json, f, v);
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
        if (o->wagg.window_ms <= 0 || o->wagg.slide_ms <= 0) {
            fprintf(stderr, "statestore run: --window and --slide must be "
                            "> 0\n");
            return 2;
        }
        if (o->wagg.slide_ms > o->wagg.window_ms) {
            fprintf(stderr, "statestore run: --slide larger than --window "
                            "would skip events\n");
            return 2;
        }
        if (o->wagg.window_ms / o->wagg.slide_ms > 1000) {
            fprintf(stderr, "statestore run: --window/--slide > 1000 "
                            "windows per event\n");
            return 2;
        }
        if (ss_wagg__parse_aggs(&o->wagg, a->agg_buf) < 0 ||
            ss_wagg__check_names(&o->wagg) < 0) {
            fprintf(stderr, "statestore run: %s\n", ss_error_last());
            return 2;
        }
    } else if (have_group || have_agg || have_slide) {
        fprintf(stderr, "statestore run: --group-by, --agg and --slide need "
                        "--window\n");
        return 2;
    }
    if (!o->have_window && !o->n_dedup) {
        fprintf(stderr, "statestore run: no operator: give --window "
                        "(aggregation) and/or --dedup\n");
        return 2;
    }
    if (o->partitions < 1 || o->partitions > 4096) {
        fprintf(stderr, "statestore run: --partitions %u not in 1..4096\n",
                o->partitions);
        return 2;
    }
    if (strcmp(o->input, "-") != 0) {
        if (normalize_path(a->input_buf, sizeof(a->input_buf), o->input) < 0) {
            fprintf(stderr, "statestore run: --input: path too long\n");
            return 2;
        }
        o->input = a->input_buf;
        /* Part files written into the input would be read back as input. */
        if (o->output && strcmp(o->output, "-") != 0 &&
            same_dir(o->input, o->output)) {
            fprintf(stderr,
                    "statestore run: --output %s is the --input "
                    "folder; give another folder\n",
                    o->output);
            return 2;
        }
    }
    o->wagg.lateness_ms = o->lateness_ms;
    return 0;
}

int
cmd_run(int argc, char **argv)
{
    static run_args a;
    static char prov_opt[128];
    struct sigaction sa;
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
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = ss_run(&st, &a.o);
    /* After a failure only the batches done before it are worth a line:
     * "no new input" would be false. */
    if (st.batches == 0 && rc == 0 && !stop_flag)
        fprintf(stderr,
                "statestore run: no new input (%" PRIu64
                " batches committed in %s)\n",
                st.first_batch, a.o.checkpoint);
    else if (st.batches > 0)
        fprintf(stderr,
                "statestore run: batches %" PRIu64 "..%" PRIu64 " (%" PRIu64
                " replayed): %" PRIu64 " rows in, %" PRIu64 " bad, %" PRIu64
                " late, %" PRIu64 " duplicates, %" PRIu64 " rows out\n",
                st.first_batch, st.first_batch + st.batches - 1, st.replayed,
                st.rows_in, st.bad, st.late, st.duplicates, st.rows_out);
    if (rc < 0) {
        cli_fail("run", "run", rc);
        /* Another run holds the checkpoint or took over its stores. */
        return rc == SS_EBUSY || rc == SS_EFENCED ? 3 : 1;
    }
    if (stop_flag) {
        fprintf(stderr,
                "statestore run: stopped by %s at a batch boundary: %" PRIu64
                " batches committed in %s; run again to continue\n",
                stop_flag == SIGINT ? "SIGINT" : "SIGTERM",
                st.first_batch + st.batches, a.o.checkpoint);
        return 128 + stop_flag;
    }
    return 0;
}
