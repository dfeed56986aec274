/*
 * log.h -- the runner's offset log and commit log (docs/runner.md).
 *
 * offsets/<N>: what input batch N covers, written before the batch runs.
 * commits/<N>: written after batch N's state and output are durable.
 * Both are small text objects in checkpoint storage, each ending with a
 * CRC-32C line over the bytes before it.
 */
#ifndef SS_RUNNER_LOG_H
#define SS_RUNNER_LOG_H

#include "checkpoint/storage.h"
#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define SS_LOG_NAME_MAX 256

/* One input range: bytes [start, end) of file `name`, whose first byte
 * is at line `line` (1-based) of the file. */
typedef struct ss_range {
    char name[SS_LOG_NAME_MAX];
    uint64_t start, end, line;
} ss_range;

typedef struct ss_offset_entry {
    uint64_t batch;
    int64_t watermark; /* INT64_MIN: none yet */
    ss_range *ranges;
    size_t n_ranges;
    /* Source position after this batch: next unread byte of file `pos`. */
    ss_range pos; /* pos.name "" = nothing read yet */
} ss_offset_entry;

typedef struct ss_commit_entry {
    uint64_t batch;
    int64_t max_event_time; /* INT64_MIN: none seen yet */
    uint64_t rows_out;
} ss_commit_entry;

int ss_log__write_offset(ss_storage *st, const ss_offset_entry *e);
/* @return 0, SS_ENOTFOUND, SS_ECORRUPT (names the object) */
int ss_log__read_offset(ss_offset_entry *out, ss_storage *st, uint64_t batch);
void ss_log__offset_free(ss_offset_entry *e);

int ss_log__write_commit(ss_storage *st, const ss_commit_entry *e);
int ss_log__read_commit(ss_commit_entry *out, ss_storage *st, uint64_t batch);

/* Highest batch number in a log; *found 0 if the log is empty. */
int ss_log__latest(uint64_t *out, int *found, ss_storage *st);

/* Read a whole object into `out` (appended).  0 or SS_ENOTFOUND/SS_EIO. */
int ss_log__read_all(ss_buf *out, ss_storage *st, const char *name);

#endif
