/*
 * local_fs.c -- checkpoint storage on a local (or NFS) filesystem.
 *
 * Write protocol (Redis rdbSave, SQLite journal): write to
 * ".<name>.<pid>.<seq>.tmp" in the same directory, fsync the file, rename
 * over <name>, fsync the directory.  On any failure the temp file is
 * unlinked and errno is preserved for the message.
 *
 * Invariant 1: a name visible in the directory always holds a complete,
 * fsynced object (rename is atomic; the data was synced before it).
 * Invariant 2: a commit that returned 0 survives power loss: the
 * directory entry was synced after the rename.
 * Invariant 3: temp files start with '.', are never listed, and stale ones
 * (from a crashed writer) are removed when the storage is opened.
 * Invariant 4: writer_commit_new links the synced temp file to <name>
 * (link(2) fails with EEXIST if the name exists, atomically, also on
 * NFS), so of two writers of one name exactly one succeeds.
 * Invariant 5: lock is flock(LOCK_EX) on "<dir>/.lock", a separate open
 * file description per call, so it excludes other processes and other
 * providers of this process alike; the kernel drops it when its holder
 * dies, so a crashed holder never wedges the location.
 * Invariant 6: every directory this backend creates is fsynced into its
 * parent, so a version in a new directory survives power loss too.
 */
#include "checkpoint/storage.h"

#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SS_TESTING
/* The one test hook: I/O calls below go through tests' fault layer. */
#include "checkpoint/fault.h"
#endif

/* What lock hands out: the storage's lock descriptor. */
struct ss_storage_lock {
    int fd;
};

typedef struct fs_storage {
    ss_storage base;
    char *dir;
    /* "<dir>/.lock", opened at the first lock and kept: one open file
     * description per storage, so flock excludes other storages (other
     * processes, other providers here); threads of one provider are
     * already serialised by the delta log's files_lock. */
    int lock_fd;
    ss_storage_lock held;
} fs_storage;

struct ss_storage_writer {
    fs_storage *st;
    int fd;
    char *tmp;
    char *final;
};

struct ss_storage_reader {
    int fd;
    char *path;
};

static atomic_uint tmp_seq;

static char *
path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int
sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);

    if (fd < 0)
        return ss_error_set(SS_EIO,
                            "%s: cannot open directory to sync it: "
                            "%s",
                            dir, strerror(errno));
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return ss_error_set(SS_EIO, "%s: fsync of directory failed: %s", dir,
                            strerror(e));
    }
    close(fd);
    return 0;
}

static int
check_name(const fs_storage *st, const char *name)
{
    if (!name[0] || name[0] == '.' || strchr(name, '/'))
        return ss_error_set(SS_EINVAL, "%s: bad object name '%s'", st->dir,
                            name);
    return 0;
}

static int
fs_writer_open(ss_storage_writer **out, ss_storage *base, const char *name)
{
    fs_storage *st = (fs_storage *)base;
    ss_storage_writer *w;
    char tmpname[NAME_MAX + 1];
    int rc;

    *out = NULL;
    if ((rc = check_name(st, name)) < 0)
        return rc;
    snprintf(tmpname, sizeof(tmpname), ".%s.%ld.%u.tmp", name, (long)getpid(),
             atomic_fetch_add(&tmp_seq, 1));
    w = calloc(1, sizeof(*w));
    if (!w)
        return ss_error_set(SS_ENOMEM, "out of memory opening %s", name);
    w->st = st;
    w->fd = -1;
    w->tmp = path_join(st->dir, tmpname);
    w->final = path_join(st->dir, name);
    if (!w->tmp || !w->final) {
        rc = ss_error_set(SS_ENOMEM, "out of memory opening %s", name);
        goto fail;
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = ss_error_set(SS_EIO, "%s: cannot create: %s", w->tmp,
                          strerror(errno));
        goto fail;
    }
    *out = w;
    return 0;
fail:
    free(w->tmp);
    free(w->final);
    free(w);
    return rc;
}

static int
fs_writer_write(ss_storage_writer *w, const void *data, size_t len)
{
    const char *p = data;
    ssize_t n;

    while (len > 0) {
        n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ss_error_set(SS_EIO, "%s: write failed: %s", w->tmp,
                                strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void
writer_release(ss_storage_writer *w)
{
    free(w->tmp);
    free(w->final);
    free(w);
}

static void
fs_writer_abort(ss_storage_writer *w)
{
    int saved = errno;

    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp);
    writer_release(w);
    errno = saved;
}

/* Sync and close the temp file, then make it visible as the final name:
 * by rename (replacing), or by link (only if absent: invariant 4). */
static int
writer_publish(ss_storage_writer *w, bool only_new)
{
    int rc, fd = w->fd;

    w->fd = -1;
    /* Data must be on disk before the name points at it, or a crash
     * could leave a complete-looking name over missing blocks. */
    if (fsync(fd) < 0) {
        rc = ss_error_set(SS_EIO, "%s: fsync failed: %s", w->tmp,
                          strerror(errno));
        close(fd);
        goto fail;
    }
    if (close(fd) < 0) {
        rc = ss_error_set(SS_EIO, "%s: close failed: %s", w->tmp,
                          strerror(errno));
        goto fail;
    }
    if (only_new) {
        if (link(w->tmp, w->final) < 0) {
            rc = errno == EEXIST ? SS_EEXISTS : SS_EIO;
            rc = ss_error_set(rc, "%s: %s", w->final,
                              rc == SS_EEXISTS ? "already exists (written "
                                                 "by another writer)"
                                               : strerror(errno));
            goto fail;
        }
        /* The name holds the data now.  A failed unlink leaves only a
         * leftover temp, but is reported: the caller cannot know
         * whether the directory is in the state it expects. */
        if (unlink(w->tmp) < 0) {
            rc = ss_error_set(SS_EIO,
                              "%s: cannot remove after linking to "
                              "%s: %s",
                              w->tmp, w->final, strerror(errno));
            writer_release(w);
            return rc;
        }
    } else if (rename(w->tmp, w->final) < 0) {
        rc = ss_error_set(SS_EIO, "%s: rename to %s failed: %s", w->tmp,
                          w->final, strerror(errno));
        goto fail;
    }
    rc = sync_dir(w->st->dir);
    writer_release(w);
    return rc;
fail:
    fs_writer_abort(w);
    return rc;
}

static int
fs_writer_commit(ss_storage_writer *w)
{
    return writer_publish(w, false);
}

static int
fs_writer_commit_new(ss_storage_writer *w)
{
    return writer_publish(w, true);
}

static int
fs_lock(ss_storage_lock **out, ss_storage *base)
{
    fs_storage *st = (fs_storage *)base;
    char *p;
    int rc;

    *out = NULL;
    if (st->lock_fd < 0) {
        if (!(p = path_join(st->dir, ".lock")))
            return ss_error_set(SS_ENOMEM, "out of memory locking %s", st->dir);
        st->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (st->lock_fd < 0) {
            rc = ss_error_set(SS_EIO, "%s: cannot open lock file: %s", p,
                              strerror(errno));
            free(p);
            return rc;
        }
        free(p);
    }
    while (flock(st->lock_fd, LOCK_EX) < 0) {
        if (errno != EINTR)
            return ss_error_set(SS_EIO, "%s/.lock: cannot lock: %s", st->dir,
                                strerror(errno));
    }
    st->held.fd = st->lock_fd;
    *out = &st->held;
    return 0;
}

static void
fs_unlock(ss_storage_lock *l)
{
    if (l)
        flock(l->fd, LOCK_UN);
}

static int
fs_reader_open(ss_storage_reader **out, uint64_t *size_out, ss_storage *base,
               const char *name)
{
    fs_storage *st = (fs_storage *)base;
    ss_storage_reader *r;
    struct stat sb;
    int rc;

    *out = NULL;
    if ((rc = check_name(st, name)) < 0)
        return rc;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->path = path_join(st->dir, name))) {
        free(r);
        return ss_error_set(SS_ENOMEM, "out of memory opening %s", name);
    }
    r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        rc = errno == ENOENT ? SS_ENOTFOUND : SS_EIO;
        rc = ss_error_set(rc, "%s: cannot open: %s", r->path, strerror(errno));
        goto fail;
    }
    if (fstat(r->fd, &sb) < 0) {
        rc = ss_error_set(SS_EIO, "%s: fstat failed: %s", r->path,
                          strerror(errno));
        goto fail;
    }
    if (size_out)
        *size_out = (uint64_t)sb.st_size;
    *out = r;
    return 0;
fail:
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    free(r);
    return rc;
}

static int
fs_reader_read(size_t *got, ss_storage_reader *r, void *buf, size_t len)
{
    size_t total = 0;
    ssize_t n;

    while (total < len) {
        n = read(r->fd, (char *)buf + total, len - total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ss_error_set(SS_EIO, "%s: read failed: %s", r->path,
                                strerror(errno));
        if (n == 0)
            break;
        total += (size_t)n;
    }
    *got = total;
    return 0;
}

static void
fs_reader_close(ss_storage_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    free(r->path);
    free(r);
}

static int
fs_list(ss_namelist *out, ss_storage *base)
{
    fs_storage *st = (fs_storage *)base;
    DIR *d;
    struct dirent *e;
    size_t cap = 0;
    char **grown;
    int rc = 0;

    out->names = NULL;
    out->count = 0;
    d = opendir(st->dir);
    if (!d)
        return ss_error_set(SS_EIO, "%s: cannot list: %s", st->dir,
                            strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (out->count == cap) {
            cap = cap ? cap * 2 : 64;
            grown = realloc(out->names, cap * sizeof(char *));
            if (!grown) {
                rc = ss_error_set(SS_ENOMEM, "%s: out of memory listing",
                                  st->dir);
                break;
            }
            out->names = grown;
        }
        out->names[out->count] = strdup(e->d_name);
        if (!out->names[out->count]) {
            rc = ss_error_set(SS_ENOMEM, "%s: out of memory listing", st->dir);
            break;
        }
        out->count++;
    }
    closedir(d);
    if (rc < 0)
        ss_namelist_free(out);
    return rc;
}

static int
fs_remove(ss_storage *base, const char *name)
{
    fs_storage *st = (fs_storage *)base;
    char *p;
    int rc;

    if ((rc = check_name(st, name)) < 0)
        return rc;
    if (!(p = path_join(st->dir, name)))
        return ss_error_set(SS_ENOMEM, "out of memory removing %s", name);
    if (unlink(p) < 0 && errno != ENOENT) {
        rc = ss_error_set(SS_EIO, "%s: cannot delete: %s", p, strerror(errno));
        free(p);
        return rc;
    }
    free(p);
    /* A delete that a crash undoes could resurrect a version newer than
     * one we then write (see memory.c, truncating the future). */
    return sync_dir(st->dir);
}

static int
fs_exists(ss_storage *base, const char *name)
{
    fs_storage *st = (fs_storage *)base;
    struct stat sb;
    char *p;
    int rc;

    if ((rc = check_name(st, name)) < 0)
        return rc;
    if (!(p = path_join(st->dir, name)))
        return ss_error_set(SS_ENOMEM, "out of memory");
    rc = stat(p, &sb) == 0 ? 1 : 0;
    if (rc == 0 && errno != ENOENT)
        rc = ss_error_set(SS_EIO, "%s: stat failed: %s", p, strerror(errno));
    free(p);
    return rc;
}

static void
fs_free(ss_storage *base)
{
    fs_storage *st = (fs_storage *)base;

    if (!st)
        return;
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    free(st->dir);
    free(st);
}

/* Create `path` if absent; a new directory is fsynced into its parent
 * (invariant 6). */
static int
mkdir_one(const char *path)
{
    char *parent, *slash;
    int rc;

    if (mkdir(path, 0755) < 0) {
        if (errno == EEXIST)
            return 0;
        return ss_error_set(SS_EIO, "%s: cannot create directory: %s", path,
                            strerror(errno));
    }
    if (!(parent = strdup(path)))
        return ss_error_set(SS_ENOMEM, "out of memory");
    slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0'; /* "/x": the parent is "/" */
    else if (slash)
        *slash = '\0';
    else
        strcpy(parent, ".");
    rc = sync_dir(parent);
    free(parent);
    return rc;
}

static int
mkdir_p(const char *dir)
{
    char *p, *s;
    int rc = 0;

    if (!dir[0])
        return ss_error_set(SS_EINVAL, "checkpoint directory path is empty");
    if (!(p = strdup(dir)))
        return ss_error_set(SS_ENOMEM, "out of memory");
    for (s = p + strlen(p) - 1; s > p && *s == '/'; s--)
        *s = '\0';
    for (s = p + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        rc = mkdir_one(p);
        *s = '/';
        if (rc < 0)
            break;
    }
    if (rc == 0)
        rc = mkdir_one(p);
    free(p);
    return rc;
}

/* The pid in ".<name>.<pid>.<seq>.tmp", or -1. */
static long
temp_owner(const char *tmpname)
{
    const char *end = tmpname + strlen(tmpname) - 4, *p = end;
    int dots = 0;

    while (p > tmpname && dots < 2)
        if (*--p == '.')
            dots++;
    return dots == 2 ? strtol(p + 1, NULL, 10) : -1;
}

/* Only temps of dead writers: another provider in a live process may be
 * writing a snapshot into this directory right now. */
static void
remove_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long owner;
    size_t n;
    char *p;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        n = strlen(e->d_name);
        if (e->d_name[0] != '.' || n < 5 ||
            strcmp(e->d_name + n - 4, ".tmp") != 0)
            continue;
        owner = temp_owner(e->d_name);
        if (owner > 0 && (owner == (long)getpid() ||
                          kill((pid_t)owner, 0) == 0 || errno != ESRCH))
            continue;
        if ((p = path_join(dir, e->d_name)) != NULL) {
            unlink(p);
            free(p);
        }
    }
    closedir(d);
}

int
ss_local_fs_open(ss_storage **out, const char *dir)
{
    fs_storage *st;
    struct stat sb;
    int rc;

    *out = NULL;
    if ((rc = mkdir_p(dir)) < 0)
        return rc;
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return ss_error_set(SS_EIO, "%s: not a directory", dir);
    st = calloc(1, sizeof(*st));
    if (!st || !(st->dir = strdup(dir))) {
        free(st);
        return ss_error_set(SS_ENOMEM, "out of memory opening %s", dir);
    }
    remove_stale_temps(dir);
    st->lock_fd = -1;
    st->base.version = SS_STORAGE_VERSION;
    st->base.location = st->dir;
    st->base.writer_open = fs_writer_open;
    st->base.writer_write = fs_writer_write;
    st->base.writer_commit = fs_writer_commit;
    st->base.writer_commit_new = fs_writer_commit_new;
    st->base.writer_abort = fs_writer_abort;
    st->base.reader_open = fs_reader_open;
    st->base.reader_read = fs_reader_read;
    st->base.reader_close = fs_reader_close;
    st->base.list = fs_list;
    st->base.remove = fs_remove;
    st->base.exists = fs_exists;
    st->base.lock = fs_lock;
    st->base.unlock = fs_unlock;
    st->base.free = fs_free;
    *out = &st->base;
    return 0;
}
