/*
 * runner_int.h -- what the runner's files share (not exported, not used
 * by the CLI; runner.h is the CLI's interface).
 *
 *   runner.c    the batch loop and restart logic (ss_run)
 *   query.c     option checks and the query fingerprint
 *   source.c    input discovery: planning batches, raw byte ranges
 *   batch.c     a batch's ranges parsed into records
 *   pool.c      rows split into partitions, operators run on threads
 *   sink.c      a batch's output formatted and written
 *   progress.c  per-batch progress lines and metrics JSON
 *
 * Lifetimes: one ss_runner lives for one ss_run() call.  Its batch is
 * reset at the start of every batch, so records, the arena and `keep`
 * are valid only until the next batch starts.  Partition stores stay
 * open for the whole run (ss_pool__close releases them).
 *
 * Threads: only pool.c runs code on other threads; while an operator
 * runs, workers read the batch and write only their own partition.
 */
#ifndef SS_RUNNER_RUNNER_INT_H
#define SS_RUNNER_RUNNER_INT_H

#include "runner/runner.h"

#include "checkpoint/storage.h"
#include "ops/window_agg.h"
#include "statestore.h"
#include "runner/log.h"
#include "util/buf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SS_RUNNER_PATH_MAX 4096

/* One partition of one operator: its store and this batch's share. */
typedef struct ss_run_part {
    ss_provider *prov;
    unsigned cf, cf2;
    uint32_t *idx;
    size_t n, cap;
    ss_wagg_result res;
    uint64_t dropped, evicted;
    uint64_t num_keys, memory_bytes, commit_ns;
    int rc;
    char err[1024];
} ss_run_part;

typedef struct ss_run_op {
    const char *name;
    ss_run_part *parts;
} ss_run_op;

/* The records of the current batch; all offsets point into `arena`. */
typedef struct ss_run_batch {
    ss_rec *recs;
    size_t n, cap;
    ss_buf arena;
    double *vals;
    size_t vals_cap;
    unsigned char *keep;
    uint64_t lines, bad, late;
    int64_t max_ts;
    uint32_t vals_warned; /* --agg fields warned about; kept across batches */
} ss_run_batch;

typedef struct ss_runner {
    const ss_run_options *o; /* &opts */
    ss_run_options opts;     /* the caller's, with the store options below */
    const char **store_opts; /* caller's + min_versions_to_retain, or NULL */
    uint64_t retain;         /* batches of logs and store versions kept */
    int lock_fd;             /* <checkpoint>/lock, flocked; -1 if none */
    unsigned threads;
    char input_dir[SS_RUNNER_PATH_MAX];
    ss_storage *root, *offsets, *commits, *sink, *stdin_st;
    ss_run_op agg, dd;
    ss_run_batch b;
    FILE *mj;
    /* per-batch task dispatch */
    ss_run_op *cur_op;
    uint64_t cur_batch;
    int64_t cur_wm;
    atomic_uint next_part;
} ss_runner;

/* -------------------------------------------------------------- log.c */
/* (log.h has the offset and commit entries; these serve the rest.) */

/* Write data plus a "crc32c XXXXXXXX\n" line over it, replacing `name`,
 * or (only_new) only if `name` is absent: SS_EEXISTS if it exists. */
int ss_log__put_sealed(ss_storage *st, const char *name, const void *data,
                       size_t len, int only_new);
/* Read an object ss_log__put_sealed wrote into `out` (replacing what it
 * held), without its CRC line.  0, SS_ENOTFOUND, or SS_ECORRUPT naming
 * the object (no CRC line, or a mismatch). */
int ss_log__read_sealed(ss_buf *out, ss_storage *st, const char *name);
/* The same for a sealed entry whose first line is `magic`: *body points
 * past that line into b, NUL-terminated where the CRC line began. */
int ss_log__read_entry(ss_buf *b, char **body, ss_storage *st, const char *name,
                       const char *magic);
/* Delete the entries "<N><suffix>" with N < below, oldest first. */
int ss_log__prune(ss_storage *st, uint64_t below, const char *suffix);

/* ------------------------------------------------------------ query.c */

int ss_query__validate(const ss_run_options *o);
/* @return 0, SS_EINVAL if the checkpoint holds a different query, or
 *         SS_ECORRUPT if `query` is damaged, or missing while the logs
 *         hold batches (the message names the file). */
int ss_query__check(ss_runner *r);

/* ----------------------------------------------------------- source.c */

int ss_source__is_stdin(const ss_run_options *o);
/* SS_IN_JSON or SS_IN_CSV for input file `name`; -1 to skip it. */
int ss_source__format(const ss_run_options *o, const char *name);
/* Read bytes [start, end) of dir/name into `out` (appended). */
int ss_source__read_range(ss_buf *out, const char *dir, const char *name,
                          uint64_t start, uint64_t end);
/* The first line of a CSV file (its header), into `out`. */
int ss_source__read_header(ss_buf *out, const char *dir, const char *name);
/* Plan batch e->batch after `pos`; e->n_ranges 0 when nothing is new. */
int ss_source__plan_dir(ss_runner *r, ss_offset_entry *e, const ss_range *pos);
int ss_source__plan_stdin(ss_runner *r, ss_offset_entry *e);

/* ------------------------------------------------------------ batch.c */

void ss_batch__reset(ss_run_batch *b);
void ss_batch__free(ss_run_batch *b);
/* Read and parse the ranges of `e` into r->b. */
int ss_batch__read(ss_runner *r, const ss_offset_entry *e);

/* ------------------------------------------------------------- pool.c */

/* Assign rows to partitions by hash (dedup key or group key). */
int ss_pool__partition(ss_runner *r, ss_run_op *o, int by_dedup);
/* Run `o` on every partition, on the worker threads. */
int ss_pool__run(ss_runner *r, ss_run_op *o);
void ss_pool__close(ss_runner *r, ss_run_op *o);
/* Keys and bytes summed, commit time of the slowest partition. */
void ss_pool__totals(const ss_runner *r, const ss_run_op *o, uint64_t *keys,
                     uint64_t *bytes, uint64_t *commit_ns);

/* ------------------------------------------------------------- sink.c */

/* Format the batch's output rows, sorted by window then group key. */
int ss_sink__format(ss_runner *r, ss_buf *out, uint64_t *rows_out);
int ss_sink__write(ss_runner *r, uint64_t batch_no, const ss_buf *out);

/* --------------------------------------------------------- progress.c */

int ss_progress__open(ss_runner *r);
void ss_progress__close(ss_runner *r);
void ss_progress__batch(ss_runner *r, const ss_offset_entry *e,
                        uint64_t rows_out, uint64_t dups, uint64_t ns,
                        uint64_t state_ns, int replay);

#endif
