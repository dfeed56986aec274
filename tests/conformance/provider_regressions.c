/*
 * provider_regressions.c -- regression tests for the provider findings of
 * issue 9 (items 7 to 13), once per provider config where the finding
 * applies to more than one.
 *
 *   local_dir::*   7: rocksdb working folders are unique per store and
 *                  locked, never taken from another live store, rebuilt
 *                  when deleted between loads, cleaned at close, and
 *                  collected after their owner died.
 *   get::*         8: a slice from get stays valid until the next write,
 *                  commit, abort or free (header convention 3).
 *   num_keys::*    9: a count that was estimated is never taken as exact.
 *   versions::*    10: max_versions_in_memory versions load without I/O.
 *   close::*       11: closing a provider frees its read-only stores.
 *   limit::*       12: small memory_limit_bytes values count state only.
 *   families::*    13: loading with 255 families makes no per-family
 *                  RocksDB calls (counted, never timed).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "harness.h"
#include "testutil.h"

#ifdef SS_TEST_HAVE_ROCKSDB
#include "providers/rocksdb/rocksdb_stats.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORK_PREFIX "statestore-rdb-"

static int
is_rocksdb(const ss_test *t)
{
    return strncmp(t->provider->name, "rocksdb", 7) == 0;
}

static void
need_rocksdb(ss_test *t)
{
    if (!is_rocksdb(t))
        ss_test_skip(t, "rocksdb provider only");
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void
rm_tree(ss_test *t, const char *dir)
{
    SS_CHECK(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

/* Entries of `dir` not starting with '.'; -1 if it cannot be read. */
static int
count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' &&
            strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void
put_str(ss_test *t, ss_store *s, unsigned cf, const char *k, const char *v)
{
    SS_CHECK_OK(ss_store_put(s, cf, SS_STR(k), SS_STR(v)));
}

static void
get_str(ss_test *t, ss_store *s, unsigned cf, const char *k, const char *v)
{
    ss_slice got = {NULL, 0};

    ss_test_context(t, "key %s", k);
    if (v) {
        SS_CHECK_OK(ss_store_get(&got, s, cf, SS_STR(k)));
        SS_CHECK_EQ_SLICE(got, SS_STR(v));
    } else {
        SS_CHECK_ERR(SS_ENOTFOUND, ss_store_get(&got, s, cf, SS_STR(k)));
    }
    ss_test_context(t, "%s", "");
}

/* Open directly (no harness tracking): for child processes. */
static int
open_direct(ss_provider **out, const ss_test_provider *pc, const char *loc,
            const char *extra)
{
    const char *opts[SS_TEST_MAX_OPTIONS + 1];
    size_t n = 0, i;

    for (i = 0; pc->options[i] && n < SS_TEST_MAX_OPTIONS; i++)
        opts[n++] = pc->options[i];
    if (extra && extra[0])
        opts[n++] = extra;
    return ss_provider_open(out, loc, opts, n);
}

/* One batch on top of `base`: key "k" = value.  0 or a negative code. */
static int
child_batch(ss_provider *p, uint64_t base, const char *value)
{
    ss_store *s;
    int rc;

    if ((rc = ss_provider_load(&s, p, base)) < 0)
        return rc;
    if ((rc = ss_store_put(s, SS_CF_DEFAULT, SS_STR("k"), SS_STR(value))) == 0)
        rc = ss_store_commit(NULL, s);
    ss_store_free(s);
    return rc;
}

/* ------------------------------------------------------ 7: local_dir */

/* Several stores in one process given one rocksdb.local_dir (the
 * runner's partitions): each has its own working folder, and one
 * store's failed load leaves the others alone. */
static void
test_local_dir__stores_share_one_dir(ss_test *t)
{
    char work[1024], opt[1100], loc[3][1024];
    ss_provider *p[3];
    ss_store *s[3];
    char val[32];
    unsigned i, round;

    need_rocksdb(t);
    snprintf(opt, sizeof(opt), "rocksdb.local_dir=%s",
             ss_test_subdir(t, work, sizeof(work)));
    for (i = 0; i < 3; i++)
        p[i] =
            ss_test_open_at(t, ss_test_subdir(t, loc[i], sizeof(loc[i])), opt);
    for (round = 0; round < 3; round++) {
        /* Every store holds a loaded batch at once. */
        for (i = 0; i < 2; i++) {
            s[i] = ss_test_load(t, p[i], round);
            snprintf(val, sizeof(val), "p%u-v%u", i, round + 1);
            put_str(t, s[i], SS_CF_DEFAULT, "k", val);
        }
        /* The third store's failing load must not disturb them. */
        SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s[2], p[2], 7));
        SS_CHECK(s[2] == NULL);
        for (i = 0; i < 2; i++) {
            commit_store(t, s[i]);
            ss_store_free(s[i]);
        }
    }
    for (i = 0; i < 2; i++) {
        s[i] = ss_test_load_ro(t, p[i], 3);
        snprintf(val, sizeof(val), "p%u-v3", i);
        get_str(t, s[i], SS_CF_DEFAULT, "k", val);
        ss_store_free(s[i]);
    }
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, WORK_PREFIX), 3);
    for (i = 0; i < 3; i++)
        ss_test_close(t, p[i]);
    /* Cleaned at close: nothing of the stores is left. */
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, ""), 0);
}

/* The working folder deleted between loads: the next load rebuilds the
 * instance from the checkpoint files, and commits go on. */
static void
test_local_dir__deleted_between_loads(ss_test *t)
{
    char work[1024], opt[1100];
    ss_provider *p;
    ss_store *s, *ro;
    ss_metrics m;
    uint64_t from_files;

    need_rocksdb(t);
    snprintf(opt, sizeof(opt), "rocksdb.local_dir=%s/rdb",
             ss_test_subdir(t, work, sizeof(work)));
    strcat(work, "/rdb");
    p = ss_test_open(t, opt);
    SS_CHECK_OK(child_batch(p, 0, "v1"));
    SS_CHECK_OK(child_batch(p, 1, "v2"));
    from_files = get_metrics(t, p).loads_from_files;

    rm_tree(t, work);
    s = ss_test_load(t, p, 2);
    get_str(t, s, SS_CF_DEFAULT, "k", "v2");
    put_str(t, s, SS_CF_DEFAULT, "k", "v3");
    commit_store(t, s);
    ss_store_free(s);
    m = get_metrics(t, p);
    SS_CHECK_EQ_U64(m.loads_from_files, from_files + 1);
    SS_CHECK_EQ_U64(m.num_keys, 1);

    rm_tree(t, work);
    s = ss_test_load_ro(t, p, 3);
    get_str(t, s, SS_CF_DEFAULT, "k", "v3");
    ss_store_free(s);
    SS_CHECK_OK(child_batch(p, 3, "v4"));

    /* A read-only load that finds the folder gone leaves the live
     * instance to the committed store still reading it (convention 8);
     * the next writable load rebuilds it. */
    s = ss_test_load(t, p, 4);
    put_str(t, s, SS_CF_DEFAULT, "k", "v5");
    commit_store(t, s);
    rm_tree(t, work);
    ro = ss_test_load_ro(t, p, 5);
    get_str(t, ro, SS_CF_DEFAULT, "k", "v5");
    ss_store_free(ro);
    get_str(t, s, SS_CF_DEFAULT, "k", "v5");
    ss_store_free(s);
    SS_CHECK_OK(child_batch(p, 5, "v6"));
    ss_test_close(t, p);

    p = ss_test_open(t);
    s = ss_test_load_ro(t, p, 6);
    get_str(t, s, SS_CF_DEFAULT, "k", "v6");
    ss_store_free(s);
}

/*
 * Child processes are this binary run again (a forked child of a
 * process that used RocksDB has no RocksDB background threads), told
 * what to do by the environment:
 *   SS_REG_CHILD     "kill": load and commit twice, then die by SIGKILL;
 *                    "hold": commit v1, load it, write a byte to
 *                    SS_REG_READY, wait for a byte on SS_REG_GO, commit
 *                    v2, close and exit 0
 *   SS_REG_PROVIDER  the provider config's name
 *   SS_REG_LOC       the store location
 *   SS_REG_OPT       one more option ("" for none)
 * Any failure exits non-zero with the message on stderr.
 */
static int
child_main(void)
{
    const char *what = getenv("SS_REG_CHILD"),
               *name = getenv("SS_REG_PROVIDER");
    const ss_test_provider *pc = NULL;
    ss_provider *p;
    ss_store *s;
    size_t i;
    char c;
    int rc;

    for (i = 0; i < ss_test_n_providers; i++)
        if (name && strcmp(ss_test_providers[i].name, name) == 0)
            pc = &ss_test_providers[i];
    if (!pc ||
        open_direct(&p, pc, getenv("SS_REG_LOC"), getenv("SS_REG_OPT")) < 0 ||
        child_batch(p, 0, "v1") < 0)
        goto fail;
    if (strcmp(what, "kill") == 0) {
        if (child_batch(p, 1, "v2") < 0)
            goto fail;
        raise(SIGKILL);
    }
    if (ss_provider_load(&s, p, 1) < 0)
        goto fail;
    if (write(atoi(getenv("SS_REG_READY")), "r", 1) != 1 ||
        read(atoi(getenv("SS_REG_GO")), &c, 1) != 1)
        return 4;
    if ((rc = ss_store_put(s, SS_CF_DEFAULT, SS_STR("k"), SS_STR("v2"))) < 0 ||
        (rc = ss_store_commit(NULL, s)) < 0)
        goto fail;
    ss_store_free(s);
    ss_provider_close(p);
    return 0;
fail:
    fprintf(stderr, "child %s: %s\n", what, ss_error_last());
    return 3;
}

/* Start this binary as a child (child_main) with `env` added. */
static pid_t
spawn_child(ss_test *t, const char *const *env, size_t n_env)
{
    extern char **environ;
    char *argv[2] = {(char *)"provider_regressions", NULL};
    char **envp;
    size_t n = 0, i;
    pid_t pid;

    while (environ[n])
        n++;
    envp = calloc(n + n_env + 1, sizeof(*envp));
    SS_CHECK(envp != NULL);
    for (i = 0; i < n_env; i++)
        envp[i] = (char *)env[i];
    for (i = 0; i < n; i++)
        envp[n_env + i] = environ[i]; /* ours first: they win */
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    free(envp);
    SS_CHECK(pid > 0);
    return pid;
}

/* A child loads and commits with the working folders under `base` (as
 * rocksdb.local_dir, or as TMPDIR when local_dir is 0), then dies by
 * SIGKILL holding them. */
static void
killed_child(ss_test *t, const char *base, int local_dir)
{
    char loc[1024], e_loc[1100], e_opt[1100], e_tmp[1100], e_prov[128];
    const char *env[5];
    pid_t pid;
    int status;

    ss_test_subdir(t, loc, sizeof(loc));
    snprintf(e_loc, sizeof(e_loc), "SS_REG_LOC=%s", loc);
    snprintf(e_prov, sizeof(e_prov), "SS_REG_PROVIDER=%s", t->provider->name);
    snprintf(e_opt, sizeof(e_opt), "SS_REG_OPT=%s%s",
             local_dir ? "rocksdb.local_dir=" : "", local_dir ? base : "");
    snprintf(e_tmp, sizeof(e_tmp), "TMPDIR=%s", local_dir ? t->dir : base);
    env[0] = "SS_REG_CHILD=kill";
    env[1] = e_loc;
    env[2] = e_prov;
    env[3] = e_opt;
    env[4] = e_tmp;
    pid = spawn_child(t, env, 5);
    SS_CHECK(waitpid(pid, &status, 0) == pid);
    SS_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Working folders of dead owners are removed by the next store opened
 * on the same base; a live owner's (another process) are kept. */
static void
test_local_dir__stale_dirs_collected(ss_test *t)
{
    char work[1024], tmp[1024], opt[1100], loc[1024];
    char e_loc[1100], e_opt[1200], e_prov[128], e_go[32], e_ready[32];
    const char *old_tmp = getenv("TMPDIR"), *env[6];
    char saved_tmp[1024];
    int go[2], ready[2], status;
    ss_provider *p;
    ss_store *s;
    pid_t pid;
    char c;

    need_rocksdb(t);
    snprintf(saved_tmp, sizeof(saved_tmp), "%s", old_tmp ? old_tmp : "");
    ss_test_subdir(t, work, sizeof(work));
    ss_test_subdir(t, tmp, sizeof(tmp));
    snprintf(opt, sizeof(opt), "rocksdb.local_dir=%s", work);

    /* rocksdb.local_dir: each killed child leaves its folder, and the
     * next store opened there (the second child, then this process)
     * removes it. */
    killed_child(t, work, 1);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, WORK_PREFIX), 1);
    killed_child(t, work, 1);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, WORK_PREFIX), 1);
    p = ss_test_open(t, opt);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, WORK_PREFIX), 1);
    SS_CHECK_OK(child_batch(p, 0, "mine"));
    ss_test_close(t, p);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, ""), 0);

    /* The default: a temp dir under TMPDIR. */
    killed_child(t, tmp, 0);
    SS_CHECK_EQ_U64((uint64_t)count_entries(tmp, WORK_PREFIX), 1);
    SS_CHECK(setenv("TMPDIR", tmp, 1) == 0);
    p = ss_test_open(t);
    if (saved_tmp[0])
        setenv("TMPDIR", saved_tmp, 1);
    else
        unsetenv("TMPDIR");
    SS_CHECK_EQ_U64((uint64_t)count_entries(tmp, WORK_PREFIX), 1);
    ss_test_close(t, p);
    SS_CHECK_EQ_U64((uint64_t)count_entries(tmp, WORK_PREFIX), 0);

    /* A live owner in another process keeps its folder while this one
     * opens and collects; it then commits and closes normally. */
    SS_CHECK(pipe(go) == 0 && pipe(ready) == 0);
    ss_test_subdir(t, loc, sizeof(loc));
    snprintf(e_loc, sizeof(e_loc), "SS_REG_LOC=%s", loc);
    snprintf(e_prov, sizeof(e_prov), "SS_REG_PROVIDER=%s", t->provider->name);
    snprintf(e_opt, sizeof(e_opt), "SS_REG_OPT=%s", opt);
    snprintf(e_go, sizeof(e_go), "SS_REG_GO=%d", go[0]);
    snprintf(e_ready, sizeof(e_ready), "SS_REG_READY=%d", ready[1]);
    env[0] = "SS_REG_CHILD=hold";
    env[1] = e_loc;
    env[2] = e_prov;
    env[3] = e_opt;
    env[4] = e_go;
    env[5] = e_ready;
    pid = spawn_child(t, env, 6);
    close(go[0]);
    close(ready[1]);
    SS_CHECK(read(ready[0], &c, 1) == 1);
    p = ss_test_open(t, opt);
    s = ss_test_load(t, p, 0);
    ss_store_free(s);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, WORK_PREFIX), 2);
    SS_CHECK(write(go[1], "g", 1) == 1);
    SS_CHECK(waitpid(pid, &status, 0) == pid);
    SS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(go[1]);
    close(ready[0]);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, WORK_PREFIX), 1);
    ss_test_close(t, p);
    SS_CHECK_EQ_U64((uint64_t)count_entries(work, ""), 0);
    p = ss_test_open_at(t, loc);
    s = ss_test_load_ro(t, p, 2);
    get_str(t, s, SS_CF_DEFAULT, "k", "v2");
    ss_store_free(s);
}

/* ------------------------------------------------------------ 8: get */

#define NSLICES 64u

static void
check_slices(ss_test *t, ss_store *s, unsigned first_new)
{
    ss_slice got[2 * NSLICES];
    char key[32], want[64];
    unsigned i, n = first_new ? 2 * NSLICES : NSLICES;

    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key-%03u", i);
        SS_CHECK_OK(ss_store_get(&got[i], s, SS_CF_DEFAULT, SS_STR(key)));
    }
    /* Every slice is still whole after the later gets. */
    for (i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "%s-%03u-abcdefghijklmnopqrstuvwxyz",
                 i < NSLICES ? "committed" : "uncommitt", i);
        ss_test_context(t, "slice %u of %u gets", i, n);
        SS_CHECK_EQ_SLICE(got[i], SS_STR(want));
    }
    ss_test_context(t, "%s", "");
}

/* Header convention 3: a slice from get is valid until the next put,
 * remove, commit, abort or free on the store, not the next get. */
static void
test_get__slices_outlive_later_gets(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = ss_test_load(t, p, 0);
    char key[32], val[64];
    unsigned i;

    for (i = 0; i < NSLICES; i++) {
        snprintf(key, sizeof(key), "key-%03u", i);
        snprintf(val, sizeof(val), "committed-%03u-abcdefghijklmnopqrstuvwxyz",
                 i);
        put_str(t, s, SS_CF_DEFAULT, key, val);
    }
    commit_store(t, s);
    ss_store_free(s);

    /* Writable: values from the instance, then from the open batch. */
    s = ss_test_load(t, p, 1);
    check_slices(t, s, 0);
    for (i = NSLICES; i < 2 * NSLICES; i++) {
        snprintf(key, sizeof(key), "key-%03u", i);
        snprintf(val, sizeof(val), "uncommitt-%03u-abcdefghijklmnopqrstuvwxyz",
                 i);
        put_str(t, s, SS_CF_DEFAULT, key, val);
    }
    check_slices(t, s, 1);
    check_slices(t, s, 1);
    SS_CHECK_OK(ss_store_abort(s));
    ss_store_free(s);

    s = ss_test_load_ro(t, p, 1);
    check_slices(t, s, 0);
    check_slices(t, s, 0);
    ss_store_free(s);
}

/* ------------------------------------------------------- 9: num_keys */

/* v1 counted exactly (a, b), v2 committed with track_num_keys=false
 * (puts b, c: RocksDB's estimate says 4), then loaded by a provider that
 * wants exact counts: 3. */
static void
test_num_keys__estimate_not_taken_as_exact(ss_test *t)
{
    ss_provider *p;
    ss_store *s;

    need_rocksdb(t);
    p = ss_test_open(t, "rocksdb.track_num_keys=true");
    s = ss_test_load(t, p, 0);
    put_str(t, s, SS_CF_DEFAULT, "a", "1");
    put_str(t, s, SS_CF_DEFAULT, "b", "1");
    commit_store(t, s);
    ss_store_free(s);
    SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, 2);
    ss_test_close(t, p);

    p = ss_test_open(t, "rocksdb.track_num_keys=false");
    s = ss_test_load(t, p, 1);
    put_str(t, s, SS_CF_DEFAULT, "b", "2");
    put_str(t, s, SS_CF_DEFAULT, "c", "2");
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);

    p = ss_test_open(t, "rocksdb.track_num_keys=true");
    s = ss_test_load(t, p, 2);
    SS_CHECK_EQ_U64(family_size(t, s, SS_CF_DEFAULT), 3);
    SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, 3);
    /* Commits on top stay exact, and so does their reload. */
    put_str(t, s, SS_CF_DEFAULT, "d", "3");
    commit_store(t, s);
    ss_store_free(s);
    SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, 4);
    ss_test_close(t, p);
    p = ss_test_open(t, "rocksdb.track_num_keys=true");
    s = ss_test_load(t, p, 3);
    ss_store_free(s);
    SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, 4);
}

/* ------------------------------------------------------- 10: versions */

/* Version v (1..): "k" = "v<v>", "only-<v>" present in v alone, and
 * "grow-1".."grow-<v>": v + 2 keys. */
static void
commit_rule(ss_test *t, ss_provider *p, uint64_t v)
{
    ss_store *s = ss_test_load(t, p, v - 1);
    char k[32], val[32];

    snprintf(val, sizeof(val), "v%" PRIu64, v);
    put_str(t, s, SS_CF_DEFAULT, "k", val);
    snprintf(k, sizeof(k), "only-%" PRIu64, v - 1);
    SS_CHECK_OK(ss_store_remove(s, SS_CF_DEFAULT, SS_STR(k)));
    snprintf(k, sizeof(k), "only-%" PRIu64, v);
    put_str(t, s, SS_CF_DEFAULT, k, "x");
    snprintf(k, sizeof(k), "grow-%" PRIu64, v);
    put_str(t, s, SS_CF_DEFAULT, k, val);
    SS_CHECK_EQ_U64(commit_store(t, s), v);
    ss_store_free(s);
}

static void
check_rule(ss_test *t, ss_store *s, uint64_t v)
{
    char k[32], val[32];
    uint64_t j;

    snprintf(val, sizeof(val), "v%" PRIu64, v);
    get_str(t, s, SS_CF_DEFAULT, "k", val);
    for (j = 1; j <= 5; j++) {
        snprintf(k, sizeof(k), "only-%" PRIu64, j);
        get_str(t, s, SS_CF_DEFAULT, k, j == v ? "x" : NULL);
        snprintf(k, sizeof(k), "grow-%" PRIu64, j);
        snprintf(val, sizeof(val), "v%" PRIu64, j);
        get_str(t, s, SS_CF_DEFAULT, k, j <= v ? val : NULL);
    }
    SS_CHECK_EQ_U64(family_size(t, s, SS_CF_DEFAULT), v + 2);
}

/* Load `v` writable; it must come from memory (or files) as said. */
static void
load_expect(ss_test *t, ss_provider *p, uint64_t v, int from_memory)
{
    ss_metrics before = get_metrics(t, p), after;
    ss_store *s;

    ss_test_context(t, "load %" PRIu64, v);
    s = ss_test_load(t, p, v);
    check_rule(t, s, v);
    ss_store_free(s);
    after = get_metrics(t, p);
    ss_test_context(t, "load %" PRIu64, v);
    SS_CHECK_EQ_U64(after.loads_from_memory,
                    before.loads_from_memory + (from_memory ? 1 : 0));
    SS_CHECK_EQ_U64(after.loads_from_files,
                    before.loads_from_files + (from_memory ? 0 : 1));
    SS_CHECK_EQ_U64(after.num_keys, v + 2);
    ss_test_context(t, "%s", "");
}

/* max_versions_in_memory=3: the current version and the two before it
 * load without I/O, backwards and forwards; a commit on an older one
 * drops the newer lineage from memory too. */
static void
test_versions__in_memory_window(ss_test *t)
{
    ss_provider *p = ss_test_open(t, "max_versions_in_memory=3");
    ss_store *s;
    uint64_t v;

    for (v = 1; v <= 4; v++)
        commit_rule(t, p, v);
    SS_CHECK_EQ_U64(get_metrics(t, p).versions_in_memory, 3);
    load_expect(t, p, 3, 1);
    load_expect(t, p, 2, 1);
    load_expect(t, p, 4, 1);
    load_expect(t, p, 2, 1);
    load_expect(t, p, 3, 1);
    SS_CHECK_EQ_U64(get_metrics(t, p).versions_in_memory, 3);
    /* Outside the window: from the files. */
    load_expect(t, p, 1, 0);

    /* Back to 4 (files), then a branch on 2 (memory). */
    load_expect(t, p, 4, 0);
    s = ss_test_load(t, p, 2);
    put_str(t, s, SS_CF_DEFAULT, "k", "branch");
    put_str(t, s, SS_CF_DEFAULT, "branch", "1");
    SS_CHECK_EQ_U64(commit_store(t, s), 3);
    ss_store_free(s);
    SS_CHECK_EQ_U64(get_metrics(t, p).versions_in_memory, 2);
    s = ss_test_load(t, p, 3);
    get_str(t, s, SS_CF_DEFAULT, "k", "branch");
    get_str(t, s, SS_CF_DEFAULT, "branch", "1");
    get_str(t, s, SS_CF_DEFAULT, "only-2", "x");
    get_str(t, s, SS_CF_DEFAULT, "grow-3", NULL);
    ss_store_free(s);
    load_expect(t, p, 2, 1);
    ss_test_close(t, p);

    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&v, p));
    SS_CHECK_EQ_U64(v, 3);
    s = ss_test_load_ro(t, p, 3);
    get_str(t, s, SS_CF_DEFAULT, "k", "branch");
    get_str(t, s, SS_CF_DEFAULT, "grow-3", NULL);
    SS_CHECK_EQ_U64(family_size(t, s, SS_CF_DEFAULT), 5);
    ss_store_free(s);
}

/* ---------------------------------------------------------- 11: close */

static int
count_fds(void)
{
    return count_entries("/proc/self/fd", "");
}

static size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* Closing a provider with read-only stores open frees them (the header:
 * open stores are aborted): no file descriptor or memory stays behind.
 * Under ASan, LeakSanitizer checks the same at exit. */
static void
test_close__frees_readonly_stores(ss_test *t)
{
    char key[32], val[600];
    ss_provider *p;
    ss_store *s, *r1, *r2;
    ss_slice got;
    size_t mem0, mem1;
    int fds0, fds1, round;
    unsigned i;

    p = ss_test_open(t);
    s = ss_test_load(t, p, 0);
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    for (i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "key-%05u", i);
        put_str(t, s, SS_CF_DEFAULT, key, val);
    }
    commit_store(t, s);
    ss_store_free(s);
    ss_test_close(t, p);

    /* Round 0 warms up what the library sets up once per process. */
    for (round = 0; round < 2; round++) {
        fds0 = count_fds();
        mem0 = heap_in_use();
        p = ss_test_open(t);
        r1 = ss_test_load_ro(t, p, 1);
        r2 = ss_test_load_ro(t, p, 1);
        SS_CHECK_OK(ss_store_get(&got, r1, SS_CF_DEFAULT, SS_STR("key-00001")));
        SS_CHECK_OK(ss_store_get(&got, r2, SS_CF_DEFAULT, SS_STR("key-00002")));
        /* Closed with both stores still open. */
        ss_test_close(t, p);
        fds1 = count_fds();
        mem1 = heap_in_use();
        if (round == 0)
            continue;
        SS_CHECK_EQ_U64((uint64_t)fds1, (uint64_t)fds0);
        ss_test_context(t, "heap %zu bytes before, %zu after", mem0, mem1);
        SS_CHECK(mem1 < mem0 + 256 * 1024);
    }
}

/* ---------------------------------------------------------- 12: limit */

/* A small memory_limit_bytes refuses only what state would exceed it:
 * the first tiny puts fit, the refusal names the limit, and memory_bytes
 * never passes it. */
static void
test_limit__small_limits_hold_small_state(ss_test *t)
{
    static const char *const limits[] = {"memory_limit_bytes=2048",
                                         "memory_limit_bytes=4K"};
    char key[32];
    ss_provider *p;
    ss_store *s;
    ss_metrics m;
    unsigned i, l, fitted;
    int rc = 0;

    if (is_rocksdb(t))
        ss_test_skip(t, "memory provider only (rocksdb refuses the option)");
    for (l = 0; l < 2; l++) {
        char dir[1024];

        p = ss_test_open_at(t, ss_test_subdir(t, dir, sizeof(dir)), limits[l]);
        s = ss_test_load(t, p, 0);
        ss_test_context(t, "%s", limits[l]);
        SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR("ab"), SS_STR("")));
        for (i = 0, fitted = 1; i < 1000; i++, fitted++) {
            snprintf(key, sizeof(key), "%02u", i);
            ss_error_clear();
            rc = ss_store_put(s, SS_CF_DEFAULT, SS_STR(key), SS_STR("x"));
            if (rc < 0)
                break;
            m = get_metrics(t, p);
            SS_CHECK(m.memory_bytes <= m.memory_limit_bytes);
        }
        SS_CHECK_RC(SS_ELIMIT, rc);
        SS_CHECK(strstr(ss_error_last(), "memory_limit_bytes") != NULL);
        printf("%s: %u two-byte puts fit\n", limits[l], fitted);
        SS_CHECK(fitted >= (l == 0 ? 8u : 24u));
        /* The refused put changed nothing; the batch commits. */
        SS_CHECK_EQ_U64(get_metrics(t, p).num_keys, fitted);
        SS_CHECK_EQ_U64(commit_store(t, s), 1);
        ss_store_free(s);
        s = ss_test_load(t, p, 1);
        get_str(t, s, SS_CF_DEFAULT, "ab", "");
        ss_store_free(s);
        ss_test_close(t, p);
    }

    /* Below what one key needs: refused, never a crash. */
    p = ss_test_open(t, "memory_limit_bytes=16");
    s = ss_test_load(t, p, 0);
    SS_CHECK_ERR_MSG(SS_ELIMIT,
                     ss_store_put(s, SS_CF_DEFAULT, SS_STR("ab"), SS_STR("")),
                     "memory_limit_bytes=16");
    SS_CHECK_OK(ss_store_abort(s));
    ss_store_free(s);
}

/* ------------------------------------------------------- 13: families */

#ifdef SS_TEST_HAVE_ROCKSDB
#define NFAM 255u
#define WRITTEN(i) ((i) % 127u == 0) /* 3 of the 255 hold keys */

static void
declare_all(ss_test *t, ss_provider *p, unsigned *ids)
{
    char name[16];
    unsigned i;

    for (i = 0; i < NFAM; i++) {
        snprintf(name, sizeof(name), "cf%03u", i);
        SS_CHECK_OK(
            ss_provider_cf(&ids[i], p, name, i % 2 ? SS_CF_ORDERED : 0));
    }
}

/* Every family holds its key if `written` and WRITTEN(i), else none. */
static void
check_all(ss_test *t, ss_store *s, const unsigned *ids, int written)
{
    char val[16];
    unsigned i;
    int has;

    for (i = 0; i < NFAM; i++) {
        has = written && WRITTEN(i);
        snprintf(val, sizeof(val), "in-%03u", i);
        get_str(t, s, ids[i], "k", has ? val : NULL);
        SS_CHECK_EQ_U64(family_size(t, s, ids[i]), has ? 1 : 0);
    }
}

/* Loading a store of 255 declared families, 3 of them written, makes no
 * RocksDB call per declared family: each creation of one rewrites and
 * re-parses RocksDB's OPTIONS file of every family (quadratic), so only
 * written families get one (at most 3 per instance built), and an SST
 * meta's MANIFEST opens them in one call.  Counted, never timed. */
static void
test_families__load_255_declared(ss_test *t)
{
    unsigned ids[NFAM];
    char val[16];
    ss_provider *p;
    ss_store *s;
    uint64_t c0;
    unsigned i;

    need_rocksdb(t);
    p = ss_test_open(t);
    declare_all(t, p, ids);
    c0 = ss_rdb__cf_creates();
    s = ss_test_load(t, p, 0);
    SS_CHECK_EQ_U64(ss_rdb__cf_creates() - c0, 0);
    check_all(t, s, ids, 0); /* reads create nothing */
    SS_CHECK_OK(ss_store_remove(s, ids[1], SS_STR("k")));
    SS_CHECK_EQ_U64(ss_rdb__cf_creates() - c0, 0);
    for (i = 0; i < NFAM; i++) {
        snprintf(val, sizeof(val), "in-%03u", i);
        if (WRITTEN(i))
            put_str(t, s, ids[i], "k", val);
    }
    commit_store(t, s);
    ss_store_free(s);
    /* One RocksDB family per written family. */
    SS_CHECK_EQ_U64(ss_rdb__cf_creates() - c0, 3);
    ss_test_close(t, p);

    /* Declared before the load, writable and read-only. */
    p = ss_test_open(t);
    declare_all(t, p, ids);
    c0 = ss_rdb__cf_creates();
    s = ss_test_load(t, p, 1);
    check_all(t, s, ids, 1);
    ss_store_free(s);
    s = ss_test_load_ro(t, p, 1);
    check_all(t, s, ids, 1);
    ss_store_free(s);
    SS_CHECK(ss_rdb__cf_creates() - c0 <= (ss_test_writes_metas(t) ? 0 : 6));
    ss_test_close(t, p);

    /* Found in the files only (as `statestore inspect` loads). */
    p = ss_test_open(t);
    c0 = ss_rdb__cf_creates();
    s = ss_test_load_ro(t, p, 1);
    ss_store_free(s);
    s = ss_test_load(t, p, 1);
    ss_store_free(s);
    SS_CHECK(ss_rdb__cf_creates() - c0 <= (ss_test_writes_metas(t) ? 0 : 6));
    declare_all(t, p, ids);
    s = ss_test_load_ro(t, p, 1);
    check_all(t, s, ids, 1);
    ss_store_free(s);
}
#else
static void
test_families__load_255_declared(ss_test *t)
{
    ss_test_skip(t, "built without the rocksdb provider");
}
#endif

static const ss_test_case tests[] = {
    SS_TEST(local_dir, stores_share_one_dir),
    SS_TEST(local_dir, deleted_between_loads),
    SS_TEST(local_dir, stale_dirs_collected),
    SS_TEST(get, slices_outlive_later_gets),
    SS_TEST(num_keys, estimate_not_taken_as_exact),
    SS_TEST(versions, in_memory_window),
    SS_TEST(close, frees_readonly_stores),
    SS_TEST(limit, small_limits_hold_small_state),
    SS_TEST(families, load_255_declared),
    SS_TEST_END};

int
main(int argc, char **argv)
{
    if (getenv("SS_REG_CHILD"))
        return child_main();
    return ss_test_main(argc, argv, tests);
}
