/*
 * fault_walk.c -- every fault point of commit, load and maintenance
 * (issue 4; DESIGN.md invariants 1 and 2).
 *
 * For each provider config and each fault mode (checkpoint/fault.h: EIO
 * on any call, ENOSPC on a mutating call, a short write, a crash right
 * after a mutating call), fail call N = 1, 2, 3, ... of the operation
 * until it runs unfaulted, each time on a fresh copy of a prepared
 * checkpoint.  After each fault:
 *   1. the call reported an error, unless the faulted call cannot make
 *      the result wrong (close of a file only read, a short write the
 *      writer completes, a crash after the operation's last call); a
 *      commit that failed leaves its provider SS_EFATAL;
 *   2. a fresh provider (faults off, the "restarted process") finds the
 *      old version or the new one as the newest, and loads it exactly
 *      (never a mix), and the new one if the call reported success;
 *   3. every version within min_versions_to_retain of the newest loads
 *      exactly; an older one either loads exactly or is gone;
 *   4. no file outside the checkpoint folder was created, renamed or
 *      deleted (the fault layer checks every mutating call's path), and
 *      the sibling files of the folder are unchanged;
 *   5. the fresh provider can commit on top and run maintenance.
 * A load must also leave the checkpoint folder byte for byte unchanged.
 * A read view of the commit's base, open across the batch and the
 * faulted commit, reads the base exactly afterwards.
 * The number of fault points walked is printed per provider and mode.
 *
 * The families walk (commit_families_every_point) does the same on a
 * checkpoint with families created mid-batch (format/frame.h, FAMILIES)
 * and a walked commit that drops one, drops and creates another again,
 * and creates a third; after each fault the newest version and the one
 * below must also have exactly their family sets and contents.
 */
#define _XOPEN_SOURCE 700

#include "checkpoint/fault.h"
#include "harness.h"
#include "model.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETAIN 3u
#define MAX_POINTS 5000u

typedef struct walk_mode {
    int mode;
    unsigned mask;
} walk_mode;

/* EIO anywhere; ENOSPC and crashes where they can happen: calls that
 * change the filesystem; short writes on writes. */
static const walk_mode mutating_modes[] = {
    {SS_FAULT_EIO, SS_FAULT_ALL},
    {SS_FAULT_ENOSPC, SS_FAULT_MUTATING},
    {SS_FAULT_SHORT, SS_FAULT_BIT(SS_FAULT_WRITE)},
    {SS_FAULT_CRASH, SS_FAULT_MUTATING},
};

#define MAX_FILES 256

typedef struct walk {
    /* The prepared checkpoint's files and their FNV-1a hashes. */
    char *names[MAX_FILES];
    uint64_t hashes[MAX_FILES];
    size_t n_files;
    unsigned n_verified; /* fault points verified so far */
    char golden[SS_TEST_PATH_MAX + 32];
    char ck[SS_TEST_PATH_MAX + 32];
    char sentinel[SS_TEST_PATH_MAX + 32];
    uint64_t sentinel_fp;
    unsigned points;
} walk;

/* Set while the families walk runs (prepare, commit_version and
 * verify_after then do its family work and checks). */
static int families_walk;

static void
test_fault__cleanup(ss_test *t)
{
    (void)t;
    families_walk = 0;
    ss_fault_disarm();
    ss_fault_set_root(NULL);
}

static ss_provider *
open_at(ss_test *t, const char *dir, unsigned *ord)
{
    ss_provider *p =
        ss_test_open_at(t, dir, "min_deltas_for_snapshot=3",
                        "min_versions_to_retain=3", "block_size=4096");

    SS_CHECK_OK(ss_provider_cf(ord, p, "ord", SS_CF_ORDERED));
    return p;
}

static void
check_exact(ss_test *t, ss_store *s, unsigned ord, uint64_t version)
{
    char why[512];

    if (model_compare(s, ord, version, why, sizeof(why)) < 0)
        SS_FAIL("wrong contents: %s", why);
}

/* The families walk: "fam" made at v3 with 20 keys, "gone" at v7 with 5;
 * batch 9 drops "fam", drops "gone" and creates it again with one key,
 * and creates "new" with one key.  Versions above 9 keep 9's families. */
static void
fam_batch(ss_test *t, ss_store *s, uint64_t v)
{
    char key[16];
    unsigned id, i;

    if (v == 3 || v == 7) {
        SS_CHECK_OK(ss_store_cf_create(&id, s, v == 3 ? "fam" : "gone", 0));
        for (i = 0; i < (v == 3 ? 20u : 5u); i++) {
            snprintf(key, sizeof(key), "f%02u", i);
            SS_CHECK_OK(ss_store_put(s, id, SS_STR(key), SS_STR(key)));
        }
    } else if (v == 9) {
        SS_CHECK_OK(ss_store_cf_create(&id, s, "fam", 0)); /* its id */
        SS_CHECK_OK(ss_store_cf_drop(s, id));
        SS_CHECK_OK(ss_store_cf_create(&id, s, "gone", 0));
        SS_CHECK_OK(ss_store_cf_drop(s, id));
        SS_CHECK_OK(ss_store_cf_create(&id, s, "gone", 0));
        SS_CHECK_OK(ss_store_put(s, id, SS_STR("g"), SS_STR("9")));
        SS_CHECK_OK(ss_store_cf_create(&id, s, "new", 0));
        SS_CHECK_OK(ss_store_put(s, id, SS_STR("n"), SS_STR("9")));
    }
}

/* s (version v of the families walk) has exactly v's families. */
static void
fam_check(ss_test *t, ss_store *s, uint64_t v)
{
    ss_cf_info info[8];
    ss_iter *it;
    size_t want_keys;
    int n, i, j;
    const char *want[3];
    int n_want = 0;

    if (v >= 3 && v <= 8)
        want[n_want++] = "fam";
    if (v >= 7)
        want[n_want++] = "gone";
    if (v >= 9)
        want[n_want++] = "new";
    n = ss_store_cf_list(info, 8, s);
    if (n != 2 + n_want)
        SS_FAIL("version %" PRIu64 " has %d families, expected %d", v, n,
                2 + n_want);
    for (j = 0; j < n_want; j++) {
        for (i = 0; i < n && strcmp(info[i].name, want[j]) != 0; i++)
            ;
        if (i == n)
            SS_FAIL("version %" PRIu64 " lacks family %s", v, want[j]);
        want_keys = strcmp(want[j], "fam") == 0 ? 20 : v >= 9 ? 1 : 5;
        SS_CHECK_OK(ss_store_iter(&it, s, info[i].id));
        SS_CHECK_EQ_U64(drain_count(t, it), want_keys);
    }
}

/* Commit version v on p (loaded fresh or from memory at v - 1). */
static void
commit_version(ss_test *t, ss_provider *p, unsigned ord, uint64_t v)
{
    ss_store *s = ss_test_load(t, p, v - 1);

    SS_CHECK_OK(model_apply(s, ord, v));
    if (families_walk)
        fam_batch(t, s, v);
    SS_CHECK_EQ_U64(commit_store(t, s), v);
    ss_store_free(s);
}

static uint64_t
file_hash(ss_test *t, const char *path)
{
    uint64_t h = 0xcbf29ce484222325u;
    unsigned char *data;
    size_t len, i;

    data = ss_test_read_file(t, path, &len);
    for (i = 0; i < len; i++)
        h = (h ^ data[i]) * 0x100000001b3u;
    free(data);
    return h;
}

static void
record_golden(ss_test *t, walk *w)
{
    char path[SS_TEST_PATH_MAX + 300];
    struct dirent *e;
    DIR *d = opendir(w->golden);

    SS_CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        SS_CHECK(w->n_files < MAX_FILES);
        snprintf(path, sizeof(path), "%s/%s", w->golden, e->d_name);
        w->names[w->n_files] = strdup(e->d_name);
        SS_CHECK(w->names[w->n_files] != NULL);
        w->hashes[w->n_files++] = file_hash(t, path);
    }
    closedir(d);
    SS_CHECK(w->n_files > 0);
}

static void
walk_free(walk *w)
{
    size_t i;

    for (i = 0; i < w->n_files; i++)
        free(w->names[i]);
    w->n_files = 0;
}

/* Files of older versions are never rewritten in place; only
 * maintenance may delete them. */
static void
check_old_files(ss_test *t, walk *w, int may_delete)
{
    char path[SS_TEST_PATH_MAX + 300];
    size_t i;

    for (i = 0; i < w->n_files; i++) {
        snprintf(path, sizeof(path), "%s/%s", w->ck, w->names[i]);
        if (!ss_test_file_exists(path)) {
            if (!may_delete)
                SS_FAIL("%s was deleted", path);
            continue;
        }
        if (file_hash(t, path) != w->hashes[i])
            SS_FAIL("%s was changed in place", path);
    }
}

/* The checkpoint every walk starts from: versions 1..4, a snapshot at 4
 * written by maintenance, then versions 5..8 (so loading 8 reads a
 * snapshot and deltas, and maintenance has a snapshot to write and
 * files to delete). */
static void
prepare(ss_test *t, walk *w)
{
    ss_provider *p;
    unsigned ord;
    uint64_t v;

    memset(w, 0, sizeof(*w));
    snprintf(w->golden, sizeof(w->golden), "%s/golden", t->dir);
    snprintf(w->ck, sizeof(w->ck), "%s/ck", t->dir);
    snprintf(w->sentinel, sizeof(w->sentinel), "%s/outside", t->dir);
    SS_CHECK(mkdir(w->sentinel, 0755) == 0);
    snprintf(w->sentinel + strlen(w->sentinel),
             sizeof(w->sentinel) - strlen(w->sentinel), "/%s", "data");
    ss_test_write_file(t, w->sentinel, "do not touch", 12);
    *strrchr(w->sentinel, '/') = '\0';
    w->sentinel_fp = model_dir_fingerprint(t, w->sentinel);
    p = open_at(t, w->golden, &ord);
    for (v = 1; v <= 8; v++) {
        commit_version(t, p, ord, v);
        if (v == 4)
            SS_CHECK_OK(ss_provider_maintenance(p));
    }
    ss_test_close(t, p);
    record_golden(t, w);
}

static void
fresh_copy(ss_test *t, walk *w)
{
    model_rm_tree(w->ck);
    model_copy_dir(t, w->golden, w->ck);
}

/* Checks 2-5 after a fault; `old_v`/`new_v` the versions the operation
 * went from and to (equal for maintenance), `ok` whether it reported
 * success.  Every fault point gets the file-level check and loads of the
 * retained versions; every FULL_EVERY-th point (and the unfaulted run)
 * also loads every older version and reopens after the commit on top
 * (rocksdb builds a local database per load: this keeps the walk near a
 * few seconds per provider). */
#define FULL_EVERY 4u

static void
verify_after(ss_test *t, walk *w, uint64_t old_v, uint64_t new_v, int ok,
             int may_delete)
{
    int full = w->n_verified++ % FULL_EVERY == 0 || ok;
    ss_fault_info fi;
    ss_provider *p;
    ss_store *s = NULL;
    uint64_t latest = 0, v;
    unsigned ord;
    int rc;

    ss_fault_get(&fi);
    if (fi.outside[0])
        SS_FAIL("a file outside the checkpoint folder changed: %s", fi.outside);
    SS_CHECK_EQ_U64(model_dir_fingerprint(t, w->sentinel), w->sentinel_fp);
    check_old_files(t, w, may_delete);

    p = open_at(t, w->ck, &ord);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    if (families_walk && latest >= 2) { /* the families walk */
        s = ss_test_load_ro(t, p, latest);
        fam_check(t, s, latest);
        ss_store_free(s);
        s = ss_test_load_ro(t, p, latest - 1);
        fam_check(t, s, latest - 1);
        ss_store_free(s);
        s = NULL;
    }
    if (latest != old_v && latest != new_v)
        SS_FAIL("newest version is %" PRIu64 ", expected %" PRIu64
                " or %" PRIu64,
                latest, old_v, new_v);
    if (ok && latest != new_v)
        SS_FAIL("the operation reported success but the newest version "
                "is %" PRIu64 ", not %" PRIu64,
                latest, new_v);
    for (v = latest - 1; v >= 1; v--) {
        if (v + RETAIN <= latest && !full)
            break;
        rc = ss_provider_load_readonly(&s, p, v);
        if (v + RETAIN > latest) {
            if (rc != 0)
                SS_FAIL("retained version %" PRIu64 " does not load: %d %s", v,
                        rc, ss_error_last());
        } else if (rc == SS_ENOTFOUND) {
            /* Past retention: gone whole (retention deletes newest
             * first), never half. */
            continue;
        } else if (rc != 0) {
            SS_FAIL("version %" PRIu64 " past retention: %d %s", v, rc,
                    ss_error_last());
        }
        check_exact(t, s, ord, v);
        ss_store_free(s);
        s = NULL;
    }
    /* The newest, writable; then life goes on: commit on top and run
     * maintenance. */
    s = ss_test_load(t, p, latest);
    check_exact(t, s, ord, latest);
    SS_CHECK_OK(model_apply(s, ord, latest + 1));
    SS_CHECK_EQ_U64(commit_store(t, s), latest + 1);
    ss_store_free(s);
    SS_CHECK_OK(ss_provider_maintenance(p));
    ss_test_close(t, p);
    if (!full)
        return;
    p = open_at(t, w->ck, &ord);
    s = ss_test_load(t, p, latest + 1);
    check_exact(t, s, ord, latest + 1);
    ss_store_free(s);
    ss_test_close(t, p);
}

/* May the operation succeed although call `fi` was faulted? */
static int
harmless(const ss_fault_info *fi, int mode)
{
    if (mode == SS_FAULT_SHORT)
        return 1; /* a short write is no error; the writer must go on */
    if (mode == SS_FAULT_CRASH) /* died after the last call that counts */
        return fi->dead_refused_other == 0;
    return fi->call == SS_FAULT_CLOSE && !fi->on_written_fd;
}

static void
note_point(ss_test *t, const ss_fault_info *fi, const char *op,
           const walk_mode *m, uint64_t n)
{
    ss_test_context(t, "%s, %s at call %" PRIu64 " (%s %s)", op,
                    ss_fault_mode_name(m->mode), n,
                    ss_fault_call_name(fi->call), fi->path);
}

static void
report(ss_test *t, const char *op, const walk_mode *m, unsigned points)
{
    printf("fault walk [%s] %s, %s: %u fault points\n", t->provider->name, op,
           ss_fault_mode_name(m->mode), points);
    fflush(stdout);
}

/* ------------------------------------------------------------- commit */

static unsigned
walk_commit(ss_test *t, walk *w, const walk_mode *m)
{
    ss_fault_info fi;
    ss_provider *p;
    ss_store *s, *s2 = NULL, *view;
    unsigned ord, points = 0;
    uint64_t n, nv = 0;
    int rc;

    for (n = 1; n <= MAX_POINTS; n++) {
        fresh_copy(t, w);
        p = open_at(t, w->ck, &ord);
        s = ss_test_load(t, p, 8);
        /* A read view of 8, open across the batch and its commit: it
         * reads 8 whatever the commit did (ss_provider_load_view). */
        view = NULL;
        SS_CHECK_OK(ss_provider_load_view(&view, p, 8));
        SS_CHECK_OK(model_apply(s, ord, 9));
        if (families_walk)
            fam_batch(t, s, 9);
        ss_error_clear();
        ss_fault_arm(m->mask, n, m->mode);
        rc = ss_store_commit(&nv, s);
        ss_fault_get(&fi);
        note_point(t, &fi, "commit", m, n);
        if (!fi.fired) {
            ss_fault_disarm();
            SS_CHECK_OK(rc);
            SS_CHECK_EQ_U64(nv, 9);
            ss_store_free(s);
            check_exact(t, view, ord, 8);
            ss_test_close(t, p);
            verify_after(t, w, 8, 9, 1, 0);
            break;
        }
        points++;
        if (rc == 0 && !harmless(&fi, m->mode))
            SS_FAIL("commit reported success although %s failed (%s)",
                    ss_fault_call_name(fi.dead ? fi.first_refused : fi.call),
                    fi.dead ? "refused after the crash" : "faulted");
        ss_store_free(s);
        if (rc < 0) {
            SS_CHECK(ss_error_last()[0] != '\0');
            SS_CHECK(rc == SS_EIO);
            /* statestore.h: the provider is SS_EFATAL until reopened. */
            SS_CHECK_ERR(SS_EFATAL, ss_provider_load(&s2, p, 8));
        }
        ss_fault_disarm();
        check_exact(t, view, ord, 8); /* the provider closes it */
        ss_test_close(t, p);          /* still "dead" in crash mode */
        ss_fault_disarm();
        verify_after(t, w, 8, 9, rc == 0, 0);
    }
    ss_test_context(t, "%s", "");
    SS_CHECK(n <= MAX_POINTS);
    report(t, "commit", m, points);
    return points;
}

static void
test_fault__commit_every_point(ss_test *t)
{
    walk w;
    unsigned total = 0;
    size_t i;

    prepare(t, &w);
    ss_fault_set_root(w.ck);
    for (i = 0; i < sizeof(mutating_modes) / sizeof(mutating_modes[0]); i++)
        total += walk_commit(t, &w, &mutating_modes[i]);
    walk_free(&w);
    printf("fault walk [%s] commit: %u fault points in all\n",
           t->provider->name, total);
    SS_CHECK(total > 0);
}

/* Commit with family creates and drops. */
static void
test_fault__commit_families_every_point(ss_test *t)
{
    walk w;
    unsigned total = 0;

    families_walk = 1;
    prepare(t, &w);
    ss_fault_set_root(w.ck);
    /* EIO at every call and a crash after every mutating one: the other
     * modes fail the same calls (the plain walk covers them). */
    total += walk_commit(t, &w, &mutating_modes[0]);
    total += walk_commit(t, &w, &mutating_modes[3]);
    walk_free(&w);
    families_walk = 0;
    printf("fault walk [%s] commit with families: %u fault points in all\n",
           t->provider->name, total);
    SS_CHECK(total > 0);
}

/* -------------------------------------------------------- maintenance */

static unsigned
walk_maintenance(ss_test *t, walk *w, const walk_mode *m)
{
    ss_fault_info fi;
    ss_provider *p;
    unsigned ord, points = 0;
    uint64_t n;
    int rc;

    for (n = 1; n <= MAX_POINTS; n++) {
        fresh_copy(t, w);
        p = open_at(t, w->ck, &ord);
        /* Only the current writer deletes (delta_log.h invariant 5):
         * take the epoch as the writer process would, then walk its
         * maintenance. */
        ss_store_free(ss_test_load(t, p, 8));
        ss_error_clear();
        ss_fault_arm(m->mask, n, m->mode);
        rc = ss_provider_maintenance(p);
        ss_fault_get(&fi);
        note_point(t, &fi, "maintenance", m, n);
        if (!fi.fired) {
            ss_fault_disarm();
            SS_CHECK_OK(rc);
            ss_test_close(t, p);
            verify_after(t, w, 8, 8, 1, 1);
            break;
        }
        points++;
        if (rc == 0 && !harmless(&fi, m->mode))
            SS_FAIL("maintenance reported success although %s failed (%s)",
                    ss_fault_call_name(fi.dead ? fi.first_refused : fi.call),
                    fi.dead ? "refused after the crash" : "faulted");
        if (rc < 0)
            SS_CHECK(ss_error_last()[0] != '\0');
        ss_test_close(t, p);
        ss_fault_disarm();
        verify_after(t, w, 8, 8, rc == 0, 1);
    }
    ss_test_context(t, "%s", "");
    SS_CHECK(n <= MAX_POINTS);
    report(t, "maintenance", m, points);
    return points;
}

static void
test_fault__maintenance_every_point(ss_test *t)
{
    walk w;
    unsigned total = 0;
    size_t i;

    prepare(t, &w);
    ss_fault_set_root(w.ck);
    for (i = 0; i < sizeof(mutating_modes) / sizeof(mutating_modes[0]); i++)
        total += walk_maintenance(t, &w, &mutating_modes[i]);
    walk_free(&w);
    printf("fault walk [%s] maintenance: %u fault points in all\n",
           t->provider->name, total);
    SS_CHECK(total > 0);
}

/* --------------------------------------------------------------- load */

/* Load `version` (read-only or writable) with call N failing, N = 1...;
 * a load writes no version file (a writable one takes a writer epoch,
 * writer-<E>, which the fingerprint leaves out), so the versions must
 * not change at all. */
static unsigned
walk_load(ss_test *t, walk *w, uint64_t version, int readonly)
{
    static const walk_mode m = {SS_FAULT_EIO, SS_FAULT_ALL};
    const char *op = readonly ? "load_readonly" : "load";
    uint64_t fp = model_dir_fingerprint_ex(t, w->ck, 1), n;
    ss_fault_info fi;
    ss_provider *p;
    ss_store *s;
    unsigned ord, points = 0;
    int rc;

    for (n = 1; n <= MAX_POINTS; n++) {
        p = open_at(t, w->ck, &ord);
        s = NULL;
        ss_error_clear();
        ss_fault_arm(m.mask, n, m.mode);
        rc = readonly ? ss_provider_load_readonly(&s, p, version)
                      : ss_provider_load(&s, p, version);
        ss_fault_get(&fi);
        ss_fault_disarm();
        note_point(t, &fi, op, &m, n);
        if (fi.fired)
            points++;
        if (rc == 0 && fi.fired && !harmless(&fi, m.mode))
            SS_FAIL("%s reported success although %s failed", op,
                    ss_fault_call_name(fi.call));
        if (rc == 0) {
            check_exact(t, s, ord, version);
            ss_store_free(s);
        } else {
            SS_CHECK(s == NULL);
            SS_CHECK(ss_error_last()[0] != '\0');
        }
        ss_test_close(t, p);
        if (fi.outside[0])
            SS_FAIL("load changed %s", fi.outside);
        SS_CHECK_EQ_U64(model_dir_fingerprint_ex(t, w->ck, 1), fp);
        if (!fi.fired) {
            SS_CHECK_OK(rc);
            break;
        }
    }
    ss_test_context(t, "%s", "");
    SS_CHECK(n <= MAX_POINTS);
    report(t, op, &m, points);
    return points;
}

static void
test_fault__load_every_point(ss_test *t)
{
    walk w;
    unsigned total = 0;

    prepare(t, &w);
    fresh_copy(t, &w);
    ss_fault_set_root(w.ck);
    total += walk_load(t, &w, 8, 0); /* 4.snapshot + deltas 5..8 */
    total += walk_load(t, &w, 3, 1); /* deltas 1..3 */
    total += walk_load(t, &w, 6, 1);
    walk_free(&w);
    printf("fault walk [%s] load: %u fault points in all\n", t->provider->name,
           total);
    SS_CHECK(total > 0);
    SS_CHECK_EQ_U64(model_dir_fingerprint(t, w.sentinel), w.sentinel_fp);
}

static const ss_test_case tests[] = {
    SS_TEST(fault, commit_every_point),
    SS_TEST(fault, commit_families_every_point),
    SS_TEST(fault, maintenance_every_point),
    SS_TEST(fault, load_every_point),
    SS_TEST_CLEANUP(fault),
    SS_TEST_END,
};

SS_TEST_MAIN(tests)
