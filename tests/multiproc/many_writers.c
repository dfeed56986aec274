/*
 * many_writers.c -- one store location, several processes (issue 9, A):
 * writer fencing, the checkpoint as the truth, store identity, and
 * maintenance or readers in other processes while a writer commits.
 *
 * The other processes are this binary again (fork + exec of
 * /proc/self/exe with "--child DIR OPTION..."), so no child inherits a
 * forked copy of RocksDB's threads.  A child reads one command a line
 * on stdin and answers one line on stdout:
 *
 *   load V | load latest   writable load          ok V | err CODE MSG
 *   put K V                put into the store     ok | err ...
 *   commit                 commit, free the store ok V | err ...
 *   ro V                   read-only load, count  ok NKEYS | err ...
 *   loop N ID              N times: load its own last version (the
 *                          newest at first), put "w<ID>-<i>", commit;
 *                          stops at the first failure
 *                          done COUNT | fenced COUNT MSG | err ...
 *   maint N                N maintenance runs     ok ERRORS | err ...
 *   pid                                           ok PID
 *
 * Every version a loop commits adds exactly one key, so version V of one
 * lineage holds exactly V keys: a mixed lineage shows as a wrong count.
 */
#define _GNU_SOURCE /* fdopen, kill */
#include "harness.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------- child */

static int
child_reply_err(int rc)
{
    printf("err %d %s\n", rc, ss_error_last());
    return rc;
}

static int
count_keys(ss_store *s, uint64_t *out)
{
    ss_iter *it;
    int rc;

    *out = 0;
    if ((rc = ss_store_iter(&it, s, SS_CF_DEFAULT)) < 0)
        return rc;
    while ((rc = ss_iter_next(it, NULL, NULL)) == 0)
        (*out)++;
    ss_iter_free(it);
    return rc == SS_EDONE ? 0 : rc;
}

static void
child_loop(ss_provider *p, unsigned long n, unsigned long id)
{
    char key[64], val[32];
    uint64_t v = 0;
    unsigned long i, done = 0;
    ss_store *s;
    int rc = 0;

    if ((rc = ss_provider_latest(&v, p)) < 0) {
        child_reply_err(rc);
        return;
    }
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "w%lu-%05lu", id, i);
        if ((rc = ss_provider_load(&s, p, v)) < 0)
            break;
        snprintf(val, sizeof(val), "%llu", (unsigned long long)v + 1);
        rc = ss_store_put(s, SS_CF_DEFAULT, SS_STR(key), SS_STR(val));
        if (rc == 0)
            rc = ss_store_commit(&v, s);
        ss_store_free(s);
        if (rc < 0)
            break;
        done++;
    }
    if (rc == SS_EFENCED)
        printf("fenced %lu %s\n", done, ss_error_last());
    else if (rc < 0)
        printf("err %d after %lu commits: %s\n", rc, done, ss_error_last());
    else
        printf("done %lu\n", done);
}

static int
child_main(int argc, char **argv)
{
    char line[4096], a[2048], b[2048];
    ss_provider *p;
    ss_store *s = NULL, *ro;
    unsigned long n, id, i;
    uint64_t v, errors;
    ss_metrics m;
    int rc;

    if (argc < 3)
        return 2;
    rc = ss_provider_open(&p, argv[2], (const char *const *)argv + 3,
                          (size_t)(argc - 3));
    if (rc < 0) {
        fprintf(stderr, "child: open %s: %s\n", argv[2], ss_error_last());
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "quit") == 0) {
            break;
        } else if (strcmp(line, "pid") == 0) {
            printf("ok %ld\n", (long)getpid());
        } else if (strcmp(line, "load latest") == 0 ||
                   sscanf(line, "load %lu", &n) == 1) {
            if (strcmp(line, "load latest") == 0) {
                if ((rc = ss_provider_latest(&v, p)) < 0) {
                    child_reply_err(rc);
                    continue;
                }
            } else {
                v = n;
            }
            if ((rc = ss_provider_load(&s, p, v)) < 0)
                child_reply_err(rc);
            else
                printf("ok %llu\n", (unsigned long long)v);
        } else if (sscanf(line, "put %2047s %2047s", a, b) == 2) {
            if (!s ||
                (rc = ss_store_put(s, SS_CF_DEFAULT, SS_STR(a), SS_STR(b))) < 0)
                child_reply_err(s ? rc : SS_EINVAL);
            else
                printf("ok\n");
        } else if (strcmp(line, "commit") == 0) {
            rc = s ? ss_store_commit(&v, s) : SS_EINVAL;
            ss_store_free(s);
            s = NULL;
            if (rc < 0)
                child_reply_err(rc);
            else
                printf("ok %llu\n", (unsigned long long)v);
        } else if (sscanf(line, "ro %lu", &n) == 1) {
            if ((rc = ss_provider_load_readonly(&ro, p, n)) < 0) {
                child_reply_err(rc);
                continue;
            }
            rc = count_keys(ro, &v);
            ss_store_free(ro);
            if (rc < 0)
                child_reply_err(rc);
            else
                printf("ok %llu\n", (unsigned long long)v);
        } else if (sscanf(line, "loop %lu %lu", &n, &id) == 2) {
            child_loop(p, n, id);
        } else if (sscanf(line, "maint %lu", &n) == 1) {
            /* Failures that are another process's doing (a file deleted
             * under a snapshot merge) are counted, not fatal. */
            for (i = 0, errors = 0; i < n; i++)
                if (ss_provider_maintenance(p) < 0)
                    errors++;
            m.version = SS_METRICS_VERSION;
            ss_provider_metrics(&m, p);
            printf("ok %llu\n", (unsigned long long)errors);
        } else {
            printf("err %d unknown command '%s'\n", SS_EINVAL, line);
        }
    }
    ss_store_free(s);
    ss_provider_close(p);
    return 0;
}

/* ------------------------------------------------------------ parent */

typedef struct child {
    pid_t pid;
    FILE *in;  /* its stdin */
    FILE *out; /* its stdout */
} child;

static void
spawn(ss_test *t, child *c, const char *dir, const char *extra)
{
    int to[2], from[2];
    char *argv[SS_TEST_MAX_OPTIONS + 5];
    size_t n = 0, i;

    SS_CHECK(pipe(to) == 0 && pipe(from) == 0);
    argv[n++] = "/proc/self/exe";
    argv[n++] = "--child";
    argv[n++] = (char *)dir;
    for (i = 0; t->provider->options[i]; i++)
        argv[n++] = (char *)t->provider->options[i];
    if (extra)
        argv[n++] = (char *)extra;
    argv[n] = NULL;
    fflush(NULL);
    c->pid = fork();
    SS_CHECK(c->pid >= 0);
    if (c->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c->in = fdopen(to[1], "w");
    c->out = fdopen(from[0], "r");
    SS_CHECK(c->in && c->out);
    setvbuf(c->in, NULL, _IOLBF, 0);
}

static void
send_cmd(child *c, const char *cmd)
{
    fprintf(c->in, "%s\n", cmd);
    fflush(c->in);
}

/* The child's answer to the last command (static buffer per call). */
static const char *
answer(ss_test *t, child *c, char *buf, size_t len)
{
    if (!fgets(buf, (int)len, c->out))
        SS_FAIL("child %ld closed its output", (long)c->pid);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static const char *
ask(ss_test *t, child *c, const char *cmd, char *buf, size_t len)
{
    send_cmd(c, cmd);
    return answer(t, c, buf, len);
}

static void
expect_ok(ss_test *t, child *c, const char *cmd)
{
    char buf[4096];

    if (strncmp(ask(t, c, cmd, buf, sizeof(buf)), "ok", 2) != 0)
        SS_FAIL("child '%s': %s", cmd, buf);
}

static void
reap(ss_test *t, child *c)
{
    int status;

    send_cmd(c, "quit");
    fclose(c->in);
    fclose(c->out);
    SS_CHECK(waitpid(c->pid, &status, 0) == c->pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        SS_FAIL("child %ld exited with status %d", (long)c->pid, status);
}

static uint64_t
keys_at(ss_test *t, ss_provider *p, uint64_t v)
{
    ss_store *s = ss_test_load_ro(t, p, v);
    uint64_t n;

    SS_CHECK_OK(count_keys(s, &n));
    ss_store_free(s);
    return n;
}

static int
has_key(ss_test *t, ss_provider *p, uint64_t v, const char *key)
{
    ss_store *s = ss_test_load_ro(t, p, v);
    ss_slice val;
    int rc = ss_store_get(&val, s, SS_CF_DEFAULT, SS_STR(key));

    ss_store_free(s);
    SS_CHECK(rc == 0 || rc == SS_ENOTFOUND);
    return rc == 0;
}

/* A.2: two processes each load their own last version and commit 300
 * times.  Before fencing every commit returned 0 and the final version
 * mixed both lineages.  Now the later writer fences the earlier one
 * for good; the final version is one lineage holding every write its
 * writer acknowledged. */
static void
test_multi__two_writers_race(ss_test *t)
{
    child a, b;
    char ra[4096], rb[4096], key[64];
    unsigned long na = 0, nb = 0, i;
    ss_provider *p;
    uint64_t latest, keys;
    int fenced_a, fenced_b;

    spawn(t, &a, t->dir, NULL);
    spawn(t, &b, t->dir, NULL);
    send_cmd(&a, "loop 300 1");
    send_cmd(&b, "loop 300 2");
    answer(t, &a, ra, sizeof(ra));
    answer(t, &b, rb, sizeof(rb));
    reap(t, &a);
    reap(t, &b);
    fenced_a = sscanf(ra, "fenced %lu", &na) == 1;
    fenced_b = sscanf(rb, "fenced %lu", &nb) == 1;
    if (!fenced_a && sscanf(ra, "done %lu", &na) != 1)
        SS_FAIL("writer 1: %s", ra);
    if (!fenced_b && sscanf(rb, "done %lu", &nb) != 1)
        SS_FAIL("writer 2: %s", rb);
    /* Both cannot have run to the end on one lineage of 600 keys unless
     * one finished before the other began; then nothing was fenced. */
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    keys = keys_at(t, p, latest);
    ss_test_context(t, "writer 1: %s; writer 2: %s; latest %llu", ra, rb,
                    (unsigned long long)latest);
    SS_CHECK_EQ_U64(keys, latest);
    SS_CHECK(fenced_a || fenced_b || latest == 600);
    SS_CHECK(!(fenced_a && fenced_b));
    /* Every write the surviving writer acknowledged is in the newest
     * version: nothing it was told was durable was lost. */
    for (i = 0; i < (fenced_a ? nb : na); i++) {
        snprintf(key, sizeof(key), "w%d-%05lu", fenced_a ? 2 : 1, i);
        if (!has_key(t, p, latest, key))
            SS_FAIL("acknowledged key %s missing from version %llu", key,
                    (unsigned long long)latest);
    }
    if (fenced_a || fenced_b)
        SS_CHECK(strstr(fenced_a ? ra : rb, "fenced") != NULL);
}

/* A zombie after a takeover: A commits 1..5 and loads 5 again; B loads
 * 5 (takes over); A's commit is refused naming B, and so is any later
 * writable load of A's; A still reads; B goes on. */
static void
test_multi__zombie_after_takeover(ss_test *t)
{
    child a, b;
    char buf[4096], cmd[64], bpid[64];
    ss_provider *p;
    uint64_t latest;
    int i;

    spawn(t, &a, t->dir, NULL);
    spawn(t, &b, t->dir, NULL);
    for (i = 1; i <= 5; i++) {
        expect_ok(t, &a, "load latest");
        snprintf(cmd, sizeof(cmd), "put a%d x", i);
        expect_ok(t, &a, cmd);
        expect_ok(t, &a, "commit");
    }
    expect_ok(t, &a, "load 5");
    snprintf(bpid, sizeof(bpid), "pid %s ", ask(t, &b, "pid", buf, 64) + 3);
    expect_ok(t, &b, "load 5");
    expect_ok(t, &a, "put zombie x");
    ask(t, &a, "commit", buf, sizeof(buf));
    ss_test_context(t, "zombie's commit: %s", buf);
    SS_CHECK(strncmp(buf, "err -12 ", 8) == 0);
    SS_CHECK(strstr(buf, "fenced") != NULL);
    SS_CHECK(strstr(buf, bpid) != NULL);
    ask(t, &a, "load 5", buf, sizeof(buf));
    SS_CHECK(strncmp(buf, "err -12 ", 8) == 0);
    SS_CHECK(strcmp(ask(t, &a, "ro 5", buf, sizeof(buf)), "ok 5") == 0);
    expect_ok(t, &b, "put b6 x");
    SS_CHECK(strcmp(ask(t, &b, "commit", buf, sizeof(buf)), "ok 6") == 0);
    reap(t, &a);
    reap(t, &b);
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    SS_CHECK_EQ_U64(latest, 6);
    SS_CHECK_EQ_U64(keys_at(t, p, 6), 6);
    SS_CHECK(!has_key(t, p, 6, "zombie"));
    SS_CHECK(has_key(t, p, 6, "b6"));
}

/* A reader in another process loads every version the writer commits,
 * while it commits (and runs maintenance): each load is whole. */
static void
test_multi__reader_while_writer_commits(ss_test *t)
{
    child w;
    char buf[4096], cmd[64];
    ss_provider *p;
    uint64_t latest = 0, seen = 0, loads = 0, keys;
    ss_store *s;
    int rc;

    spawn(t, &w, t->dir, "min_deltas_for_snapshot=5");
    p = ss_test_open(t);
    send_cmd(&w, "loop 150 1");
    while (latest < 150) {
        SS_CHECK_OK(ss_provider_latest(&latest, p));
        if (latest == seen)
            continue;
        rc = ss_provider_load_readonly(&s, p, latest);
        /* Retention in the writer may remove an older version between
         * the listing and the load; a gone version is not a torn one. */
        if (rc == SS_ENOTFOUND)
            continue;
        SS_CHECK_OK(rc);
        SS_CHECK_OK(count_keys(s, &keys));
        ss_store_free(s);
        ss_test_context(t, "version %llu", (unsigned long long)latest);
        SS_CHECK_EQ_U64(keys, latest);
        seen = latest;
        loads++;
    }
    answer(t, &w, buf, sizeof(buf));
    SS_CHECK(strcmp(buf, "done 150") == 0);
    snprintf(cmd, sizeof(cmd), "maint 1");
    expect_ok(t, &w, cmd);
    reap(t, &w);
    SS_CHECK(loads > 0);
}

/* A.5: another process runs maintenance in a loop while the writer
 * commits 120 versions (and runs its own maintenance).  Collection by
 * the other process once deleted objects a live commit had just
 * uploaded; every retained version must load from a fresh provider. */
static void
test_multi__maintenance_in_other_process(ss_test *t)
{
    child m;
    char buf[4096], key[32];
    ss_provider *p, *fresh;
    ss_store *s;
    uint64_t v, latest;

    spawn(t, &m, t->dir, "min_versions_to_retain=10");
    p = ss_test_open(t, "min_versions_to_retain=10",
                     "min_deltas_for_snapshot=5");
    send_cmd(&m, "maint 100000000");
    for (v = 1; v <= 120; v++) {
        s = ss_test_load(t, p, v - 1);
        snprintf(key, sizeof(key), "k%03llu", (unsigned long long)v);
        SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR(key), SS_STR("x")));
        SS_CHECK_EQ_U64(commit_store(t, s), v);
        ss_store_free(s);
        if (v % 7 == 0)
            SS_CHECK_OK(ss_provider_maintenance(p));
    }
    kill(m.pid, SIGKILL);
    waitpid(m.pid, NULL, 0);
    fclose(m.in);
    fclose(m.out);
    (void)buf;
    fresh = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&latest, fresh));
    SS_CHECK_EQ_U64(latest, 120);
    for (v = latest - 9; v <= latest; v++) {
        ss_test_context(t, "fresh load of version %llu", (unsigned long long)v);
        SS_CHECK_EQ_U64(keys_at(t, fresh, v), v);
    }
}

/* ------------------------------------------------ two providers here */

static void
commit_keys(ss_test *t, ss_provider *p, uint64_t from, const char *tag)
{
    char key[32];
    ss_store *s = ss_test_load(t, p, from);

    snprintf(key, sizeof(key), "%s%llu", tag, (unsigned long long)from + 1);
    SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR(key), SS_STR("x")));
    SS_CHECK_EQ_U64(commit_store(t, s), from + 1);
    ss_store_free(s);
}

/* A.3: p2 opened before p1 committed 1..3 must load version 3 (the
 * listing, not what p2 saw at open); p1 is then fenced. */
static void
test_multi__load_reads_the_listing(ss_test *t)
{
    ss_provider *p1 = ss_test_open(t), *p2 = ss_test_open(t);
    ss_store *s;
    uint64_t latest, v;

    for (v = 0; v < 3; v++)
        commit_keys(t, p1, v, "a");
    SS_CHECK_OK(ss_provider_latest(&latest, p2));
    SS_CHECK_EQ_U64(latest, 3);
    s = ss_test_load(t, p2, 3);
    SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR("b4"), SS_STR("x")));
    SS_CHECK_EQ_U64(commit_store(t, s), 4);
    ss_store_free(s);
    SS_CHECK_ERR_MSG(SS_EFENCED, ss_provider_load(&s, p1, 4), "fenced");
    SS_CHECK_EQ_U64(keys_at(t, p1, 4), 4); /* a fenced provider reads */
}

/* A.4: p1 commits 1..5; p2, opened earlier, loads 2 and commits 3.  The
 * versions above 2 that p1 wrote are deleted (convention 6), so the
 * checkpoint is one lineage: latest 3, no version 4. */
static void
test_multi__going_back_truncates_other_writers_versions(ss_test *t)
{
    ss_provider *p1 = ss_test_open(t), *p2 = ss_test_open(t), *fresh;
    ss_store *s;
    uint64_t latest, v;

    for (v = 0; v < 5; v++)
        commit_keys(t, p1, v, "a");
    commit_keys(t, p2, 2, "b");
    SS_CHECK_OK(ss_provider_latest(&latest, p2));
    SS_CHECK_EQ_U64(latest, 3);
    fresh = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&latest, fresh));
    SS_CHECK_EQ_U64(latest, 3);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load_readonly(&s, fresh, 4));
    SS_CHECK(has_key(t, fresh, 3, "b3"));
    SS_CHECK(!has_key(t, fresh, 3, "a3"));
    SS_CHECK_EQ_U64(keys_at(t, fresh, 3), 3);
    commit_keys(t, p2, 3, "b"); /* p2 goes on */
    SS_CHECK_ERR(SS_EFENCED, ss_provider_load(&s, p1, 5));
}

/* A fenced provider reopened is a new writer again. */
static void
test_multi__reopen_after_fence_writes(ss_test *t)
{
    ss_provider *p1 = ss_test_open(t), *p2 = ss_test_open(t);
    ss_store *s;

    commit_keys(t, p1, 0, "a");
    s = ss_test_load(t, p1, 1);
    commit_keys(t, p2, 1, "b");
    SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, SS_STR("late"), SS_STR("x")));
    SS_CHECK_ERR_MSG(SS_EFENCED, ss_store_commit(NULL, s), "epoch");
    ss_store_free(s);
    ss_test_close(t, p1);
    p1 = ss_test_open(t);
    commit_keys(t, p1, 2, "a");
    SS_CHECK_ERR(SS_EFENCED, ss_provider_load(&s, p2, 3));
    SS_CHECK_EQ_U64(keys_at(t, p1, 3), 3);
}

/* A.6: a valid file of another store is refused, naming both stores. */
static void
test_multi__foreign_file_refused(ss_test *t)
{
    char a[SS_TEST_PATH_MAX], b[SS_TEST_PATH_MAX], src[SS_TEST_PATH_MAX + 64],
        dst[SS_TEST_PATH_MAX + 64];
    const char *ext = ss_test_commit_ext(t);
    ss_provider *pa, *pb;
    unsigned char *data;
    ss_store *s;
    size_t len;
    uint64_t v;

    ss_test_subdir(t, a, sizeof(a));
    ss_test_subdir(t, b, sizeof(b));
    pa = ss_test_open_at(t, a);
    pb = ss_test_open_at(t, b);
    for (v = 0; v < 3; v++) {
        commit_keys(t, pa, v, "a");
        commit_keys(t, pb, v, "b");
    }
    ss_test_close(t, pa);
    ss_test_close(t, pb);
    snprintf(src, sizeof(src), "%s/3%s", a, ext);
    snprintf(dst, sizeof(dst), "%s/3%s", b, ext);
    data = ss_test_read_file(t, src, &len);
    ss_test_write_file(t, dst, data, len);
    free(data);
    pb = ss_test_open_at(t, b);
    SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_provider_load_readonly(&s, pb, 3),
                     "belongs to store");
    SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_provider_load(&s, pb, 3),
                     "this location is store");
}

static const ss_test_case tests[] = {
    SS_TEST(multi, load_reads_the_listing),
    SS_TEST(multi, going_back_truncates_other_writers_versions),
    SS_TEST(multi, reopen_after_fence_writes),
    SS_TEST(multi, foreign_file_refused),
    SS_TEST(multi, zombie_after_takeover),
    SS_TEST(multi, two_writers_race),
    SS_TEST(multi, reader_while_writer_commits),
    SS_TEST(multi, maintenance_in_other_process),
    SS_TEST_END,
};

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child_main(argc, argv);
    return ss_test_main(argc, argv, tests);
}
