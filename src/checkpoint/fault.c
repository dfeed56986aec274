/*
 * fault.c -- test-only fault injection in the file layer (fault.h has the
 * contract).  Built only into statestore_testing, with SS_TESTING.
 *
 * Invariant 1: unarmed, every wrapper behaves exactly as the call it
 * wraps (errno included).
 * Invariant 2: a faulted or refused call changes nothing on disk, except
 * SS_FAULT_SHORT (a prefix written) and the crashing call itself.
 *
 *   OFF --arm--> COUNTING --n-th call--> FIRED --(crash mode)--> DEAD
 *    ^______________________disarm_______________________________/
 */
#define SS_FAULT_IMPLEMENTATION
#include "checkpoint/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_FDS 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned armed_mask;
static uint64_t armed_n;
static int armed_mode;
static ss_fault_info info;
static char root[512];
/* Descriptors opened for writing, and the paths of open descriptors. */
static unsigned char fd_written[MAX_FDS];
static char *fd_path[MAX_FDS];

static const char *const call_names[SS_FAULT_N_CALLS] = {
    "open(read)", "open(write)", "write", "fsync", "close", "rename",
    "unlink",     "read",        "stat",  "list",  "mkdir",
};

const char *
ss_fault_call_name(unsigned call)
{
    return call < SS_FAULT_N_CALLS ? call_names[call] : "?";
}

const char *
ss_fault_mode_name(int mode)
{
    switch (mode) {
    case SS_FAULT_EIO: return "EIO";
    case SS_FAULT_ENOSPC: return "ENOSPC";
    case SS_FAULT_SHORT: return "short write";
    case SS_FAULT_CRASH: return "crash after";
    default: return "off";
    }
}

void
ss_fault_arm(unsigned mask, uint64_t n, int mode)
{
    pthread_mutex_lock(&lock);
    armed_mask = mask;
    armed_n = n;
    armed_mode = mode;
    memset(&info, 0, sizeof(info));
    pthread_mutex_unlock(&lock);
}

void
ss_fault_disarm(void)
{
    pthread_mutex_lock(&lock);
    armed_mode = SS_FAULT_OFF;
    armed_mask = 0;
    info.dead = 0;
    pthread_mutex_unlock(&lock);
}

void
ss_fault_get(ss_fault_info *out)
{
    pthread_mutex_lock(&lock);
    *out = info;
    pthread_mutex_unlock(&lock);
}

void
ss_fault_set_root(const char *dir)
{
    pthread_mutex_lock(&lock);
    snprintf(root, sizeof(root), "%s", dir ? dir : "");
    pthread_mutex_unlock(&lock);
}

/* What the wrapper must do with this call. */
enum { GO = 0, FAIL, SHORT, GO_THEN_DIE };

static int
decide(unsigned call, int fd, const char *path, int *err)
{
    int action = GO;

    pthread_mutex_lock(&lock);
    if (armed_mode == SS_FAULT_OFF)
        goto out;
    if (info.dead) {
        info.dead_refused++;
        if (call != SS_FAULT_CLOSE ||
            (fd >= 0 && fd < MAX_FDS && fd_written[fd])) {
            if (!info.dead_refused_other++)
                info.first_refused = call;
        }
        *err = EIO;
        action = FAIL;
        goto out;
    }
    if (!(armed_mask & SS_FAULT_BIT(call)) || info.fired)
        goto out;
    if (++info.calls != armed_n)
        goto out;
    info.fired = 1;
    info.call = call;
    info.on_written_fd = fd >= 0 && fd < MAX_FDS && fd_written[fd];
    if (!path && fd >= 0 && fd < MAX_FDS)
        path = fd_path[fd];
    snprintf(info.path, sizeof(info.path), "%s", path ? path : "");
    switch (armed_mode) {
    case SS_FAULT_EIO:
        *err = EIO;
        action = FAIL;
        break;
    case SS_FAULT_ENOSPC:
        *err = ENOSPC;
        action = FAIL;
        break;
    case SS_FAULT_SHORT: action = call == SS_FAULT_WRITE ? SHORT : GO; break;
    case SS_FAULT_CRASH: action = GO_THEN_DIE; break;
    default: break;
    }
out:
    pthread_mutex_unlock(&lock);
    return action;
}

static void
after(int action)
{
    if (action != GO_THEN_DIE)
        return;
    pthread_mutex_lock(&lock);
    info.dead = 1;
    pthread_mutex_unlock(&lock);
}

/* Record a successful mutation of `path` outside the root. */
static void
check_root(const char *path)
{
    size_t n;

    pthread_mutex_lock(&lock);
    n = strlen(root);
    if (n > 0 && !info.outside[0] &&
        (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0')))
        snprintf(info.outside, sizeof(info.outside), "%s", path);
    pthread_mutex_unlock(&lock);
}

static void
track_fd(int fd, const char *path, int written)
{
    if (fd < 0 || fd >= MAX_FDS)
        return;
    pthread_mutex_lock(&lock);
    fd_written[fd] = (unsigned char)written;
    free(fd_path[fd]);
    fd_path[fd] = strdup(path);
    pthread_mutex_unlock(&lock);
}

static void
untrack_fd(int fd)
{
    if (fd < 0 || fd >= MAX_FDS)
        return;
    pthread_mutex_lock(&lock);
    fd_written[fd] = 0;
    free(fd_path[fd]);
    fd_path[fd] = NULL;
    pthread_mutex_unlock(&lock);
}

int
ss_fault_open(const char *path, int flags, ...)
{
    int writes = (flags & (O_WRONLY | O_RDWR | O_CREAT)) != 0, err = 0, fd;
    mode_t mode = 0;
    int action;
    va_list ap;

    if (flags & O_CREAT) {
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    action = decide(writes ? SS_FAULT_OPEN_WRITE : SS_FAULT_OPEN_READ, -1, path,
                    &err);
    if (action == FAIL) {
        errno = err;
        return -1;
    }
    fd = open(path, flags, mode);
    if (fd >= 0) {
        track_fd(fd, path, writes);
        if (writes)
            check_root(path);
    }
    after(action);
    return fd;
}

ssize_t
ss_fault_write(int fd, const void *buf, size_t len)
{
    int err = 0, action = decide(SS_FAULT_WRITE, fd, NULL, &err);
    ssize_t n;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    if (action == SHORT && len > 1)
        len /= 2;
    n = write(fd, buf, len);
    after(action);
    return n;
}

ssize_t
ss_fault_read(int fd, void *buf, size_t len)
{
    int err = 0, action = decide(SS_FAULT_READ, fd, NULL, &err);
    ssize_t n;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    n = read(fd, buf, len);
    after(action);
    return n;
}

int
ss_fault_fsync(int fd)
{
    int err = 0, action = decide(SS_FAULT_FSYNC, fd, NULL, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = fsync(fd);
    after(action);
    return rc;
}

int
ss_fault_close(int fd)
{
    int err = 0, action = decide(SS_FAULT_CLOSE, fd, NULL, &err), rc;

    /* The descriptor is released even when the close "fails", as the
     * kernel does for close and for a dead process. */
    untrack_fd(fd);
    rc = close(fd);
    if (action == FAIL) {
        errno = err;
        return -1;
    }
    after(action);
    return rc;
}

int
ss_fault_rename(const char *from, const char *to)
{
    int err = 0, action = decide(SS_FAULT_RENAME, -1, to, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = rename(from, to);
    if (rc == 0) {
        check_root(from);
        check_root(to);
    }
    after(action);
    return rc;
}

/* link(2) is the filesystem's create-if-absent commit: counted with
 * rename, as both make a name visible. */
int
ss_fault_link(const char *from, const char *to)
{
    int err = 0, action = decide(SS_FAULT_RENAME, -1, to, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = link(from, to);
    if (rc == 0)
        check_root(to);
    after(action);
    return rc;
}

int
ss_fault_unlink(const char *path)
{
    int err = 0, action = decide(SS_FAULT_UNLINK, -1, path, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = unlink(path);
    if (rc == 0)
        check_root(path);
    after(action);
    return rc;
}

int
ss_fault_stat(const char *path, struct stat *sb)
{
    int err = 0, action = decide(SS_FAULT_STAT, -1, path, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = stat(path, sb);
    after(action);
    return rc;
}

int
ss_fault_fstat(int fd, struct stat *sb)
{
    int err = 0, action = decide(SS_FAULT_STAT, fd, NULL, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = fstat(fd, sb);
    after(action);
    return rc;
}

DIR *
ss_fault_opendir(const char *path)
{
    int err = 0, action = decide(SS_FAULT_LIST, -1, path, &err);
    DIR *d;

    if (action == FAIL) {
        errno = err;
        return NULL;
    }
    d = opendir(path);
    after(action);
    return d;
}

int
ss_fault_mkdir(const char *path, mode_t mode)
{
    int err = 0, action = decide(SS_FAULT_MKDIR, -1, path, &err), rc;

    if (action == FAIL) {
        errno = err;
        return -1;
    }
    rc = mkdir(path, mode);
    if (rc == 0)
        check_root(path);
    after(action);
    return rc;
}
