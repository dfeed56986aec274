/*
 * store_views.c -- issue 10, item 3, once per provider config: read views
 * (ss_provider_load_view).
 *
 * A view reads its version exactly while the provider's writer writes,
 * commits, aborts and loads other versions, and it is served from memory
 * (no file read) when the provider holds the version: the memory
 * provider for every version in memory, rocksdb for the one its instance
 * holds.  Each case compares a view's whole contents (iteration and a get
 * of every key) with a copy taken when the version was made.
 */
#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 3000 };

static ss_slice
key_of(char *buf, unsigned i)
{
    return ss_test_slice(buf, (size_t)snprintf(buf, 32, "k%05u", i));
}

/* Version `gen` of key i's value ("" for some, to cover empty values). */
static ss_slice
val_of(char *buf, unsigned gen, unsigned i)
{
    if (i % 97 == 0)
        return ss_test_slice(buf, 0);
    return ss_test_slice(buf, (size_t)snprintf(buf, 48, "v%u-%u-%0*u", gen, i,
                                               (int)(i % 40), 0));
}

/* Write generation `gen` over keys [0, n): every third key removed,
 * the others rewritten, and keys [n, n + n/4) added. */
static void
write_gen(ss_test *t, ss_store *s, unsigned cf, unsigned gen, unsigned n)
{
    char k[32], v[48];
    unsigned i;

    for (i = 0; i < n + n / 4; i++) {
        if (i < n && (i + gen) % 3 == 0)
            SS_CHECK_OK(ss_store_remove(s, cf, key_of(k, i)));
        else
            SS_CHECK_OK(ss_store_put(s, cf, key_of(k, i), val_of(v, gen, i)));
    }
}

/* The two families every case uses: unordered and ordered. */
typedef struct fams {
    unsigned cf[2];
} fams;

static fams
declare(ss_test *t, ss_provider *p)
{
    fams f;

    SS_CHECK_OK(ss_provider_cf(&f.cf[0], p, "plain", 0));
    SS_CHECK_OK(ss_provider_cf(&f.cf[1], p, "sorted", SS_CF_ORDERED));
    return f;
}

/* A copy of both families of a store. */
typedef struct contents {
    kv_list l[2];
} contents;

static void
copy_of(ss_test *t, contents *c, ss_store *s, const fams *f)
{
    int i;

    for (i = 0; i < 2; i++) {
        kv_free(&c->l[i]);
        kv_dump(t, &c->l[i], s, f->cf[i], i);
    }
}

static void
contents_free(contents *c)
{
    kv_free(&c->l[0]);
    kv_free(&c->l[1]);
}

/* `s` holds exactly `want`: by iteration, and by a get of every key
 * ever written (present ones give their value, others are absent). */
static void
check_same(ss_test *t, ss_store *s, const fams *f, const contents *want)
{
    char k[32];
    kv_list got = {0};
    ss_slice v;
    size_t j;
    unsigned i;
    int c, rc;

    for (c = 0; c < 2; c++) {
        kv_dump(t, &got, s, f->cf[c], c);
        kv_check_equal(t, &got, &want->l[c]);
        kv_free(&got);
        for (i = 0, j = 0; i < 2 * N; i++) {
            ss_slice key = key_of(k, i);

            while (j < want->l[c].n &&
                   bytes_cmp(want->l[c].e[j].k, want->l[c].e[j].kl, key.data,
                             key.len) < 0)
                j++;
            rc = ss_store_get(&v, s, f->cf[c], key);
            if (j < want->l[c].n &&
                bytes_cmp(want->l[c].e[j].k, want->l[c].e[j].kl, key.data,
                          key.len) == 0) {
                ss_test_context(t, "get of key %u, family %d", i, c);
                SS_CHECK_OK(rc);
                SS_CHECK_EQ_SLICE(
                    v, ss_test_slice(want->l[c].e[j].v, want->l[c].e[j].vl));
            } else {
                ss_test_context(t, "get of absent key %u, family %d", i, c);
                SS_CHECK_RC(SS_ENOTFOUND, rc);
            }
        }
    }
    ss_test_context(t, "%s", "");
}

/* Commit generation `gen` on top of `version`; returns the new version
 * and leaves its contents in `c`. */
static uint64_t
commit_gen(ss_test *t, ss_provider *p, const fams *f, uint64_t version,
           unsigned gen, contents *c)
{
    ss_store *s = ss_test_load(t, p, version);
    uint64_t v;

    write_gen(t, s, f->cf[0], gen, N);
    write_gen(t, s, f->cf[1], gen + 1, N);
    v = commit_store(t, s);
    copy_of(t, c, s, f);
    ss_store_free(s);
    return v;
}

static ss_store *
view_of(ss_test *t, ss_provider *p, uint64_t version)
{
    ss_store *v = NULL;

    SS_CHECK_OK(ss_provider_load_view(&v, p, version));
    SS_CHECK(v != NULL);
    SS_CHECK_EQ_U64(ss_store_version(v), version);
    return v;
}

/* Whether the provider serves `version` from memory for a view. */
static int
view_in_memory(ss_test *t, uint64_t version, uint64_t latest)
{
    if (strcmp(t->provider->name, "memory") == 0)
        return latest - version < 2; /* max_versions_in_memory = 2 */
    return version == latest;
}

/* Spark's getReadStore(v) then getStore(v): the view needs no file, the
 * writable load is not refused, and the view keeps reading v through
 * the writer's writes, its commit, and the next batch's abort. */
static void
test_views__latest_while_writer_goes_on(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    fams f = declare(t, p);
    contents c1 = {0}, c2 = {0};
    ss_metrics before, after;
    ss_store *view, *w;
    uint64_t v;

    v = commit_gen(t, p, &f, 0, 1, &c1);
    before = get_metrics(t, p);
    view = view_of(t, p, v);
    after = get_metrics(t, p);
    SS_CHECK_EQ_U64(after.loads_from_memory, before.loads_from_memory + 1);
    SS_CHECK_EQ_U64(after.loads_from_files, before.loads_from_files);
    check_same(t, view, &f, &c1);

    w = ss_test_load(t, p, v);
    write_gen(t, w, f.cf[0], 2, N);
    write_gen(t, w, f.cf[1], 3, N);
    check_same(t, view, &f, &c1);
    SS_CHECK_EQ_U64(commit_store(t, w), v + 1);
    copy_of(t, &c2, w, &f);
    ss_store_free(w);
    check_same(t, view, &f, &c1);

    w = ss_test_load(t, p, v + 1);
    write_gen(t, w, f.cf[0], 4, N);
    SS_CHECK_OK(ss_store_abort(w));
    ss_store_free(w);
    check_same(t, view, &f, &c1);

    /* A new view of the new version sees it. */
    ss_store_free(view);
    view = view_of(t, p, v + 1);
    check_same(t, view, &f, &c2);
    ss_store_free(view);
    contents_free(&c1);
    contents_free(&c2);
}

/* A view of the base of an open batch reads the base, not the batch. */
static void
test_views__base_of_open_batch(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    fams f = declare(t, p);
    contents c1 = {0}, cb = {0};
    ss_store *view, *w;
    uint64_t v = commit_gen(t, p, &f, 0, 1, &c1);

    w = ss_test_load(t, p, v);
    write_gen(t, w, f.cf[0], 5, N);
    write_gen(t, w, f.cf[1], 6, N);
    copy_of(t, &cb, w, &f);
    view = view_of(t, p, v);
    check_same(t, view, &f, &c1);
    /* Writes after the view was made, over keys the batch wrote and
     * keys it did not. */
    write_gen(t, w, f.cf[0], 7, 2 * N);
    check_same(t, view, &f, &c1);
    SS_CHECK_OK(ss_store_abort(w));
    check_same(t, view, &f, &c1);
    ss_store_free(w);
    ss_store_free(view);
    contents_free(&c1);
    contents_free(&cb);
}

/* A view's iterator returns its version's keys, each once with its
 * value, while the writer removes, rewrites and adds keys between its
 * steps (ahead of it and behind it; the index grows under it). */
static void
test_views__iterate_while_writer_writes(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    fams f = declare(t, p);
    contents c1 = {0};
    ss_store *view, *w;
    uint64_t v = commit_gen(t, p, &f, 0, 1, &c1);
    char k[32], val[48];
    unsigned step, i = 0;
    int c;

    w = ss_test_load(t, p, v);
    view = view_of(t, p, v);
    for (c = 0; c < 2; c++) {
        kv_list got = {0};
        ss_iter *it = NULL;
        ss_slice key, value;
        int rc;

        SS_CHECK_OK(ss_store_iter(&it, view, f.cf[c]));
        for (step = 0; (rc = ss_iter_next(it, &key, &value)) == 0; step++) {
            kv_add(t, &got, key.data, key.len, value.data, value.len);
            /* Between steps: remove the key just returned and a few
             * others, rewrite some, add new ones. */
            SS_CHECK_OK(ss_store_remove(w, f.cf[c], key));
            SS_CHECK_OK(ss_store_remove(w, f.cf[c], key_of(k, (step * 7) % N)));
            SS_CHECK_OK(ss_store_put(w, f.cf[c], key_of(k, (step * 13) % N),
                                     val_of(val, 9, step)));
            SS_CHECK_OK(ss_store_put(w, f.cf[c], key_of(k, 2 * N + i),
                                     val_of(val, 9, i)));
            i++;
        }
        SS_CHECK_RC(SS_EDONE, rc);
        ss_iter_free(it);
        kv_sort(&got);
        kv_check_equal(t, &got, &c1.l[c]);
        kv_free(&got);
    }
    SS_CHECK_EQ_U64(commit_store(t, w), v + 1);
    check_same(t, view, &f, &c1);
    ss_store_free(w);
    ss_store_free(view);
    contents_free(&c1);
}

/* Views of older versions: served from memory while the provider holds
 * them (memory: the last max_versions_in_memory), from files otherwise,
 * and correct either way, also while the writer moves the state to
 * another version in memory and then rebuilds it from files. */
static void
test_views__older_versions_and_moves(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    fams f = declare(t, p);
    contents c[5] = {{{{0}}}};
    ss_store *views[5], *w;
    ss_metrics before, after;
    uint64_t v, latest = 0;

    for (v = 1; v <= 4; v++)
        latest = commit_gen(t, p, &f, v - 1, (unsigned)v * 2, &c[v]);
    for (v = 1; v <= 4; v++) {
        before = get_metrics(t, p);
        views[v] = view_of(t, p, v);
        after = get_metrics(t, p);
        ss_test_context(t, "view of version %llu", (unsigned long long)v);
        SS_CHECK_EQ_U64(after.loads_from_memory,
                        before.loads_from_memory +
                            (uint64_t)view_in_memory(t, v, latest));
        check_same(t, views[v], &f, &c[v]);
    }
    /* Back to version 3 in memory, write, and then to version 1 (from
     * files): every view still reads its own version. */
    w = ss_test_load(t, p, 3);
    write_gen(t, w, f.cf[0], 20, N);
    for (v = 1; v <= 4; v++)
        check_same(t, views[v], &f, &c[v]);
    ss_store_free(w);
    w = ss_test_load(t, p, 1);
    write_gen(t, w, f.cf[1], 21, N);
    for (v = 1; v <= 4; v++)
        check_same(t, views[v], &f, &c[v]);
    ss_store_free(w);
    for (v = 1; v <= 4; v++) {
        ss_store_free(views[v]);
        contents_free(&c[v]);
    }
}

/* A view refuses writes, and an open one goes with its provider. */
static void
test_views__refuses_writes_closes_with_provider(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    fams f = declare(t, p);
    contents c1 = {0};
    ss_store *view;
    uint64_t v = commit_gen(t, p, &f, 0, 1, &c1), out;
    char k[32];

    view = view_of(t, p, v);
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_put(view, f.cf[0], key_of(k, 1), SS_STR("x")),
                     "read-only");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_remove(view, f.cf[0], key_of(k, 1)),
                     "read-only");
    SS_CHECK_ERR(SS_EINVAL, ss_store_commit(&out, view));
    check_same(t, view, &f, &c1);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load_view(&view, p, v + 5));
    SS_CHECK(view == NULL);
    view = view_of(t, p, v);
    (void)view; /* left open: closing the provider frees it */
    ss_test_close(t, p);
    contents_free(&c1);
}

/* Several views of one version, and of the empty version 0. */
static void
test_views__many_views_and_version_zero(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    fams f = declare(t, p);
    contents c0 = {0}, c1 = {0};
    ss_store *z, *a, *b, *w;
    uint64_t v;

    w = ss_test_load(t, p, 0);
    z = view_of(t, p, 0);
    copy_of(t, &c0, z, &f);
    SS_CHECK_EQ_U64(c0.l[0].n + c0.l[1].n, 0);
    write_gen(t, w, f.cf[0], 1, N);
    write_gen(t, w, f.cf[1], 2, N);
    v = commit_store(t, w);
    copy_of(t, &c1, w, &f);
    ss_store_free(w);
    a = view_of(t, p, v);
    b = view_of(t, p, v);
    w = ss_test_load(t, p, v);
    write_gen(t, w, f.cf[0], 3, N);
    check_same(t, z, &f, &c0);
    check_same(t, a, &f, &c1);
    ss_store_free(a);
    write_gen(t, w, f.cf[1], 4, N);
    check_same(t, b, &f, &c1);
    check_same(t, z, &f, &c0);
    ss_store_free(w);
    ss_store_free(b);
    ss_store_free(z);
    contents_free(&c0);
    contents_free(&c1);
}

/* Whether `s` lists family `name`; its id in *id. */
static int
has_family(ss_test *t, ss_store *s, const char *name, unsigned *id)
{
    ss_cf_info info[8];
    int n, i;

    n = ss_store_cf_list(info, 8, s);
    SS_CHECK(n >= 1 && n <= 8);
    for (i = 0; i < n; i++)
        if (strcmp(info[i].name, name) == 0) {
            *id = info[i].id;
            return 1;
        }
    return 0;
}

/* A view keeps its version's family set: a family the writer drops (in
 * the batch and committed) stays in the view with its keys; one the
 * writer creates later never appears in it. */
static void
test_views__family_set_of_its_version(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *w, *view, *old;
    unsigned tmp, id, later;
    char k[32];
    uint64_t v;

    w = ss_test_load(t, p, 0);
    SS_CHECK_OK(ss_store_cf_create(&tmp, w, "tmp", SS_CF_ORDERED));
    SS_CHECK_OK(ss_store_put(w, tmp, key_of(k, 1), SS_STR("one")));
    SS_CHECK_OK(ss_store_put(w, tmp, key_of(k, 2), SS_STR("two")));
    v = commit_store(t, w);
    ss_store_free(w);

    view = view_of(t, p, v);
    w = ss_test_load(t, p, v);
    SS_CHECK_OK(ss_store_cf_drop(w, tmp));
    SS_CHECK(has_family(t, view, "tmp", &id) && id == tmp);
    SS_CHECK_EQ_U64(family_size(t, view, tmp), 2);
    SS_CHECK_EQ_U64(commit_store(t, w), v + 1);
    ss_store_free(w);
    w = ss_test_load(t, p, v + 1);
    SS_CHECK_OK(ss_store_cf_create(&later, w, "later", 0));
    SS_CHECK_OK(ss_store_put(w, later, key_of(k, 3), SS_STR("three")));
    SS_CHECK_EQ_U64(commit_store(t, w), v + 2);
    ss_store_free(w);

    SS_CHECK(has_family(t, view, "tmp", &id));
    SS_CHECK(!has_family(t, view, "later", &id));
    SS_CHECK_EQ_U64(family_size(t, view, tmp), 2);
    expect_get(t, view, tmp, B("k00002"), B("two"));
    /* A view of the version between: no "tmp", no "later". */
    old = view_of(t, p, v + 1);
    SS_CHECK(!has_family(t, old, "tmp", &id));
    SS_CHECK(!has_family(t, old, "later", &id));
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_get(&(ss_slice){0}, old, tmp, key_of(k, 1)));
    ss_store_free(old);
    ss_store_free(view);
}

static const ss_test_case cases[] = {
    SS_TEST(views, latest_while_writer_goes_on),
    SS_TEST(views, base_of_open_batch),
    SS_TEST(views, iterate_while_writer_writes),
    SS_TEST(views, older_versions_and_moves),
    SS_TEST(views, refuses_writes_closes_with_provider),
    SS_TEST(views, many_views_and_version_zero),
    SS_TEST(views, family_set_of_its_version),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
