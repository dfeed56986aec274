/*
 * progress.c -- per-batch reporting: a progress line for people and a
 * JSON line for tools (--metrics-json), after each committed batch.
 *
 * Invariants:
 * 1. Reporting never fails a run: write errors on either stream are
 *    ignored, since the batch is already committed when it is reported.
 * 2. A batch is reported only after its commit entry is written, so
 *    every reported batch survives a crash; a replayed batch is marked
 *    "(replay)" / "replay":true and may be reported twice.
 * 3. Each line is flushed as it is written, so a killed run leaves only
 *    whole lines of the batches it finished.
 * 4. The metrics file is opened for append, so a restarted run adds to
 *    it instead of replacing the lines of the batches before the crash.
 */
#include "runner/runner_int.h"

#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int
ss_progress__open(ss_runner *r)
{
    const ss_run_options *o = r->o;

    if (o->metrics_json && !(r->mj = fopen(o->metrics_json, "a")))
        return ss_error_set(SS_EIO, "%s: cannot open: %s", o->metrics_json,
                            strerror(errno));
    return 0;
}

void
ss_progress__close(ss_runner *r)
{
    if (r->mj)
        fclose(r->mj);
    r->mj = NULL;
}

static void
fmt_wm(char *buf, size_t n, int64_t wm)
{
    if (wm == INT64_MIN)
        snprintf(buf, n, "none");
    else
        ss_wagg__format_time(buf, n, wm);
}

void
ss_progress__batch(ss_runner *r, const ss_offset_entry *e, uint64_t rows_out,
                   uint64_t dups, uint64_t ns, uint64_t state_ns, int replay)
{
    const ss_run_options *o = r->o;
    double secs = (double)ns / 1e9;
    double rate = secs > 0 ? (double)r->b.lines / secs : 0;
    uint64_t ak, ab, ac, dk, db, dc;
    char wm[40];

    ss_pool__totals(r, &r->agg, &ak, &ab, &ac);
    ss_pool__totals(r, &r->dd, &dk, &db, &dc);
    fmt_wm(wm, sizeof(wm), e->watermark);
    if (o->progress) {
        fprintf(o->progress,
                "batch %" PRIu64 "%s: %" PRIu64 " rows (%" PRIu64
                " bad, %" PRIu64 " late",
                e->batch, replay ? " (replay)" : "", r->b.lines, r->b.bad,
                r->b.late);
        if (o->n_dedup)
            fprintf(o->progress, ", %" PRIu64 " dup", dups);
        fprintf(o->progress,
                "), %.0f rows/s, watermark %s, out %" PRIu64 " rows", rate, wm,
                rows_out);
        if (o->n_dedup)
            fprintf(o->progress, " | dedup state %" PRIu64 " rows %.1f MiB", dk,
                    (double)db / 1048576.0);
        if (o->have_window)
            fprintf(o->progress,
                    " | window_agg state %" PRIu64 " rows %.1f MiB", ak,
                    (double)ab / 1048576.0);
        fprintf(o->progress, " | commit %.1f ms (state phase %.1f ms)\n",
                (double)(o->have_window ? ac : dc) / 1e6,
                (double)state_ns / 1e6);
        fflush(o->progress);
    }
    if (r->mj) {
        fprintf(r->mj,
                "{\"batch\":%" PRIu64 ",\"replay\":%s,\"rows\":%" PRIu64
                ",\"bad\":%" PRIu64 ",\"late\":%" PRIu64
                ",\"duplicates\":%" PRIu64 ",\"seconds\":%.6f,"
                "\"rows_per_s\":%.1f,\"watermark\":\"%s\",\"rows_out\":%" PRIu64
                ",\"state_phase_ms\":%.3f,\"operators\":{",
                e->batch, replay ? "true" : "false", r->b.lines, r->b.bad,
                r->b.late, dups, secs, rate, wm, rows_out,
                (double)state_ns / 1e6);
        if (o->n_dedup)
            fprintf(r->mj,
                    "\"dedup\":{\"state_rows\":%" PRIu64
                    ",\"state_bytes\":%" PRIu64 ",\"commit_ms\":%.3f}%s",
                    dk, db, (double)dc / 1e6, o->have_window ? "," : "");
        if (o->have_window)
            fprintf(r->mj,
                    "\"window_agg\":{\"state_rows\":%" PRIu64
                    ",\"state_bytes\":%" PRIu64 ",\"commit_ms\":%.3f}",
                    ak, ab, (double)ac / 1e6);
        fprintf(r->mj, "}}\n");
        fflush(r->mj);
    }
}
