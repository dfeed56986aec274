/*
 * store_lists.c -- issue 10, item 5, once per provider config: several
 * values per key (SS_CF_LIST; ss_store_append, ss_store_put_list,
 * ss_store_list_iter).
 *
 * Each case checks whole lists (every value, in order) after appends,
 * replacements, removals and aborts, and again after the version is
 * loaded back from memory, from files by a fresh provider, read-only, as
 * a view, and after maintenance wrote a snapshot.
 */
#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Value j of list `key` in generation gen: "<key>:<gen>:<j>", or ""
 * for some j (empty values are values). */
static ss_slice
val_of(char *buf, const char *key, unsigned gen, unsigned j)
{
    if (j % 7 == 3)
        return ss_test_slice(buf, 0);
    return ss_test_slice(buf,
                         (size_t)snprintf(buf, 64, "%s:%u:%u", key, gen, j));
}

/* The list of `key` in family cf is exactly values gen:0..n-1 (from
 * val_of), in order. */
static void
check_list(ss_test *t, ss_store *s, unsigned cf, const char *key, unsigned gen,
           unsigned first, unsigned n)
{
    char buf[64];
    ss_iter *it = NULL;
    ss_slice k, v;
    unsigned j = first;
    int rc;

    ss_test_context(t, "list '%s' (gen %u, %u values)", key, gen, n);
    SS_CHECK_OK(ss_store_list_iter(&it, s, cf, SS_STR(key)));
    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        if (j >= first + n)
            SS_FAIL("list '%s': more than %u values", key, n);
        SS_CHECK_EQ_SLICE(k, SS_STR(key));
        SS_CHECK_EQ_SLICE(v, val_of(buf, key, gen, j));
        j++;
    }
    SS_CHECK_RC(SS_EDONE, rc);
    SS_CHECK_EQ_U64(j - first, n);
    ss_iter_free(it);
    ss_test_context(t, "%s", "");
}

static void
append_n(ss_test *t, ss_store *s, unsigned cf, const char *key, unsigned gen,
         unsigned from, unsigned n)
{
    char buf[64];
    unsigned j;

    for (j = from; j < from + n; j++)
        SS_CHECK_OK(
            ss_store_append(s, cf, SS_STR(key), val_of(buf, key, gen, j)));
}

/* Version 1: "a" of 5 values, "b" of 1, "c" of 300 (over two appends
 * per batch would be the same: one batch here). */
static uint64_t
make_v1(ss_test *t, ss_provider *p, unsigned cf)
{
    ss_store *s = ss_test_load(t, p, 0);
    uint64_t v;

    append_n(t, s, cf, "a", 1, 0, 5);
    append_n(t, s, cf, "b", 1, 0, 1);
    append_n(t, s, cf, "c", 1, 0, 300);
    check_list(t, s, cf, "a", 1, 0, 5);
    v = commit_store(t, s);
    check_list(t, s, cf, "c", 1, 0, 300); /* committed: still reads */
    ss_store_free(s);
    return v;
}

static void
check_v1(ss_test *t, ss_store *s, unsigned cf)
{
    check_list(t, s, cf, "a", 1, 0, 5);
    check_list(t, s, cf, "b", 1, 0, 1);
    check_list(t, s, cf, "c", 1, 0, 300);
    check_list(t, s, cf, "none", 1, 0, 0);
    /* The family's keys: each list once, with an empty value. */
    SS_CHECK_EQ_U64(family_size(t, s, cf), 3);
}

/* Lists load back identically from memory, from files (fresh provider),
 * read-only, as a view, and from a snapshot. */
static void
test_lists__reload_everywhere(ss_test *t)
{
    ss_provider *p = ss_test_open(t, "min_deltas_for_snapshot=1");
    ss_store *s;
    unsigned cf, cf2;
    uint64_t v;

    SS_CHECK_OK(ss_provider_cf(&cf, p, "l", SS_CF_LIST | SS_CF_ORDERED));
    v = make_v1(t, p, cf);
    s = ss_test_load(t, p, v);
    check_v1(t, s, cf);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, v);
    check_v1(t, s, cf);
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_load_view(&s, p, v));
    check_v1(t, s, cf);
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_maintenance(p));
    ss_test_close(t, p);

    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_cf(&cf2, p, "l", SS_CF_LIST | SS_CF_ORDERED));
    s = ss_test_load(t, p, v);
    check_v1(t, s, cf2);
    /* Appends on top of a list loaded from files go on after it. */
    append_n(t, s, cf2, "a", 1, 5, 3);
    SS_CHECK_EQ_U64(commit_store(t, s), v + 1);
    ss_store_free(s);
    ss_test_close(t, p);
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_cf(&cf2, p, "l", SS_CF_LIST | SS_CF_ORDERED));
    s = ss_test_load(t, p, v + 1);
    check_list(t, s, cf2, "a", 1, 0, 8);
    check_list(t, s, cf2, "c", 1, 0, 300);
    ss_store_free(s);
}

/* put_list replaces, put_list of nothing and remove delete, abort
 * forgets, and older versions keep their lists. */
static void
test_lists__replace_remove_abort(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_slice vals[4];
    char bufs[4][64];
    ss_store *s;
    unsigned cf, j;
    uint64_t v;

    SS_CHECK_OK(ss_provider_cf(&cf, p, "l", SS_CF_LIST));
    v = make_v1(t, p, cf);
    s = ss_test_load(t, p, v);
    for (j = 0; j < 4; j++)
        vals[j] = val_of(bufs[j], "a", 2, j);
    SS_CHECK_OK(ss_store_put_list(s, cf, SS_STR("a"), vals, 4));
    check_list(t, s, cf, "a", 2, 0, 4);
    SS_CHECK_OK(ss_store_put_list(s, cf, SS_STR("b"), NULL, 0));
    check_list(t, s, cf, "b", 1, 0, 0);
    SS_CHECK_OK(ss_store_remove(s, cf, SS_STR("c")));
    check_list(t, s, cf, "c", 1, 0, 0);
    SS_CHECK_EQ_U64(family_size(t, s, cf), 1);
    /* A removed list appended to again starts afresh. */
    append_n(t, s, cf, "c", 3, 0, 2);
    check_list(t, s, cf, "c", 3, 0, 2);
    SS_CHECK_EQ_U64(commit_store(t, s), v + 1);
    ss_store_free(s);

    s = ss_test_load(t, p, v + 1);
    append_n(t, s, cf, "a", 2, 4, 10);
    SS_CHECK_OK(ss_store_remove(s, cf, SS_STR("a")));
    SS_CHECK_OK(ss_store_abort(s));
    ss_store_free(s);
    s = ss_test_load(t, p, v + 1);
    check_list(t, s, cf, "a", 2, 0, 4);
    check_list(t, s, cf, "b", 1, 0, 0);
    check_list(t, s, cf, "c", 3, 0, 2);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, v);
    check_v1(t, s, cf);
    ss_store_free(s);
}

/* A list iteration sees values appended meanwhile after the others, and
 * after a put_list goes on with the new list. */
static void
test_lists__iterate_while_appending(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_slice k, v, vals[2];
    char buf[64], b0[64], b1[64];
    ss_iter *it = NULL;
    ss_store *s;
    unsigned cf, j = 0;

    SS_CHECK_OK(ss_provider_cf(&cf, p, "l", SS_CF_LIST));
    s = ss_test_load(t, p, 0);
    append_n(t, s, cf, "k", 1, 0, 3);
    SS_CHECK_OK(ss_store_list_iter(&it, s, cf, SS_STR("k")));
    for (j = 0; j < 6; j++) {
        SS_CHECK_OK(ss_iter_next(it, &k, &v));
        SS_CHECK_EQ_SLICE(v, val_of(buf, "k", 1, j));
        if (j < 3) /* three more, one per step */
            append_n(t, s, cf, "k", 1, 3 + j, 1);
    }
    vals[0] = val_of(b0, "k", 5, 0);
    vals[1] = val_of(b1, "k", 5, 1);
    SS_CHECK_OK(ss_store_put_list(s, cf, SS_STR("k"), vals, 2));
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(v, vals[0]);
    SS_CHECK_OK(ss_store_remove(s, cf, SS_STR("k")));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, &k, &v));
    ss_iter_free(it);
    ss_store_free(s);
}

/* A list of 10,000 values built over 100 batches, checked from files. */
static void
test_lists__long_list_over_batches(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    unsigned cf, b;
    uint64_t v = 0;

    SS_CHECK_OK(ss_provider_cf(&cf, p, "l", SS_CF_LIST));
    for (b = 0; b < 100; b++) {
        s = ss_test_load(t, p, v);
        append_n(t, s, cf, "long", 1, b * 100, 100);
        append_n(t, s, cf, "short", 1, b, 1);
        v = commit_store(t, s);
        ss_store_free(s);
    }
    s = ss_test_load_ro(t, p, v);
    check_list(t, s, cf, "long", 1, 0, 10000);
    check_list(t, s, cf, "short", 1, 0, 100);
    ss_store_free(s);
}

/* List families made and dropped inside a store; their values go with
 * them; ss_store_cf_list shows the family, not its values family. */
static void
test_lists__families_in_a_store(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_cf_info info[8];
    ss_store *s;
    unsigned cf;
    int n, i, seen = 0;

    s = ss_test_load(t, p, 0);
    SS_CHECK_OK(ss_store_cf_create(&cf, s, "tl", SS_CF_LIST));
    append_n(t, s, cf, "x", 1, 0, 4);
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    s = ss_test_load(t, p, 1);
    n = ss_store_cf_list(info, 8, s);
    SS_CHECK_EQ_U64((uint64_t)n, 2);
    for (i = 0; i < n; i++)
        if (strcmp(info[i].name, "tl") == 0) {
            SS_CHECK_EQ_U64(info[i].flags, SS_CF_LIST);
            seen = 1;
        }
    SS_CHECK(seen);
    check_list(t, s, cf, "x", 1, 0, 4);
    SS_CHECK_OK(ss_store_cf_drop(s, cf));
    SS_CHECK_EQ_U64(commit_store(t, s), 2);
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    SS_CHECK_EQ_U64((uint64_t)ss_store_cf_list(info, 8, s), 1);
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_append(s, cf, SS_STR("x"), SS_STR("y")),
                     "does not exist");
    /* Re-created: empty. */
    SS_CHECK_OK(ss_store_cf_create(&cf, s, "tl", SS_CF_LIST));
    check_list(t, s, cf, "x", 1, 0, 0);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 1);
    check_list(t, s, cf, "x", 1, 0, 4);
    ss_store_free(s);
}

/* What a list family refuses, and what refuses lists. */
static void
test_lists__errors(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_slice got, key = SS_STR("k"), big;
    ss_iter *it = NULL;
    ss_store *s;
    unsigned l, plain, x;
    int status;
    char *long_key = calloc(SS_MAX_KEY_LEN, 1);

    SS_CHECK(long_key != NULL);
    memset(long_key, 'k', SS_MAX_KEY_LEN);
    big = ss_test_slice(long_key, SS_MAX_KEY_LEN - 9);
    SS_CHECK_OK(ss_provider_cf(&l, p, "l", SS_CF_LIST | SS_CF_ORDERED));
    SS_CHECK_OK(ss_provider_cf(&plain, p, "plain", 0));
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_cf(&x, p, "\x1fLl", SS_CF_ORDERED),
                     "reserved");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_cf(&x, p, "l", SS_CF_ORDERED),
                     "list");
    s = ss_test_load(t, p, 0);
    SS_CHECK_OK(ss_store_append(s, l, key, SS_STR("v")));
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&got, s, l, key), "holds lists");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_put(s, l, key, SS_STR("v")),
                     "holds lists");
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_multi_get(&got, &status, s, l, &key, 1),
                     "holds lists");
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_remove_range(s, l, SS_STR("a"), SS_STR("z")),
                     "holds lists");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_append(s, plain, key, SS_STR("v")),
                     "does not hold lists");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_list_iter(&it, s, plain, key),
                     "does not hold lists");
    SS_CHECK_ERR_MSG(SS_ELIMIT, ss_store_append(s, l, big, SS_STR("v")),
                     "list family");
    SS_CHECK_ERR(SS_EINVAL, ss_store_append(s, l, SS_STR(""), SS_STR("v")));
    SS_CHECK_ERR(SS_EINVAL, ss_store_put_list(s, l, key, NULL, 2));
    /* The failed calls changed nothing: "k" holds its one value. */
    SS_CHECK_OK(ss_store_list_iter(&it, s, l, key));
    SS_CHECK_OK(ss_iter_next(it, NULL, &got));
    SS_CHECK_EQ_SLICE(got, SS_STR("v"));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, NULL, NULL));
    ss_iter_free(it);
    ss_store_free(s);
    free(long_key);
}

static const ss_test_case cases[] = {
    SS_TEST(lists, reload_everywhere),
    SS_TEST(lists, replace_remove_abort),
    SS_TEST(lists, iterate_while_appending),
    SS_TEST(lists, long_list_over_batches),
    SS_TEST(lists, families_in_a_store),
    SS_TEST(lists, errors),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
