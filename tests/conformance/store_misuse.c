/*
 * store_misuse.c -- API misuse and bad configuration, once per provider
 * config.
 *
 * Invariant 7 (DESIGN.md): bad input -- API misuse, bad configuration --
 * gets an error code and a message, never a crash or undefined
 * behaviour.  Every negative path here goes through SS_CHECK_ERR*, which
 * clears the last error first and then requires both the code and a
 * fresh ss_error_last() message.  Out-params must be NULL after a failure
 * (header convention 3), so they start out non-NULL.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A non-NULL pointer value to preset out-params with. */
static int poison;
#define POISON(type) ((type *)(void *)&poison)

static ss_store *
store_with_data(ss_test *t, ss_provider *p)
{
    ss_store *s = ss_test_load(t, p, 0);

    put_b(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    return s;
}

/* ------------------------------------------------------- NULL handles */

static void
test_misuse__null_provider_args(ss_test *t)
{
    const char *opts[] = {"provider=memory"};
    const char *null_opt[] = {NULL};
    ss_provider *p = POISON(ss_provider);
    ss_store *s = POISON(ss_store);
    ss_metrics m;
    unsigned cf = 77;
    uint64_t v = 77;

    SS_CHECK_ERR(SS_EINVAL, ss_provider_open(NULL, t->dir, opts, 1));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_open(&p, NULL, opts, 1));
    SS_CHECK(p == NULL);
    p = POISON(ss_provider);
    SS_CHECK_ERR(SS_EINVAL, ss_provider_open(&p, t->dir, NULL, 1));
    SS_CHECK(p == NULL);
    SS_CHECK_ERR(SS_EINVAL, ss_provider_open(&p, t->dir, null_opt, 1));
    SS_CHECK(p == NULL);

    p = ss_test_open(t);
    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(NULL, p, "x", 0));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(&cf, NULL, "x", 0));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(&cf, p, NULL, 0));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_load(NULL, p, 0));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_load(&s, NULL, 0));
    SS_CHECK(s == NULL);
    s = POISON(ss_store);
    SS_CHECK_ERR(SS_EINVAL, ss_provider_load_readonly(NULL, p, 0));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_load_readonly(&s, NULL, 0));
    SS_CHECK(s == NULL);
    SS_CHECK_ERR(SS_EINVAL, ss_provider_latest(NULL, p));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_latest(&v, NULL));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_maintenance(NULL));
    m.version = SS_METRICS_VERSION;
    SS_CHECK_ERR(SS_EINVAL, ss_provider_metrics(NULL, p));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_metrics(&m, NULL));

    /* The provider still works after all that. */
    s = ss_test_load(t, p, 0);
    ss_store_free(s);
}

static void
test_misuse__null_store_args(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p);
    ss_iter *it = POISON(ss_iter);
    ss_slice v = {NULL, 0};
    uint64_t ver = 0;

    SS_CHECK_ERR(SS_EINVAL, ss_store_get(NULL, s, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_get(&v, NULL, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_put(NULL, SS_CF_DEFAULT, BS(B("k")), BS(B("v"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(NULL, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_commit(&ver, NULL));
    SS_CHECK_ERR(SS_EINVAL, ss_store_abort(NULL));
    SS_CHECK_ERR(SS_EINVAL, ss_store_iter(NULL, s, SS_CF_DEFAULT));
    SS_CHECK_ERR(SS_EINVAL, ss_store_iter(&it, NULL, SS_CF_DEFAULT));
    SS_CHECK(it == NULL);
    it = POISON(ss_iter);
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_prefix_scan(NULL, s, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_prefix_scan(&it, NULL, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK(it == NULL);
    SS_CHECK_ERR(SS_EINVAL, ss_store_range_scan(NULL, s, SS_CF_DEFAULT,
                                                BS(B("a")), BS(B(""))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_range_scan(&it, NULL, SS_CF_DEFAULT,
                                                BS(B("a")), BS(B(""))));
    SS_CHECK_ERR(SS_EINVAL, ss_iter_next(NULL, NULL, NULL));
    /* Not a crash; the value is unspecified. */
    (void)ss_store_version(NULL);

    /* The store is untouched and still commits; version_out may be
     * NULL. */
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    SS_CHECK_OK(ss_store_commit(NULL, s));
    SS_CHECK_EQ_U64(ss_store_version(s), 1);
    ss_store_free(s);
}

/* Header convention 5: destructors accept NULL. */
static void
test_misuse__destructors_accept_null(ss_test *t)
{
    void *x;

    ss_iter_free(NULL);
    ss_store_free(NULL);
    ss_provider_close(NULL);
    ss_free(NULL);
    /* And the allocator pair works. */
    x = ss_malloc(16);
    SS_CHECK(x != NULL);
    memset(x, 0, 16);
    ss_free(x);
}

/* ----------------------------------------------------- keys and slices */

static void
test_misuse__key_length_limits(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = ss_test_load(t, p, 0);
    unsigned char *key = calloc(1, SS_MAX_KEY_LEN + 1);
    ss_slice k0 = {"x", 0}, kmax, klong, v = {NULL, 0};

    SS_CHECK(key != NULL);
    memset(key, 'k', SS_MAX_KEY_LEN + 1);
    kmax = ss_test_slice(key, SS_MAX_KEY_LEN);
    klong = ss_test_slice(key, SS_MAX_KEY_LEN + 1);

    /* Keys are at least one byte. */
    SS_CHECK_ERR(SS_EINVAL, ss_store_put(s, SS_CF_DEFAULT, k0, BS(B("v"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_get(&v, s, SS_CF_DEFAULT, k0));
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, k0));
    SS_CHECK_ERR(SS_EINVAL, ss_store_put(s, SS_CF_DEFAULT,
                                         ss_test_slice(NULL, 0), BS(B("v"))));

    /* At most SS_MAX_KEY_LEN: put says SS_ELIMIT (documented); get and
     * remove have no SS_ELIMIT, so a bad key there is SS_EINVAL. */
    SS_CHECK_ERR_MSG(SS_ELIMIT,
                     ss_store_put(s, SS_CF_DEFAULT, klong, BS(B("v"))), "key");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, SS_CF_DEFAULT, klong),
                     "key");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, klong),
                     "key");

    /* The largest key is fine, and nothing above was stored. */
    SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, kmax, BS(B("max"))));
    SS_CHECK_OK(ss_store_get(&v, s, SS_CF_DEFAULT, kmax));
    SS_CHECK_EQ_SLICE(v, BS(B("max")));
    check_contents(t, s, SS_CF_DEFAULT, 0,
                   &(bstr){(const char *)key, SS_MAX_KEY_LEN},
                   &(bstr){"max", 3}, 1);
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    free(key);
}

static void
test_misuse__value_too_long(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p);
    /* calloc: untouched pages, so 256 MiB costs no memory. */
    unsigned char *val = calloc(1, (size_t)SS_MAX_VALUE_LEN + 1);

    if (!val)
        ss_test_skip(t, "cannot allocate %u bytes", SS_MAX_VALUE_LEN + 1);
    SS_CHECK_ERR_MSG(
        SS_ELIMIT,
        ss_store_put(s, SS_CF_DEFAULT, BS(B("big")),
                     ss_test_slice(val, (size_t)SS_MAX_VALUE_LEN + 1)),
        "value");
    free(val);
    expect_absent(t, s, SS_CF_DEFAULT, B("big"));
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
}

/* Header convention 5: a slice with len > 0 must have non-NULL data. */
static void
test_misuse__null_data_slices(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    unsigned ord;
    ss_store *s;
    ss_slice bad = {NULL, 3}, v;
    ss_iter *it = POISON(ss_iter);

    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = store_with_data(t, p);
    SS_CHECK_ERR(SS_EINVAL, ss_store_put(s, SS_CF_DEFAULT, bad, BS(B("v"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_put(s, SS_CF_DEFAULT, BS(B("k2")), bad));
    SS_CHECK_ERR(SS_EINVAL, ss_store_get(&v, s, SS_CF_DEFAULT, bad));
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, bad));
    SS_CHECK_ERR(SS_EINVAL, ss_store_prefix_scan(&it, s, SS_CF_DEFAULT, bad));
    SS_CHECK(it == NULL);
    SS_CHECK_ERR(SS_EINVAL, ss_store_range_scan(&it, s, ord, bad, BS(B(""))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_range_scan(&it, s, ord, BS(B("a")), bad));
    /* An empty value may have NULL data. */
    SS_CHECK_OK(
        ss_store_put(s, SS_CF_DEFAULT, BS(B("empty")), ss_test_slice(NULL, 0)));
    expect_get(t, s, SS_CF_DEFAULT, B("empty"), B(""));
    expect_absent(t, s, SS_CF_DEFAULT, B("k2"));
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    ss_store_free(s);
}

/* -------------------------------------------------------------- families */

static void
test_misuse__unknown_family(ss_test *t)
{
    static const unsigned bad_ids[] = {1, 255, 256, 999, 0xffffffffu};
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p);
    ss_iter *it = NULL;
    ss_slice v;
    size_t i;

    for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        unsigned cf = bad_ids[i];

        ss_test_context(t, "cf %u", cf);
        SS_CHECK_ERR(SS_EINVAL, ss_store_put(s, cf, BS(B("k")), BS(B("v"))));
        SS_CHECK_ERR(SS_EINVAL, ss_store_get(&v, s, cf, BS(B("k"))));
        SS_CHECK_ERR(SS_EINVAL, ss_store_remove(s, cf, BS(B("k"))));
        SS_CHECK_ERR(SS_EINVAL, ss_store_iter(&it, s, cf));
        SS_CHECK_ERR(SS_EINVAL, ss_store_prefix_scan(&it, s, cf, BS(B("k"))));
        SS_CHECK_ERR(SS_EINVAL,
                     ss_store_range_scan(&it, s, cf, BS(B("a")), BS(B(""))));
    }
    ss_test_context(t, "%s", "");
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    ss_store_free(s);
}

static void
test_misuse__family_declaration(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    char name[300];
    unsigned cf = 0, id;
    ss_store *s;
    int i;

    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(&cf, p, "", 0));
    memset(name, 'n', 256);
    name[256] = '\0';
    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(&cf, p, name, 0));
    name[255] = '\0';
    SS_CHECK_OK(ss_provider_cf(&cf, p, name, 0));
    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(&cf, p, "f", 4));
    SS_CHECK_OK(ss_provider_cf(&cf, p, "f", SS_CF_ORDERED));
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_cf(&id, p, "f", 0), "f");

    /* Not while a store is loaded. */
    s = ss_test_load(t, p, 0);
    SS_CHECK_ERR(SS_EINVAL, ss_provider_cf(&id, p, "late", 0));
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_cf(&id, p, "late", 0));

    /* At most 255 declared families (plus the default one). */
    for (i = 3; i < 255; i++) {
        snprintf(name, sizeof(name), "cf%03d", i);
        ss_test_context(t, "family %d", i);
        SS_CHECK_OK(ss_provider_cf(&id, p, name, 0));
    }
    ss_test_context(t, "%s", "");
    SS_CHECK_ERR(SS_ELIMIT, ss_provider_cf(&id, p, "one-too-many", 0));
    /* Existing ones are still found. */
    SS_CHECK_OK(ss_provider_cf(&id, p, "f", SS_CF_ORDERED));
    SS_CHECK_EQ_U64(id, cf);
    SS_CHECK_OK(ss_provider_cf(&id, p, "cf254", 0));

    /* 256 families commit and reload. */
    s = ss_test_load(t, p, 0);
    put_b(t, s, id, B("k"), B("in cf254"));
    put_b(t, s, cf, B("k"), B("in f"));
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_cf(&id, p, "cf254", 0));
    SS_CHECK_OK(ss_provider_cf(&cf, p, "f", SS_CF_ORDERED));
    s = ss_test_load(t, p, 1);
    expect_get(t, s, id, B("k"), B("in cf254"));
    expect_get(t, s, cf, B("k"), B("in f"));
    ss_store_free(s);
}

/* ---------------------------------------------------------- lifecycle */

static void
check_store_dead(ss_test *t, ss_store *s)
{
    ss_iter *it = NULL;
    uint64_t v = 0;
    ss_slice val;

    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_put(s, SS_CF_DEFAULT, BS(B("k2")), BS(B("v"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_get(&val, s, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_commit(&v, s));
    SS_CHECK_ERR(SS_EINVAL, ss_store_abort(s));
    SS_CHECK_ERR(SS_EINVAL, ss_store_iter(&it, s, SS_CF_DEFAULT));
}

/* Convention 8: a committed store refuses writes, commit and abort, and
 * still reads its new version. */
static void
check_store_written(ss_test *t, ss_store *s)
{
    uint64_t v = 0;

    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_put(s, SS_CF_DEFAULT, BS(B("k2")), BS(B("v"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_commit(&v, s));
    SS_CHECK_ERR(SS_EINVAL, ss_store_abort(s));
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v"));
}

static void
test_misuse__use_after_commit(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p);
    uint64_t latest = 0;

    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    check_store_written(t, s);
    SS_CHECK_EQ_U64(ss_store_version(s), 1);
    ss_store_free(s);
    /* The failed second commit did not make a version 2. */
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    SS_CHECK_EQ_U64(latest, 1);
    s = ss_test_load(t, p, 1);
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    expect_absent(t, s, SS_CF_DEFAULT, B("k2"));
    ss_store_free(s);
}

static void
test_misuse__use_after_abort(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p);
    uint64_t latest = 9;

    SS_CHECK_OK(ss_store_abort(s));
    check_store_dead(t, s);
    SS_CHECK_EQ_U64(ss_store_version(s), 0);
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    SS_CHECK_EQ_U64(latest, 0);
    s = ss_test_load(t, p, 0);
    expect_absent(t, s, SS_CF_DEFAULT, B("k"));
    ss_store_free(s);
}

static void
test_misuse__second_writable_store_is_busy(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p), *s2 = POISON(ss_store), *ro;

    SS_CHECK_ERR(SS_EBUSY, ss_provider_load(&s2, p, 0));
    SS_CHECK(s2 == NULL);
    commit_store(t, s);
    ss_store_free(s);
    s = ss_test_load(t, p, 1);
    SS_CHECK_ERR(SS_EBUSY, ss_provider_load(&s2, p, 1));
    SS_CHECK_ERR(SS_EBUSY, ss_provider_load(&s2, p, 0));
    /* Read-only stores are never busy. */
    ro = ss_test_load_ro(t, p, 1);
    expect_get(t, ro, SS_CF_DEFAULT, B("k"), B("v"));
    ss_store_free(ro);
    /* The first store was not disturbed. */
    put_b(t, s, SS_CF_DEFAULT, B("k"), B("w"));
    SS_CHECK_EQ_U64(commit_store(t, s), 2);
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("w"));
    ss_store_free(s);
}

static void
test_misuse__readonly_store_refuses_writes(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = store_with_data(t, p), *ro;
    uint64_t v = 0, latest = 0;
    ss_iter *it = NULL;

    commit_store(t, s);
    ss_store_free(s);
    ro = ss_test_load_ro(t, p, 1);
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_put(ro, SS_CF_DEFAULT, BS(B("x")), BS(B("y"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(ro, SS_CF_DEFAULT, BS(B("k"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_commit(&v, ro));
    /* Reads still work. */
    expect_get(t, ro, SS_CF_DEFAULT, B("k"), B("v"));
    expect_absent(t, ro, SS_CF_DEFAULT, B("x"));
    SS_CHECK_OK(ss_store_iter(&it, ro, SS_CF_DEFAULT));
    SS_CHECK_OK(ss_iter_next(it, NULL, NULL));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, NULL, NULL));
    ss_iter_free(it);
    ss_store_free(ro);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    SS_CHECK_EQ_U64(latest, 1);
}

static void
test_misuse__load_missing_version(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = POISON(ss_store);

    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s, p, 1));
    SS_CHECK(s == NULL);
    s = POISON(ss_store);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load_readonly(&s, p, 1));
    SS_CHECK(s == NULL);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s, p, UINT64_MAX));

    s = store_with_data(t, p);
    commit_store(t, s);
    ss_store_free(s);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s, p, 2));
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load_readonly(&s, p, 2));
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s, p, 1000000));
    /* A failed load leaves no store open. */
    s = ss_test_load(t, p, 1);
    ss_store_free(s);

    ss_test_close(t, p);
    p = ss_test_open(t);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s, p, 2));
    s = ss_test_load(t, p, 1);
    ss_store_free(s);
}

static void
test_misuse__metrics_struct_version(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_metrics m;

    memset(&m, 0, sizeof(m));
    m.version = SS_METRICS_VERSION + 1;
    SS_CHECK_ERR(SS_EINVAL, ss_provider_metrics(&m, p));
    m.version = 0;
    SS_CHECK_ERR(SS_EINVAL, ss_provider_metrics(&m, p));
    m.version = SS_METRICS_VERSION;
    SS_CHECK_OK(ss_provider_metrics(&m, p));
}

/* ------------------------------------------------------------ options */

static void
test_misuse__unknown_option(ss_test *t)
{
    ss_provider *p = POISON(ss_provider);

    SS_CHECK_ERR_MSG(SS_EINVAL, ss_test_try_open(&p, t, "no_such_key=1"),
                     "no_such_key");
    SS_CHECK(p == NULL);
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_test_try_open(&p, t, "min_deltas_for_snapshot"),
                     "min_deltas_for_snapshot");
    SS_CHECK_ERR(SS_EINVAL, ss_test_try_open(&p, t, "=5"));
    SS_CHECK_ERR(SS_EINVAL, ss_test_try_open(&p, t, ""));
    SS_CHECK(p == NULL);
}

static void
test_misuse__bad_option_values(ss_test *t)
{
    static const char *const bad[] = {
        "min_deltas_for_snapshot=abc",
        "min_deltas_for_snapshot=-1",
        "min_deltas_for_snapshot=0",
        "min_deltas_for_snapshot=",
        "min_deltas_for_snapshot=10x",
        "min_deltas_for_snapshot=99999999999999999999999",
        "min_versions_to_retain=0",
        "min_versions_to_retain=-3",
        "min_versions_to_retain=1e3",
        "max_versions_in_memory=0",
        "max_versions_in_memory=two",
        "memory_limit_bytes=-1",
        "memory_limit_bytes=1.5",
        "memory_limit_bytes=18446744073709551616",
        "compression=gzip",
        "compression=",
        "compression=lz4x",
        "compression_level=abc",
        "compression_level=1000",
        "maintenance_interval_ms=-5",
        "maintenance_interval_ms=soon",
        "provider=no_such_provider",
        "provider=",
    };
    ss_provider *p;
    char key[64];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad[i], "="), bad[i]);
        ss_test_context(t, "option \"%s\"", bad[i]);
        p = POISON(ss_provider);
        SS_CHECK_ERR_MSG(SS_EINVAL, ss_test_try_open(&p, t, bad[i]), key);
        SS_CHECK(p == NULL);
    }
}

static void
test_misuse__good_option_values(ss_test *t)
{
    static const char *const good[] = {
        "compression=none",          "compression=lz4",
        "compression=zstd",          "compression_level=1",
        "compression_level=19",      "min_deltas_for_snapshot=1",
        "min_versions_to_retain=1",  "max_versions_in_memory=1",
        "memory_limit_bytes=0",      "memory_limit_bytes=18446744073709551615",
        "maintenance_interval_ms=0",
    };
    const char *opt;
    ss_provider *p;
    ss_store *s;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ss_test_context(t, "option \"%s\"", good[i]);
        opt = good[i];
        /* rocksdb refuses memory_limit_bytes (it has its own budget);
         * the version chain goes on without the option. */
        if (strncmp(opt, "memory_limit_bytes=", 19) == 0 &&
            strcmp(opt, "memory_limit_bytes=0") != 0 &&
            strcmp(t->provider->name, "memory") != 0) {
            SS_CHECK_ERR_MSG(SS_EINVAL, ss_test_try_open(&p, t, opt),
                             "rocksdb.memory_budget");
            opt = NULL;
        }
        p = NULL;
        SS_CHECK_OK(ss_test_try_open(&p, t, opt));
        s = ss_test_load(t, p, i);
        put_b(t, s, SS_CF_DEFAULT, B("k"), B("v"));
        SS_CHECK_EQ_U64(commit_store(t, s), i + 1);
        ss_store_free(s);
        ss_test_close(t, p);
    }
}

static void
test_misuse__location_is_a_file(ss_test *t)
{
    char path[SS_TEST_PATH_MAX + 16];
    ss_provider *p = POISON(ss_provider);

    snprintf(path, sizeof(path), "%s/file", t->dir);
    ss_test_write_file(t, path, "x", 1);
    SS_CHECK_ERR_MSG(SS_EIO, ss_provider_open(&p, path, NULL, 0), path);
    SS_CHECK(p == NULL);
}

/* ------------------------------------------------------- memory limit */

/* Invariant 6 (DESIGN.md): memory use is bounded by configuration; the
 * memory provider refuses growth past its limit with a clear error, and
 * the store stays usable. */
static void
test_misuse__memory_limit_refuses_put(ss_test *t)
{
    ss_provider *p;
    char key[32], val[1000];
    ss_metrics m;
    ss_store *s;
    ss_slice got;
    int i, rc = 0;

    if (strcmp(t->provider->name, "memory") != 0)
        ss_test_skip(t, "memory_limit_bytes is the memory provider's");
    p = ss_test_open(t, "memory_limit_bytes=262144");

    memset(val, 'v', sizeof(val));
    m = get_metrics(t, p);
    SS_CHECK_EQ_U64(m.memory_limit_bytes, 262144);
    s = ss_test_load(t, p, 0);
    for (i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key-%05d", i);
        ss_error_clear();
        rc = ss_store_put(s, SS_CF_DEFAULT, ss_test_slice(key, strlen(key)),
                          ss_test_slice(val, sizeof(val)));
        if (rc != 0)
            break;
    }
    SS_CHECK_RC(SS_ELIMIT, rc);
    SS_CHECK(ss_error_last()[0] != '\0');
    SS_CHECK(strstr(ss_error_last(), "memory_limit_bytes") ||
             strstr(ss_error_last(), "limit"));
    SS_CHECK(i > 20);
    m = get_metrics(t, p);
    SS_CHECK(m.memory_bytes <= 262144);

    /* The refused put changed nothing; earlier ones are readable. */
    expect_absent(t, s, SS_CF_DEFAULT, (bstr){key, strlen(key)});
    SS_CHECK_OK(ss_store_get(&got, s, SS_CF_DEFAULT, BS(B("key-00000"))));
    SS_CHECK_EQ_SLICE(got, ss_test_slice(val, sizeof(val)));
    snprintf(key, sizeof(key), "key-%05d", i - 1);
    SS_CHECK_OK(
        ss_store_get(&got, s, SS_CF_DEFAULT, ss_test_slice(key, strlen(key))));
    SS_CHECK_OK(ss_store_remove(s, SS_CF_DEFAULT, BS(B("key-00000"))));
    SS_CHECK_OK(ss_store_abort(s));
    ss_store_free(s);

    /* A smaller batch fits and commits. */
    s = ss_test_load(t, p, 0);
    expect_absent(t, s, SS_CF_DEFAULT, B("key-00000"));
    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "small-%d", i);
        SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT,
                                 ss_test_slice(key, strlen(key)),
                                 ss_test_slice(val, sizeof(val))));
    }
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 1);
    expect_get(t, s, SS_CF_DEFAULT, B("small-19"), (bstr){val, sizeof(val)});
    ss_store_free(s);
}

/* Invariant 6 (DESIGN.md), on load: a version bigger than the limit is
 * refused with SS_ELIMIT, not loaded past it. */
static void
test_misuse__memory_limit_refuses_load(ss_test *t)
{
    ss_provider *p;
    ss_store *s;
    char key[32], val[1000];
    int i;

    if (strcmp(t->provider->name, "memory") != 0)
        ss_test_skip(t, "memory_limit_bytes is the memory provider's");
    p = ss_test_open(t);
    memset(val, 'w', sizeof(val));
    s = ss_test_load(t, p, 0);
    for (i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key-%05d", i);
        SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT,
                                 ss_test_slice(key, strlen(key)),
                                 ss_test_slice(val, sizeof(val))));
    }
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);

    p = ss_test_open(t, "memory_limit_bytes=32768");
    s = POISON(ss_store);
    SS_CHECK_ERR(SS_ELIMIT, ss_provider_load(&s, p, 1));
    SS_CHECK(s == NULL);
    /* The provider is still usable. */
    s = ss_test_load(t, p, 0);
    expect_absent(t, s, SS_CF_DEFAULT, B("key-00000"));
    ss_store_free(s);
}

/* ------------------------------------------------------------- errors */

static void
test_misuse__strerror_every_code(ss_test *t)
{
    static const int codes[] = {
        SS_OK,       SS_EINVAL,   SS_ENOMEM, SS_EIO,   SS_ENOTFOUND, SS_EEXISTS,
        SS_ECORRUPT, SS_EVERSION, SS_ELIMIT, SS_EBUSY, SS_EFATAL,    SS_EDONE};
    size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

    for (i = 0; i < n; i++) {
        const char *s = ss_strerror(codes[i]);

        ss_test_context(t, "code %d", codes[i]);
        SS_CHECK(s != NULL && s[0] != '\0');
        for (j = 0; j < i; j++)
            SS_CHECK(strcmp(s, ss_strerror(codes[j])) != 0);
    }
    SS_CHECK(strcmp(ss_strerror(SS_ECORRUPT), "SS_ECORRUPT") == 0);
    SS_CHECK(ss_strerror(1) != NULL);
    SS_CHECK(ss_strerror(-12) != NULL);
    SS_CHECK(ss_strerror(-1000000) != NULL);

    ss_error_clear();
    SS_CHECK(ss_error_last() != NULL && ss_error_last()[0] == '\0');
}

static const ss_test_case tests[] = {
    SS_TEST(misuse, null_provider_args),
    SS_TEST(misuse, null_store_args),
    SS_TEST_ONCE(misuse, destructors_accept_null),
    SS_TEST(misuse, key_length_limits),
    SS_TEST(misuse, value_too_long),
    SS_TEST(misuse, null_data_slices),
    SS_TEST(misuse, unknown_family),
    SS_TEST(misuse, family_declaration),
    SS_TEST(misuse, use_after_commit),
    SS_TEST(misuse, use_after_abort),
    SS_TEST(misuse, second_writable_store_is_busy),
    SS_TEST(misuse, readonly_store_refuses_writes),
    SS_TEST(misuse, load_missing_version),
    SS_TEST(misuse, metrics_struct_version),
    SS_TEST(misuse, unknown_option),
    SS_TEST(misuse, bad_option_values),
    SS_TEST(misuse, good_option_values),
    SS_TEST(misuse, location_is_a_file),
    SS_TEST(misuse, memory_limit_refuses_put),
    SS_TEST(misuse, memory_limit_refuses_load),
    SS_TEST_ONCE(misuse, strerror_every_code),
    SS_TEST_END,
};

SS_TEST_MAIN(tests)
