/*
 * store_cross.c -- DESIGN.md invariant: loading any retained version
 * gives the same contents whichever provider wrote it.  The memory
 * provider and the rocksdb provider in changelog mode write the same
 * delta/snapshot files; each must load every version the other wrote,
 * byte for byte, across removes, an ordered family and a snapshot --
 * and the same family set: family "tmp" is created mid-batch at v2,
 * dropped and created again (empty, then one key) at v3, dropped at v5
 * (format/frame.h FAMILIES), with snapshots at v3 and v6 merging those.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define VERSIONS 6
#define KEYS 300

static const char *const memory_opts[] = {"provider=memory",
                                          "min_deltas_for_snapshot=3", NULL};
static const char *const rocksdb_opts[] = {
    "provider=rocksdb", "rocksdb.changelog_checkpointing=true",
    "min_deltas_for_snapshot=3", NULL};

static int
open_with(ss_provider **p, const char *dir, const char *const *opts)
{
    size_t n = 0;

    while (opts[n])
        n++;
    return ss_provider_open(p, dir, opts, n);
}

/* Expected value of key i in family f at version v, or NULL if absent:
 * every version rewrites some keys and removes others. */
static const char *
expected(char *buf, size_t len, unsigned f, unsigned i, unsigned v)
{
    unsigned last = 0, w;

    for (w = 1; w <= v; w++) {
        if ((i + w + f) % 7 == 0)
            last = 0; /* removed at w */
        else if ((i * 3 + w + f) % 4 == 0 || w == 1)
            last = w;
    }
    if (!last)
        return NULL;
    snprintf(buf, len, "f%u-k%u-v%u", f, i, last);
    return buf;
}

/* The family work of batch v (on top of the keys). */
static void
families_batch(ss_test *t, ss_store *s, unsigned v)
{
    char key[32];
    unsigned tmp, i;

    if (v == 2) {
        SS_CHECK_OK(ss_store_cf_create(&tmp, s, "tmp", 0));
        for (i = 0; i < 50; i++) {
            snprintf(key, sizeof(key), "t-%05u", i);
            SS_CHECK_OK(ss_store_put(s, tmp, SS_STR(key), SS_STR("v2")));
        }
    } else if (v == 3 || v == 5) {
        SS_CHECK_OK(ss_store_cf_create(&tmp, s, "tmp", 0)); /* its id */
        SS_CHECK_OK(ss_store_cf_drop(s, tmp));
        if (v == 3) {
            SS_CHECK_OK(ss_store_cf_create(&tmp, s, "tmp", 0));
            SS_CHECK_OK(ss_store_put(s, tmp, SS_STR("t-00007"), SS_STR("v3")));
        }
    }
}

/* Version v's families, and the contents of "tmp". */
static void
check_families(ss_test *t, ss_store *s, unsigned v)
{
    ss_cf_info info[4];
    ss_slice got;
    ss_iter *it = NULL;
    int n, i, tmp = -1, rc;
    size_t keys = 0;

    n = ss_store_cf_list(info, 4, s);
    SS_CHECK(n == (v >= 2 && v <= 4 ? 3 : 2));
    for (i = 0; i < n && i < 4; i++) {
        SS_CHECK(strcmp(info[i].name, "default") == 0 ||
                 strcmp(info[i].name, "by-time") == 0 ||
                 strcmp(info[i].name, "tmp") == 0);
        if (strcmp(info[i].name, "tmp") == 0)
            tmp = (int)info[i].id;
    }
    if (tmp < 0)
        return;
    SS_CHECK_OK(ss_store_iter(&it, s, (unsigned)tmp));
    while ((rc = ss_iter_next(it, NULL, NULL)) == 0)
        keys++;
    SS_CHECK_RC(SS_EDONE, rc);
    ss_iter_free(it);
    SS_CHECK(keys == (v == 2 ? 50u : 1u));
    if (v >= 3) {
        SS_CHECK_OK(ss_store_get(&got, s, (unsigned)tmp, SS_STR("t-00007")));
        SS_CHECK(got.len == 2 && memcmp(got.data, "v3", 2) == 0);
    }
}

static void
write_versions(ss_test *t, ss_provider *p, unsigned cf[2])
{
    char key[32], val[64];
    ss_store *s;
    unsigned v, f, i;

    for (v = 1; v <= VERSIONS; v++) {
        SS_CHECK_OK(ss_provider_load(&s, p, v - 1));
        for (f = 0; f < 2; f++)
            for (i = 0; i < KEYS; i++) {
                snprintf(key, sizeof(key), "key-%05u", i);
                if ((i + v + f) % 7 == 0)
                    SS_CHECK_OK(ss_store_remove(s, cf[f], SS_STR(key)));
                else if ((i * 3 + v + f) % 4 == 0 || v == 1)
                    SS_CHECK_OK(ss_store_put(
                        s, cf[f], SS_STR(key),
                        SS_STR(expected(val, sizeof(val), f, i, v))));
            }
        families_batch(t, s, v);
        SS_CHECK_OK(ss_store_commit(NULL, s));
        ss_store_free(s);
        SS_CHECK_OK(ss_provider_maintenance(p));
    }
}

/* `s` holds exactly version v of both families. */
static void
check_version(ss_test *t, ss_store *s, unsigned cf[2], unsigned v)
{
    char key[32], val[64];
    const char *want;
    ss_slice got;
    ss_iter *it;
    unsigned f, i, n;
    int rc;

    for (f = 0; f < 2; f++) {
        n = 0;
        for (i = 0; i < KEYS; i++) {
            snprintf(key, sizeof(key), "key-%05u", i);
            want = expected(val, sizeof(val), f, i, v);
            rc = ss_store_get(&got, s, cf[f], SS_STR(key));
            if (!want) {
                SS_CHECK_RC(SS_ENOTFOUND, rc);
                continue;
            }
            n++;
            SS_CHECK_OK(rc);
            SS_CHECK(got.len == strlen(want) &&
                     memcmp(got.data, want, got.len) == 0);
        }
        /* Nothing extra: the iteration count equals the model's. */
        SS_CHECK_OK(ss_store_iter(&it, s, cf[f]));
        while ((rc = ss_iter_next(it, NULL, NULL)) == 0)
            n--;
        SS_CHECK_RC(SS_EDONE, rc);
        SS_CHECK(n == 0);
        ss_iter_free(it);
    }
    check_families(t, s, v);
}

/* Every version read-only and as a read view (from files); then the
 * newest loaded writable and a view of it from memory, read while the
 * writer rewrites every key. */
static void
check_versions(ss_test *t, ss_provider *p, unsigned cf[2])
{
    char key[32];
    ss_store *s, *w;
    unsigned v, i;

    for (v = 1; v <= VERSIONS; v++) {
        ss_test_context(t, "version %u", v);
        SS_CHECK_OK(ss_provider_load_readonly(&s, p, v));
        check_version(t, s, cf, v);
        ss_store_free(s);
        ss_test_context(t, "view of version %u", v);
        SS_CHECK_OK(ss_provider_load_view(&s, p, v));
        check_version(t, s, cf, v);
        ss_store_free(s);
    }
    ss_test_context(t, "view of version %u beside the writer", VERSIONS);
    SS_CHECK_OK(ss_provider_load(&w, p, VERSIONS));
    SS_CHECK_OK(ss_provider_load_view(&s, p, VERSIONS));
    for (i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "key-%05u", i);
        SS_CHECK_OK(ss_store_put(w, cf[i % 2], SS_STR(key), SS_STR("new")));
    }
    check_version(t, s, cf, VERSIONS);
    ss_store_free(w);
    check_version(t, s, cf, VERSIONS);
    ss_store_free(s);
}

/* Lists: version LV (1..3) of list family "events" holds, for key
 * "e-<k>" (k < 20), values "v-<k>-<j>" for j < k + 5 * LV. */
static void
write_lists(ss_test *t, ss_provider *p)
{
    char key[32], val[32];
    uint64_t latest = 0;
    unsigned cf, v, k, j;
    ss_store *s;

    SS_CHECK_OK(ss_provider_latest(&latest, p));
    for (v = 1; v <= 3; v++) {
        SS_CHECK_OK(ss_provider_load(&s, p, latest));
        if (v == 1)
            SS_CHECK_OK(ss_store_cf_create(&cf, s, "events", SS_CF_LIST));
        for (k = 0; k < 20; k++)
            for (j = (v == 1 ? 0 : k + 5 * (v - 1)); j < k + 5 * v; j++) {
                snprintf(key, sizeof(key), "e-%u", k);
                snprintf(val, sizeof(val), "v-%u-%u", k, j);
                SS_CHECK_OK(ss_store_append(s, cf, SS_STR(key), SS_STR(val)));
            }
        SS_CHECK_OK(ss_store_commit(&latest, s));
        ss_store_free(s);
    }
}

static void
check_lists(ss_test *t, ss_provider *p)
{
    char key[32], val[32];
    ss_cf_info info[8];
    uint64_t latest = 0;
    unsigned v, k, j, cf = 0;
    ss_store *s;
    ss_iter *it;
    ss_slice got;
    int n, i, rc;

    SS_CHECK_OK(ss_provider_latest(&latest, p));
    for (v = 1; v <= 3; v++) {
        ss_test_context(t, "lists version %u", v);
        SS_CHECK_OK(ss_provider_load_readonly(&s, p, latest - 3 + v));
        n = ss_store_cf_list(info, 8, s);
        for (i = 0; i < n && i < 8; i++)
            if (strcmp(info[i].name, "events") == 0)
                cf = info[i].id;
        SS_CHECK(cf != 0);
        for (k = 0; k < 20; k++) {
            snprintf(key, sizeof(key), "e-%u", k);
            SS_CHECK_OK(ss_store_list_iter(&it, s, cf, SS_STR(key)));
            for (j = 0; (rc = ss_iter_next(it, NULL, &got)) == 0; j++) {
                snprintf(val, sizeof(val), "v-%u-%u", k, j);
                SS_CHECK_EQ_SLICE(got, SS_STR(val));
            }
            SS_CHECK_RC(SS_EDONE, rc);
            SS_CHECK(j == k + 5 * v);
            ss_iter_free(it);
        }
        ss_store_free(s);
    }
}

static void
cross(ss_test *t, const char *const *writer, const char *const *reader)
{
    ss_provider *p = NULL;
    unsigned cf[2];
    int rc;

    if ((rc = open_with(&p, t->dir, rocksdb_opts)) < 0 &&
        strstr(ss_error_last(), "not built"))
        ss_test_skip(t, "rocksdb provider not built");
    ss_provider_close(p);
    SS_CHECK_OK(open_with(&p, t->dir, writer));
    cf[0] = SS_CF_DEFAULT;
    SS_CHECK_OK(ss_provider_cf(&cf[1], p, "by-time", SS_CF_ORDERED));
    write_versions(t, p, cf);
    write_lists(t, p);
    ss_provider_close(p);
    SS_CHECK_OK(open_with(&p, t->dir, reader));
    SS_CHECK_OK(ss_provider_cf(&cf[1], p, "by-time", SS_CF_ORDERED));
    check_lists(t, p);
    check_versions(t, p, cf);
    ss_provider_close(p);
}

static void
test_cross__memory_writes_rocksdb_reads(ss_test *t)
{
    cross(t, memory_opts, rocksdb_opts);
}

static void
test_cross__rocksdb_writes_memory_reads(ss_test *t)
{
    cross(t, rocksdb_opts, memory_opts);
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(cross, memory_writes_rocksdb_reads),
    SS_TEST_ONCE(cross, rocksdb_writes_memory_reads),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
