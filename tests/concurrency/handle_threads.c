/*
 * handle_threads.c -- checked handles (header convention 9) with several
 * threads at once, each using its own providers (convention 4), as the
 * partitions of a JNI binding do.  Built also with ThreadSanitizer
 * (TSAN=1 bash scripts/test.sh): the handle table is shared by every
 * thread, lookups take no lock (src/store/handles.c, invariant 2).
 *
 * Per provider config, THREADS threads each run ROUNDS rounds of: load
 * the latest version, write, make iterators (and free most at once, to
 * churn table slots), commit, read it back through a read-only store,
 * then free the handles in an order that changes every round, leaving
 * some for the provider's close (every CLOSE_EVERY rounds, the provider
 * is closed with stores and iterators open and reopened).  Every handle
 * freed goes on the thread's own list of stale tokens and on a shared
 * one; each round checks a sample of both (other threads' too, while
 * their slots are being reused) is refused: SS_EINVAL, "stale".
 * At the end no handle is left (ss_handle_checks(0) succeeds).
 * Threads report failures through shared state; the main thread checks
 * them after joining (the harness's checks are not thread-safe).
 */
#define _XOPEN_SOURCE 700

#include "harness.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 200 /* SS_CONC_ROUNDS overrides */
#define CLOSE_EVERY 7
#define CHURN 40
#define STALE_MAX 256

typedef struct shared {
    ss_test *t;
    unsigned rounds;
    pthread_mutex_t lock;
    void *stale[STALE_MAX]; /* tokens freed by any thread */
    unsigned char stale_kind[STALE_MAX];
    size_t n_stale, next_stale;
    char failure[700];
    uint64_t checked_stale;
} shared;

typedef struct worker {
    shared *sh;
    int id;
    char dir[SS_TEST_PATH_MAX + 32];
    void *own[STALE_MAX];
    unsigned char own_kind[STALE_MAX];
    size_t n_own, next_own;
    uint64_t rng;
} worker;

enum { K_PROVIDER, K_STORE, K_ITER };

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
    pthread_mutex_unlock(&sh->lock);
}

static int
failed(shared *sh)
{
    int f;

    pthread_mutex_lock(&sh->lock);
    f = sh->failure[0] != '\0';
    pthread_mutex_unlock(&sh->lock);
    return f;
}

static uint64_t
next_rand(worker *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

/* Remember a token just freed, here and in the shared list. */
static void
went_stale(worker *w, void *h, unsigned char kind)
{
    shared *sh = w->sh;

    w->own[w->next_own] = h;
    w->own_kind[w->next_own] = kind;
    w->next_own = (w->next_own + 1) % STALE_MAX;
    if (w->n_own < STALE_MAX)
        w->n_own++;
    pthread_mutex_lock(&sh->lock);
    sh->stale[sh->next_stale] = h;
    sh->stale_kind[sh->next_stale] = kind;
    sh->next_stale = (sh->next_stale + 1) % STALE_MAX;
    if (sh->n_stale < STALE_MAX)
        sh->n_stale++;
    pthread_mutex_unlock(&sh->lock);
}

/* A stale token of any kind is refused by a call of its kind. */
static int
check_stale(worker *w, void *h, unsigned char kind)
{
    ss_slice v;
    uint64_t latest;
    int rc;

    ss_error_clear();
    if (kind == K_PROVIDER)
        rc = ss_provider_latest(&latest, h);
    else if (kind == K_STORE)
        rc = ss_store_get(&v, h, SS_CF_DEFAULT, SS_STR("k0"));
    else
        rc = ss_iter_next(h, NULL, NULL);
    if (rc != SS_EINVAL || !strstr(ss_error_last(), "stale")) {
        fail_shared(w->sh,
                    "thread %d: stale %s token %p: got %d (%s), "
                    "message \"%s\"",
                    w->id,
                    kind == K_PROVIDER ? "provider"
                    : kind == K_STORE  ? "store"
                                       : "iterator",
                    h, rc, ss_strerror(rc), ss_error_last());
        return -1;
    }
    return 0;
}

static int
check_sample(worker *w)
{
    shared *sh = w->sh;
    void *h[8];
    unsigned char kind[8];
    size_t n = 0, i, j;

    for (i = 0; i < 4 && w->n_own > 0; i++) {
        j = next_rand(w) % w->n_own;
        h[n] = w->own[j];
        kind[n++] = w->own_kind[j];
    }
    pthread_mutex_lock(&sh->lock);
    for (i = 0; i < 4 && sh->n_stale > 0; i++) {
        j = next_rand(w) % sh->n_stale;
        h[n] = sh->stale[j];
        kind[n++] = sh->stale_kind[j];
    }
    sh->checked_stale += n;
    pthread_mutex_unlock(&sh->lock);
    for (i = 0; i < n; i++)
        if (check_stale(w, h[i], kind[i]) < 0)
            return -1;
    return 0;
}

#define TRY(what, expr)                                                        \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ < 0) {                                                         \
            fail_shared(sh, "thread %d round %u: %s: %d (%s) %s", w->id,       \
                        round, (what), rc_, ss_strerror(rc_),                  \
                        ss_error_last());                                      \
            goto out;                                                          \
        }                                                                      \
    } while (0)

static int
open_provider(ss_provider **out, worker *w)
{
    const char *opts[SS_TEST_MAX_OPTIONS + 2];
    const ss_test_provider *pc = w->sh->t->provider;
    size_t n = 0, i;

    for (i = 0; pc->options[i]; i++)
        opts[n++] = pc->options[i];
    opts[n++] = "min_versions_to_retain=4";
    return ss_provider_open(out, w->dir, opts, n);
}

static void *
worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    ss_provider *p = NULL;
    ss_store *s = NULL, *r = NULL;
    ss_iter *keep = NULL, *it;
    ss_slice k, v;
    char key[32], val[32];
    uint64_t latest = 0, version;
    unsigned round = 0, i, order;

    TRY("open", open_provider(&p, w));
    for (round = 0; round < sh->rounds && !failed(sh); round++) {
        TRY("latest", ss_provider_latest(&latest, p));
        TRY("load", ss_provider_load(&s, p, latest));
        for (i = 0; i < 4; i++) {
            snprintf(key, sizeof(key), "k%u", i);
            snprintf(val, sizeof(val), "t%d-r%u", w->id, round);
            TRY("put",
                ss_store_put(s, SS_CF_DEFAULT, SS_STR(key), SS_STR(val)));
        }
        /* Slot churn: iterators made and freed at once. */
        for (i = 0; i < CHURN; i++) {
            TRY("iter", ss_store_iter(&it, s, SS_CF_DEFAULT));
            TRY("iter_next", ss_iter_next(it, &k, NULL));
            ss_iter_free(it);
            went_stale(w, it, K_ITER);
        }
        TRY("commit", ss_store_commit(&version, s));
        TRY("iter", ss_store_iter(&keep, s, SS_CF_DEFAULT));
        TRY("load_readonly", ss_provider_load_readonly(&r, p, version));
        TRY("get", ss_store_get(&v, r, SS_CF_DEFAULT, SS_STR("k3")));
        snprintf(val, sizeof(val), "t%d-r%u", w->id, round);
        if (v.len != strlen(val) || memcmp(v.data, val, v.len) != 0) {
            fail_shared(sh, "thread %d round %u: k3 = %.*s, expected %s", w->id,
                        round, (int)v.len, (const char *)v.data, val);
            goto out;
        }
        if (check_sample(w) < 0)
            goto out;
        if (round % CLOSE_EVERY == CLOSE_EVERY - 1) {
            /* Close with s, r and keep open: all three go with it. */
            ss_provider_close(p);
            went_stale(w, p, K_PROVIDER);
            went_stale(w, s, K_STORE);
            went_stale(w, r, K_STORE);
            went_stale(w, keep, K_ITER);
            s = r = NULL;
            keep = NULL;
            p = NULL;
            TRY("reopen", open_provider(&p, w));
            continue;
        }
        order = (unsigned)(next_rand(w) % 3);
        if (order == 0) {
            ss_iter_free(keep);
            ss_store_free(s);
            ss_store_free(r);
        } else if (order == 1) {
            ss_store_free(s); /* frees keep */
            ss_store_free(r);
        } else {
            ss_store_free(r);
            ss_store_free(s);
            ss_iter_free(keep); /* already gone: a no-op */
        }
        went_stale(w, keep, K_ITER);
        went_stale(w, s, K_STORE);
        went_stale(w, r, K_STORE);
        s = r = NULL;
        keep = NULL;
    }
    round = sh->rounds;
    TRY("latest", ss_provider_latest(&latest, p));
    if (latest != sh->rounds)
        fail_shared(sh, "thread %d: latest %" PRIu64 ", expected %u", w->id,
                    latest, sh->rounds);
out:
    ss_provider_close(p); /* frees whatever a failure left */
    return NULL;
}

static void
test_handles__threads(ss_test *t)
{
    static shared sh;
    worker w[THREADS];
    pthread_t th[THREADS];
    const char *env = getenv("SS_CONC_ROUNDS");
    int i;

    memset(&sh, 0, sizeof(sh));
    sh.t = t;
    sh.rounds = env && atoi(env) > 0 ? (unsigned)atoi(env) : ROUNDS;
    pthread_mutex_init(&sh.lock, NULL);
    SS_CHECK(ss_handle_checks(1) >= 0);
    for (i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].sh = &sh;
        w[i].id = i;
        w[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        snprintf(w[i].dir, sizeof(w[i].dir), "%s/thread%d", t->dir, i);
    }
    for (i = 0; i < THREADS; i++)
        SS_CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&sh.lock);
    if (sh.failure[0])
        SS_FAIL("%s", sh.failure);
    if (t->verbose)
        printf("handles [%s]: %d threads x %u rounds, %" PRIu64
               " stale tokens refused\n",
               t->provider->name, THREADS, sh.rounds, sh.checked_stale);
    SS_CHECK(sh.checked_stale > 0);
    /* Every handle was released: the mode can switch back. */
    SS_CHECK(ss_handle_checks(0) == 1);
}

static const ss_test_case tests[] = {SS_TEST(handles, threads), SS_TEST_END};

SS_TEST_MAIN(tests)
