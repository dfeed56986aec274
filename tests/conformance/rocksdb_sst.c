/*
 * rocksdb_sst.c -- the rocksdb provider's SST snapshot checkpoints:
 * objects shared between versions and collected once no retained
 * version lists them, mode switches both ways (and to and from the
 * memory provider's files), loads on empty working directories, and
 * corrupt or missing objects and metas refused with the file's name.
 *
 * Every version's contents come from a fixed rule (want_value), so any
 * provider, opened fresh, can be checked against any version.
 */
#include "checkpoint/storage.h"
#include "format/meta.h"
#include "harness.h"
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 400u
#define CHANGES 60u

#define SST "rocksdb.changelog_checkpointing=false"
#define CHANGELOG "rocksdb.changelog_checkpointing=true"

/* The value of slot i at version v (NULL = absent): version w touches 60
 * slots, removing every fifth it touches. */
static const char *
want_value(char *buf, size_t len, unsigned i, uint64_t v)
{
    uint64_t w, last = 0;
    unsigned j;

    for (w = 1; w <= v; w++)
        for (j = 0; j < CHANGES; j++)
            if ((w * 37 + j * 11) % SLOTS == i)
                last = j % 5 == 4 ? 0 : w;
    if (!last)
        return NULL;
    snprintf(buf, len, "slot-%u-written-at-%" PRIu64 "-padding-padding", i,
             last);
    return buf;
}

static void
commit_version(ss_test *t, ss_provider *p, uint64_t v)
{
    ss_store *s = ss_test_load(t, p, v - 1);
    char key[32];
    unsigned j, i;
    uint64_t got;

    for (j = 0; j < CHANGES; j++) {
        i = (unsigned)((v * 37 + j * 11) % SLOTS);
        snprintf(key, sizeof(key), "slot-%05u", i);
        if (j % 5 == 4) {
            SS_CHECK_OK(ss_store_remove(s, SS_CF_DEFAULT,
                                        ss_test_slice(key, strlen(key))));
        } else {
            char val[96];

            snprintf(val, sizeof(val),
                     "slot-%u-written-at-%" PRIu64 "-padding-padding", i, v);
            SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT,
                                     ss_test_slice(key, strlen(key)),
                                     ss_test_slice(val, strlen(val))));
        }
    }
    SS_CHECK_OK(ss_store_commit(&got, s));
    SS_CHECK_EQ_U64(got, v);
    ss_store_free(s);
}

/* Version v, read-only from p, equals the rule: every slot and the
 * number of keys. */
static void
check_version(ss_test *t, ss_provider *p, uint64_t v)
{
    ss_store *s = ss_test_load_ro(t, p, v);
    char key[32], buf[96];
    const char *want;
    ss_slice got;
    uint64_t n_want = 0, n_got = 0;
    ss_iter *it;
    unsigned i;
    int rc;

    ss_test_context(t, "version %" PRIu64, v);
    for (i = 0; i < SLOTS; i++) {
        snprintf(key, sizeof(key), "slot-%05u", i);
        want = want_value(buf, sizeof(buf), i, v);
        rc = ss_store_get(&got, s, SS_CF_DEFAULT,
                          ss_test_slice(key, strlen(key)));
        if (want) {
            SS_CHECK_OK(rc);
            SS_CHECK_EQ_SLICE(got, ss_test_slice(want, strlen(want)));
            n_want++;
        } else {
            SS_CHECK_RC(SS_ENOTFOUND, rc);
        }
    }
    SS_CHECK_OK(ss_store_iter(&it, s, SS_CF_DEFAULT));
    while ((rc = ss_iter_next(it, NULL, NULL)) == 0)
        n_got++;
    ss_iter_free(it);
    SS_CHECK_RC(SS_EDONE, rc);
    SS_CHECK_EQ_U64(n_got, n_want);
    ss_store_free(s);
    ss_test_context(t, "%s", "");
}

static int
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Every sst-* object in dir, and every object the metas in dir list:
 * each listed object present, and (after maintenance) nothing else. */
static void
check_objects(ss_test *t, const char *dir, int expect_no_garbage,
              size_t *objects_out)
{
    ss_storage *st;
    ss_namelist names;
    ss_meta m;
    size_t i, j, k, listed_hits;
    uint64_t v;
    char *end;
    int found, listed;

    SS_CHECK_OK(ss_local_fs_open(&st, dir));
    SS_CHECK_OK(st->list(&names, st));
    *objects_out = 0;
    for (i = 0; i < names.count; i++) {
        if (!strstr(names.names[i], ".meta"))
            continue;
        v = strtoull(names.names[i], &end, 10);
        SS_CHECK(strcmp(end, ".meta") == 0);
        SS_CHECK_OK(ss_meta_read(&m, st, v));
        for (j = 0; j < m.n_files; j++) {
            if (!m.files[j].object[0])
                continue;
            found = 0;
            for (k = 0; k < names.count; k++)
                found |= strcmp(names.names[k], m.files[j].object) == 0;
            ss_test_context(t, "%s lists %s", names.names[i],
                            m.files[j].object);
            SS_CHECK(found);
        }
        ss_meta_free(&m);
    }
    ss_test_context(t, "%s", "");
    for (i = 0; i < names.count; i++) {
        if (!starts_with(names.names[i], SS_META_OBJECT_PREFIX))
            continue;
        (*objects_out)++;
        if (!expect_no_garbage)
            continue;
        listed = 0;
        for (k = 0; k < names.count && !listed; k++) {
            if (!strstr(names.names[k], ".meta"))
                continue;
            v = strtoull(names.names[k], &end, 10);
            SS_CHECK_OK(ss_meta_read(&m, st, v));
            for (listed_hits = 0, j = 0; j < m.n_files; j++)
                listed_hits += strcmp(m.files[j].object, names.names[i]) == 0;
            listed = listed_hits > 0;
            ss_meta_free(&m);
        }
        ss_test_context(t, "object %s", names.names[i]);
        SS_CHECK(listed); /* no object leaks once no meta lists it */
    }
    ss_test_context(t, "%s", "");
    ss_namelist_free(&names);
    st->free(st);
}

static void
test_sst__objects_shared_and_collected(ss_test *t)
{
    ss_provider *p =
        ss_test_open(t, "provider=rocksdb", SST, "min_versions_to_retain=3");
    ss_metrics m;
    size_t objects = 0;
    ss_store *s;
    uint64_t v;

    for (v = 1; v <= 16; v++) {
        commit_version(t, p, v);
        check_objects(t, t->dir, 0, &objects);
        SS_CHECK_OK(ss_provider_maintenance(p));
        check_objects(t, t->dir, 1, &objects);
    }
    m = get_metrics(t, p);
    /* Each commit flushes one new SST; older ones are listed again. */
    SS_CHECK(m.objects_uploaded >= 16);
    SS_CHECK(m.objects_reused > 0);
    /* RocksDB compacts level-0 files, so old objects become garbage. */
    SS_CHECK(m.objects_deleted > 0);
    SS_CHECK(m.sst_bytes > 0);
    SS_CHECK(objects > 0);
    printf("sst: 16 versions, %" PRIu64 " objects uploaded, %" PRIu64
           " reused, %" PRIu64 " collected, %zu present\n",
           m.objects_uploaded, m.objects_reused, m.objects_deleted, objects);
    ss_test_close(t, p);

    /* Retained versions load on a fresh provider (fresh working dir);
     * older ones are gone. */
    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 14; v <= 16; v++)
        check_version(t, p, v);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load_readonly(&s, p, 2));
}

/* Commits while a background thread runs maintenance every millisecond:
 * no object a version needs is ever collected. */
static void
test_sst__background_collection(ss_test *t)
{
    ss_provider *p =
        ss_test_open(t, "provider=rocksdb", SST, "min_versions_to_retain=2",
                     "maintenance_interval_ms=1");
    ss_metrics m;
    size_t objects;
    uint64_t v;

    for (v = 1; v <= 24; v++)
        commit_version(t, p, v);
    m = get_metrics(t, p);
    SS_CHECK_EQ_U64(m.maintenance_errors, 0);
    ss_test_close(t, p);
    check_objects(t, t->dir, 0, &objects);
    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 23; v <= 24; v++)
        check_version(t, p, v);
}

static void
test_sst__mode_switch_both_ways(ss_test *t)
{
    ss_provider *p;
    ss_store *s;
    uint64_t v;

    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 1; v <= 3; v++)
        commit_version(t, p, v);
    ss_test_close(t, p);
    /* Changelog on top of a meta: 4..6 are deltas over 3.meta. */
    p = ss_test_open(t, "provider=rocksdb", CHANGELOG,
                     "min_deltas_for_snapshot=1");
    for (v = 4; v <= 6; v++)
        commit_version(t, p, v);
    SS_CHECK_OK(ss_provider_maintenance(p));
    ss_test_close(t, p);
    /* And back: 7..8 are metas again, over a chain of deltas. */
    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 7; v <= 8; v++)
        commit_version(t, p, v);
    ss_test_close(t, p);

    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 1; v <= 8; v++)
        check_version(t, p, v);
    ss_test_close(t, p);
    p = ss_test_open(t, "provider=rocksdb", CHANGELOG);
    for (v = 1; v <= 8; v++)
        check_version(t, p, v);
    /* The next batch of a changelog provider over 8.meta. */
    commit_version(t, p, 9);
    ss_test_close(t, p);
    p = ss_test_open(t, "provider=rocksdb", SST);
    check_version(t, p, 9);
    ss_test_close(t, p);

    /* The memory provider reads deltas and snapshots, not RocksDB files:
     * a version based on a meta is refused by name. */
    p = ss_test_open(t, "provider=memory");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_load_readonly(&s, p, 5), "3.meta");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_load_readonly(&s, p, 5),
                     "provider=rocksdb");
}

/* The memory provider's files, continued in SST mode, and back. */
static void
test_sst__from_memory_files(ss_test *t)
{
    ss_provider *p;
    uint64_t v;

    p = ss_test_open(t, "provider=memory");
    for (v = 1; v <= 3; v++)
        commit_version(t, p, v);
    ss_test_close(t, p);
    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 4; v <= 5; v++)
        commit_version(t, p, v);
    ss_test_close(t, p);
    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 1; v <= 5; v++)
        check_version(t, p, v);
    ss_test_close(t, p);
    p = ss_test_open(t, "provider=memory");
    for (v = 1; v <= 3; v++)
        check_version(t, p, v);
}

static void
test_sst__empty_working_dir_and_instant_next(ss_test *t)
{
    char work[1024], opt[1100];
    ss_metrics m;
    ss_provider *p;
    ss_store *s;
    uint64_t v, from_files;

    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 1; v <= 4; v++)
        commit_version(t, p, v);
    m = get_metrics(t, p);
    /* Each next batch was served by the instance itself. */
    SS_CHECK(m.loads_from_memory >= 3);
    from_files = m.loads_from_files;
    s = ss_test_load(t, p, 4);
    ss_store_free(s);
    m = get_metrics(t, p);
    SS_CHECK_EQ_U64(m.loads_from_files, from_files);
    ss_test_close(t, p);

    /* A given, empty working directory: everything comes from the
     * checkpoint. */
    snprintf(opt, sizeof(opt), "rocksdb.local_dir=%s",
             ss_test_subdir(t, work, sizeof(work)));
    p = ss_test_open(t, "provider=rocksdb", SST, opt);
    s = ss_test_load(t, p, 4);
    ss_store_free(s);
    m = get_metrics(t, p);
    SS_CHECK_EQ_U64(m.loads_from_files, 1);
    check_version(t, p, 4);
    commit_version(t, p, 5);
    ss_test_close(t, p);
    p = ss_test_open(t, "provider=rocksdb", SST);
    check_version(t, p, 5);
}

/* Version v's key count after a fresh load equals the rule's. */
static void
test_sst__num_keys_after_download(ss_test *t)
{
    ss_metrics m;
    ss_provider *p;
    ss_store *s;
    char buf[96];
    uint64_t v, want = 0;
    unsigned i;

    p = ss_test_open(t, "provider=rocksdb", SST);
    for (v = 1; v <= 3; v++)
        commit_version(t, p, v);
    ss_test_close(t, p);
    for (i = 0; i < SLOTS; i++)
        want += want_value(buf, sizeof(buf), i, 3) != NULL;
    p = ss_test_open(t, "provider=rocksdb", SST);
    s = ss_test_load(t, p, 3);
    m = get_metrics(t, p);
    SS_CHECK_EQ_U64(m.num_keys, want);
    ss_store_free(s);
}

/* rocksdb.track_num_keys=false: commits skip the prior-state reads;
 * contents stay exact in both modes, and num_keys is RocksDB's estimate. */
static void
test_sst__untracked_num_keys(ss_test *t)
{
    static const char *const modes[] = {SST, CHANGELOG};
    char dir[1024];
    ss_provider *p;
    ss_metrics m;
    unsigned i;
    uint64_t v;

    for (i = 0; i < 2; i++) {
        ss_test_subdir(t, dir, sizeof(dir));
        p = ss_test_open_at(t, dir, "provider=rocksdb", modes[i],
                            "rocksdb.track_num_keys=false");
        for (v = 1; v <= 6; v++)
            commit_version(t, p, v);
        m = get_metrics(t, p);
        SS_CHECK(m.num_keys > 0);
        /* Every touched key is written, removes of absent keys too. */
        SS_CHECK_EQ_U64(m.commit_records, CHANGES);
        ss_test_close(t, p);
        p = ss_test_open_at(t, dir, "provider=rocksdb", modes[i],
                            "rocksdb.track_num_keys=false");
        for (v = 1; v <= 6; v++)
            check_version(t, p, v);
        ss_test_close(t, p);
    }
}

/* --------------------------------------------------------- corruption */

static void
first_object(ss_test *t, char *path, size_t len)
{
    DIR *d = opendir(t->dir);
    struct dirent *e;

    SS_CHECK(d != NULL);
    path[0] = '\0';
    while ((e = readdir(d)) != NULL)
        if (starts_with(e->d_name, SS_META_OBJECT_PREFIX) && !path[0]) {
            size_t dl = strlen(t->dir), nl = strlen(e->d_name);

            SS_CHECK(dl + nl + 2 <= len);
            memcpy(path, t->dir, dl);
            path[dl] = '/';
            memcpy(path + dl + 1, e->d_name, nl + 1);
        }
    closedir(d);
    SS_CHECK(path[0] != '\0');
}

static void
write_sst_versions(ss_test *t)
{
    ss_provider *p = ss_test_open(t, "provider=rocksdb", SST);

    commit_version(t, p, 1);
    ss_test_close(t, p);
}

static void
test_sst__corrupt_object_refused(ss_test *t)
{
    char path[1200];
    unsigned char *data;
    size_t len, at;
    ss_provider *p;
    ss_store *s;
    const char *name;

    write_sst_versions(t);
    first_object(t, path, sizeof(path));
    name = strrchr(path, '/') + 1;
    data = ss_test_read_file(t, path, &len);
    SS_CHECK(len > 100);
    /* A flipped byte anywhere in the object, at a few places. */
    for (at = 0; at < len; at += len / 7 + 1) {
        data[at] ^= 0x20;
        ss_test_write_file(t, path, data, len);
        p = ss_test_open(t, "provider=rocksdb", SST);
        ss_test_context(t, "byte %zu of %s flipped", at, name);
        SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_provider_load_readonly(&s, p, 1),
                         name);
        ss_test_close(t, p);
        data[at] ^= 0x20;
    }
    /* Truncated. */
    ss_test_write_file(t, path, data, len / 2);
    p = ss_test_open(t, "provider=rocksdb", SST);
    SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_provider_load_readonly(&s, p, 1), name);
    ss_test_close(t, p);
    /* Missing. */
    SS_CHECK(remove(path) == 0);
    p = ss_test_open(t, "provider=rocksdb", SST);
    SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_provider_load_readonly(&s, p, 1),
                     "is missing");
    ss_test_close(t, p);
    /* Restored, it loads again. */
    ss_test_write_file(t, path, data, len);
    p = ss_test_open(t, "provider=rocksdb", SST);
    check_version(t, p, 1);
    free(data);
}

static void
test_sst__corrupt_meta_refused(ss_test *t)
{
    char path[1200];
    unsigned char *data;
    size_t len, at;
    ss_provider *p;
    ss_store *s;
    int rc;

    write_sst_versions(t);
    snprintf(path, sizeof(path), "%s/1.meta", t->dir);
    data = ss_test_read_file(t, path, &len);
    for (at = 0; at < len; at += len / 23 + 1) {
        data[at] ^= 0x01;
        ss_test_write_file(t, path, data, len);
        p = ss_test_open(t, "provider=rocksdb", SST);
        ss_test_context(t, "byte %zu of 1.meta flipped", at);
        rc = ss_provider_load_readonly(&s, p, 1);
        SS_CHECK(rc == SS_ECORRUPT || rc == SS_EVERSION);
        SS_CHECK(strstr(ss_error_last(), "1.meta") != NULL);
        ss_test_close(t, p);
        data[at] ^= 0x01;
    }
    ss_test_context(t, "%s", "");
    ss_test_write_file(t, path, data, len - 1);
    p = ss_test_open(t, "provider=rocksdb", SST);
    SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_provider_load_readonly(&s, p, 1),
                     "1.meta");
    free(data);
}

static const ss_test_case tests[] = {
    SS_TEST_ONCE(sst, objects_shared_and_collected),
    SS_TEST_ONCE(sst, background_collection),
    SS_TEST_ONCE(sst, mode_switch_both_ways),
    SS_TEST_ONCE(sst, from_memory_files),
    SS_TEST_ONCE(sst, empty_working_dir_and_instant_next),
    SS_TEST_ONCE(sst, num_keys_after_download),
    SS_TEST_ONCE(sst, untracked_num_keys),
    SS_TEST_ONCE(sst, corrupt_object_refused),
    SS_TEST_ONCE(sst, corrupt_meta_refused),
    SS_TEST_END};
SS_TEST_MAIN(tests)
