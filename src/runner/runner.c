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
 *    a different query is refused before anything but the checkpoint
 *    folder and its lock file is written (query.c).
 * 7. One run per checkpoint: a run holds flock(LOCK_EX) on
 *    <checkpoint>/lock from before it reads `query` until it has closed
 *    every store; the file names its pid, host and start time.  A second
 *    run is refused at once (SS_EBUSY naming them).  The kernel drops the
 *    lock of a killed run, so the next run takes it over and says so.
 *    Where the lock does not hold (a lock file deleted, a filesystem
 *    without locks), offsets/N and commits/N are still created only if
 *    absent (log.c invariant 4): a runner that finds batch N logged by
 *    another stops with SS_EBUSY, before it touches any state for N.
 * 8. Retention: once commits/N is durable, entries of offsets/, commits/
 *    and sources/stdin/ older than the newest R = max(2,
 *    min_versions_to_retain) batches are deleted, oldest first.  Stores
 *    are opened with min_versions_to_retain >= 2, so after batch N
 *    committed N+1 (and maintenance ran) version N, the base of a
 *    replay of N, is still loadable until commits/N is durable.
 * 9. Every folder the runner writes in is fsynced into its parent at
 *    start (also one a killed run created but had not synced), before
 *    anything in it is counted durable.
 * 10. A saved stdin batch is read only after its CRC line checked out
 *    (log.c invariant 5), so a damaged copy is SS_ECORRUPT naming it.
 */
#include "runner/runner_int.h"

#include "store/options.h"
#include "util/clock.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME "lock"
#define LOCK_MAGIC "statestore-run-lock v1"
#define STDIN_SUFFIX ".jsonl"

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

/* fsync the folder that holds `path` (invariant 9). */
static int
sync_parent(const char *path)
{
    char dir[SS_RUNNER_PATH_MAX], *slash;
    size_t n;
    int fd, rc = 0;

    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return ss_error_set(SS_EINVAL, "%s: path too long", path);
    for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    if (!(slash = strrchr(dir, '/')))
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return ss_error_set(SS_EIO, "%s: cannot open folder to sync it: %s",
                            dir, strerror(errno));
    if (fsync(fd) < 0)
        rc = ss_error_set(SS_EIO, "%s: fsync of folder failed: %s", dir,
                          strerror(errno));
    close(fd);
    return rc;
}

/* Create <checkpoint>/<sub> if absent (its parent exists). */
static int
make_dir(const char *checkpoint, const char *sub)
{
    char path[SS_RUNNER_PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", checkpoint, sub) >=
        (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", checkpoint);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return ss_error_set(SS_EIO, "%s: cannot create folder: %s", path,
                            strerror(errno));
    return 0;
}

/* Sync <checkpoint>/<sub> into its parent. */
static int
sync_sub(const char *checkpoint, const char *sub)
{
    char path[SS_RUNNER_PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", checkpoint, sub) >=
        (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", checkpoint);
    return sync_parent(path);
}

/* The checkpoint's folders, each synced into its parent (invariant 9):
 * offsets/, commits/, sources/stdin/ and state/<op>/<p>/ for every
 * operator and partition (the stores open them lazily, in pool.c). */
static int
make_dirs(ss_runner *r)
{
    const ss_run_options *o = r->o;
    const ss_run_op *ops[2];
    char sub[128];
    size_t n_ops = 0, k;
    unsigned p;
    int rc;

    if (o->have_window)
        ops[n_ops++] = &r->agg;
    if (o->n_dedup)
        ops[n_ops++] = &r->dd;
    if ((rc = make_dir(o->checkpoint, "offsets")) < 0 ||
        (rc = make_dir(o->checkpoint, "commits")) < 0 ||
        (rc = make_dir(o->checkpoint, "state")) < 0)
        return rc;
    if (ss_source__is_stdin(o) &&
        ((rc = make_dir(o->checkpoint, "sources")) < 0 ||
         (rc = make_dir(o->checkpoint, "sources/stdin")) < 0 ||
         (rc = sync_sub(o->checkpoint, "sources/stdin")) < 0))
        return rc;
    /* One sync covers every folder made in the same parent. */
    if ((rc = sync_sub(o->checkpoint, "state")) < 0)
        return rc;
    for (k = 0; k < n_ops; k++) {
        snprintf(sub, sizeof(sub), "state/%s", ops[k]->name);
        if ((rc = make_dir(o->checkpoint, sub)) < 0)
            return rc;
        for (p = 0; p < o->partitions; p++) {
            snprintf(sub, sizeof(sub), "state/%s/%u", ops[k]->name, p);
            if ((rc = make_dir(o->checkpoint, sub)) < 0)
                return rc;
        }
        if ((rc = sync_sub(o->checkpoint, sub)) < 0)
            return rc;
        snprintf(sub, sizeof(sub), "state/%s", ops[k]->name);
        if ((rc = sync_sub(o->checkpoint, sub)) < 0)
            return rc;
    }
    return 0;
}

/* "pid N on host H since T" from a lock file's text; 0 if it is empty. */
static int
lock_holder(char *who, size_t size, int fd)
{
    char buf[1024], host[256] = "", since[64] = "";
    long pid = 0;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    const char *line;

    if (n <= 0) {
        snprintf(who, size,
                 "another statestore run (it has not written "
                 "its pid yet)");
        return 0;
    }
    buf[n] = '\0';
    if ((line = strstr(buf, "\npid ")))
        pid = strtol(line + 5, NULL, 10);
    if ((line = strstr(buf, "\nhost ")))
        sscanf(line + 6, "%255s", host);
    if ((line = strstr(buf, "\nsince ")))
        sscanf(line + 7, "%63s", since);
    if (strncmp(buf, LOCK_MAGIC "\n", sizeof(LOCK_MAGIC)) != 0 || pid <= 0 ||
        !host[0] || !since[0])
        snprintf(who, size,
                 "an unknown process (lock file text not "
                 "understood)");
    else
        snprintf(who, size, "pid %ld on host %s since %s", pid, host, since);
    return 1;
}

/* Take <checkpoint>/lock for the whole run (invariant 7). */
static int
lock_checkpoint(ss_runner *r)
{
    const ss_run_options *o = r->o;
    FILE *say = o->errors ? o->errors : o->progress;
    char path[SS_RUNNER_PATH_MAX], who[512], host[256], since[64], text[512];
    struct tm tm;
    time_t now = time(NULL);
    int fd, len;

    if (snprintf(path, sizeof(path), "%s/" LOCK_NAME, o->checkpoint) >=
        (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", o->checkpoint);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return ss_error_set(SS_EIO, "%s: cannot open the checkpoint lock: %s",
                            path, strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        if (e == EINTR)
            continue;
        if (e == EWOULDBLOCK) {
            lock_holder(who, sizeof(who), fd);
            close(fd);
            return ss_error_set(SS_EBUSY,
                                "checkpoint %s is in use by %s (lock file "
                                "%s); only one statestore run may use a "
                                "checkpoint at a time",
                                o->checkpoint, who, path);
        }
        if (e == ENOLCK || e == EOPNOTSUPP) {
            /* No locks here (e.g. NFS mounted nolock): invariant 7's
             * create-if-absent logs still keep a second run out. */
            if (say)
                fprintf(say,
                        "statestore run: warning: %s: the filesystem "
                        "cannot lock (%s); relying on the logs alone to "
                        "keep a second run out\n",
                        path, strerror(e));
            break;
        }
        close(fd);
        return ss_error_set(SS_EIO, "%s: cannot lock: %s", path, strerror(e));
    }
    if (lock_holder(who, sizeof(who), fd) && say)
        fprintf(say,
                "statestore run: checkpoint %s: taking over the lock left "
                "by %s (that run is gone: its lock was free)\n",
                o->checkpoint, who);
    if (gethostname(host, sizeof(host)) < 0 || !host[0])
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    gmtime_r(&now, &tm);
    strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
    len = snprintf(text, sizeof(text),
                   LOCK_MAGIC "\npid %ld\nhost %s\nsince %s\n", (long)getpid(),
                   host, since);
    /* The text only informs whoever is refused; the flock decides. */
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        int e = errno;

        close(fd);
        return ss_error_set(SS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    r->lock_fd = fd;
    return 0;
}

/* Release the lock; an empty lock file means "not in use". */
static void
unlock_checkpoint(ss_runner *r)
{
    if (r->lock_fd < 0)
        return;
    /* Should this fail, the next run reports a stale lock, takes it. */
    if (ftruncate(r->lock_fd, 0) < 0 && r->o->errors)
        fprintf(r->o->errors, "statestore run: %s/" LOCK_NAME ": %s\n",
                r->o->checkpoint, strerror(errno));
    close(r->lock_fd);
    r->lock_fd = -1;
}

/* The caller's options with the store options the runner needs: stores
 * keep at least 2 versions (invariant 8).  Sets r->retain. */
static int
setup_options(ss_runner *r, const ss_run_options *o)
{
    ss_config c;
    size_t i, n = o->n_store_options;
    int rc;

    r->opts = *o;
    r->o = &r->opts;
    ss_config_defaults(&c);
    if ((rc = ss_config_parse(&c, o->store_options, n)) < 0)
        return rc;
    r->retain = c.min_versions_to_retain;
    if (r->retain >= 2)
        return 0;
    r->retain = 2;
    if (!(r->store_opts = calloc(n + 1, sizeof(*r->store_opts))))
        return ss_error_set(SS_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        r->store_opts[i] = o->store_options[i];
    /* A later key overrides an earlier one (store/options.h). */
    r->store_opts[n] = "min_versions_to_retain=2";
    r->opts.store_options = r->store_opts;
    r->opts.n_store_options = n + 1;
    return 0;
}

/* Drop log entries older than the newest r->retain batches, now that
 * commits/`committed` is durable (invariant 8). */
static int
prune_logs(ss_runner *r, uint64_t committed)
{
    uint64_t below;
    int rc;

    if (committed + 1 <= r->retain)
        return 0;
    below = committed + 1 - r->retain;
    if (r->stdin_st &&
        (rc = ss_log__prune(r->stdin_st, below, STDIN_SUFFIX)) < 0)
        return rc;
    if ((rc = ss_log__prune(r->offsets, below, "")) < 0)
        return rc;
    return ss_log__prune(r->commits, below, "");
}

/* A saved stdin batch is whole and unchanged (invariant 10). */
static int
check_stdin(ss_runner *r, const ss_offset_entry *e)
{
    ss_buf b = SS_BUF_INIT;
    size_t i;
    int rc = 0;

    for (i = 0; i < e->n_ranges && rc == 0; i++) {
        if ((rc = ss_log__read_sealed(&b, r->stdin_st, e->ranges[i].name)) < 0)
            break;
        if (b.len < e->ranges[i].end)
            rc = ss_error_set(SS_ECORRUPT,
                              "%s/%s: %zu bytes, but offsets/%" PRIu64
                              " reads up to byte %" PRIu64,
                              r->stdin_st->location, e->ranges[i].name, b.len,
                              e->batch, e->ranges[i].end);
    }
    ss_buf_free(&b);
    return rc;
}

/* `log`/N exists although this run found it absent: another run logged
 * batch N (invariant 7). */
static int
lost_to_other_run(ss_runner *r, const char *log, uint64_t batch)
{
    return ss_error_set(SS_EBUSY,
                        "checkpoint %s: %s/%" PRIu64 " was written by another "
                        "run while this one was running; this run stops "
                        "(only one statestore run may use a checkpoint at a "
                        "time)",
                        r->o->checkpoint, log, batch);
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
    if (r->stdin_st && (rc = check_stdin(r, e)) < 0)
        goto out;
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
    if ((rc = ss_log__write_commit(r->commits, ce)) < 0) {
        if (rc == SS_EEXISTS)
            rc = lost_to_other_run(r, "commits", e->batch);
        goto out;
    }
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
    r.lock_fd = -1;
    r.agg.name = "window_agg";
    r.dd.name = "dedup";
    ss_batch__reset(&r.b);
    if ((rc = ss_query__validate(o)) < 0 || (rc = setup_options(&r, o)) < 0)
        goto out;
    o = r.o;
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
        (rc = sync_parent(o->checkpoint)) < 0 ||
        (rc = lock_checkpoint(&r)) < 0 || (rc = ss_query__check(&r)) < 0 ||
        (rc = make_dirs(&r)) < 0 ||
        (rc = open_storage(&r.offsets, o->checkpoint, "offsets")) < 0 ||
        (rc = open_storage(&r.commits, o->checkpoint, "commits")) < 0)
        goto out;
    if (ss_source__is_stdin(o) &&
        (rc = open_storage(&r.stdin_st, o->checkpoint, "sources/stdin")) < 0)
        goto out;
    if (o->output && strcmp(o->output, "-") != 0 &&
        ((rc = open_storage(&r.sink, o->output, NULL)) < 0 ||
         (rc = sync_parent(o->output)) < 0))
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
        /* Finish a prune a killed run left, or apply a lower retention. */
        if ((rc = prune_logs(&r, next)) < 0)
            goto out;
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
            if ((rc = ss_log__write_offset(r.offsets, &e)) < 0) {
                if (rc == SS_EEXISTS)
                    rc = lost_to_other_run(&r, "offsets", next);
                goto out;
            }
        }
        if ((rc = run_batch(&r, &e, replay, &ce, &st)) < 0) {
            if (rc == SS_EFENCED)
                rc = ss_error_wrap(rc,
                                   "checkpoint %s: another writer took over "
                                   "its state during batch %" PRIu64
                                   ", which this run leaves uncommitted "
                                   "(only one statestore run may use a "
                                   "checkpoint at a time)",
                                   o->checkpoint, next);
            goto out;
        }
        if ((rc = prune_logs(&r, next)) < 0)
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
    /* Last: no other run may open the stores before ours are closed. */
    unlock_checkpoint(&r);
    free(r.store_opts);
    if (stats_out)
        *stats_out = st;
    return rc;
}
