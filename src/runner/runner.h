/*
 * runner.h -- the micro-batch runner behind `statestore run`.
 *
 * Reads a growing directory of JSONL/CSV files (or stdin) in batches,
 * runs deduplication and/or windowed aggregation on partitioned state
 * stores, writes each batch's output atomically, and keeps an offset log
 * and a commit log so a killed run restarts exactly once (docs/runner.md).
 */
#ifndef SS_RUNNER_RUNNER_H
#define SS_RUNNER_RUNNER_H

#include "ops/window_agg.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SS_RUN_MAX_DEDUP 8

enum { SS_IN_AUTO = 0, SS_IN_JSON = 1, SS_IN_CSV = 2 };

typedef struct ss_run_options {
    const char *input;      /* directory of input files, or "-" (stdin) */
    const char *checkpoint; /* checkpoint folder */
    const char *output;     /* output directory, "-" (stdout) or NULL */
    int input_format;       /* SS_IN_*; AUTO picks by file extension */
    int output_format;      /* SS_OUT_JSON or SS_OUT_CSV */
    unsigned max_files;     /* files per batch, 0 = no bound */
    uint64_t max_records;   /* lines per batch, 0 = no bound */
    unsigned partitions;    /* state partitions, >= 1 */
    unsigned threads;       /* worker threads, 0 = online cores */
    const char *event_time; /* event-time field */
    int64_t lateness_ms;    /* watermark delay */
    int have_window;        /* windowed aggregation configured */
    ss_wagg_query wagg;     /* its query (lateness copied from above) */
    size_t n_dedup;         /* dedup key fields (0 = no dedup) */
    const char *dedup[SS_RUN_MAX_DEDUP];
    const char *const *store_options; /* "key=value" for every store */
    size_t n_store_options;
    int bad_input_fatal;      /* 1: stop at the first bad line */
    int follow;               /* keep polling the input for new files */
    unsigned poll_ms;         /* follow: poll interval */
    uint64_t max_batches;     /* stop after this many batches, 0 = no bound */
    FILE *progress;           /* one line per batch; NULL = quiet */
    FILE *errors;             /* bad-input reports; NULL = not printed */
    const char *metrics_json; /* append JSON lines here; NULL = none */
    volatile sig_atomic_t *stop; /* set to stop after the current batch */
} ss_run_options;

typedef struct ss_run_stats {
    uint64_t first_batch; /* first batch number run by this call */
    uint64_t batches;     /* batches run by this call */
    uint64_t replayed;    /* of those, logged-but-uncommitted replays */
    uint64_t rows_in, bad, late, duplicates, rows_out;
    /* Where the time went, summed over batches (nanoseconds). */
    uint64_t read_ns;     /* read and parse input */
    uint64_t state_ns;    /* operators on all partitions, incl. commits */
    uint64_t commit_ns;   /* of which store commits (slowest partition) */
    uint64_t sink_ns;     /* sort, format, write output, commit log */
    uint64_t state_rows;  /* state rows (all operators) after the last batch */
    uint64_t state_bytes; /* their memory_bytes after the last batch */
} ss_run_stats;

/* Fill `o` with defaults (partitions 4, append mode, JSON output). */
void ss_run_options_init(ss_run_options *o);

/*
 * Run batches until the input has nothing new (or, with follow, until
 * *stop is set or max_batches is reached).  Holds <checkpoint>/lock for
 * the whole call (docs/runner.md, "One run per checkpoint").
 * @return 0, SS_EINVAL (bad query, bad input with bad_input_fatal, a
 *         checkpoint written by a different query: message says so),
 *         SS_EIO, SS_ECORRUPT (a log entry, saved stdin batch, `query`
 *         or state file failed checks, or `query` is missing while
 *         batches are logged), SS_ELIMIT (state memory limit),
 *         SS_EBUSY (another run holds the checkpoint's lock, or logged
 *         the batch this run was about to log), SS_EFENCED (another
 *         writer took over a state store).  The CLI exits 3 for the
 *         last two.
 */
int ss_run(ss_run_stats *stats_out, const ss_run_options *o);

#endif
