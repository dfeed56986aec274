/*
 * query.c -- is this run's query acceptable: option checks, and the
 * query fingerprint kept in the checkpoint.
 *
 * Invariants:
 * 1. (runner.c invariant 6) The checkpoint's `query` object fingerprints
 *    the query; a run with a different query is refused before anything
 *    is written, since its offsets, state and output would not mean
 *    what the logs say they mean.
 * 2. The fingerprint covers everything that decides which bytes a batch
 *    reads and what state a row touches (input, format, event time,
 *    lateness, partitions, dedup keys, window query), and nothing that
 *    may change between restarts (batch bounds, threads, output).
 * 3. The first run of a checkpoint writes the fingerprint; later runs
 *    only compare it, byte for byte.
 * 4. `query` ends with a CRC-32C line (log.c invariant 5): a damaged
 *    file is SS_ECORRUPT naming it, never read as a different query.
 *    A missing `query` is written only while offsets/ and commits/ are
 *    empty; once they hold batches it is SS_ECORRUPT, since a rewritten
 *    fingerprint would vouch for logs it never described.
 */
#include "runner/runner_int.h"

#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define QUERY_MAGIC "statestore-query v1"

int
ss_query__validate(const ss_run_options *o)
{
    if (!o->input || !o->checkpoint)
        return ss_error_set(SS_EINVAL, "run: --input and --checkpoint are "
                                       "required");
    if (!o->event_time || !o->event_time[0])
        return ss_error_set(SS_EINVAL, "run: --event-time is required");
    if (!o->have_window && !o->n_dedup)
        return ss_error_set(SS_EINVAL, "run: no operator: give --window "
                                       "(aggregation) and/or --dedup");
    if (o->partitions < 1 || o->partitions > 4096)
        return ss_error_set(SS_EINVAL, "run: --partitions %u not in 1..4096",
                            o->partitions);
    if (o->have_window) {
        if (o->wagg.window_ms <= 0 || o->wagg.slide_ms <= 0)
            return ss_error_set(SS_EINVAL, "run: --window and --slide must "
                                           "be > 0");
        if (o->wagg.slide_ms > o->wagg.window_ms)
            return ss_error_set(SS_EINVAL, "run: --slide larger than "
                                           "--window would skip events");
        if (o->wagg.window_ms / o->wagg.slide_ms > 1000)
            return ss_error_set(SS_EINVAL, "run: --window/--slide > 1000 "
                                           "windows per event");
        if (o->wagg.n_aggs == 0)
            return ss_error_set(SS_EINVAL, "run: --agg is required with "
                                           "--window");
    }
    if (ss_source__is_stdin(o) && o->input_format == SS_IN_CSV)
        return ss_error_set(SS_EINVAL, "run: stdin input is JSON lines "
                                       "only");
    return 0;
}

/* 0 if <checkpoint>/<log> holds no entries (or does not exist). */
static int
no_batches(const char *checkpoint, const char *log)
{
    char path[SS_RUNNER_PATH_MAX];
    struct dirent *de;
    DIR *d;
    int found = 0;

    if (snprintf(path, sizeof(path), "%s/%s", checkpoint, log) >=
        (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", checkpoint);
    if (!(d = opendir(path)))
        return errno == ENOENT ? 0
                               : ss_error_set(SS_EIO, "%s: cannot list: %s",
                                              path, strerror(errno));
    while (!found && (de = readdir(d)))
        found = de->d_name[0] != '.';
    closedir(d);
    if (found)
        return ss_error_set(SS_ECORRUPT,
                            "%s/query is missing, but %s holds logged "
                            "batches: the checkpoint is damaged.  Restore "
                            "that file, or start over with a new "
                            "--checkpoint folder",
                            checkpoint, path);
    return 0;
}

int
ss_query__check(ss_runner *r)
{
    const ss_run_options *o = r->o;
    ss_buf want = SS_BUF_INIT, have = SS_BUF_INIT;
    char *body;
    size_t i;
    int rc;

    if ((rc = ss_buf_printf(&want,
                            QUERY_MAGIC "\ninput %s\nformat %d\n"
                                        "event_time %s\nlateness %" PRId64
                                        "\npartitions %u\ndedup ",
                            o->input, o->input_format, o->event_time,
                            o->lateness_ms, o->partitions)) < 0)
        goto out;
    for (i = 0; i < o->n_dedup; i++)
        if ((rc = ss_buf_printf(&want, "%s%s", i ? "," : "", o->dedup[i])) < 0)
            goto out;
    if ((rc = ss_buf_printf(&want, "\n")) < 0)
        goto out;
    if (o->have_window && (rc = ss_wagg__describe(&want, &o->wagg)) < 0)
        goto out;
    if ((rc = ss_buf_printf(&want, "\n")) < 0)
        goto out;
    rc = ss_log__read_entry(&have, &body, r->root, "query", QUERY_MAGIC);
    if (rc == SS_ENOTFOUND) {
        if ((rc = no_batches(o->checkpoint, "offsets")) < 0 ||
            (rc = no_batches(o->checkpoint, "commits")) < 0)
            goto out;
        rc = ss_log__put_sealed(r->root, "query", want.data, want.len, 1);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (have.len != want.len || memcmp(have.data, want.data, want.len)) {
        if ((rc = ss_buf_append(&want, "", 1)) < 0)
            goto out;
        rc = ss_error_set(SS_EINVAL,
                          "checkpoint %s was written by a different query; "
                          "use a new --checkpoint folder, or the query it "
                          "was written with.\n--- checkpoint's query:\n%s"
                          "--- this run's query:\n%s",
                          o->checkpoint, (char *)have.data, (char *)want.data);
    }
out:
    ss_buf_free(&want);
    ss_buf_free(&have);
    return rc;
}
