/*
 * runner_test.c -- `statestore run` (src/runner, src/ops) end to end.
 *
 * Each test writes a generated clickstream (JSON lines, with out-of-order,
 * late, duplicate, malformed and incomplete records) into its temp dir and
 * runs the runner on it, in a forked child so a SIGKILL can land anywhere.
 *
 * - reference::*   results equal a plain batch computation of the same
 *   query over the same input (tumbling and sliding windows, several
 *   partition counts, memory and rocksdb/changelog), runner.c invariants
 *   2, 4, 5 and window_agg.c invariants 1-3.
 * - kill::*        SIGKILL at random points, restart until done: the sink
 *   equals an uninterrupted run's, file for file (runner.c 1-4).
 * - input::*       bad lines, missing fields, empty input, a checkpoint
 *   from another query, bad-input-fatal.
 * - dedup::*       dedup against a reference with the same eviction rule.
 */
#include "harness.h"
#include "runner/runner.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_FILES 8
#define PER_FILE 400
#define N_USERS 37
#define MAX_EV (N_FILES * PER_FILE)

/* What the generator wrote, per line. */
typedef struct ev {
    int64_t ts;
    int user;
    int kind; /* 0..2: view/click/buy */
    long bytes;
    int has_bytes;
    int valid; /* parses and has ts, user, kind */
    int file;
    int event_id; /* duplicates repeat an earlier id */
} ev;

typedef struct dataset {
    ev evs[MAX_EV + N_FILES * 8];
    size_t n;
} dataset;

static const char *const kinds[] = {"view", "click", "buy"};

static uint64_t
rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void
iso(char *buf, size_t n, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + strlen(buf), n - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

/* Write N_FILES files into dir; remember every line in d. */
static void
gen(ss_test *t, dataset *d, const char *dir, uint64_t seed)
{
    int64_t base = 1714557600000; /* 2024-05-01T10:00:00Z */
    char path[1024], tsbuf[64];
    int f, i, id = 0;

    d->n = 0;
    mkdir(dir, 0755);
    for (f = 0; f < N_FILES; f++) {
        FILE *fp;

        snprintf(path, sizeof(path), "%s/in-%02d.jsonl", dir, f);
        fp = fopen(path, "w");
        SS_CHECK(fp != NULL);
        for (i = 0; i < PER_FILE; i++) {
            ev *e = &d->evs[d->n++];
            uint64_t r = rng(&seed);

            memset(e, 0, sizeof(*e));
            e->file = f;
            e->valid = 1;
            /* 30 s per file, jitter up to 8 s, 3% late by 20..80 s. */
            e->ts = base + (int64_t)f * 30000 + (int64_t)i * 30000 / PER_FILE -
                    (int64_t)(r % 8000);
            if (rng(&seed) % 100 < 3)
                e->ts -= 20000 + (int64_t)(rng(&seed) % 60000);
            e->user = (int)(rng(&seed) % N_USERS);
            e->kind = (int)(rng(&seed) % 3);
            e->bytes = (long)(rng(&seed) % 5000);
            e->has_bytes = rng(&seed) % 20 != 0;
            e->event_id = ++id;
            if (rng(&seed) % 50 == 0 && id > 5) /* a re-sent event */
                e->event_id = id - 1 - (int)(rng(&seed) % 3);
            if (i % 3 == 0)
                fprintf(fp, "{\"ts\":%" PRId64, e->ts);
            else
                iso(tsbuf, sizeof(tsbuf), e->ts),
                    fprintf(fp, "{\"ts\": \"%s\"", tsbuf);
            fprintf(fp, ",\"id\":%d,\"user\":\"u%d\",\"kind\":\"%s\"",
                    e->event_id, e->user, kinds[e->kind]);
            if (e->has_bytes)
                fprintf(fp, ",\"bytes\":%ld", e->bytes);
            fprintf(fp, "}\n");
            if (i % 97 == 13) { /* a bad line, then one without user */
                ev *b = &d->evs[d->n++];

                memset(b, 0, sizeof(*b));
                fprintf(fp, "{\"ts\":%" PRId64 ",\"user\":\"u1\",\n", e->ts);
                b = &d->evs[d->n++];
                memset(b, 0, sizeof(*b));
                fprintf(fp, "{\"ts\":%" PRId64 ",\"kind\":\"view\"}\n", e->ts);
            }
        }
        fclose(fp);
    }
}

/* ------------------------------------------------------- the reference */

typedef struct agg {
    int64_t start;
    int user, kind;
    long count, n, sum, min, max;
} agg;

typedef struct ref {
    agg *a;
    size_t n, cap;
} ref;

static agg *
ref_get(ref *r, int64_t start, int user, int kind)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->a[i].start == start && r->a[i].user == user &&
            r->a[i].kind == kind)
            return &r->a[i];
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->a = realloc(r->a, r->cap * sizeof(*r->a));
    }
    memset(&r->a[r->n], 0, sizeof(r->a[0]));
    r->a[r->n].start = start;
    r->a[r->n].user = user;
    r->a[r->n].kind = kind;
    return &r->a[r->n++];
}

static int64_t
fdiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && a < 0);
}

/*
 * The query as a plain batch computation: one batch per file, watermark
 * of batch b = max(previous, max event time of batches < b - lateness);
 * a record below its batch's watermark is dropped; with dedup, a record
 * whose id was kept before and whose first time is not below the
 * watermark is dropped.  The emitted windows are those whose end is at
 * or below the final watermark (after one no-data batch).
 */
static int64_t
reference(ref *r, const dataset *d, int64_t win, int64_t slide, int64_t late,
          int dedup)
{
    int64_t wm = INT64_MIN, maxev = INT64_MIN;
    int64_t *seen = calloc(MAX_EV + 1, sizeof(int64_t));
    int *seen_set = calloc(MAX_EV + 1, sizeof(int));
    int f;
    size_t i;

    r->n = 0;
    for (f = 0; f < N_FILES; f++) {
        int64_t bmax = maxev;

        if (maxev != INT64_MIN && maxev - late > wm)
            wm = maxev - late;
        if (dedup && wm != INT64_MIN)
            for (i = 0; i <= MAX_EV; i++)
                if (seen_set[i] && seen[i] < wm)
                    seen_set[i] = 0;
        for (i = 0; i < d->n; i++) {
            const ev *e = &d->evs[i];
            int64_t s;

            if (e->file != f || !e->valid)
                continue;
            if (e->ts > bmax)
                bmax = e->ts;
            if (e->ts < wm)
                continue;
            if (dedup) {
                if (seen_set[e->event_id])
                    continue;
                seen_set[e->event_id] = 1;
                seen[e->event_id] = e->ts;
            }
            for (s = fdiv(e->ts, slide) * slide; s > e->ts - win; s -= slide) {
                agg *a = ref_get(r, s, e->user, e->kind);

                a->count++;
                if (!e->has_bytes)
                    continue;
                if (a->n == 0 || e->bytes < a->min)
                    a->min = e->bytes;
                if (a->n == 0 || e->bytes > a->max)
                    a->max = e->bytes;
                a->sum += e->bytes;
                a->n++;
            }
        }
        maxev = bmax;
    }
    if (maxev - late > wm)
        wm = maxev - late; /* the no-data batch */
    free(seen);
    free(seen_set);
    return wm;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct lines {
    char **l;
    size_t n, cap;
} lines;

static void
lines_add(lines *ls, const char *s)
{
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 256;
        ls->l = realloc(ls->l, ls->cap * sizeof(*ls->l));
    }
    ls->l[ls->n++] = strdup(s);
}

static void
lines_free(lines *ls)
{
    size_t i;

    for (i = 0; i < ls->n; i++)
        free(ls->l[i]);
    free(ls->l);
    memset(ls, 0, sizeof(*ls));
}

/* The runner's number format (window_agg.c): the shortest %g that reads
 * back as the same double (integral values print as integers). */
static void
shortest(char *buf, size_t n, double d)
{
    int prec;

    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static void
expected_lines(lines *out, const ref *r, int64_t win, int64_t final_wm)
{
    char line[512], s0[64], s1[64], avg[64];
    size_t i;

    for (i = 0; i < r->n; i++) {
        const agg *a = &r->a[i];
        time_t t0 = (time_t)(a->start / 1000), t1;
        struct tm tm;

        if (a->start + win > final_wm)
            continue;
        t1 = (time_t)((a->start + win) / 1000);
        gmtime_r(&t0, &tm);
        strftime(s0, sizeof(s0), "%Y-%m-%dT%H:%M:%SZ", &tm);
        gmtime_r(&t1, &tm);
        strftime(s1, sizeof(s1), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (a->n)
            shortest(avg, sizeof(avg), (double)a->sum / (double)a->n);
        if (a->n)
            snprintf(line, sizeof(line),
                     "{\"window_start\":\"%s\",\"window_end\":\"%s\","
                     "\"user\":\"u%d\",\"kind\":\"%s\",\"count\":%ld,"
                     "\"sum_bytes\":%ld,\"min_bytes\":%ld,\"max_bytes\":%ld,"
                     "\"avg_bytes\":%s}",
                     s0, s1, a->user, kinds[a->kind], a->count, a->sum, a->min,
                     a->max, avg);
        else
            snprintf(line, sizeof(line),
                     "{\"window_start\":\"%s\",\"window_end\":\"%s\","
                     "\"user\":\"u%d\",\"kind\":\"%s\",\"count\":%ld,"
                     "\"sum_bytes\":null,\"min_bytes\":null,"
                     "\"max_bytes\":null,\"avg_bytes\":null}",
                     s0, s1, a->user, kinds[a->kind], a->count);
        lines_add(out, line);
    }
    qsort(out->l, out->n, sizeof(*out->l), cmp_str);
}

/* Every line of every part-* file in dir (sorted by file name), and the
 * concatenated bytes in *all (for file-for-file comparisons). */
static void
read_output(ss_test *t, lines *out, char **all, const char *dir)
{
    struct dirent **names = NULL;
    size_t total = 0;
    int n, i;

    *all = calloc(1, 1);
    n = scandir(dir, &names, NULL, alphasort);
    for (i = 0; i < n; i++) {
        char path[1024], *p, *nl;
        unsigned char *data;
        size_t len;

        if (strncmp(names[i]->d_name, "part-", 5) == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            data = ss_test_read_file(t, path, &len);
            *all = realloc(*all, total + strlen(path) + len + 3);
            total += (size_t)sprintf(*all + total, "%s\n", names[i]->d_name);
            memcpy(*all + total, data, len);
            total += len;
            (*all)[total] = '\0';
            data = realloc(data, len + 1);
            data[len] = '\0';
            for (p = (char *)data; *p; p = nl + 1) {
                nl = strchr(p, '\n');
                SS_CHECK(nl != NULL);
                *nl = '\0';
                lines_add(out, p);
            }
            free(data);
        }
        free(names[i]);
    }
    free(names);
    qsort(out->l, out->n, sizeof(*out->l), cmp_str);
}

/* ------------------------------------------------------ running it */

typedef struct query {
    const ss_test_provider *provider; /* NULL: memory */
    unsigned partitions;
    int64_t win, slide, late;
    int dedup;
    int update;
    int fatal;
} query;

static void
options(ss_run_options *o, const query *q, const char *in, const char *ck,
        const char *out, const char **store_opts, size_t max_opts)
{
    static char group[] = "user,kind";
    static char aggs[64];

    ss_run_options_init(o);
    o->input = in;
    o->checkpoint = ck;
    o->output = out;
    o->event_time = "ts";
    o->lateness_ms = q->late;
    o->partitions = q->partitions;
    o->threads = 2;
    o->max_files = 1;
    o->have_window = 1;
    o->wagg.window_ms = q->win;
    o->wagg.slide_ms = q->slide;
    o->wagg.lateness_ms = q->late;
    o->wagg.update_mode = q->update;
    o->wagg.n_group = 2;
    o->wagg.group[0] = group;
    o->wagg.group[1] = group + 5;
    group[4] = '\0';
    snprintf(aggs, sizeof(aggs),
             "count,sum:bytes,min:bytes,max:bytes,"
             "avg:bytes");
    if (ss_wagg__parse_aggs(&o->wagg, aggs) < 0)
        abort();
    if (q->dedup) {
        o->n_dedup = 1;
        o->dedup[0] = "id";
    }
    o->bad_input_fatal = q->fatal;
    o->n_store_options = 0;
    if (q->provider)
        while (o->n_store_options < max_opts &&
               q->provider->options[o->n_store_options]) {
            store_opts[o->n_store_options] =
                q->provider->options[o->n_store_options];
            o->n_store_options++;
        }
    o->store_options = store_opts;
}

/* Run in a child; kill it after delay_us (0 = never).  Returns the exit
 * status (0 ok, 1 error), or -1 if killed. */
static int
run_child(ss_test *t, const query *q, const char *in, const char *ck,
          const char *out, long delay_us)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    SS_CHECK(pid >= 0);
    if (pid == 0) {
        ss_run_options o;
        const char *so[SS_TEST_MAX_OPTIONS];
        char tmp[1200];

        snprintf(tmp, sizeof(tmp), "%s/tmp", t->dir);
        mkdir(tmp, 0755);
        setenv("TMPDIR", tmp, 1);
        options(&o, q, in, ck, out, so, SS_TEST_MAX_OPTIONS);
        o.errors = NULL;
        if (ss_run(NULL, &o) < 0) {
            fprintf(stderr, "child: %s\n", ss_error_last());
            _exit(1);
        }
        _exit(0);
    }
    if (delay_us > 0) {
        usleep((useconds_t)delay_us);
        kill(pid, SIGKILL);
    }
    SS_CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void
check_reference(ss_test *t, const query *q)
{
    static dataset d;
    char in[1100], ck[1100], out[1100], *all;
    lines got = {0}, want = {0};
    ref r = {0};
    int64_t wm;
    size_t i;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    gen(t, &d, in, 42 + q->partitions);
    SS_CHECK(run_child(t, q, in, ck, out, 0) == 0);
    read_output(t, &got, &all, out);
    free(all);
    wm = reference(&r, &d, q->win, q->slide, q->late, q->dedup);
    expected_lines(&want, &r, q->win, wm);
    ss_test_context(t,
                    "partitions %u window %" PRId64 " slide %" PRId64
                    " dedup %d: %zu rows, expected %zu",
                    q->partitions, q->win, q->slide, q->dedup, got.n, want.n);
    SS_CHECK(want.n > 50); /* the data really closes many windows */
    for (i = 0; i < got.n && i < want.n; i++)
        if (strcmp(got.l[i], want.l[i]) != 0)
            SS_FAIL("row %zu differs:\n  got  %s\n  want %s", i, got.l[i],
                    want.l[i]);
    SS_CHECK_EQ_U64(got.n, want.n);
    lines_free(&got);
    lines_free(&want);
    free(r.a);
}

/*
 * Skip a provider config this build refuses (e.g. rocksdb snapshot mode
 * before issue 3).  Probed in a child so the test process never holds a
 * RocksDB instance (and its threads) across the forks below.
 */
static void
probe_provider(ss_test *t)
{
    char dir[1100];
    pid_t pid;
    int status;

    snprintf(dir, sizeof(dir), "%s/probe", t->dir);
    fflush(NULL);
    pid = fork();
    SS_CHECK(pid >= 0);
    if (pid == 0) {
        ss_provider *p;
        size_t n = 0;

        while (n < SS_TEST_MAX_OPTIONS && t->provider->options[n])
            n++;
        if (ss_provider_open(&p, dir, t->provider->options, n) < 0)
            _exit(1);
        ss_provider_close(p);
        _exit(0);
    }
    SS_CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ss_test_skip(t, "provider config %s refused by this build",
                     t->provider->name);
}

static void
test_reference__tumbling(ss_test *t)
{
    unsigned parts[] = {1, 3, 8};
    size_t i;

    probe_provider(t);
    for (i = 0; i < 3; i++) {
        query q = {t->provider, parts[i], 10000, 10000, 5000, 0, 0, 0};
        char sub[3300];

        check_reference(t, &q);
        /* Fresh directories for the next partition count. */
        snprintf(sub, sizeof(sub), "rm -rf '%s/ck' '%s/out' '%s/in'", t->dir,
                 t->dir, t->dir);
        SS_CHECK(system(sub) == 0);
    }
}

static void
test_reference__sliding(ss_test *t)
{
    query q = {t->provider, 4, 15000, 5000, 3000, 0, 0, 0};

    probe_provider(t);
    check_reference(t, &q);
}

static void
test_dedup__then_window(ss_test *t)
{
    query q = {t->provider, 3, 10000, 10000, 5000, 1, 0, 0};

    probe_provider(t);
    check_reference(t, &q);
}

/*
 * Kill at random points until a run completes, `seqs` times over, each on
 * fresh folders; after each, the sink must equal the uninterrupted run's
 * file for file.  Delays grow with each kill so every sequence finishes.
 */
static void
kill_loop(ss_test *t, const query *q, int seqs)
{
    static dataset d;
    char in[1100], ck[1100], out[1100], ck2[1100], out2[1100], cmd[2400];
    char *a1, *a2;
    lines l1 = {0}, l2 = {0};
    uint64_t seed = 7;
    struct timespec t0, t1;
    long full_us;
    int kills = 0, rc, seq, k;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    snprintf(ck2, sizeof(ck2), "%s/ck2", t->dir);
    snprintf(out2, sizeof(out2), "%s/out2", t->dir);
    gen(t, &d, in, 99);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    SS_CHECK(run_child(t, q, in, ck, out, 0) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    full_us =
        (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    if (full_us < 2000)
        full_us = 2000;
    read_output(t, &l1, &a1, out);
    SS_CHECK(l1.n > 50);
    for (seq = 0; seq < seqs; seq++) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", ck2, out2);
        SS_CHECK(system(cmd) == 0);
        for (k = 0;; k++) {
            long delay = 1 + (long)(rng(&seed) % (uint64_t)(full_us / 3)) +
                         k * full_us / 10;

            ss_test_context(t,
                            "sequence %d, attempt %d, delay %ld us "
                            "(full run %ld us)",
                            seq, k, delay, full_us);
            rc = run_child(t, q, in, ck2, out2, delay);
            if (rc == 0)
                break;
            SS_CHECK(rc == -1);
            kills++;
            SS_CHECK(k < 200);
        }
        read_output(t, &l2, &a2, out2);
        if (strcmp(a1, a2) != 0)
            SS_FAIL("sequence %d: output after %d kills differs from the "
                    "uninterrupted run's",
                    seq, k);
        free(a2);
        lines_free(&l2);
    }
    ss_test_context(t, "%d kills over %d sequences", kills, seqs);
    SS_CHECK(kills >= seqs);
    if (t->verbose)
        printf("    %d kills over %d sequences (full run %ld us)\n", kills,
               seqs, full_us);
    free(a1);
    lines_free(&l1);
}

static void
test_kill__restart_equals_uninterrupted(ss_test *t)
{
    query q = {t->provider, 3, 10000, 5000, 4000, 1, 0, 0};

    probe_provider(t);
    kill_loop(t, &q, t->provider == &ss_test_providers[0] ? 5 : 2);
}

static void
test_kill__update_mode(ss_test *t)
{
    query q = {t->provider, 2, 10000, 10000, 4000, 0, 1, 0};

    probe_provider(t);
    kill_loop(t, &q, 2);
}

/* In-process runs for the input checks (memory provider). */
static int
run_here(ss_run_stats *st, ss_test *t, const query *q, const char *in,
         const char *ck, const char *out)
{
    ss_run_options o;
    const char *so[SS_TEST_MAX_OPTIONS];

    (void)t;
    options(&o, q, in, ck, out, so, SS_TEST_MAX_OPTIONS);
    return ss_run(st, &o);
}

static void
test_input__bad_lines_counted_and_skipped(ss_test *t)
{
    static dataset d;
    query q = {NULL, 2, 10000, 10000, 5000, 0, 0, 0};
    char in[1100], ck[1100], out[1100];
    ss_run_stats st;
    size_t i, bad = 0;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    gen(t, &d, in, 5);
    for (i = 0; i < d.n; i++)
        bad += !d.evs[i].valid;
    SS_CHECK(bad > 0);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.bad, bad);
    SS_CHECK_EQ_U64(st.rows_in, d.n);
    SS_CHECK(st.late > 0);
    SS_CHECK_EQ_U64(st.batches, N_FILES + 1); /* + the no-data batch */
}

static void
test_input__bad_line_fatal_names_file_and_line(ss_test *t)
{
    static dataset d;
    query q = {NULL, 2, 10000, 10000, 5000, 0, 0, 1};
    char in[1100], ck[1100], out[1100];
    ss_run_stats st;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    gen(t, &d, in, 5);
    /* Line 15 of the first file: 13 good lines, a good one, then bad. */
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out),
                     "in-00.jsonl:15: ");
    /* Fatal stays fatal on restart: the batch is replayed, same line. */
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out),
                     "in-00.jsonl:15: ");
}

static void
test_input__empty_dir(ss_test *t)
{
    query q = {NULL, 2, 10000, 10000, 5000, 0, 0, 0};
    char in[1100], ck[1100], out[1100];
    ss_run_stats st;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    mkdir(in, 0755);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.batches, 0);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.batches, 0);
    /* A missing input directory is an error naming it. */
    snprintf(in, sizeof(in), "%s/nope", t->dir);
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out), "nope");
}

static void
test_input__other_query_refused(ss_test *t)
{
    static dataset d;
    query q = {NULL, 2, 10000, 10000, 5000, 0, 0, 0};
    char in[1100], ck[1100], out[1100];
    ss_run_stats st;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    gen(t, &d, in, 5);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    q.win = 20000;
    q.slide = 20000;
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out),
                     "different query");
    q.win = q.slide = 10000;
    q.partitions = 3;
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out),
                     "different query");
    /* The original query still resumes (nothing new to do). */
    q.partitions = 2;
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.batches, 0);
    SS_CHECK_EQ_U64(st.first_batch, N_FILES + 1);
}

static void
test_input__new_files_resume(ss_test *t)
{
    static dataset d;
    query q = {NULL, 2, 10000, 10000, 5000, 0, 0, 0};
    char in[1100], ck[1100], out[1100], path[1200];
    ss_run_stats st;
    FILE *f;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    gen(t, &d, in, 5);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.batches, N_FILES + 1);
    /* The directory grows: only the new file is read. */
    snprintf(path, sizeof(path), "%s/in-99.jsonl", in);
    f = fopen(path, "w");
    SS_CHECK(f != NULL);
    fprintf(f, "{\"ts\":1714557900000,\"user\":\"u1\",\"kind\":\"buy\","
               "\"bytes\":5}\n");
    fclose(f);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.rows_in, 1);
    SS_CHECK_EQ_U64(st.first_batch, N_FILES + 1);
}

/* ------------------------------------------- small hand-written inputs */

static void
put_file(ss_test *t, const char *dir, const char *name, const char *text)
{
    char path[1400];

    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ss_test_write_file(t, path, text, strlen(text));
}

/* A small query: --window 10s --group-by user --agg count (or the aggs
 * given), no lateness, 2 partitions, one thread. */
static void
small_options(ss_run_options *o, char *aggs, const char *in, const char *ck,
              const char *out)
{
    ss_run_options_init(o);
    o->input = in;
    o->checkpoint = ck;
    o->output = out;
    o->event_time = "ts";
    o->partitions = 2;
    o->threads = 1;
    if (aggs) {
        o->have_window = 1;
        o->wagg.window_ms = o->wagg.slide_ms = 10000;
        o->wagg.n_group = 1;
        o->wagg.group[0] = "user";
        if (ss_wagg__parse_aggs(&o->wagg, aggs) < 0)
            abort();
    }
}

/* ss_run with its bad-input reports collected into *errs (malloc'd). */
static int
run_collect(ss_run_stats *st, ss_run_options *o, char **errs)
{
    FILE *f = tmpfile();
    long n;
    int rc;

    o->errors = f;
    rc = ss_run(st, o);
    o->errors = NULL;
    n = ftell(f);
    *errs = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(f);
    if (n > 0 && fread(*errs, 1, (size_t)n, f) != (size_t)n)
        (*errs)[0] = '\0';
    fclose(f);
    return rc;
}

#define CHECK_HAS(hay, needle)                                                 \
    do {                                                                       \
        if (!strstr((hay), (needle)))                                          \
            SS_FAIL("expected \"%s\" in:\n%s", (needle), (hay));               \
    } while (0)

/* Issue 9, finding 14: a group-by or dedup value too long for a store
 * key is a bad line (file:line), not a batch failure every replay
 * repeats (batch.c invariant 4). */
static void
test_input__long_key_is_a_bad_line(ss_test *t)
{
    char in[1100], ck[1100], out[1100], aggs[] = "count", *big, *text, *errs;
    ss_run_options o;
    ss_run_stats st;
    size_t n = 70000;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    text = malloc(2 * n + 400);
    sprintf(text,
            "{\"ts\":1000,\"user\":\"u1\",\"id\":1}\n"
            "{\"ts\":1001,\"user\":\"%s\",\"id\":2}\n"
            "{\"ts\":1002,\"user\":\"u2\",\"id\":\"%s\"}\n"
            "{\"ts\":99000,\"user\":\"u3\",\"id\":4}\n",
            big, big);
    put_file(t, in, "a.jsonl", text);
    small_options(&o, aggs, in, ck, out);
    o.n_dedup = 1;
    o.dedup[0] = "id";
    SS_CHECK_OK(run_collect(&st, &o, &errs));
    SS_CHECK_EQ_U64(st.bad, 2);
    SS_CHECK_EQ_U64(st.rows_in, 4);
    CHECK_HAS(errs, "a.jsonl:2: group-by key of 70");
    CHECK_HAS(errs, "a.jsonl:3: dedup key of 70");
    free(errs);
    free(text);
    free(big);
}

/* Issue 9, finding 14: --on-bad-input fail stops at file:line and says
 * how to go on; running again with skip replays the logged batch and
 * skips exactly that line: the output equals a run that skipped from
 * the start (batch.c invariant 4, runner.c invariant 1). */
static void
test_input__fatal_then_skip_equals_skip(ss_test *t)
{
    static dataset d;
    query q = {NULL, 2, 10000, 10000, 5000, 0, 0, 1};
    char in[1100], ck[1100], out[1100], ck2[1100], out2[1100], *a1, *a2;
    lines l1 = {0}, l2 = {0};
    ss_run_stats st;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    snprintf(ck2, sizeof(ck2), "%s/ck2", t->dir);
    snprintf(out2, sizeof(out2), "%s/out2", t->dir);
    gen(t, &d, in, 5);
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out),
                     "in-00.jsonl:15: ");
    SS_CHECK_ERR_MSG(SS_EINVAL, run_here(&st, t, &q, in, ck, out),
                     "run again with --on-bad-input skip");
    q.fatal = 0;
    SS_CHECK_OK(run_here(&st, t, &q, in, ck, out));
    SS_CHECK_EQ_U64(st.replayed, 1);
    SS_CHECK_OK(run_here(&st, t, &q, in, ck2, out2));
    read_output(t, &l1, &a1, out);
    read_output(t, &l2, &a2, out2);
    SS_CHECK(l1.n > 50);
    SS_CHECK(strcmp(a1, a2) == 0);
    free(a1);
    free(a2);
    lines_free(&l1);
    lines_free(&l2);
}

/* Issue 9, findings 14 and 23: a CSV header that cannot be read (an
 * unterminated quote, too many columns, no header line, a duplicate
 * name) is one report naming file:1, and its rows are counted bad; the
 * other files are read (batch.c invariant 5).  Wide headers (70
 * columns) are fine. */
static void
test_input__csv_bad_headers(ss_test *t)
{
    char in[1100], ck[1100], out[1100], aggs[] = "count", *errs;
    char text[8000];
    ss_run_options o;
    ss_run_stats st;
    size_t n;
    int i;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    /* The quote runs to the end: the rows are part of the header. */
    put_file(t, in, "a.csv", "ts,\"user\n1000,u1\n1001,u2\n");
    for (n = 0, i = 0; i < 300; i++)
        n += (size_t)sprintf(text + n, "%sc%d", i ? "," : "", i);
    sprintf(text + n, "\n1000,u1\n");
    put_file(t, in, "b.csv", text);
    put_file(t, in, "c.csv", "ts,user\n1003,u4\n");
    n = (size_t)sprintf(text, "ts,user");
    for (i = 2; i < 70; i++)
        n += (size_t)sprintf(text + n, ",pad%d", i);
    n += (size_t)sprintf(text + n, "\n1004,u5");
    for (i = 2; i < 70; i++)
        n += (size_t)sprintf(text + n, ",%d", i);
    sprintf(text + n, "\n");
    put_file(t, in, "d.csv", text);
    put_file(t, in, "e.csv", "1004,u5\n1005,u6\n");
    put_file(t, in, "f.csv", "ts,user,user\n1006,u7,u7\n");
    put_file(t, in, "g.jsonl", "{\"ts\":99000,\"user\":\"u9\"}\n");
    small_options(&o, aggs, in, ck, out);
    SS_CHECK_OK(run_collect(&st, &o, &errs));
    CHECK_HAS(errs, "a.csv:1: bad CSV header: unterminated quoted cell");
    CHECK_HAS(errs, "b.csv:1: bad CSV header: too many fields");
    CHECK_HAS(errs, "e.csv:1: bad CSV header: no column 'ts' (--event-time)"
                    "; the first line looks like data");
    CHECK_HAS(errs, "f.csv:1: bad CSV header: duplicate column name 'user'");
    /* Bad: b's, e's and f's one row each.  Read: c, d (70 columns), g. */
    SS_CHECK_EQ_U64(st.bad, 3);
    SS_CHECK_EQ_U64(st.rows_in, 6);
    free(errs);
    /* With fail, the run stops at the first, naming it. */
    snprintf(ck, sizeof(ck), "%s/ck2", t->dir);
    o.checkpoint = ck;
    o.bad_input_fatal = 1;
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_run(&st, &o), "a.csv:1: bad CSV header");
}

/* Issue 9, finding 23: a UTF-8 BOM is skipped (CSV and JSON); a quoted
 * cell may hold newlines (as the CSV sink writes them), line numbers
 * stay file line numbers after it, and a --max-records cut never splits
 * such a record (batch.c invariant 6, parse.c invariant 4). */
static void
test_input__csv_bom_and_quoted_newlines(ss_test *t)
{
    static const char csv[] = "\xEF\xBB\xBF"
                              "ts,user,v\r\n"
                              "1000,\"a\nb\",5\r\n"
                              "1001,u2,7\r\n"
                              "1002\r\n"
                              "1003,\"c\"\"\n\nd\",1\n"
                              "99000,u9,1\n";
    char in[1100], ck[1100], out[1100], aggs[] = "count", *errs, *all;
    const char *want[] = {"\"user\":\"a\\u000ab\",\"count\":1",
                          "\"user\":\"u2\",\"count\":1",
                          "\"user\":\"c\\\"\\u000a\\u000ad\",\"count\":1",
                          "\"user\":\"j1\",\"count\":1"};
    uint64_t max_records[] = {0, 1, 2};
    ss_run_options o;
    ss_run_stats st;
    size_t i, k;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    put_file(t, in, "a.csv", csv);
    put_file(t, in, "0.jsonl", "\xEF\xBB\xBF{\"ts\":1000,\"user\":\"j1\"}\n");
    for (k = 0; k < 3; k++) {
        snprintf(ck, sizeof(ck), "%s/ck%zu", t->dir, k);
        snprintf(out, sizeof(out), "%s/out%zu", t->dir, k);
        small_options(&o, aggs, in, ck, out);
        o.max_records = max_records[k];
        ss_test_context(t, "--max-records %" PRIu64, max_records[k]);
        SS_CHECK_OK(run_collect(&st, &o, &errs));
        SS_CHECK_EQ_U64(st.bad, 1);
        CHECK_HAS(errs, "a.csv:5: fewer cells than the header");
        {
            lines l = {0};

            read_output(t, &l, &all, out);
            for (i = 0; i < 4; i++)
                CHECK_HAS(all, want[i]);
            lines_free(&l);
            free(all);
        }
        free(errs);
    }
}

/* Issue 9, finding 20 (and 23): dedup without --window writes the kept
 * records in the chosen format, whatever the input's; the CSV it writes
 * (quoted newlines included) reads back as the same records. */
static void
test_sink__dedup_output_format(ss_test *t)
{
    char in[1100], ck[1100], out[1100], ck2[1100], *all, *errs;
    ss_run_options o;
    ss_run_stats st;
    lines l = {0};

    snprintf(in, sizeof(in), "%s/in", t->dir);
    put_file(t, in, "a.csv",
             "ts,id,name\n1000,1,\"x,y\"\n1001,1,dup\n1002,2,\n");
    put_file(t, in, "b.jsonl",
             "{\"ts\":1003, \"id\":3, \"name\":\"q\\\"z\", \"n\":1.5, "
             "\"ok\":true}\n{\"ts\":1004,\"id\":4,\"name\":\"l1\\nl2\"}\n");
    /* JSON lines out. */
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    small_options(&o, NULL, in, ck, out);
    o.n_dedup = 1;
    o.dedup[0] = "id";
    SS_CHECK_OK(ss_run(&st, &o));
    read_output(t, &l, &all, out);
    if (strcmp(all, "part-00000000.jsonl\n"
                    "{\"ts\":\"1000\",\"id\":\"1\",\"name\":\"x,y\"}\n"
                    "{\"ts\":\"1002\",\"id\":\"2\",\"name\":null}\n"
                    "{\"ts\":1003,\"id\":3,\"name\":\"q\\\"z\",\"n\":1.5,"
                    "\"ok\":true}\n"
                    "{\"ts\":1004,\"id\":4,\"name\":\"l1\\u000al2\"}\n") != 0)
        SS_FAIL("JSON output:\n%s", all);
    free(all);
    lines_free(&l);
    /* CSV out: one header of every field name, in first-seen order. */
    snprintf(ck, sizeof(ck), "%s/ck-csv", t->dir);
    snprintf(out, sizeof(out), "%s/out-csv", t->dir);
    small_options(&o, NULL, in, ck, out);
    o.n_dedup = 1;
    o.dedup[0] = "id";
    o.output_format = SS_OUT_CSV;
    SS_CHECK_OK(ss_run(&st, &o));
    read_output(t, &l, &all, out);
    if (strcmp(all, "part-00000000.csv\n"
                    "ts,id,name,n,ok\n"
                    "1000,1,\"x,y\",,\n"
                    "1002,2,,,\n"
                    "1003,3,\"q\"\"z\",1.5,true\n"
                    "1004,4,\"l1\nl2\",,\n") != 0)
        SS_FAIL("CSV output:\n%s", all);
    free(all);
    lines_free(&l);
    /* The runner reads its own CSV back: 4 records, none bad. */
    snprintf(ck2, sizeof(ck2), "%s/ck-back", t->dir);
    small_options(&o, NULL, out, ck2, NULL);
    o.n_dedup = 1;
    o.dedup[0] = "id";
    SS_CHECK_OK(run_collect(&st, &o, &errs));
    SS_CHECK_EQ_U64(st.rows_in, 4);
    SS_CHECK_EQ_U64(st.bad, 0);
    free(errs);
}

/* Issue 9, finding 19: integers print exactly, other doubles with the
 * digits that read back to the same value, a sum past double's range
 * as null (JSON has no inf). */
static void
test_sink__numbers_round_trip(ss_test *t)
{
    char in[1100], ck[1100], out[1100], aggs[] = "sum:v,max:v,avg:v", *all;
    const char *want[] = {
        "\"user\":\"a\",\"sum_v\":null,\"max_v\":1e+308,\"avg_v\":null",
        "\"user\":\"b\",\"sum_v\":1000000000000002,"
        "\"max_v\":1000000000000001,\"avg_v\":500000000000001}",
        "\"user\":\"c\",\"sum_v\":0.30000000000000004,\"max_v\":0.2,"
        "\"avg_v\":0.15000000000000002}",
        "\"user\":\"d\",\"sum_v\":1234567890123456,"
        "\"max_v\":1234567890123456,\"avg_v\":1234567890123456}"};
    ss_run_options o;
    ss_run_stats st;
    lines l = {0};
    size_t i;

    snprintf(in, sizeof(in), "%s/in", t->dir);
    snprintf(ck, sizeof(ck), "%s/ck", t->dir);
    snprintf(out, sizeof(out), "%s/out", t->dir);
    put_file(t, in, "a.jsonl",
             "{\"ts\":1000,\"user\":\"a\",\"v\":1e308}\n"
             "{\"ts\":1000,\"user\":\"a\",\"v\":1e308}\n"
             "{\"ts\":1000,\"user\":\"b\",\"v\":1000000000000001}\n"
             "{\"ts\":1000,\"user\":\"b\",\"v\":1}\n"
             "{\"ts\":1000,\"user\":\"c\",\"v\":0.1}\n"
             "{\"ts\":1000,\"user\":\"c\",\"v\":0.2}\n"
             "{\"ts\":1000,\"user\":\"d\",\"v\":1234567890123456}\n"
             "{\"ts\":99000,\"user\":\"z\",\"v\":0}\n");
    small_options(&o, aggs, in, ck, out);
    SS_CHECK_OK(ss_run(&st, &o));
    read_output(t, &l, &all, out);
    for (i = 0; i < 4; i++)
        CHECK_HAS(all, want[i]);
    free(all);
    lines_free(&l);
}

/* Issue 9, finding 21: an input name the offset log cannot hold (a
 * newline, a leading blank) is refused before anything is logged,
 * naming the file, instead of corrupting offsets/N or never being
 * read. */
static void
test_input__unloggable_names_refused(ss_test *t)
{
    char in[1100], ck[1100], out[1100], aggs[] = "count";
    const char *names[] = {"b\nc.jsonl", " lead.jsonl"};
    const char *shown[] = {"\"b\\nc.jsonl\"", "\" lead.jsonl\""};
    ss_run_options o;
    ss_run_stats st;
    size_t i;

    for (i = 0; i < 2; i++) {
        snprintf(in, sizeof(in), "%s/in%zu", t->dir, i);
        snprintf(ck, sizeof(ck), "%s/ck%zu", t->dir, i);
        snprintf(out, sizeof(out), "%s/out%zu", t->dir, i);
        put_file(t, in, "a.jsonl", "{\"ts\":1000,\"user\":\"u1\"}\n");
        put_file(t, in, names[i], "{\"ts\":1001,\"user\":\"u2\"}\n");
        small_options(&o, aggs, in, ck, out);
        SS_CHECK_ERR_MSG(SS_EINVAL, ss_run(&st, &o), shown[i]);
        SS_CHECK_ERR_MSG(SS_EINVAL, ss_run(&st, &o), "rename it");
        SS_CHECK_EQ_U64(st.batches, 0);
    }
}

static const ss_test_case tests[] = {
    SS_TEST(reference, tumbling),
    SS_TEST(reference, sliding),
    SS_TEST(dedup, then_window),
    SS_TEST(kill, restart_equals_uninterrupted),
    SS_TEST(kill, update_mode),
    SS_TEST_ONCE(input, bad_lines_counted_and_skipped),
    SS_TEST_ONCE(input, bad_line_fatal_names_file_and_line),
    SS_TEST_ONCE(input, empty_dir),
    SS_TEST_ONCE(input, other_query_refused),
    SS_TEST_ONCE(input, new_files_resume),
    SS_TEST_ONCE(input, long_key_is_a_bad_line),
    SS_TEST_ONCE(input, fatal_then_skip_equals_skip),
    SS_TEST_ONCE(input, csv_bad_headers),
    SS_TEST_ONCE(input, csv_bom_and_quoted_newlines),
    SS_TEST_ONCE(input, unloggable_names_refused),
    SS_TEST_ONCE(sink, dedup_output_format),
    SS_TEST_ONCE(sink, numbers_round_trip),
    SS_TEST_END};

SS_TEST_MAIN(tests)
