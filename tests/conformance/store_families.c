/*
 * store_families.c -- column families created and dropped inside a
 * loaded store (ss_store_cf_create, ss_store_cf_drop, ss_store_cf_list;
 * store.c invariant 7, format/frame.h FAMILIES), once per provider
 * config.
 *
 * Every version has its own family set: a create exists from the
 * committed version on, a drop is gone from it with its keys, older
 * versions keep what they had, abort undoes both, and the set is the
 * same whether a version loads from memory, from its deltas, from a
 * snapshot or from an SST meta, in this provider or a fresh one.
 */
#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* The store's families as "name/flags,..." in name order. */
static const char *
families(ss_test *t, ss_store *s, char *buf, size_t len)
{
    ss_cf_info info[32], tmp;
    int n, i, j;
    size_t off = 0;

    n = ss_store_cf_list(info, 32, s);
    SS_CHECK(n >= 1 && n <= 32);
    SS_CHECK_RC(n, ss_store_cf_list(NULL, 0, s));
    for (i = 1; i < n; i++)
        for (j = i; j > 0 && strcmp(info[j - 1].name, info[j].name) > 0; j--) {
            tmp = info[j];
            info[j] = info[j - 1];
            info[j - 1] = tmp;
        }
    buf[0] = '\0';
    for (i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s/%u", i ? "," : "",
                                info[i].name, info[i].flags);
    return buf;
}

#define CHECK_FAMILIES(s, want)                                                \
    do {                                                                       \
        char fb_[1024];                                                        \
        if (strcmp(families(t, (s), fb_, sizeof(fb_)), (want)) != 0)           \
            SS_FAIL("families are '%s', expected '%s'", fb_, (want));          \
    } while (0)

/* The id of family `name` in s, or -1. */
static int
cf_id(ss_test *t, ss_store *s, const char *name)
{
    ss_cf_info info[32];
    int n, i;

    n = ss_store_cf_list(info, 32, s);
    SS_CHECK(n >= 1);
    for (i = 0; i < n; i++)
        if (strcmp(info[i].name, name) == 0)
            return (int)info[i].id;
    return -1;
}

static void
put_n(ss_test *t, ss_store *s, unsigned cf, const char *prefix, unsigned n)
{
    char k[64];
    unsigned i;

    for (i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof(k), "%s%04u", prefix, i);

        SS_CHECK_OK(ss_store_put(s, cf, ss_test_slice(k, (size_t)kl),
                                 ss_test_slice(k, (size_t)kl)));
    }
}

/* v1: family "f" (ordered) created mid-batch with 50 keys, default has
 * "d". */
static void
make_v1(ss_test *t, ss_provider *p, unsigned *f)
{
    ss_store *s = ss_test_load(t, p, 0);
    ss_slice v;

    put_b(t, s, SS_CF_DEFAULT, B("d"), B("1"));
    SS_CHECK_OK(ss_store_cf_create(f, s, "f", SS_CF_ORDERED));
    SS_CHECK(*f != SS_CF_DEFAULT);
    /* Usable in this batch at once, empty. */
    SS_CHECK_EQ_U64(family_size(t, s, *f), 0);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_store_get(&v, s, *f, SS_STR("k0000")));
    put_n(t, s, *f, "k", 50);
    expect_get(t, s, *f, B("k0007"), B("k0007"));
    CHECK_FAMILIES(s, "default/0,f/1");
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    /* The committed store reads its version's families. */
    CHECK_FAMILIES(s, "default/0,f/1");
    ss_store_free(s);
}

/* Check version 1's contents through any store. */
static void
check_v1(ss_test *t, ss_store *s)
{
    int f = cf_id(t, s, "f");
    ss_iter *it = NULL;

    CHECK_FAMILIES(s, "default/0,f/1");
    SS_CHECK(f > 0);
    expect_get(t, s, (unsigned)f, B("k0049"), B("k0049"));
    SS_CHECK_EQ_U64(family_size(t, s, (unsigned)f), 50);
    /* Still ordered after a reload: range scans work. */
    SS_CHECK_OK(ss_store_range_scan(&it, s, (unsigned)f, SS_STR("k0010"),
                                    SS_STR("k0020")));
    SS_CHECK_EQ_U64(drain_count(t, it), 10);
    expect_get(t, s, SS_CF_DEFAULT, B("d"), B("1"));
}

/* Create mid-batch, use, commit; reload from memory, from files in the
 * same provider (read-only) and in a fresh provider. */
static void
test_families__create_commit_reload(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    unsigned f;
    ss_slice v;

    make_v1(t, p, &f);
    s = ss_test_load(t, p, 1); /* from memory */
    check_v1(t, s);
    commit_store(t, s); /* v2 does not touch f: still has it */
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 2);
    check_v1(t, s);
    ss_store_free(s);
    /* Version 0 lacks it. */
    s = ss_test_load_ro(t, p, 0);
    CHECK_FAMILIES(s, "default/0");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, f, SS_STR("k0000")),
                     "does not exist");
    ss_store_free(s);
    ss_test_close(t, p);

    p = ss_test_open(t); /* fresh: learns "f" from the files */
    s = ss_test_load(t, p, 1);
    check_v1(t, s);
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    check_v1(t, s);
    ss_store_free(s);
    s = ss_test_load(t, p, 0);
    CHECK_FAMILIES(s, "default/0");
    ss_store_free(s);
    ss_test_close(t, p);
}

/* Drop a family with keys: gone from the batch at once and from the
 * committed version, still in the older one, from memory and files. */
static void
test_families__drop_commit_reload(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_slice v;
    ss_iter *it = NULL;
    unsigned f;
    uint64_t keys_before;

    make_v1(t, p, &f);
    keys_before = get_metrics(t, p).num_keys;
    SS_CHECK_EQ_U64(keys_before, 51);
    s = ss_test_load(t, p, 1);
    SS_CHECK_OK(ss_store_cf_drop(s, f));
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, f, SS_STR("k0000")),
                     "family 'f' was dropped");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_put(s, f, SS_STR("x"), SS_STR("y")),
                     "was dropped");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_iter(&it, s, f), "was dropped");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, f), "was dropped");
    CHECK_FAMILIES(s, "default/0");
    SS_CHECK_EQ_U64(commit_store(t, s), 2);
    CHECK_FAMILIES(s, "default/0");
    ss_store_free(s);
    SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, 1);

    s = ss_test_load(t, p, 2); /* memory */
    CHECK_FAMILIES(s, "default/0");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, f, SS_STR("k0000")),
                     "does not exist");
    ss_store_free(s);
    s = ss_test_load(t, p, 1); /* memory, back in time */
    check_v1(t, s);
    ss_store_free(s);
    s = ss_test_load(t, p, 2); /* and forward again */
    CHECK_FAMILIES(s, "default/0");
    expect_get(t, s, SS_CF_DEFAULT, B("d"), B("1"));
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 2);
    CHECK_FAMILIES(s, "default/0");
    ss_store_free(s);
    ss_test_close(t, p);

    p = ss_test_open(t);
    s = ss_test_load(t, p, 2);
    CHECK_FAMILIES(s, "default/0");
    ss_store_free(s);
    s = ss_test_load(t, p, 1);
    check_v1(t, s);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 1);
    check_v1(t, s);
    ss_store_free(s);
    /* Created again in a later version: empty. */
    s = ss_test_load(t, p, 2);
    SS_CHECK_OK(ss_store_cf_create(&f, s, "f", SS_CF_ORDERED));
    SS_CHECK_EQ_U64(family_size(t, s, f), 0);
    put_b(t, s, f, B("new"), B("1"));
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);
    p = ss_test_open(t);
    s = ss_test_load(t, p, 3);
    CHECK_FAMILIES(s, "default/0,f/1");
    SS_CHECK_EQ_U64(family_size(t, s, (unsigned)cf_id(t, s, "f")), 1);
    ss_store_free(s);
    ss_test_close(t, p);
}

/* Abort forgets a create and undoes a drop. */
static void
test_families__abort(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_slice v;
    unsigned f, g;

    make_v1(t, p, &f);
    s = ss_test_load(t, p, 1);
    SS_CHECK_OK(ss_store_cf_create(&g, s, "g", 0));
    put_b(t, s, g, B("a"), B("1"));
    SS_CHECK_OK(ss_store_cf_drop(s, f));
    CHECK_FAMILIES(s, "default/0,g/0");
    SS_CHECK_OK(ss_store_abort(s));
    ss_store_free(s);
    s = ss_test_load(t, p, 1);
    check_v1(t, s);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, g, SS_STR("a")),
                     "does not exist");
    /* Again, then commit something else: the aborted batch left no
     * trace in the version committed after it. */
    put_b(t, s, SS_CF_DEFAULT, B("e"), B("2"));
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);
    p = ss_test_open(t);
    s = ss_test_load(t, p, 2);
    check_v1(t, s);
    SS_CHECK_EQ_U64(family_size(t, s, (unsigned)cf_id(t, s, "f")), 50);
    ss_store_free(s);
    ss_test_close(t, p);
}

/* Drop and create the same name in one batch: an empty family, whose
 * new keys alone reach the version (the delta's op 3 record). */
static void
test_families__drop_and_recreate(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    unsigned f, f2;
    ss_slice v;

    make_v1(t, p, &f);
    s = ss_test_load(t, p, 1);
    put_b(t, s, f, B("k0003"), B("changed"));
    SS_CHECK_OK(ss_store_cf_drop(s, f));
    SS_CHECK_OK(ss_store_cf_create(&f2, s, "f", SS_CF_ORDERED));
    SS_CHECK_EQ_U64(f2, f); /* one id per name */
    SS_CHECK_EQ_U64(family_size(t, s, f), 0);
    put_b(t, s, f, B("k0003"), B("again"));
    put_b(t, s, f, B("z"), B("1"));
    SS_CHECK_EQ_U64(family_size(t, s, f), 2);
    commit_store(t, s);
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    CHECK_FAMILIES(s, "default/0,f/1");
    SS_CHECK_EQ_U64(family_size(t, s, f), 2);
    expect_get(t, s, f, B("k0003"), B("again"));
    ss_store_free(s);
    ss_test_close(t, p);
    p = ss_test_open(t);
    s = ss_test_load(t, p, 2);
    f = (unsigned)cf_id(t, s, "f");
    SS_CHECK_EQ_U64(family_size(t, s, f), 2);
    expect_get(t, s, f, B("k0003"), B("again"));
    SS_CHECK_ERR(SS_ENOTFOUND, ss_store_get(&v, s, f, SS_STR("k0004")));
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 1);
    check_v1(t, s);
    ss_store_free(s);
    ss_test_close(t, p);
}

/* Refused calls, each with its message. */
static void
test_families__errors(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_cf_info info[2];
    unsigned d, f, x;

    make_v1(t, p, &f);
    SS_CHECK_OK(ss_provider_cf(&d, p, "declared", 0));
    s = ss_test_load(t, p, 1);
    CHECK_FAMILIES(s, "declared/0,default/0,f/1");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, SS_CF_DEFAULT),
                     "default family");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, d), "ss_provider_cf");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, 77), "not declared");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&x, s, "f", 0), "'f'");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&x, s, "declared", 1),
                     "'declared'");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&x, s, "", 0), "1..255");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&x, s, "g", 0x80),
                     "unknown flags");
    SS_CHECK_ERR(SS_EINVAL, ss_store_cf_create(NULL, s, "g", 0));
    SS_CHECK_ERR(SS_EINVAL, ss_store_cf_list(NULL, 2, s));
    SS_CHECK_RC(3, ss_store_cf_list(info, 2, s)); /* count beyond cap */
    /* Creating an existing name returns its id. */
    SS_CHECK_OK(ss_store_cf_create(&x, s, "f", SS_CF_ORDERED));
    SS_CHECK_EQ_U64(x, f);
    SS_CHECK_OK(ss_store_cf_create(&x, s, "declared", 0));
    SS_CHECK_EQ_U64(x, d);
    commit_store(t, s);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, f), "committed");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&x, s, "h", 0), "committed");
    SS_CHECK_RC(3, ss_store_cf_list(NULL, 0, s));
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 1);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, f), "read-only");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&x, s, "h", 0), "read-only");
    ss_store_abort(s);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_list(NULL, 0, s), "aborted");
    ss_store_free(s);
    SS_CHECK_ERR(SS_EINVAL, ss_store_cf_list(NULL, 0, NULL));
    SS_CHECK_ERR(SS_EINVAL, ss_store_cf_drop(NULL, 1));
    ss_test_close(t, p);
}

/* A family declared with ss_provider_cf is in every store, even of a
 * version whose files lack it. */
static void
test_families__declared_in_every_version(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    unsigned f, d;

    make_v1(t, p, &f);
    ss_test_close(t, p);
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_cf(&d, p, "d", SS_CF_ORDERED));
    s = ss_test_load(t, p, 1);
    CHECK_FAMILIES(s, "d/1,default/0,f/1");
    SS_CHECK_EQ_U64(family_size(t, s, d), 0);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 0);
    CHECK_FAMILIES(s, "d/1,default/0");
    ss_store_free(s);
    ss_test_close(t, p);
}

/* Maintenance's snapshots (and SST metas) hold the family set: after
 * creates, drops and a drop-and-create, a fresh provider loading from
 * the snapshot sees what the deltas said. */
static void
test_families__maintenance_keeps_families(ss_test *t)
{
    ss_provider *p = ss_test_open(t, "min_deltas_for_snapshot=1",
                                  "min_versions_to_retain=2");
    ss_store *s;
    unsigned f, g, h;

    make_v1(t, p, &f); /* v1: f */
    s = ss_test_load(t, p, 1);
    SS_CHECK_OK(ss_store_cf_create(&g, s, "g", 0));
    put_n(t, s, g, "g", 10);
    SS_CHECK_OK(ss_store_cf_create(&h, s, "h", 0));
    put_n(t, s, h, "h", 5);
    commit_store(t, s); /* v2: f, g, h */
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_maintenance(p));
    s = ss_test_load(t, p, 2);
    SS_CHECK_OK(ss_store_cf_drop(s, f));
    SS_CHECK_OK(ss_store_cf_drop(s, g));
    SS_CHECK_OK(ss_store_cf_create(&g, s, "g", 0));
    put_b(t, s, g, B("only"), B("1"));
    commit_store(t, s); /* v3: g (1 key), h */
    ss_store_free(s);
    s = ss_test_load(t, p, 3);
    put_b(t, s, SS_CF_DEFAULT, B("e"), B("3"));
    commit_store(t, s); /* v4 */
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_maintenance(p));
    SS_CHECK_OK(ss_provider_maintenance(p));
    ss_test_close(t, p);

    p = ss_test_open(t);
    s = ss_test_load(t, p, 4);
    CHECK_FAMILIES(s, "default/0,g/0,h/0");
    SS_CHECK_EQ_U64(family_size(t, s, (unsigned)cf_id(t, s, "g")), 1);
    SS_CHECK_EQ_U64(family_size(t, s, (unsigned)cf_id(t, s, "h")), 5);
    SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, 1 + 1 + 5 + 1);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 3);
    CHECK_FAMILIES(s, "default/0,g/0,h/0");
    SS_CHECK_EQ_U64(family_size(t, s, (unsigned)cf_id(t, s, "g")), 1);
    ss_store_free(s);
    ss_test_close(t, p);
}

/* Families a read-only load learns while a writable store is open keep
 * their order when the writable store creates them later. */
static void
test_families__learned_families_keep_order(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s, *ro;
    ss_iter *it = NULL;
    ss_slice k;
    unsigned o1, o2, z, i;
    char prev[8] = "";
    int rc;

    s = ss_test_load(t, p, 0);
    SS_CHECK_OK(ss_store_cf_create(&o1, s, "o1", SS_CF_ORDERED));
    SS_CHECK_OK(ss_store_cf_create(&o2, s, "o2", SS_CF_ORDERED));
    put_b(t, s, o1, B("a"), B("1"));
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);

    p = ss_test_open(t);
    s = ss_test_load(t, p, 0);
    ro = ss_test_load_ro(t, p, 1); /* learns o1 and o2 */
    CHECK_FAMILIES(ro, "default/0,o1/1,o2/1");
    ss_store_free(ro);
    SS_CHECK_OK(ss_store_cf_create(&z, s, "z", 0));
    SS_CHECK_OK(ss_store_cf_create(&o2, s, "o2", SS_CF_ORDERED));
    for (i = 0; i < 200; i++) {
        char key[8];

        snprintf(key, sizeof(key), "%03u", (i * 37) % 200);
        SS_CHECK_OK(ss_store_put(s, o2, SS_STR(key), SS_STR("v")));
    }
    SS_CHECK_OK(ss_store_iter(&it, s, o2));
    for (i = 0; (rc = ss_iter_next(it, &k, NULL)) == 0; i++) {
        SS_CHECK(k.len == 3 && memcmp(k.data, prev, 3) > 0);
        memcpy(prev, k.data, 3);
    }
    SS_CHECK_RC(SS_EDONE, rc);
    SS_CHECK_EQ_U64(i, 200);
    ss_iter_free(it);
    ss_store_free(s);
    ss_test_close(t, p);
}

static const ss_test_case cases[] = {
    SS_TEST(families, learned_families_keep_order),
    SS_TEST(families, create_commit_reload),
    SS_TEST(families, drop_commit_reload),
    SS_TEST(families, abort),
    SS_TEST(families, drop_and_recreate),
    SS_TEST(families, errors),
    SS_TEST(families, declared_in_every_version),
    SS_TEST(families, maintenance_keeps_families),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
