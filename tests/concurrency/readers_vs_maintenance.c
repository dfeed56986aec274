/*
 * readers_vs_maintenance.c -- read-only stores of older versions stay
 * whole while the writer commits and background maintenance snapshots
 * and deletes old files (issue 4).  Built also with ThreadSanitizer in CI
 * (TSAN=1 bash scripts/test.sh).
 *
 * Setup, per provider config: one writer provider with background
 * maintenance every millisecond (min_deltas_for_snapshot=3,
 * min_versions_to_retain=RETAIN) commits versions 1..N.  READERS threads,
 * each with its own provider on the same location (statestore.h rule 4:
 * one thread per provider), repeatedly:
 *   1. announce the version v they are about to load (the newest or the
 *      one before), ss_provider_load_readonly(v) -- the writer never gets
 *      RETAIN - 1 versions ahead of an announced load, so v's files are
 *      retained for the whole load and the load must succeed;
 *   2. withdraw the announcement and hold the store while the writer
 *      commits HOLD more versions (so maintenance deletes v's files), and
 *      check every key of v again and again: no failure, no wrong value.
 * The writer thread also holds read-only stores of its own provider
 * across its commits and checks them the same way.
 * Reader threads report failures through shared state; the main thread
 * checks them after joining (the harness's checks are not thread-safe).
 */
#define _XOPEN_SOURCE 700

#include "harness.h"
#include "model.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETAIN 6u
#define HOLD (RETAIN + 3u)
#define READERS 2
#define VERSIONS 400u /* SS_CONC_VERSIONS overrides (TSan runs fewer) */

typedef struct shared {
    ss_test *t;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t latest;           /* newest committed version */
    uint64_t loading[READERS]; /* announced loads, UINT64_MAX = none */
    int done;
    char failure[700];
    /* Figures. */
    uint64_t loads;
    uint64_t checks;
    uint64_t held_past_delete;
} shared;

typedef struct reader_arg {
    shared *sh;
    int id;
} reader_arg;

static const char *const extra[] = {
    "min_deltas_for_snapshot=3", "min_versions_to_retain=6",
    "maintenance_interval_ms=1", "block_size=4096", NULL};

static int
open_reader(ss_provider **out, ss_test *t, unsigned *ord, int background)
{
    const char *opts[SS_TEST_MAX_OPTIONS + 8];
    char loc[SS_TEST_PATH_MAX + 16];
    size_t n = 0, i;
    int rc;

    for (i = 0; t->provider->options[i]; i++)
        opts[n++] = t->provider->options[i];
    for (i = 0; extra[i]; i++)
        if (background || strncmp(extra[i], "maintenance", 11) != 0)
            opts[n++] = extra[i];
    snprintf(loc, sizeof(loc), "%s/ck", t->dir);
    if ((rc = ss_provider_open(out, loc, opts, n)) < 0)
        return rc;
    if ((rc = ss_provider_cf(ord, *out, "ord", SS_CF_ORDERED)) < 0) {
        ss_provider_close(*out);
        *out = NULL;
    }
    return rc;
}

static void fail_shared(shared *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail_shared(shared *sh, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&sh->lock);
    if (!sh->failure[0]) {
        va_start(ap, fmt);
        vsnprintf(sh->failure, sizeof(sh->failure), fmt, ap);
        va_end(ap);
    }
    sh->done = 1;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->lock);
}

static void *
reader_main(void *arg)
{
    reader_arg *ra = arg;
    shared *sh = ra->sh;
    ss_provider *p = NULL;
    ss_store *s;
    uint64_t v, until;
    char why[512];
    unsigned ord, pass = 0;
    int rc, done;

    if ((rc = open_reader(&p, sh->t, &ord, 0)) < 0) {
        fail_shared(sh, "reader %d: open: %d %s", ra->id, rc, ss_error_last());
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        while (!sh->done && sh->latest < 2)
            pthread_cond_wait(&sh->cond, &sh->lock);
        done = sh->done;
        v = sh->latest - (pass++ % 2);
        sh->loading[ra->id] = v;
        pthread_mutex_unlock(&sh->lock);
        if (done)
            break;
        rc = ss_provider_load_readonly(&s, p, v);
        pthread_mutex_lock(&sh->lock);
        sh->loading[ra->id] = UINT64_MAX;
        sh->loads++;
        until = sh->latest + HOLD;
        pthread_cond_broadcast(&sh->cond);
        pthread_mutex_unlock(&sh->lock);
        if (rc < 0) {
            fail_shared(sh, "reader %d: load_readonly(%" PRIu64 "): %d %s",
                        ra->id, v, rc, ss_error_last());
            break;
        }
        /* Hold it while the writer moves HOLD versions on. */
        for (;;) {
            if (model_compare(s, ord, v, why, sizeof(why)) < 0) {
                fail_shared(sh, "reader %d holding version %" PRIu64 ": %s",
                            ra->id, v, why);
                break;
            }
            pthread_mutex_lock(&sh->lock);
            sh->checks++;
            done = sh->done || sh->latest >= until;
            if (!sh->done && sh->latest >= until)
                sh->held_past_delete++;
            pthread_mutex_unlock(&sh->lock);
            if (done)
                break;
        }
        ss_store_free(s);
        pthread_mutex_lock(&sh->lock);
        done = sh->done;
        pthread_mutex_unlock(&sh->lock);
        if (done)
            break;
    }
    ss_provider_close(p);
    return NULL;
}

/* The writer may commit `next` unless an announced load would fall out
 * of the retained window. */
static int
may_commit(const shared *sh, uint64_t next)
{
    int i;

    for (i = 0; i < READERS; i++)
        if (sh->loading[i] != UINT64_MAX && next + 2 > sh->loading[i] + RETAIN)
            return 0;
    return 1;
}

static void
test_concurrency__readers_hold_old_versions(ss_test *t)
{
    pthread_t th[READERS];
    reader_arg ra[READERS];
    ss_store *held[3] = {NULL, NULL, NULL}, *s;
    uint64_t held_v[3] = {0, 0, 0}, v, versions = VERSIONS;
    ss_provider *probe, *w;
    char why[512];
    unsigned ord;
    shared sh;
    int i, rc, failed;
    ss_metrics m;

    if (getenv("SS_CONC_VERSIONS"))
        versions = strtoull(getenv("SS_CONC_VERSIONS"), NULL, 10);
    SS_CHECK(versions >= 2 * HOLD);
    /* Skip (through the harness) if the provider is not built. */
    probe = ss_test_open(t);
    ss_test_close(t, probe);
    memset(&sh, 0, sizeof(sh));
    sh.t = t;
    pthread_mutex_init(&sh.lock, NULL);
    pthread_cond_init(&sh.cond, NULL);
    for (i = 0; i < READERS; i++)
        sh.loading[i] = UINT64_MAX;
    SS_CHECK_OK(open_reader(&w, t, &ord, 1));
    for (i = 0; i < READERS; i++) {
        ra[i].sh = &sh;
        ra[i].id = i;
        SS_CHECK(pthread_create(&th[i], NULL, reader_main, &ra[i]) == 0);
    }
    for (v = 1; v <= versions; v++) {
        pthread_mutex_lock(&sh.lock);
        while (!sh.done && !may_commit(&sh, v))
            pthread_cond_wait(&sh.cond, &sh.lock);
        failed = sh.done;
        pthread_mutex_unlock(&sh.lock);
        if (failed)
            break;
        if ((rc = ss_provider_load(&s, w, v - 1)) < 0) {
            fail_shared(&sh, "writer: load(%" PRIu64 "): %d %s", v - 1, rc,
                        ss_error_last());
            break;
        }
        if ((rc = model_apply(s, ord, v)) == 0)
            rc = ss_store_commit(NULL, s);
        ss_store_free(s);
        if (rc < 0) {
            fail_shared(&sh, "writer: commit %" PRIu64 ": %d %s", v, rc,
                        ss_error_last());
            break;
        }
        pthread_mutex_lock(&sh.lock);
        sh.latest = v;
        pthread_cond_broadcast(&sh.cond);
        pthread_mutex_unlock(&sh.lock);
        /* The writer's own read-only stores, held across commits. */
        i = (int)(v % 3);
        if (held[i] &&
            model_compare(held[i], ord, held_v[i], why, sizeof(why)) < 0) {
            fail_shared(&sh, "writer holding version %" PRIu64 ": %s",
                        held_v[i], why);
            break;
        }
        if (v % 9 == 0 || !held[i]) {
            ss_store_free(held[i]);
            held[i] = NULL;
            if ((rc = ss_provider_load_readonly(&held[i], w, v - 1)) < 0) {
                fail_shared(&sh, "writer: load_readonly(%" PRIu64 "): %d %s",
                            v - 1, rc, ss_error_last());
                break;
            }
            held_v[i] = v - 1;
        }
    }
    pthread_mutex_lock(&sh.lock);
    sh.done = 1;
    pthread_cond_broadcast(&sh.cond);
    pthread_mutex_unlock(&sh.lock);
    for (i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 3; i++) {
        if (held[i] && !sh.failure[0] &&
            model_compare(held[i], ord, held_v[i], why, sizeof(why)) < 0)
            snprintf(sh.failure, sizeof(sh.failure),
                     "writer holding version %" PRIu64 " at the end: %s",
                     held_v[i], why);
        ss_store_free(held[i]);
    }
    memset(&m, 0, sizeof(m));
    m.version = SS_METRICS_VERSION;
    SS_CHECK_OK(ss_provider_metrics(&m, w));
    ss_provider_close(w);
    pthread_mutex_destroy(&sh.lock);
    pthread_cond_destroy(&sh.cond);
    printf("concurrency [%s]: %" PRIu64 " versions, %" PRIu64
           " read-only loads, %" PRIu64 " full checks of held stores, %" PRIu64
           " stores held past %u more commits, %" PRIu64
           " snapshots and %" PRIu64 " files deleted by background "
           "maintenance\n",
           t->provider->name, sh.latest, sh.loads, sh.checks,
           sh.held_past_delete, HOLD, m.snapshots_written, m.files_deleted);
    fflush(stdout);
    if (sh.failure[0])
        SS_FAIL("%s", sh.failure);
    SS_CHECK_EQ_U64(sh.latest, versions);
    SS_CHECK(m.files_deleted > 0);
    SS_CHECK(sh.held_past_delete > 0);
}

static const ss_test_case tests[] = {
    SS_TEST(concurrency, readers_hold_old_versions),
    SS_TEST_END,
};

SS_TEST_MAIN(tests)
