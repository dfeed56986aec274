/*
 * rocksdb_larger_than_memory.c -- issue 3: a store whose data is several
 * times its memory budget loads, updates, commits and reloads correctly
 * on the rocksdb provider (both checkpoint modes), and the memory budget is
 * one for the whole process.  Memory use itself is measured by
 * bench/rocksdb_ops, not asserted here.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define BUDGET (8u * 1024 * 1024)
#define KEYS 120000u
#define VALUE_LEN 300u /* 120k x ~320 B = ~38 MB: 4.5x the budget */

static const char *mode = "rocksdb.changelog_checkpointing=true";

static int
open_rdb(ss_provider **p, const char *dir)
{
    const char *opts[] = {"provider=rocksdb", mode, "rocksdb.memory_budget=8M",
                          "compression=lz4"};

    return ss_provider_open(p, dir, opts, 4);
}

static void
value_of(char *buf, unsigned i, unsigned gen)
{
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull + gen;
    unsigned j;

    /* Pseudo-random bytes: no compressor can shrink the data below the
     * budget, so RocksDB must really spill to disk. */
    for (j = 0; j < VALUE_LEN; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[j] = (char)(x >> 56);
    }
    snprintf(buf, 24, "%u/%u", i, gen);
}

static void
check_sample(ss_test *t, ss_store *s, unsigned gen_of_even, unsigned gen_of_odd)
{
    char key[32], want[VALUE_LEN];
    ss_slice got;
    unsigned i;

    for (i = 0; i < KEYS; i += 97) {
        snprintf(key, sizeof(key), "key-%08u", i);
        value_of(want, i, i % 2 ? gen_of_odd : gen_of_even);
        SS_CHECK_OK(ss_store_get(&got, s, SS_CF_DEFAULT, SS_STR(key)));
        SS_CHECK(got.len == VALUE_LEN &&
                 memcmp(got.data, want, VALUE_LEN) == 0);
    }
}

static void
round_trip(ss_test *t)
{
    char key[32], val[VALUE_LEN];
    ss_provider *p = NULL;
    ss_metrics m;
    ss_store *s;
    unsigned i;
    int rc;

    if ((rc = open_rdb(&p, t->dir)) < 0 && strstr(ss_error_last(), "not built"))
        ss_test_skip(t, "rocksdb provider not built");
    SS_CHECK_OK(rc);
    SS_CHECK_OK(ss_provider_load(&s, p, 0));
    for (i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "key-%08u", i);
        value_of(val, i, 1);
        SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR(key),
                                 (ss_slice){val, VALUE_LEN}));
    }
    SS_CHECK_OK(ss_store_commit(NULL, s));
    ss_store_free(s);

    /* Update the odd keys in a second batch. */
    SS_CHECK_OK(ss_provider_load(&s, p, 1));
    for (i = 1; i < KEYS; i += 2) {
        snprintf(key, sizeof(key), "key-%08u", i);
        value_of(val, i, 2);
        SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR(key),
                                 (ss_slice){val, VALUE_LEN}));
    }
    check_sample(t, s, 1, 2);
    SS_CHECK_OK(ss_store_commit(NULL, s));
    ss_store_free(s);
    m.version = SS_METRICS_VERSION;
    SS_CHECK_OK(ss_provider_metrics(&m, p));
    SS_CHECK_EQ_U64(m.num_keys, KEYS);
    ss_provider_close(p);

    /* A fresh provider rebuilds version 2 from the files alone. */
    SS_CHECK_OK(open_rdb(&p, t->dir));
    SS_CHECK_OK(ss_provider_load(&s, p, 2));
    check_sample(t, s, 1, 2);
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_load_readonly(&s, p, 1));
    check_sample(t, s, 1, 1);
    ss_store_free(s);
    m.version = SS_METRICS_VERSION;
    SS_CHECK_OK(ss_provider_metrics(&m, p));
    SS_CHECK_EQ_U64(m.num_keys, KEYS);
    ss_provider_close(p);
}

/* Stores share one block cache: a second budget would be a lie. */
static void
test_rdb_large__four_times_budget_round_trips(ss_test *t)
{
    mode = "rocksdb.changelog_checkpointing=true";
    round_trip(t);
}

/* SST snapshot mode: every commit uploads the SSTs of a state 4.5x the
 * budget; a fresh provider downloads and opens them. */
static void
test_rdb_large__four_times_budget_sst_mode(ss_test *t)
{
    mode = "rocksdb.changelog_checkpointing=false";
    round_trip(t);
}

static void
test_rdb_large__budget_is_process_wide(ss_test *t)
{
    const char *o32[] = {"provider=rocksdb",
                         "rocksdb.changelog_checkpointing=true",
                         "rocksdb.memory_budget=32M"};
    const char *o64[] = {"provider=rocksdb",
                         "rocksdb.changelog_checkpointing=true",
                         "rocksdb.memory_budget=64M"};
    char a[2048], b[2048];
    ss_provider *p1 = NULL, *p2 = NULL, *p3 = NULL;
    int rc;

    snprintf(a, sizeof(a), "%s/a", t->dir);
    snprintf(b, sizeof(b), "%s/b", t->dir);
    if ((rc = ss_provider_open(&p1, a, o32, 3)) < 0 &&
        strstr(ss_error_last(), "not built"))
        ss_test_skip(t, "rocksdb provider not built");
    SS_CHECK_OK(rc);
    SS_CHECK_OK(ss_provider_open(&p2, b, o32, 3)); /* same budget: shared */
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_open(&p3, b, o64, 3),
                     "rocksdb.memory_budget");
    SS_CHECK(p3 == NULL);
    ss_provider_close(p1);
    ss_provider_close(p2);
    /* With no rocksdb store open, a new budget applies. */
    SS_CHECK_OK(ss_provider_open(&p3, b, o64, 3));
    ss_provider_close(p3);
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(rdb_large, four_times_budget_round_trips),
    SS_TEST_ONCE(rdb_large, four_times_budget_sst_mode),
    SS_TEST_ONCE(rdb_large, budget_is_process_wide),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
