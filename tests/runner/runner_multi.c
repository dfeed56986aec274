/*
 * runner_multi.c -- `statestore run` when it is not alone (issue 9), and
 * the checkpoint's own files: lock, log fence, retention, checksums,
 * folder syncs, provider switches.
 *
 * Most tests fork/exec the real `statestore` binary ($SS_STATESTORE, set
 * by CTest) and stop a run at an exact point without timing guesses: its
 * stderr (or stdout) is a pipe the test has filled, so the run blocks in
 * its first write there.  A fresh run's first stderr write is the
 * progress line of batch 0, after commits/0; with `--output -` its
 * stdout write is a batch's output, after the stores committed and ran
 * maintenance and before commits/N (the worst point for a kill).
 *
 * - lock::*       runner.c invariant 7: a second run is refused at once
 *   (exit 3, naming pid, host, start), a killed run's lock is taken over,
 *   and with the lock lost the create-if-absent logs stop the loser, or
 *   the stores' fence does (SS_EFENCED, reported as such).
 * - retention::*  runner.c invariant 8: logs keep the newest batches,
 *   pruned oldest first after the newer commit is durable; a replay's
 *   base version survives min_versions_to_retain=1.
 * - checksum::*   runner.c invariant 10, query.c invariant 4.
 * - dirs::*       runner.c invariant 9 (mkdir/fsync recorded through
 *   -Wl,--wrap, see tests/CMakeLists.txt).
 * - providers::*  docs/runner.md: which provider continues whose
 *   checkpoint.
 */
#include "harness.h"

#include "checkpoint/storage.h"
#include "runner/log.h"
#include "runner/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* snprintf into an array, failing the test if it does not fit. */
#define PATHF(buf, ...)                                                        \
    do {                                                                       \
        if (snprintf(buf, sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf))       \
            SS_FAIL("path too long: %s", buf);                                 \
    } while (0)

#define N_FILES 8
#define PER_FILE 600
#define N_USERS 150
#define PATH 1100

/* ------------------------------------------------ recorded file calls */

/* mkdir, fsync, link, rename and unlink of the library (which this
 * binary links statically) go through these while `recording` is set. */
enum { EV_MKDIR, EV_FSYNC, EV_LINK, EV_RENAME, EV_UNLINK };

typedef struct fs_event {
    int kind;
    int rc;
    char path[PATH];
} fs_event;

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static fs_event *events;
static size_t n_events, cap_events;
static int recording;

int __real_mkdir(const char *path, mode_t mode);
int __real_fsync(int fd);
int __real_link(const char *from, const char *to);
int __real_rename(const char *from, const char *to);
int __real_unlink(const char *path);
int __wrap_mkdir(const char *path, mode_t mode);
int __wrap_fsync(int fd);
int __wrap_link(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);
int __wrap_unlink(const char *path);

static void
record(int kind, int rc, const char *path)
{
    pthread_mutex_lock(&ev_lock);
    if (recording) {
        if (n_events == cap_events) {
            cap_events = cap_events ? cap_events * 2 : 1024;
            events = realloc(events, cap_events * sizeof(*events));
            if (!events)
                abort();
        }
        events[n_events].kind = kind;
        events[n_events].rc = rc;
        snprintf(events[n_events].path, PATH, "%s", path);
        n_events++;
    }
    pthread_mutex_unlock(&ev_lock);
}

/* Absolute paths without symlinks, so events compare with realpath(). */
static void
record_path(int kind, int rc, const char *path)
{
    char abs[PATH_MAX];

    if (realpath(path, abs))
        record(kind, rc, abs);
    else
        record(kind, rc, path);
}

int
__wrap_mkdir(const char *path, mode_t mode)
{
    int rc = __real_mkdir(path, mode), e = errno;

    record_path(EV_MKDIR, rc, path);
    errno = e;
    return rc;
}

int
__wrap_fsync(int fd)
{
    char link[64], target[PATH];
    ssize_t n;
    int rc = __real_fsync(fd), e = errno;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    record(EV_FSYNC, rc, target);
    errno = e;
    return rc;
}

int
__wrap_link(const char *from, const char *to)
{
    int rc = __real_link(from, to), e = errno;

    record_path(EV_LINK, rc, to);
    errno = e;
    return rc;
}

int
__wrap_rename(const char *from, const char *to)
{
    int rc = __real_rename(from, to), e = errno;

    record_path(EV_RENAME, rc, to);
    errno = e;
    return rc;
}

int
__wrap_unlink(const char *path)
{
    char abs[PATH_MAX], dir[PATH], full[PATH + PATH_MAX];
    const char *slash = strrchr(path, '/');
    int rc, e;

    /* The name is gone after the call: resolve its folder first. */
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
             slash ? path : ".");
    if (realpath(dir, abs))
        snprintf(full, sizeof(full), "%s/%s", abs, slash ? slash + 1 : path);
    else
        snprintf(full, sizeof(full), "%s", path);
    rc = __real_unlink(path);
    e = errno;
    record(EV_UNLINK, rc, full);
    errno = e;
    return rc;
}

static void
record_start(void)
{
    pthread_mutex_lock(&ev_lock);
    n_events = 0;
    recording = 1;
    pthread_mutex_unlock(&ev_lock);
}

static void
record_stop(void)
{
    pthread_mutex_lock(&ev_lock);
    recording = 0;
    pthread_mutex_unlock(&ev_lock);
}

/* Index of the first event of `kind` on `path` at or after `from`, or
 * -1. */
static long
find_event(size_t from, int kind, const char *path)
{
    size_t i;

    for (i = from; i < n_events; i++)
        if (events[i].kind == kind && events[i].rc == 0 &&
            strcmp(events[i].path, path) == 0)
            return (long)i;
    return -1;
}

/* ----------------------------------------------------------- helpers */

static void
gen(ss_test *t, const char *dir, int files)
{
    int64_t base = 1714557600000; /* 2024-05-01T10:00:00Z */
    uint64_t s = 7;
    char path[PATH];
    int f, i;

    SS_CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
    for (f = 0; f < files; f++) {
        FILE *fp;

        PATHF(path, "%s/in-%02d.jsonl", dir, f);
        SS_CHECK((fp = fopen(path, "w")) != NULL);
        for (i = 0; i < PER_FILE; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            fprintf(fp, "{\"ts\":%" PRId64 ",\"user\":\"u%d\",\"bytes\":%d}\n",
                    base + (int64_t)f * 30000 + (int64_t)i * 50 -
                        (int64_t)((s >> 33) % 3000),
                    (int)((s >> 20) % N_USERS), (int)((s >> 40) % 5000));
        }
        fclose(fp);
    }
}

static const char *
statestore(ss_test *t)
{
    const char *b = getenv("SS_STATESTORE");

    if (!b || !b[0])
        ss_test_skip(t, "SS_STATESTORE (the statestore binary) is not set");
    return b;
}

/* argv of `statestore run` on the common query, plus extra arguments
 * (NULL-terminated). */
typedef struct argv_buf {
    const char *v[48];
    int n;
} argv_buf;

static void
run_argv(ss_test *t, argv_buf *a, const char *in, const char *ck,
         const char *out, ...)
{
    static const char *const q[] = {
        "--event-time", "ts",   "--window",  "10s",
        "--group-by",   "user", "--agg",     "count,sum:bytes",
        "--watermark",  "5s",   "--threads", "1",
        "--partitions", "2"};
    const char *x;
    va_list ap;
    size_t i;

    a->n = 0;
    a->v[a->n++] = statestore(t);
    a->v[a->n++] = "run";
    a->v[a->n++] = "--input";
    a->v[a->n++] = in;
    a->v[a->n++] = "--checkpoint";
    a->v[a->n++] = ck;
    a->v[a->n++] = "--output";
    a->v[a->n++] = out;
    for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        a->v[a->n++] = q[i];
    va_start(ap, out);
    while ((x = va_arg(ap, const char *)) != NULL && a->n < 46)
        a->v[a->n++] = x;
    va_end(ap);
    a->v[a->n] = NULL;
}

/* fork/exec argv with fds 0, 1, 2 from in/out/err (-1: /dev/null). */
static pid_t
spawn(ss_test *t, const argv_buf *a, int in, int out, int err)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    SS_CHECK(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        char tmp[PATH];

        dup2(in >= 0 ? in : null, 0);
        dup2(out >= 0 ? out : null, 1);
        dup2(err >= 0 ? err : null, 2);
        /* rocksdb instance folders stay inside the test's folder. */
        snprintf(tmp, sizeof(tmp), "%s/tmp", t->dir);
        mkdir(tmp, 0755);
        setenv("TMPDIR", tmp, 1);
        execv(a->v[0], (char *const *)a->v);
        _exit(127);
    }
    return pid;
}

/* Exit status, or 128 + signal. */
static int
wait_code(ss_test *t, pid_t pid)
{
    int status;

    SS_CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run to the end with stderr into file `err` (NULL: discarded) and stdin
 * from file `in` (NULL: /dev/null). */
static int
run_sync(ss_test *t, const argv_buf *a, const char *err, const char *in)
{
    int efd = -1, ifd = -1, code;

    if (err)
        SS_CHECK((efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
    if (in)
        SS_CHECK((ifd = open(in, O_RDONLY)) >= 0);
    code = wait_code(t, spawn(t, a, ifd, -1, efd));
    if (efd >= 0)
        close(efd);
    if (ifd >= 0)
        close(ifd);
    return code;
}

/* Whole file as a NUL-terminated string. */
static char *
slurp(ss_test *t, const char *path)
{
    size_t len;
    unsigned char *d = ss_test_read_file(t, path, &len);

    d = realloc(d, len + 1);
    d[len] = '\0';
    return (char *)d;
}

static void
check_contains(ss_test *t, const char *text, const char *needle,
               const char *what)
{
    if (!strstr(text, needle))
        SS_FAIL("%s lacks \"%s\"; it says:\n%s", what, needle, text);
}

static void
check_file_contains(ss_test *t, const char *path, const char *needle)
{
    char *s = slurp(t, path);

    check_contains(t, s, needle, path);
    free(s);
}

/* A pipe holding 4096 bytes and full: the next write to fds[1] blocks. */
static void
full_pipe(ss_test *t, int fds[2])
{
    char junk[512];

    memset(junk, '#', sizeof(junk)); /* text: drain() returns a string */
    SS_CHECK(pipe2(fds, O_CLOEXEC) == 0);
    fcntl(fds[1], F_SETPIPE_SZ, 4096);
    SS_CHECK(fcntl(fds[1], F_GETPIPE_SZ) > 0);
    SS_CHECK(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
    while (write(fds[1], junk, sizeof(junk)) > 0)
        ;
    while (write(fds[1], junk, 1) > 0)
        ;
    SS_CHECK(errno == EAGAIN);
    SS_CHECK(fcntl(fds[1], F_SETFL, 0) == 0);
}

/* Everything until EOF from fd (then closed). */
static char *
drain(int fd)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    ssize_t n;

    while ((n = read(fd, buf + len, cap - len - 1)) > 0 ||
           (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        len += (size_t)n;
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void
wait_file(ss_test *t, const char *path, pid_t pid)
{
    int i, status;

    for (i = 0; i < 6000 && !ss_test_file_exists(path); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            SS_FAIL("the run ended (status %d) before %s appeared", status,
                    path);
        usleep(10000);
    }
    SS_CHECK(ss_test_file_exists(path));
}

/* Names in dir not starting with '.', sorted; returns the count. */
static int
list_dir(struct dirent ***names, const char *dir)
{
    struct dirent **all = NULL;
    int n = scandir(dir, &all, NULL, alphasort), i, k = 0;

    for (i = 0; i < n; i++) {
        if (all[i]->d_name[0] == '.')
            free(all[i]);
        else
            all[k++] = all[i];
    }
    *names = all;
    return n < 0 ? -1 : k;
}

static void
free_list(struct dirent **names, int n)
{
    int i;

    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Every file of `sub` is in `super` with the same bytes; with `exact`,
 * and nothing else. */
static void
check_dir_in(ss_test *t, const char *sub, const char *super, int exact)
{
    struct dirent **a, **b;
    int na = list_dir(&a, sub), nb = list_dir(&b, super), i;

    SS_CHECK(na > 0 && nb > 0);
    if (exact && na != nb)
        SS_FAIL("%s has %d files, %s has %d", sub, na, super, nb);
    for (i = 0; i < na; i++) {
        char pa[PATH], pb[PATH];
        unsigned char *da, *db;
        size_t la, lb;

        PATHF(pa, "%s/%s", sub, a[i]->d_name);
        PATHF(pb, "%s/%s", super, a[i]->d_name);
        if (!ss_test_file_exists(pb))
            SS_FAIL("%s has no %s", super, a[i]->d_name);
        da = ss_test_read_file(t, pa, &la);
        db = ss_test_read_file(t, pb, &lb);
        if (la != lb || memcmp(da, db, la) != 0)
            SS_FAIL("%s and %s differ", pa, pb);
        free(da);
        free(db);
    }
    free_list(a, na);
    free_list(b, nb);
}

static void
paths(ss_test *t, char *in, char *ck, char *out, const char *tag)
{
    snprintf(in, PATH, "%s/in", t->dir);
    snprintf(ck, PATH, "%s/ck%s", t->dir, tag);
    snprintf(out, PATH, "%s/out%s", t->dir, tag);
}

/* Numbers of the entries of a log folder, ascending; returns the count. */
static int
log_numbers(uint64_t *out, int max, const char *dir, const char *suffix)
{
    struct dirent **names;
    int n = list_dir(&names, dir), i, k = 0;

    for (i = 0; i < n; i++) {
        char *end;
        uint64_t v = strtoull(names[i]->d_name, &end, 10);

        if (strcmp(end, suffix) == 0 && k < max)
            out[k++] = v;
    }
    free_list(names, n);
    for (i = 1; i < k; i++) { /* few entries: insertion sort */
        uint64_t v = out[i];
        int j = i;

        for (; j > 0 && out[j - 1] > v; j--)
            out[j] = out[j - 1];
        out[j] = v;
    }
    return k;
}

/* ------------------------------------------------------------- lock */

/* runner.c invariant 7; issue 9 finding A1: a second run on a busy
 * checkpoint is refused at once and the output is a single run's. */
static void
test_lock__second_run_refused(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], errb[PATH];
    char pidstr[64], *alog, *blog;
    argv_buf a, b;
    int p[2];
    pid_t pa;
    time_t t0;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(errb, "%s/b.err", t->dir);
    gen(t, in, N_FILES);
    run_argv(t, &a, in, ck, out, "--max-files", "1", (char *)NULL);
    run_argv(t, &b, in, ck, out, "--max-files", "3", (char *)NULL);
    full_pipe(t, p);
    pa = spawn(t, &a, -1, -1, p[1]);
    close(p[1]);
    {
        char c0[PATH];

        PATHF(c0, "%s/commits/0", ck);
        wait_file(t, c0, pa); /* A now blocks on its progress line */
    }
    t0 = time(NULL);
    SS_CHECK_EQ_U64(run_sync(t, &b, errb, NULL), 3);
    SS_CHECK(time(NULL) - t0 < 10); /* at once, not after A */
    PATHF(pidstr, "is in use by pid %ld on host ", (long)pa);
    blog = slurp(t, errb);
    check_contains(t, blog, pidstr, "the refused run's stderr");
    check_contains(t, blog, " since 20", "the refused run's stderr");
    check_contains(t, blog, "/lock", "the refused run's stderr");
    free(blog);
    alog = drain(p[0]);
    SS_CHECK_EQ_U64(wait_code(t, pa), 0);
    free(alog);
    /* The output is exactly that of A alone. */
    run_argv(t, &a, in, rck, rout, "--max-files", "1", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    check_dir_in(t, out, rout, 1);
    check_dir_in(t, rout, out, 1);
}

/* A run SIGKILLed while holding the lock: the next run takes it over,
 * says whose it was, and the output equals an uninterrupted run's. */
static void
test_lock__stale_lock_taken_over(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], errb[PATH];
    char lock[PATH], needle[128];
    argv_buf a;
    struct stat sb;
    int p[2];
    pid_t pa;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(errb, "%s/b.err", t->dir);
    PATHF(lock, "%s/lock", ck);
    gen(t, in, N_FILES);
    run_argv(t, &a, in, ck, out, "--max-files", "1", (char *)NULL);
    full_pipe(t, p);
    pa = spawn(t, &a, -1, -1, p[1]);
    close(p[1]);
    {
        char c0[PATH];

        PATHF(c0, "%s/commits/0", ck);
        wait_file(t, c0, pa);
    }
    SS_CHECK(kill(pa, SIGKILL) == 0);
    SS_CHECK_EQ_U64(wait_code(t, pa), 128 + SIGKILL);
    close(p[0]);
    PATHF(needle, "pid %ld\n", (long)pa);
    check_file_contains(t, lock, needle);
    SS_CHECK_EQ_U64(run_sync(t, &a, errb, NULL), 0);
    PATHF(needle, "taking over the lock left by pid %ld ", (long)pa);
    check_file_contains(t, errb, needle);
    /* A run that ended cleanly leaves the lock file empty: not stale. */
    SS_CHECK(stat(lock, &sb) == 0 && sb.st_size == 0);
    SS_CHECK_EQ_U64(run_sync(t, &a, errb, NULL), 0);
    {
        char *s = slurp(t, errb);

        SS_CHECK(strstr(s, "taking over") == NULL);
        free(s);
    }
    run_argv(t, &a, in, rck, rout, "--max-files", "1", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    check_dir_in(t, out, rout, 1);
}

/*
 * Where the lock does not hold (here: its file deleted under a live run,
 * as a filesystem without working locks would let happen), offsets/N is
 * created only if absent: the run that finds batch 1 logged by another
 * stops (exit 3, naming it) before it touches state, and the output is
 * that of the two runs one after the other.
 */
static void
test_lock__fence_without_lock(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], lock[PATH];
    char *alog;
    argv_buf a, b;
    int p[2];
    pid_t pa;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(lock, "%s/lock", ck);
    gen(t, in, N_FILES);
    run_argv(t, &a, in, ck, out, "--max-files", "1", (char *)NULL);
    run_argv(t, &b, in, ck, out, "--max-files", "3", (char *)NULL);
    full_pipe(t, p);
    pa = spawn(t, &a, -1, -1, p[1]);
    close(p[1]);
    {
        char c0[PATH];

        PATHF(c0, "%s/commits/0", ck);
        wait_file(t, c0, pa);
    }
    SS_CHECK(unlink(lock) == 0);
    SS_CHECK_EQ_U64(run_sync(t, &b, NULL, NULL), 0);
    alog = drain(p[0]);
    SS_CHECK_EQ_U64(wait_code(t, pa), 3);
    check_contains(t, alog, "offsets/1 was written by another run",
                   "the losing run's stderr");
    free(alog);
    /* Batch 0 as A planned it, the rest as B did. */
    run_argv(t, &a, in, rck, rout, "--max-files", "1", "--max-batches", "1",
             (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    run_argv(t, &b, in, rck, rout, "--max-files", "3", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &b, NULL, NULL), 0);
    check_dir_in(t, out, rout, 1);
}

/*
 * The stores' own fence (SS_EFENCED): run A, with -q, blocks on stderr
 * while it reports a bad line of batch 1, after offsets/1 and with its
 * stores open since batch 0.  With the lock file deleted, run B replays
 * batch 1 and goes on to the end, taking the stores over.  A's batch 1
 * is then refused by the stores: A stops (exit 3), saying another writer
 * took over, commits nothing, and the output is B's.
 */
static void
test_lock__fenced_store_reported(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], lock[PATH];
    char path[PATH], *alog;
    argv_buf a, b;
    FILE *fp;
    int p[2];
    pid_t pa;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(lock, "%s/lock", ck);
    gen(t, in, N_FILES);
    PATHF(path, "%s/in-01.jsonl", in);
    SS_CHECK((fp = fopen(path, "a")) != NULL);
    fputs("{\"ts\": not json\n", fp);
    fclose(fp);
    run_argv(t, &a, in, ck, out, "--max-files", "1", "-q", (char *)NULL);
    run_argv(t, &b, in, ck, out, "--max-files", "3", (char *)NULL);
    full_pipe(t, p);
    pa = spawn(t, &a, -1, -1, p[1]);
    close(p[1]);
    PATHF(path, "%s/offsets/1", ck);
    /* A blocks on its bad-line report before it loads a store for 1. */
    wait_file(t, path, pa);
    PATHF(path, "%s/commits/1", ck);
    SS_CHECK(!ss_test_file_exists(path));
    SS_CHECK(unlink(lock) == 0);
    SS_CHECK_EQ_U64(run_sync(t, &b, NULL, NULL), 0);
    alog = drain(p[0]);
    SS_CHECK_EQ_U64(wait_code(t, pa), 3);
    check_contains(t, alog,
                   "another writer took over its state during "
                   "batch 1",
                   "the fenced run's stderr");
    check_contains(t, alog, "SS_EFENCED", "the fenced run's stderr");
    free(alog);
    run_argv(t, &a, in, rck, rout, "--max-files", "1", "--max-batches", "2",
             (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    run_argv(t, &b, in, rck, rout, "--max-files", "3", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &b, NULL, NULL), 0);
    check_dir_in(t, out, rout, 1);
}

/* log.c invariant 4: processes racing to log one batch: exactly one
 * wins, the others get SS_EEXISTS, and the entry is the winner's. */
static void
test_lock__log_entry_race(ss_test *t)
{
    enum { N = 6 };
    char dir[PATH];
    pid_t pids[N];
    int go[2], i, k, wins = 0, winner = -1;

    PATHF(dir, "%s/commits", t->dir);
    SS_CHECK(mkdir(dir, 0755) == 0);
    for (k = 0; k < 2; k++) {
        wins = 0;
        SS_CHECK(pipe(go) == 0);
        fflush(NULL);
        for (i = 0; i < N; i++) {
            SS_CHECK((pids[i] = fork()) >= 0);
            if (pids[i] == 0) {
                ss_storage *st;
                char c;
                int rc;

                close(go[1]);
                if (read(go[0], &c, 1) < 0)
                    _exit(2);
                if (ss_local_fs_open(&st, dir) < 0)
                    _exit(2);
                if (k == 0) {
                    ss_commit_entry ce = {7, i, (uint64_t)i};

                    rc = ss_log__write_commit(st, &ce);
                } else {
                    ss_offset_entry oe;

                    memset(&oe, 0, sizeof(oe));
                    oe.batch = 8;
                    oe.watermark = i;
                    rc = ss_log__write_offset(st, &oe);
                }
                st->free(st);
                _exit(rc == 0 ? 0 : rc == SS_EEXISTS ? 3 : 1);
            }
        }
        close(go[0]);
        close(go[1]); /* all start at once */
        for (i = 0; i < N; i++) {
            int code = wait_code(t, pids[i]);

            SS_CHECK(code == 0 || code == 3);
            if (code == 0)
                wins++, winner = i;
        }
        SS_CHECK_EQ_U64(wins, 1);
        {
            ss_storage *st;

            SS_CHECK_OK(ss_local_fs_open(&st, dir));
            if (k == 0) {
                ss_commit_entry ce;

                SS_CHECK_OK(ss_log__read_commit(&ce, st, 7));
                SS_CHECK_EQ_U64(ce.rows_out, (uint64_t)winner);
            } else {
                ss_offset_entry oe;

                SS_CHECK_OK(ss_log__read_offset(&oe, st, 8));
                SS_CHECK_EQ_U64((uint64_t)oe.watermark, (uint64_t)winner);
                ss_log__offset_free(&oe);
            }
            st->free(st);
        }
    }
}

/* -------------------------------------------------------- retention */

/* runner.c invariant 8; finding 15: offsets/, commits/ and
 * sources/stdin/ keep the newest min_versions_to_retain batches, and a
 * pruned checkpoint resumes and gives the same output. */
static void
test_retention__logs_pruned(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], sub[PATH];
    char err[PATH], lines[PATH];
    uint64_t nums[64];
    argv_buf a;
    FILE *fp;
    int n, i;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(err, "%s/err", t->dir);
    gen(t, in, N_FILES);
    run_argv(t, &a, in, ck, out, "--max-files", "1", "-o",
             "min_versions_to_retain=3", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    /* 8 files and one no-data batch: batches 0..8, 6..8 kept. */
    PATHF(sub, "%s/offsets", ck);
    SS_CHECK_EQ_U64(log_numbers(nums, 64, sub, ""), 3);
    SS_CHECK(nums[0] == 6 && nums[2] == 8);
    PATHF(sub, "%s/commits", ck);
    SS_CHECK_EQ_U64(log_numbers(nums, 64, sub, ""), 3);
    SS_CHECK(nums[0] == 6 && nums[2] == 8);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 0);
    check_file_contains(t, err, "no new input (9 batches committed");
    run_argv(t, &a, in, rck, rout, "--max-files", "1", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    check_dir_in(t, out, rout, 1);

    /* stdin: 10 batches of 30 lines; the saved copies are pruned too. */
    PATHF(lines, "%s/in/in-00.jsonl", t->dir);
    PATHF(ck, "%s/ck-stdin", t->dir);
    PATHF(out, "%s/out-stdin", t->dir);
    run_argv(t, &a, "-", ck, out, "--max-records", "30", "-o",
             "min_versions_to_retain=2", (char *)NULL);
    SS_CHECK((fp = fopen(lines, "r")) != NULL);
    fclose(fp);
    {
        /* The first 300 lines only. */
        char *all = slurp(t, lines), *p = all;
        char part[PATH];

        for (i = 0; i < 300; i++)
            p = strchr(p, '\n') + 1;
        PATHF(part, "%s/stdin.jsonl", t->dir);
        ss_test_write_file(t, part, all, (size_t)(p - all));
        free(all);
        SS_CHECK_EQ_U64(run_sync(t, &a, NULL, part), 0);
    }
    PATHF(sub, "%s/commits", ck);
    n = log_numbers(nums, 64, sub, "");
    SS_CHECK_EQ_U64(n, 2);
    SS_CHECK(nums[1] >= 9);
    PATHF(sub, "%s/sources/stdin", ck);
    n = log_numbers(nums, 64, sub, ".jsonl");
    SS_CHECK(n >= 1 && n <= 2);
    SS_CHECK(nums[0] >= 8);
}

/* The prunes of offsets/ and commits/ among the recorded events: each
 * log oldest first; with `linked`, each entry M deleted only after
 * commits/(M+2) was linked and its folder synced.  Returns the count. */
static int
check_prunes(ss_test *t, const char *ck, int linked)
{
    char abs[PATH_MAX];
    uint64_t last[2] = {0, 0};
    int seen[2] = {0, 0}, pruned = 0;
    size_t i, al;

    SS_CHECK(realpath(ck, abs) != NULL);
    al = strlen(abs);
    for (i = 0; i < n_events; i++) {
        const fs_event *ev = &events[i];
        const char *rest = ev->path + al;
        char commit[PATH], cdir[PATH];
        int log;
        uint64_t m;
        long at;

        if (ev->kind != EV_UNLINK || ev->rc != 0 ||
            strncmp(ev->path, abs, al) != 0)
            continue;
        if (strncmp(rest, "/offsets/", 9) == 0)
            log = 0;
        else if (strncmp(rest, "/commits/", 9) == 0)
            log = 1;
        else
            continue;
        if (rest[9] < '0' || rest[9] > '9')
            continue; /* a temp file */
        m = strtoull(rest + 9, NULL, 10);
        if (seen[log] && m <= last[log])
            SS_FAIL("%s pruned after batch %" PRIu64, ev->path, last[log]);
        seen[log] = 1;
        last[log] = m;
        pruned++;
        if (!linked)
            continue;
        PATHF(commit, "%s/commits/%" PRIu64, abs, m + 2);
        PATHF(cdir, "%s/commits", abs);
        at = find_event(0, EV_LINK, commit);
        if (at < 0 || (size_t)at > i)
            SS_FAIL("%s deleted before %s was written", ev->path, commit);
        at = find_event((size_t)at, EV_FSYNC, cdir);
        if (at < 0 || (size_t)at > i)
            SS_FAIL("%s deleted before %s was synced", ev->path, cdir);
    }
    return pruned;
}

/* Invariant 8's order: a log entry is deleted only after a commit
 * `retain` batches newer is durable (linked, and its folder synced), and
 * each log is pruned oldest first, also when a lower retention prunes
 * many entries at the start of a run. */
static void
test_retention__pruned_after_newer_commit(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], name[PATH];
    const char *so[] = {"min_versions_to_retain=2"};
    ss_run_options o;

    paths(t, in, ck, out, "");
    gen(t, in, N_FILES);
    ss_run_options_init(&o);
    o.input = in;
    o.checkpoint = ck;
    o.output = out;
    o.event_time = "ts";
    o.partitions = 2;
    o.threads = 1;
    o.max_files = 1;
    o.n_dedup = 1;
    o.dedup[0] = "user";
    o.store_options = so;
    o.n_store_options = 1;
    /* Batches 0..4: after commits/N, N-2 goes. */
    o.max_batches = 5;
    record_start();
    SS_CHECK_OK(ss_run(NULL, &o));
    record_stop();
    SS_CHECK_EQ_U64((uint64_t)check_prunes(t, ck, 1), 6);
    /* Batches 5..8 (the last one no-data) keeping 100 batches... */
    o.max_batches = 0;
    o.n_store_options = 0;
    SS_CHECK_OK(ss_run(NULL, &o));
    PATHF(name, "%s/offsets/3", ck);
    SS_CHECK(ss_test_file_exists(name));
    /* ...then back to 2: 3..6 go at the start, in one prune. */
    o.n_store_options = 1;
    record_start();
    SS_CHECK_OK(ss_run(NULL, &o));
    record_stop();
    SS_CHECK_EQ_U64((uint64_t)check_prunes(t, ck, 0), 8);
    PATHF(name, "%s/offsets/6", ck);
    SS_CHECK(!ss_test_file_exists(name));
    PATHF(name, "%s/offsets/7", ck);
    SS_CHECK(ss_test_file_exists(name));
}

/*
 * Finding 16: -o min_versions_to_retain=1 -o min_deltas_for_snapshot=1,
 * killed at the worst point: batch N's stores committed N+1 and ran
 * maintenance, its output is being written, commits/N is not.  The
 * restart replays N from version N, which must still be loadable, and
 * its output equals an uninterrupted run's.
 */
static void
test_retention__replay_base_kept(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], err[PATH];
    char sub[PATH];
    uint64_t nums[64];
    argv_buf a;
    int p[2], cap, i, full = 0, n;
    pid_t pa;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(err, "%s/err", t->dir);
    gen(t, in, N_FILES);
    run_argv(t, &a, in, ck, "-", "--max-files", "1", "-o",
             "min_versions_to_retain=1", "-o", "min_deltas_for_snapshot=1",
             (char *)NULL);
    SS_CHECK(pipe2(p, O_CLOEXEC) == 0);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    SS_CHECK((cap = fcntl(p[1], F_GETPIPE_SZ)) > 0);
    pa = spawn(t, &a, -1, p[1], -1);
    close(p[1]);
    /* A batch's output fills the pipe: the run blocks inside the sink. */
    for (i = 0; i < 6000 && !full; i++) {
        int queued = 0, status;

        if (waitpid(pa, &status, WNOHANG) == pa)
            SS_FAIL("the run ended (status %d) without blocking", status);
        full = ioctl(p[0], FIONREAD, &queued) == 0 && queued >= cap;
        usleep(10000);
    }
    SS_CHECK(full);
    usleep(300000);
    SS_CHECK(kill(pa, SIGKILL) == 0);
    SS_CHECK_EQ_U64(wait_code(t, pa), 128 + SIGKILL);
    close(p[0]);
    PATHF(sub, "%s/commits", ck);
    n = log_numbers(nums, 64, sub, "");
    SS_CHECK(n >= 1); /* batch 0 closes no window: it printed nothing */
    {
        char off[PATH];

        PATHF(off, "%s/offsets/%" PRIu64, ck, nums[n - 1] + 1);
        SS_CHECK(ss_test_file_exists(off)); /* killed inside that batch */
    }
    run_argv(t, &a, in, ck, out, "--max-files", "1", "-o",
             "min_versions_to_retain=1", "-o", "min_deltas_for_snapshot=1",
             (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 0);
    run_argv(t, &a, in, rck, rout, "--max-files", "1", "-o",
             "min_versions_to_retain=1", "-o", "min_deltas_for_snapshot=1",
             (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    /* The restart wrote the replayed batch and every later one, as an
     * uninterrupted run did. */
    check_dir_in(t, out, rout, 0);
    PATHF(sub, "%s/part-%08" PRIu64 ".jsonl", out, nums[n - 1] + 1);
    SS_CHECK(ss_test_file_exists(sub));
}

/* --------------------------------------------------------- checksum */

/* A batch logged from stdin and not committed (a crash before
 * commits/1): ck holds offsets/0..1 and commits/0 only. */
static void
stdin_uncommitted(ss_test *t, const char *in, const char *ck, const char *out)
{
    char part[PATH], name[PATH];
    argv_buf a;
    int b;

    PATHF(part, "%s/in/in-00.jsonl", t->dir);
    gen(t, in, 1);
    run_argv(t, &a, "-", ck, out, "--max-records", "200", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, part), 0);
    for (b = 1; b < 10; b++) {
        PATHF(name, "%s/commits/%d", ck, b);
        unlink(name);
        if (b >= 2) {
            PATHF(name, "%s/offsets/%d", ck, b);
            unlink(name);
        }
    }
}

/* runner.c invariant 10; finding 17: a flipped byte or a cut trailer in
 * a saved stdin batch stops the replay, naming the file. */
static void
test_checksum__stdin_batch_damaged(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], err[PATH], saved[PATH];
    unsigned char *orig, *bad;
    size_t len;
    argv_buf a;

    paths(t, in, ck, out, "");
    PATHF(err, "%s/err", t->dir);
    PATHF(saved, "%s/sources/stdin/1.jsonl", ck);
    stdin_uncommitted(t, in, ck, out);
    orig = ss_test_read_file(t, saved, &len);
    SS_CHECK(len > 100);
    bad = malloc(len);
    memcpy(bad, orig, len);
    bad[len / 2] ^= 0x01; /* e.g. one digit of an event time */
    ss_test_write_file(t, saved, bad, len);
    run_argv(t, &a, "-", ck, out, "--max-records", "200", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 1);
    check_file_contains(t, err, "sources/stdin/1.jsonl: checksum mismatch");
    ss_test_write_file(t, saved, orig, len - 16); /* no CRC line */
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 1);
    check_file_contains(t, err, "sources/stdin/1.jsonl: truncated");
    ss_test_write_file(t, saved, orig, len);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 0);
    check_file_contains(t, err, "batches 1..");
    free(orig);
    free(bad);
}

/* query.c invariant 4; finding 17: a deleted `query` is an error naming
 * it once the logs hold batches, and a damaged one is a checksum error,
 * not "a different query". */
static void
test_checksum__query_missing_or_damaged(ss_test *t)
{
    char in[PATH], ck[PATH], out[PATH], err[PATH], query[PATH];
    unsigned char *orig, *bad;
    size_t len;
    argv_buf a;

    paths(t, in, ck, out, "");
    PATHF(err, "%s/err", t->dir);
    PATHF(query, "%s/query", ck);
    gen(t, in, 2);
    run_argv(t, &a, in, ck, out, (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);
    orig = ss_test_read_file(t, query, &len);
    SS_CHECK(unlink(query) == 0);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 1);
    check_file_contains(t, err, "/query is missing, but ");
    check_file_contains(t, err, "holds logged batches");
    SS_CHECK(!ss_test_file_exists(query)); /* not rewritten */
    bad = malloc(len);
    memcpy(bad, orig, len);
    bad[30] ^= 0x20;
    ss_test_write_file(t, query, bad, len);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 1);
    check_file_contains(t, err, "/query: checksum mismatch");
    ss_test_write_file(t, query, orig, len);
    SS_CHECK_EQ_U64(run_sync(t, &a, err, NULL), 0);
    free(orig);
    free(bad);
}

/* ------------------------------------------------------------- dirs */

/* The parent of `dir` (both absolute, no trailing slash). */
static void
parent_of(char *out, const char *dir)
{
    const char *slash = strrchr(dir, '/');

    snprintf(out, PATH, "%.*s", slash == dir ? 1 : (int)(slash - dir), dir);
}

/* Every folder made under `root` during the run is synced into its
 * parent after it was made. */
static void
check_new_dirs_synced(ss_test *t, const char *root)
{
    size_t i, rl = strlen(root), made = 0;

    for (i = 0; i < n_events; i++) {
        char parent[PATH];

        if (events[i].kind != EV_MKDIR || events[i].rc != 0 ||
            strncmp(events[i].path, root, rl) != 0)
            continue;
        made++;
        parent_of(parent, events[i].path);
        if (find_event(i + 1, EV_FSYNC, parent) < 0)
            SS_FAIL("%s was made, but %s never synced after", events[i].path,
                    parent);
    }
    SS_CHECK(made >= 8);
}

static void
dirs_options(ss_run_options *o, const char *in, const char *ck, const char *out)
{
    ss_run_options_init(o);
    o->input = in;
    o->checkpoint = ck;
    o->output = out;
    o->event_time = "ts";
    o->partitions = 2;
    o->threads = 1;
    o->n_dedup = 1;
    o->dedup[0] = "user";
}

/* runner.c invariant 9; finding 22: offsets/, commits/, state/,
 * state/<op>/, state/<op>/<p>/ and the checkpoint and output folders
 * are synced into their parents; also folders a killed run had made but
 * not synced. */
static void
test_dirs__synced_into_parents(ss_test *t)
{
    static const char *const pre[] = {"",
                                      "/offsets",
                                      "/commits",
                                      "/state",
                                      "/state/dedup",
                                      "/state/dedup/0",
                                      "/state/dedup/1"};
    char in[PATH], ck[PATH], out[PATH], root[PATH_MAX], path[PATH];
    ss_run_options o;
    size_t i;

    PATHF(in, "%s/in", t->dir);
    PATHF(ck, "%s/new/ck", t->dir);
    PATHF(out, "%s/new/out", t->dir);
    gen(t, in, 2);
    SS_CHECK(realpath(t->dir, root) != NULL);
    dirs_options(&o, in, ck, out);
    record_start();
    SS_CHECK_OK(ss_run(NULL, &o));
    record_stop();
    check_new_dirs_synced(t, root);

    /* Made by a run killed before it synced them: synced now. */
    PATHF(ck, "%s/ck2", t->dir);
    for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
        PATHF(path, "%s%s", ck, pre[i]);
        SS_CHECK(mkdir(path, 0755) == 0);
    }
    dirs_options(&o, in, ck, out);
    record_start();
    SS_CHECK_OK(ss_run(NULL, &o));
    record_stop();
    for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
        char abs[PATH_MAX], parent[PATH];

        PATHF(path, "%s%s", ck, pre[i]);
        SS_CHECK(realpath(path, abs) != NULL);
        parent_of(parent, abs);
        if (find_event(0, EV_FSYNC, parent) < 0)
            SS_FAIL("%s existed unsynced, and %s was never synced", abs,
                    parent);
    }
}

/* -------------------------------------------------------- providers */

/* One batch (or, with max NULL, the rest) of the common query. */
static int
run_with(ss_test *t, const char *in, const char *ck, const char *out,
         const char *err, const char *max, const char *provider,
         const char *opt)
{
    argv_buf a;

    run_argv(t, &a, in, ck, out, "--max-files", "1", "--max-batches",
             max ? max : "0", "--provider", provider, opt ? "-o" : NULL, opt,
             (char *)NULL);
    return run_sync(t, &a, err, NULL);
}

/*
 * docs/runner.md's table; finding 25: memory and rocksdb changelog mode
 * continue each other's checkpoints and SST mode continues both; after
 * SST mode the memory provider refuses, naming the meta, and rocksdb
 * (either mode) continues.  The output equals a memory-only run's.
 */
static void
test_providers__switching(ss_test *t)
{
    static const char chg[] = "rocksdb.changelog_checkpointing=true";
    char in[PATH], ck[PATH], out[PATH], rck[PATH], rout[PATH], err[PATH];
    argv_buf a;

    paths(t, in, ck, out, "");
    paths(t, in, rck, rout, "-ref");
    PATHF(err, "%s/err", t->dir);
    gen(t, in, 6);
    run_argv(t, &a, in, rck, rout, "--max-files", "1", (char *)NULL);
    SS_CHECK_EQ_U64(run_sync(t, &a, NULL, NULL), 0);

    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, "1", "memory", NULL), 0);
    if (run_with(t, in, ck, out, err, "1", "rocksdb", chg) != 0) {
        char *s = slurp(t, err);

        if (strstr(s, "not built"))
            ss_test_skip(t, "rocksdb is not built");
        SS_FAIL("rocksdb changelog run failed:\n%s", s);
    }
    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, "1", "memory", NULL), 0);
    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, "1", "rocksdb", NULL), 0);
    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, NULL, "memory", NULL), 1);
    check_file_contains(t, err,
                        ".meta, a RocksDB checkpoint: load it with "
                        "provider=rocksdb");
    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, "1", "rocksdb", chg), 0);
    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, NULL, "memory", NULL), 1);
    SS_CHECK_EQ_U64(run_with(t, in, ck, out, err, NULL, "rocksdb", NULL), 0);
    check_dir_in(t, out, rout, 1);
}

static const ss_test_case tests[] = {
    SS_TEST_ONCE(lock, second_run_refused),
    SS_TEST_ONCE(lock, stale_lock_taken_over),
    SS_TEST_ONCE(lock, fence_without_lock),
    SS_TEST_ONCE(lock, fenced_store_reported),
    SS_TEST_ONCE(lock, log_entry_race),
    SS_TEST_ONCE(retention, logs_pruned),
    SS_TEST_ONCE(retention, pruned_after_newer_commit),
    SS_TEST_ONCE(retention, replay_base_kept),
    SS_TEST_ONCE(checksum, stdin_batch_damaged),
    SS_TEST_ONCE(checksum, query_missing_or_damaged),
    SS_TEST_ONCE(dirs, synced_into_parents),
    SS_TEST_ONCE(providers, switching),
    SS_TEST_END};

SS_TEST_MAIN(tests)
