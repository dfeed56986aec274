/*
 * fault.h -- test-only fault injection under the local filesystem backend
 * (the sqlite3FaultSim idea).  Compiled only with SS_TESTING, into the
 * statestore_testing library; the release library has no ss_fault_
 * symbol (.ci/run checks it with nm).
 *
 * The one hook: local_fs.c includes this header under SS_TESTING, and the
 * macros at the end turn its I/O calls (open, write, fsync, close,
 * rename, link, unlink, read, fstat, stat, opendir, mkdir) into the ss_fault_*
 * wrappers below.  Unarmed, a wrapper is the plain call.
 *
 * Armed with (mask, n, mode), the wrappers count the calls whose class is
 * in `mask`; the n-th counted call (1-based) is the fault point:
 *   SS_FAULT_EIO     it fails with EIO and does nothing;
 *   SS_FAULT_ENOSPC  it fails with ENOSPC and does nothing;
 *   SS_FAULT_SHORT   (writes) it writes only part of the buffer and
 *                    returns the shorter count, as a full disk or a
 *                    signal can; later calls are normal;
 *   SS_FAULT_CRASH   it happens, and then the process "dies": every later
 *                    wrapped call of any class fails with EIO and changes
 *                    nothing (close still releases the descriptor), until
 *                    ss_fault_disarm.  A fresh provider then plays the
 *                    restarted process.
 *
 * Invariant 1: at most one call is faulted per arming.
 * Invariant 2: every mutating call that succeeds is checked against the
 * root (ss_fault_set_root); the first one outside it is recorded.
 * The state is global and guarded by a mutex: tests arm it around one
 * operation on one thread.
 */
#ifndef SS_CHECKPOINT_FAULT_H
#define SS_CHECKPOINT_FAULT_H

#ifndef SS_TESTING
#error "checkpoint/fault.h is test-only: build with SS_TESTING"
#endif

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Classes of wrapped calls. */
enum {
    SS_FAULT_OPEN_READ = 0, /* open() without write access */
    SS_FAULT_OPEN_WRITE,    /* open() for writing or creating */
    SS_FAULT_WRITE,
    SS_FAULT_FSYNC,
    SS_FAULT_CLOSE,
    SS_FAULT_RENAME, /* rename, link */
    SS_FAULT_UNLINK,
    SS_FAULT_READ,
    SS_FAULT_STAT, /* stat, fstat */
    SS_FAULT_LIST, /* opendir */
    SS_FAULT_MKDIR,
    SS_FAULT_N_CALLS
};

#define SS_FAULT_BIT(c) (1u << (c))
#define SS_FAULT_ALL ((1u << SS_FAULT_N_CALLS) - 1u)
/* Calls that change the filesystem. */
#define SS_FAULT_MUTATING                                                      \
    (SS_FAULT_BIT(SS_FAULT_OPEN_WRITE) | SS_FAULT_BIT(SS_FAULT_WRITE) |        \
     SS_FAULT_BIT(SS_FAULT_FSYNC) | SS_FAULT_BIT(SS_FAULT_CLOSE) |             \
     SS_FAULT_BIT(SS_FAULT_RENAME) | SS_FAULT_BIT(SS_FAULT_UNLINK) |           \
     SS_FAULT_BIT(SS_FAULT_MKDIR))

enum {
    SS_FAULT_OFF = 0,
    SS_FAULT_EIO,
    SS_FAULT_ENOSPC,
    SS_FAULT_SHORT,
    SS_FAULT_CRASH
};

/* What happened since the last ss_fault_arm. */
typedef struct ss_fault_info {
    uint64_t calls;        /* counted calls so far */
    int fired;             /* the fault point was reached */
    unsigned call;         /* its class (valid if fired) */
    int on_written_fd;     /* fsync/close/write of a file opened to write */
    int dead;              /* SS_FAULT_CRASH fired */
    uint64_t dead_refused; /* calls refused after the crash */
    /* ... of which not a close of a descriptor only read from */
    uint64_t dead_refused_other;
    unsigned first_refused; /* class of the first one of those */
    char path[512];         /* the faulted call's path, if known */
    char outside[512];      /* first mutation outside the root, "" if none */
} ss_fault_info;

/* Arm: the n-th call (1-based) among classes in `mask` faults as `mode`.
 * Resets the counters and the crash state. */
void ss_fault_arm(unsigned mask, uint64_t n, int mode);
/* Back to plain calls (also ends a simulated crash). */
void ss_fault_disarm(void);
void ss_fault_get(ss_fault_info *out);
/* Mutations must stay under `root` (a directory path; NULL: no check). */
void ss_fault_set_root(const char *root);
const char *ss_fault_call_name(unsigned call);
const char *ss_fault_mode_name(int mode);

/* The wrappers. */
int ss_fault_open(const char *path, int flags, ...);
ssize_t ss_fault_write(int fd, const void *buf, size_t len);
ssize_t ss_fault_read(int fd, void *buf, size_t len);
int ss_fault_fsync(int fd);
int ss_fault_close(int fd);
int ss_fault_rename(const char *from, const char *to);
int ss_fault_link(const char *from, const char *to);
int ss_fault_unlink(const char *path);
int ss_fault_stat(const char *path, struct stat *sb);
int ss_fault_fstat(int fd, struct stat *sb);
DIR *ss_fault_opendir(const char *path);
int ss_fault_mkdir(const char *path, mode_t mode);

#ifndef SS_FAULT_IMPLEMENTATION
#define open(...) ss_fault_open(__VA_ARGS__)
#define write(fd, buf, len) ss_fault_write(fd, buf, len)
#define read(fd, buf, len) ss_fault_read(fd, buf, len)
#define fsync(fd) ss_fault_fsync(fd)
#define close(fd) ss_fault_close(fd)
#define rename(from, to) ss_fault_rename(from, to)
#define link(from, to) ss_fault_link(from, to)
#define unlink(path) ss_fault_unlink(path)
#define stat(path, sb) ss_fault_stat(path, sb)
#define fstat(fd, sb) ss_fault_fstat(fd, sb)
#define opendir(path) ss_fault_opendir(path)
#define mkdir(path, mode) ss_fault_mkdir(path, mode)
#endif

#endif
