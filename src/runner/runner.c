/*
 * runner.c -- the micro-batch loop and restart logic (ss_run).
 *
 * Per batch N (docs/runner.md gives the file formats):
 *
 *   plan --> offsets/N --> read+parse --> dedup --> window_agg --> sink
 *   (new input)  (durable)   (ranges)     (P stores, threads)      |
 *                                                      commits/N <-+
 *
 *   plan: source.c, read+parse: batch.c, operators: pool.c,
 *   sink: sink.c, reporting: progress.c, query check: query.c.
 *
 * Invariants (tests/runner/runner_test.c cites them by number):
 * 1. offsets/N is durable before any state of batch N is written, and
 *    names exactly the bytes batch N reads, plus the watermark it uses.
 * 2. Batch N loads every partition store at version N and commits N+1;
 *    a store already at N+1 (crash after its commit) is simply committed
 *    again from N, which replaces N+1 (statestore.h, convention 6).
 * 3. The sink's output for batch N is one object, part-N, replaced
 *    whole on replay; with (1) and (2) the replayed output is identical
 *    (sink.c).
 * 4. commits/N is written only after every partition committed N+1 and
 *    the sink object is durable.  On restart the first batch without a
 *    commit entry is replayed from its offset entry if there is one, so
 *    no input is skipped and none is counted twice.
 * 5. The watermark of batch N is max(watermark of N-1, max event time
 *    through N-1 - lateness); it is computed from the logs, never from
 *    wall time, so a replay sees the same watermark.
 * 6. The checkpoint's `query` object fingerprints the query; a run with
 *    a different query is refused before anything is written (query.c).
 */
#include "runner/runner_int.h"

#include "util/clock.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
open_storage(ss_storage **out, const char *dir, const char *sub)
{
    char path[SS_RUNNER_PATH_MAX];

    if (snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "",
                 sub ? sub : "") >= (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", dir);
    return ss_local_fs_open(out, path);
}

static void
free_storage(ss_storage *st)
{
    if (st)
        st->free(st);
}
static int
run_batch(ss_runner *r, const ss_offset_entry *e, int replay,
          ss_commit_entry *ce, ss_run_stats *st)
{
    const ss_run_options *o = r->o;
    uint64_t t0 = ss_now_ns(), t1, t2, rows_out = 0, dups = 0;
    ss_buf out = SS_BUF_INIT;
    unsigned i;
    int rc;

    ss_batch__reset(&r->b);
    r->cur_batch = e->batch;
    r->cur_wm = e->watermark;
    if ((rc = ss_batch__read(r, e)) < 0)
        goto out;
    t1 = ss_now_ns();
    if (o->n_dedup) {
        if (!(r->b.keep = calloc(r->b.n ? r->b.n : 1, 1))) {
            rc = ss_error_set(SS_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = ss_pool__partition(r, &r->dd, 1)) < 0 ||
            (rc = ss_pool__run(r, &r->dd)) < 0)
            goto out;
        for (i = 0; i < o->partitions; i++)
            dups += r->dd.parts[i].dropped;
    }
    if (o->have_window) {
        for (i = 0; i < o->partitions; i++)
            ss_wagg__result_free(&r->agg.parts[i].res);
        if ((rc = ss_pool__partition(r, &r->agg, 0)) < 0 ||
            (rc = ss_pool__run(r, &r->agg)) < 0)
            goto out;
    }
    st->read_ns += t1 - t0;
    t1 = ss_now_ns() - t1;
    st->state_ns += t1;
    {
        uint64_t k1, b1, c1, k2, b2, c2;

        ss_pool__totals(r, &r->agg, &k1, &b1, &c1);
        ss_pool__totals(r, &r->dd, &k2, &b2, &c2);
        st->commit_ns += c1 + c2;
        st->state_rows = k1 + k2;
        st->state_bytes = b1 + b2;
    }
    t2 = ss_now_ns();
    if ((rc = ss_sink__format(r, &out, &rows_out)) < 0 ||
        (rc = ss_sink__write(r, e->batch, &out)) < 0)
        goto out;
    ce->batch = e->batch;
    if (r->b.max_ts > ce->max_event_time)
        ce->max_event_time = r->b.max_ts;
    ce->rows_out = rows_out;
    if ((rc = ss_log__write_commit(r->commits, ce)) < 0)
        goto out;
    st->sink_ns += ss_now_ns() - t2;
    st->batches++;
    st->replayed += replay != 0;
    st->rows_in += r->b.lines;
    st->bad += r->b.bad;
    st->late += r->b.late;
    st->duplicates += dups;
    st->rows_out += rows_out;
    ss_progress__batch(r, e, rows_out, dups, ss_now_ns() - t0, t1, replay);
out:
    ss_buf_free(&out);
    return rc;
}

static int64_t
next_watermark(int64_t wm, int64_t max_ts, int64_t lateness)
{
    int64_t cand;

    if (max_ts == INT64_MIN || max_ts < INT64_MIN + lateness + 1)
        return wm;
    cand = max_ts - lateness;
    return cand > wm ? cand : wm;
}

void
ss_run_options_init(ss_run_options *o)
{
    memset(o, 0, sizeof(*o));
    o->partitions = 4;
    o->output_format = SS_OUT_JSON;
    o->poll_ms = 1000;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

int
ss_run(ss_run_stats *stats_out, const ss_run_options *o)
{
    ss_runner r;
    ss_run_stats st;
    ss_offset_entry prev, e;
    ss_commit_entry ce;
    uint64_t next = 0, last_off = 0;
    int found_c = 0, found_o = 0, rc, prev_had_data = 0;
    long nproc;

    memset(&r, 0, sizeof(r));
    memset(&st, 0, sizeof(st));
    memset(&prev, 0, sizeof(prev));
    memset(&e, 0, sizeof(e));
    memset(&ce, 0, sizeof(ce));
    r.o = o;
    r.agg.name = "window_agg";
    r.dd.name = "dedup";
    ss_batch__reset(&r.b);
    if ((rc = ss_query__validate(o)) < 0)
        goto out;
    nproc = sysconf(_SC_NPROCESSORS_ONLN);
    r.threads = o->threads ? o->threads : (nproc > 0 ? (unsigned)nproc : 1);
    if (!ss_source__is_stdin(o)) {
        struct stat sb;

        if (stat(o->input, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
            rc = ss_error_set(SS_EINVAL, "--input %s: not a directory",
                              o->input);
            goto out;
        }
        snprintf(r.input_dir, sizeof(r.input_dir), "%s", o->input);
    }
    if ((rc = open_storage(&r.root, o->checkpoint, NULL)) < 0 ||
        (rc = ss_query__check(&r)) < 0 ||
        (rc = open_storage(&r.offsets, o->checkpoint, "offsets")) < 0 ||
        (rc = open_storage(&r.commits, o->checkpoint, "commits")) < 0)
        goto out;
    if (ss_source__is_stdin(o) &&
        (rc = open_storage(&r.stdin_st, o->checkpoint, "sources/stdin")) < 0)
        goto out;
    if (o->output && strcmp(o->output, "-") != 0 &&
        (rc = open_storage(&r.sink, o->output, NULL)) < 0)
        goto out;
    if ((rc = ss_progress__open(&r)) < 0)
        goto out;
    if ((o->have_window &&
         !(r.agg.parts = calloc(o->partitions, sizeof(ss_run_part)))) ||
        (o->n_dedup &&
         !(r.dd.parts = calloc(o->partitions, sizeof(ss_run_part))))) {
        rc = ss_error_set(SS_ENOMEM, "out of memory");
        goto out;
    }
    /* Where the logs say we are (invariant 4). */
    if ((rc = ss_log__latest(&next, &found_c, r.commits)) < 0 ||
        (rc = ss_log__latest(&last_off, &found_o, r.offsets)) < 0)
        goto out;
    ce.max_event_time = INT64_MIN;
    prev.watermark = INT64_MIN;
    if (found_c) {
        if ((rc = ss_log__read_commit(&ce, r.commits, next)) < 0 ||
            (rc = ss_log__read_offset(&prev, r.offsets, next)) < 0)
            goto out;
        prev_had_data = prev.n_ranges > 0;
        next++;
    }
    st.first_batch = next;
    if (o->progress && (found_c || found_o))
        fprintf(o->progress,
                "resuming from checkpoint %s: %" PRIu64
                " batches committed%s\n",
                o->checkpoint, next,
                found_o && last_off >= next ? ", replaying the uncommitted "
                                              "batch first"
                                            : "");
    while (!(o->stop && *o->stop) &&
           !(o->max_batches && st.batches >= o->max_batches)) {
        int replay = 0;

        ss_log__offset_free(&e);
        memset(&e, 0, sizeof(e));
        if (found_o && next <= last_off) {
            if ((rc = ss_log__read_offset(&e, r.offsets, next)) < 0)
                goto out;
            replay = 1;
        } else {
            e.batch = next;
            e.watermark = next_watermark(prev.watermark, ce.max_event_time,
                                         o->lateness_ms);
            rc = ss_source__is_stdin(o)
                     ? ss_source__plan_stdin(&r, &e)
                     : ss_source__plan_dir(&r, &e, &prev.pos);
            if (rc < 0)
                goto out;
            if (e.n_ranges == 0) {
                /* No new input: one no-data batch if the watermark moved
                 * (closes windows), else wait or stop. */
                if (!(prev_had_data && e.watermark > prev.watermark)) {
                    if (!o->follow)
                        break;
                    sleep_ms(o->poll_ms);
                    continue;
                }
            }
            if ((rc = ss_log__write_offset(r.offsets, &e)) < 0)
                goto out;
        }
        if ((rc = run_batch(&r, &e, replay, &ce, &st)) < 0)
            goto out;
        prev_had_data = e.n_ranges > 0;
        ss_log__offset_free(&prev);
        prev = e;
        memset(&e, 0, sizeof(e));
        next++;
    }
    rc = 0;
out:
    ss_log__offset_free(&prev);
    ss_log__offset_free(&e);
    {
        char saved[1024];

        ss_error__save(saved, sizeof(saved));
        ss_pool__close(&r, &r.agg);
        ss_pool__close(&r, &r.dd);
        ss_error__restore(saved);
    }
    ss_batch__free(&r.b);
    free_storage(r.root);
    free_storage(r.offsets);
    free_storage(r.commits);
    free_storage(r.sink);
    free_storage(r.stdin_st);
    ss_progress__close(&r);
    if (stats_out)
        *stats_out = st;
    return rc;
}
