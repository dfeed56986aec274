/*
 * rocksdb.c -- the rocksdb provider: state in a local RocksDB instance
 * (real RocksDB, its C API), between native memory and local disk.
 *
 * With rocksdb_sst.c, the only files that include rocksdb/c.h; RocksDB's
 * `char **errptr` strings become SS_E* codes with messages in
 * ss_rdb__fail.
 *
 * Checkpointing, option rocksdb.changelog_checkpointing:
 * - false (default): SST snapshots.  Commit applies the batch and
 *   checkpoints the instance as <V>.meta plus shared SST objects
 *   (rocksdb_sst.c).
 * - true: changelog.  Commit writes the batch's changes as <V>.delta
 *   through the shared delta log, whose maintenance writes <V>.snapshot
 *   files; the same files as the memory provider's, so either provider
 *   loads them.
 * A version's chain may mix both (mode switches): its base is the newest
 * snapshot or meta at or below it, then deltas (delta_log.h).
 *
 * Invariants (tests/conformance run on this provider, both modes):
 * 1. A batch lives in a write batch with index (WBWI) over the instance;
 *    the instance itself holds exactly version live_version, or is
 *    invalid (rebuilt from files on the next load).
 * 2. Changelog commit makes <V+1>.delta durable BEFORE applying the
 *    batch to the instance; SST commit applies first and marks the
 *    instance invalid until <V+1>.meta is published.  Either way the
 *    files are the truth, and a failed commit poisons the provider
 *    (SS_EFATAL until reopened; the store front does it).
 * 3. Abort drops the batch; the instance never saw it.
 * 4. num_keys is exact: commit looks up each touched key's state before
 *    and after; a rebuild counts by iterating, or takes a meta's count
 *    unless the meta says it is an estimate (RDB_KEYS_ESTIMATED, from
 *    rocksdb.track_num_keys=false).
 * 5. Working folders: each provider owns one folder
 *    <base>/statestore-rdb-XXXXXX (base: rocksdb.local_dir, else TMPDIR,
 *    else /tmp) holding its instances and an owner file, flock'ed for
 *    the provider's life and holding its pid.  A provider never removes
 *    a folder whose owner file is locked (or, where flock is missing,
 *    whose pid lives); it removes the others under its base at open
 *    (their owner died), and its own at close.  Creating and collecting
 *    folders happen under a flock of the base folder itself.  A working
 *    folder (or instance) deleted between loads is recreated and the
 *    instance rebuilt from the checkpoint files.
 * 6. max_versions_in_memory: the versions in p->hist are consecutive
 *    and each is readable through a RocksDB snapshot taken before the
 *    instance left it.  Loading one of them moves the instance there
 *    by writing, for every key the versions in between changed, its
 *    value in that snapshot; no file is read.  A commit on version V
 *    drops the versions above V (another lineage) and the ones pushed
 *    out of the window.  Snapshots keep the overwritten values of those
 *    few batches alive in RocksDB, nothing more.
 * 7. A value from get stays allocated until the next put, remove,
 *    commit, abort or free of its store (header convention 3); a
 *    read-only store, which has no writes, keeps them until it is freed.
 * 8. A provider family has a RocksDB column family in an instance only
 *    once a key was written to it there (a put, a replayed put, or the
 *    instance's MANIFEST from a meta); until then it is empty, reads
 *    and scans of it touch no RocksDB family and removes are no-ops.
 *    Declaring families thus costs nothing at load (RocksDB's creation
 *    is quadratic in families, ss_rdb__inst_cf).
 * 9. Family sets (store.c invariant 7): the live instance's is live_cfs,
 *    each version in memory keeps its own (rdb_hist.cfs), a store its
 *    batch's.  A drop in a batch is per-key deletes, so the live
 *    instance keeps the RocksDB family (empty); a replay's family drop
 *    record drops the RocksDB family of the instance being built
 *    (rocksdb_drop_column_family: O(1) in its keys).
 *
 * Live instance (writable loads):
 *
 *   NONE --load(V), from files--> AT V --commit--> AT V+1
 *                                  |  \--load(W in hist): move to W--/
 *                                  +--failure, folder gone--> NONE
 */
#include "providers/rocksdb/rocksdb_int.h"
#include "providers/rocksdb/rocksdb_stats.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/random.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An iterator over the batch and the instance.  RocksDB's iterator over
 * a write batch with index does not see a write between its position in
 * the batch and the key it returned, so after such a write (the store's
 * gen_other moved) the cursor makes a new one and seeks past the last key
 * it returned, which it keeps a copy of.  Writes to that very key (an
 * eviction loop's remove) land at or behind both of RocksDB's positions
 * (batch entries overwrite in place, overwrite_key), so Next() stays
 * right and the cursor keeps its iterator: no seek per remove. */
typedef struct rdb_cursor {
    struct rdb_store *s;
    unsigned cf;
    rocksdb_iterator_t *it; /* NULL until the family exists */
    unsigned char *prefix, *start, *end;
    size_t prefix_len, start_len, end_len;
    uint64_t gen, gen_other; /* the store's, at the last step */
    ss_buf last;             /* the last key returned */
    bool started;
    bool done; /* stays exhausted: RocksDB forbids Next() past the end */
} rdb_cursor;

/* One block cache for every rocksdb store in the process: the memory
 * budget is process-wide (partitions on threads share it). */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static rocksdb_cache_t *shared_cache;
static uint64_t shared_budget;
static unsigned shared_users;

static int
cache_acquire(rocksdb_cache_t **out, uint64_t budget)
{
    int rc = 0;

    pthread_mutex_lock(&shared_lock);
    if (shared_users == 0) {
        shared_cache = rocksdb_cache_create_lru(budget / 2);
        shared_budget = budget;
    } else if (budget != shared_budget) {
        rc = ss_error_set(SS_EINVAL,
                          "option 'rocksdb.memory_budget': %" PRIu64
                          " differs from the process-wide budget %" PRIu64
                          " of the rocksdb stores already open",
                          budget, shared_budget);
    }
    if (rc == 0) {
        shared_users++;
        *out = shared_cache;
    }
    pthread_mutex_unlock(&shared_lock);
    return rc;
}

static void
cache_release(void)
{
    pthread_mutex_lock(&shared_lock);
    if (--shared_users == 0) {
        rocksdb_cache_destroy(shared_cache);
        shared_cache = NULL;
    }
    pthread_mutex_unlock(&shared_lock);
}

int
ss_rdb__fail(char *err, const char *what, const char *where)
{
    int rc = ss_error_set(SS_EIO, "rocksdb %s (%s): %s", what, where,
                          err ? err : "unknown error");

    rocksdb_free(err);
    return rc;
}

void
ss_rdb__remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1200];
    struct stat sb;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            ss_rdb__remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------------ working folders */

#define WORK_PREFIX "statestore-rdb-"
#define OWNER_FILE "owner.lock"
/* A working folder without an owner file (made by an older library,
 * or being created where the base folder cannot be flock'ed) is
 * someone's until nothing in it changed for this long (seconds). */
#define OWNERLESS_GRACE 600

/* mkdir -p; 0 or SS_EIO naming the folder. */
static int
make_dirs(const char *dir, const char *what)
{
    char path[600];
    size_t i, n = strlen(dir);

    if (n >= sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path %s is too long", what, dir);
    memcpy(path, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return ss_error_set(SS_EIO, "%s: cannot create %s: %s", what, path,
                                strerror(errno));
        path[i] = dir[i];
    }
    return 0;
}

/* Serialise creating and collecting working folders under `base`
 * between processes: a flock of the base folder itself (no file of
 * ours is left in it).  -1 where that is not possible: go on without. */
static int
base_lock(const char *base)
{
    int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void
base_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* drops the flock */
}

/* Whether anything in `dir` or the folders right inside it (RocksDB
 * instances write there) changed in the last OWNERLESS_GRACE seconds. */
static bool
recently_used(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1200];
    struct stat sb;
    time_t newest = 0, now = time(NULL);

    if (stat(dir, &sb) == 0)
        newest = sb.st_mtime;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (lstat(path, &sb) == 0 && sb.st_mtime > newest)
                newest = sb.st_mtime;
        }
    if (d)
        closedir(d);
    return now - newest < OWNERLESS_GRACE;
}

/* Whether the working folder `dir` belongs to a live provider (of any
 * process).  When in doubt, it does. */
static bool
owner_alive(const char *dir)
{
    char path[840], buf[32];
    ssize_t got;
    long pid;
    int fd;

    snprintf(path, sizeof(path), "%s/" OWNER_FILE, dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT || recently_used(dir);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        close(fd); /* nobody held it: the owner is gone */
        return false;
    }
    if (errno == EWOULDBLOCK) {
        close(fd);
        return true;
    }
    /* No flock on this file system: the pid decides. */
    got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got <= 0)
        return true;
    buf[got] = '\0';
    pid = strtol(buf, NULL, 10);
    return pid <= 0 || kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Remove the working folders under `base` whose owner is gone (killed
 * processes leave theirs behind). */
static void
collect_stale(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    char path[800];
    struct stat sb;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, WORK_PREFIX, strlen(WORK_PREFIX)) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && !owner_alive(path))
            ss_rdb__remove_tree(path);
    }
    closedir(d);
}

/* A new owner file in p->work_dir, flock'ed and holding our pid; it
 * replaces p->lock_fd.  Called under the base lock. */
static int
owner_take(rdb_prov *p)
{
    char path[700], pid[32];
    int fd, n, rc;

    snprintf(path, sizeof(path), "%s/" OWNER_FILE, p->work_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return ss_error_set(SS_EIO, "cannot create %s: %s", path,
                            strerror(errno));
    /* Only a lock someone else holds stops us; no flock at all leaves
     * the pid to tell (owner_alive). */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        close(fd);
        return ss_error_set(SS_EIO,
                            "rocksdb working folder %s is held by "
                            "another store",
                            p->work_dir);
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n) {
        rc = ss_error_set(SS_EIO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return rc;
    }
    if (p->lock_fd >= 0)
        close(p->lock_fd);
    p->lock_fd = fd;
    return 0;
}

/* Collect the stale folders under the base and make ours. */
static int
work_dir_open(rdb_prov *p)
{
    const char *what = p->config->rocksdb_local_dir[0]
                           ? "option 'rocksdb.local_dir'"
                           : "rocksdb working folder (TMPDIR)";
    int lk, rc;

    if ((rc = make_dirs(p->base_dir, what)) < 0)
        return rc;
    lk = base_lock(p->base_dir);
    collect_stale(p->base_dir);
    snprintf(p->work_dir, sizeof(p->work_dir), "%s/" WORK_PREFIX "XXXXXX",
             p->base_dir);
    if (!mkdtemp(p->work_dir)) {
        rc = ss_error_set(SS_EIO, "%s: cannot create a folder under %s: %s",
                          what, p->base_dir, strerror(errno));
        p->work_dir[0] = '\0';
    } else if ((rc = owner_take(p)) < 0) {
        ss_rdb__remove_tree(p->work_dir);
        p->work_dir[0] = '\0';
    }
    base_unlock(lk);
    return rc;
}

/* Our working folder as it should be, recreated (with a new owner file)
 * if something deleted it or its owner file since the last load. */
static int
work_dir_check(rdb_prov *p)
{
    struct stat mine, now;
    char path[700];
    int lk, rc;

    snprintf(path, sizeof(path), "%s/" OWNER_FILE, p->work_dir);
    if (fstat(p->lock_fd, &mine) == 0 && stat(path, &now) == 0 &&
        mine.st_dev == now.st_dev && mine.st_ino == now.st_ino)
        return 0;
    if ((rc = make_dirs(p->base_dir, "rocksdb working folder")) < 0)
        return rc;
    lk = base_lock(p->base_dir);
    if (mkdir(p->work_dir, 0755) < 0 && errno != EEXIST)
        rc = ss_error_set(SS_EIO,
                          "cannot recreate rocksdb working folder %s: %s",
                          p->work_dir, strerror(errno));
    else
        rc = owner_take(p);
    base_unlock(lk);
    return rc;
}

/* Whether an open instance's folder is still there. */
static bool
inst_intact(const rdb_inst *in)
{
    char path[700];
    struct stat sb;

    snprintf(path, sizeof(path), "%s/CURRENT", in->dir);
    return stat(path, &sb) == 0;
}

/* ------------------------------------------------------------ instances */

static void
inst_close(rdb_inst *in)
{
    unsigned i;

    if (in->db) {
        for (i = 0; i < SS_MAX_CFS; i++) {
            if (in->cf[i])
                rocksdb_column_family_handle_destroy(in->cf[i]);
            in->cf[i] = NULL;
        }
        rocksdb_close(in->db);
        in->db = NULL;
    }
    /* Also a directory a failed download or open left behind. */
    if (in->dir[0])
        ss_rdb__remove_tree(in->dir);
    in->dir[0] = '\0';
    free(in->objects);
    in->objects = NULL;
    in->n_objects = 0;
}

/* Families created one by one (rocksdb_stats.h). */
static _Atomic uint64_t cf_creates;

uint64_t
ss_rdb__cf_creates(void)
{
    return atomic_load(&cf_creates);
}

/* The RocksDB family for provider family `id`, created when a key is
 * first written to it (invariant 8).  RocksDB 7.8 rewrites its OPTIONS
 * file with every family, and parses it back, on each creation -- also
 * for the families a DB::Open creates -- so creating n families costs
 * O(n^2), and the C API has no CreateColumnFamilies. */
int
ss_rdb__inst_cf(rdb_inst *in, rdb_prov *p, unsigned id)
{
    char *err = NULL;

    if (in->cf[id])
        return 0;
    atomic_fetch_add(&cf_creates, 1);
    in->cf[id] = rocksdb_create_column_family(in->db, p->opts,
                                              p->cfs->cf[id].name, &err);
    if (err)
        return ss_rdb__fail(err, "create column family", p->cfs->cf[id].name);
    return 0;
}

/* A new, empty instance directory under the work dir, and a new uid. */
void
ss_rdb__inst_init(rdb_inst *in, rdb_prov *p)
{
    memset(in, 0, sizeof(*in));
    snprintf(in->dir, sizeof(in->dir), "%s/db-%u", p->work_dir, p->next_inst++);
    ss_rdb__remove_tree(in->dir);
    in->uid = ss_random_u64(); /* names its SST objects (rocksdb_sst.c) */
}

/* A fresh, empty instance: only RocksDB's "default" family, which is
 * provider family 0; the others come when written (invariant 8). */
static int
inst_open(rdb_inst *in, rdb_prov *p)
{
    const char *names[1] = {"default"};
    const rocksdb_options_t *cfo[1] = {p->opts};
    rocksdb_column_family_handle_t *h[1] = {NULL};
    char *err = NULL;

    ss_rdb__inst_init(in, p);
    in->db =
        rocksdb_open_column_families(p->opts, in->dir, 1, names, cfo, h, &err);
    if (err) {
        in->db = NULL;
        return ss_rdb__fail(err, "open", in->dir);
    }
    in->cf[SS_CF_DEFAULT] = h[0];
    return 0;
}

/* RocksDB's own estimate of the key count (rocksdb.track_num_keys off). */
uint64_t
ss_rdb__estimate_keys(const rdb_inst *in)
{
    uint64_t total = 0, v;
    unsigned i;

    for (i = 0; in->db && i < SS_MAX_CFS; i++)
        if (in->cf[i] &&
            rocksdb_property_int_cf(in->db, in->cf[i],
                                    "rocksdb.estimate-num-keys", &v) == 0)
            total += v;
    return total;
}

/* The key count after a rebuild: exact, by iteration, or estimated. */
static int
inst_count(uint64_t *out, rdb_inst *in, rdb_prov *p)
{
    rocksdb_iterator_t *it;
    unsigned i;
    int rc;

    *out = 0;
    if (!p->config->rocksdb_track_num_keys) {
        *out = ss_rdb__estimate_keys(in);
        return 0;
    }
    for (i = 0; i < p->cfs->count; i++) {
        if (!in->cf[i])
            continue;
        it = rocksdb_create_iterator_cf(in->db, p->ro, in->cf[i]);
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
             rocksdb_iter_next(it))
            (*out)++;
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        rocksdb_iter_destroy(it);
        if (err && (rc = ss_rdb__fail(err, "count keys", in->dir)) < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------- replay (files) */

typedef struct replay_ctx {
    rdb_prov *p;
    rdb_inst *in;
    rocksdb_writebatch_t *wb;
    size_t pending;
    bool from_meta;
    bool deltas_after_meta;
    uint64_t keys; /* the meta's key count */
    ss_cf_set cfs; /* the replay's family set (delta_log.h) */
} replay_ctx;

/* The instance opens on the chain's first file: empty for a snapshot or
 * delta, from the download for a meta. */
static int
replay_open(replay_ctx *r)
{
    if (r->in->db)
        return 0;
    return inst_open(r->in, r->p);
}

static int
replay_meta(void *payload, uint64_t version)
{
    replay_ctx *r = payload;
    int rc;

    ss_rdb__inst_init(r->in, r->p);
    if ((rc = ss_rdb__open_meta(r->in, &r->keys, &r->cfs, r->p, version)) < 0)
        return rc;
    r->from_meta = true;
    return 0;
}

static int
replay_reset(void *payload)
{
    replay_ctx *r = payload;

    inst_close(r->in);
    memset(r->in, 0, sizeof(*r->in));
    rocksdb_writebatch_clear(r->wb);
    r->pending = 0;
    r->from_meta = false;
    r->deltas_after_meta = false;
    return 0;
}

static int
replay_flush(replay_ctx *r)
{
    char *err = NULL;

    if (r->pending == 0)
        return 0;
    rocksdb_write(r->in->db, r->p->wo, r->wb, &err);
    rocksdb_writebatch_clear(r->wb);
    r->pending = 0;
    if (err)
        return ss_rdb__fail(err, "write", r->in->dir);
    return 0;
}

static int
replay_begin(void *payload, unsigned *local_to_cf, const ss_file_header *h,
             const char *path)
{
    replay_ctx *r = payload;
    unsigned i;
    int rc;

    if ((rc = replay_open(r)) < 0)
        return rc;
    r->deltas_after_meta = r->from_meta;
    /* Families get RocksDB ones at their first record (replay_apply). */
    for (i = 0; i < h->n_cf; i++)
        if ((rc = ss_cf_table_declare(&local_to_cf[i], r->p->cfs, h->cf[i].name,
                                      h->cf[i].flags &
                                          (SS_CF_ORDERED | SS_CF_LIST))) < 0)
            return ss_error_wrap(rc, "%s", path);
    return 0;
}

static int
replay_apply(void *payload, unsigned cf, const ss_record *rec, uint64_t version)
{
    replay_ctx *r = payload;
    int rc;

    (void)version;
    if (rec->op == SS_OP_CF_DROP) {
        char *err = NULL;

        if (!r->in->cf[cf])
            return 0;
        /* Its pending writes first; a later put creates it again. */
        if ((rc = replay_flush(r)) < 0)
            return rc;
        rocksdb_drop_column_family(r->in->db, r->in->cf[cf], &err);
        rocksdb_column_family_handle_destroy(r->in->cf[cf]);
        r->in->cf[cf] = NULL;
        if (err)
            return ss_rdb__fail(err, "drop column family",
                                r->p->cfs->cf[cf].name);
        return 0;
    }
    if (!r->in->cf[cf]) {
        if (rec->op != SS_OP_PUT)
            return 0; /* nothing to remove from a family never written */
        if ((rc = ss_rdb__inst_cf(r->in, r->p, cf)) < 0)
            return rc;
    }
    if (rec->op == SS_OP_PUT)
        rocksdb_writebatch_put_cf(r->wb, r->in->cf[cf], (const char *)rec->key,
                                  rec->klen, (const char *)rec->value,
                                  rec->vlen);
    else
        rocksdb_writebatch_delete_cf(r->wb, r->in->cf[cf],
                                     (const char *)rec->key, rec->klen);
    if (++r->pending >= 4096)
        return replay_flush(r);
    return 0;
}

/* A new instance holding `version`, from the checkpoint files alone. */
static int
build_instance(rdb_inst *in, uint64_t *keys, ss_cf_set *cfs, rdb_prov *p,
               uint64_t version)
{
    replay_ctx r;
    ss_dlog_sink sink = {replay_begin, replay_apply, replay_meta,
                         replay_reset, &r,           &r.cfs};

    memset(&r, 0, sizeof(r));
    r.p = p;
    r.in = in;
    int rc;

    memset(in, 0, sizeof(*in));
    r.wb = rocksdb_writebatch_create();
    rc = ss_dlog_replay(&p->log, version, &sink);
    if (rc == 0)
        rc = replay_open(&r);
    if (rc == 0)
        rc = replay_flush(&r);
    rocksdb_writebatch_destroy(r.wb);
    /* A meta alone carries its count, unless it was only estimated;
     * deltas on top are counted. */
    if (rc == 0 && r.from_meta && !r.deltas_after_meta &&
        p->config->rocksdb_track_num_keys && !(r.keys & RDB_KEYS_ESTIMATED))
        *keys = r.keys;
    else if (rc == 0)
        rc = inst_count(keys, in, p);
    if (rc == 0) {
        *cfs = r.cfs;
        return 0;
    }
    inst_close(in);
    return rc;
}

/* --------------------------------------------------- versions in memory */

static void
hist_entry_free(rdb_prov *p, rdb_hist *e)
{
    if (e->snap && p->live.db)
        rocksdb_release_snapshot(p->live.db, e->snap);
    ss_buf_free(&e->keybuf);
    free(e->t);
    memset(e, 0, sizeof(*e));
}

/* Forget every version in memory (before the live instance closes). */
static void
hist_clear(rdb_prov *p)
{
    while (p->nhist)
        hist_entry_free(p, &p->hist[--p->nhist]);
}

static rdb_hist *
hist_find(rdb_prov *p, uint64_t version)
{
    if (!p->nhist || version < p->hist[0].version ||
        version > p->hist[p->nhist - 1].version)
        return NULL;
    return &p->hist[version - p->hist[0].version]; /* consecutive */
}

/* Keep the versions in [lo, hi] only. */
static void
hist_keep(rdb_prov *p, uint64_t lo, uint64_t hi)
{
    size_t i, n = 0;

    for (i = 0; i < p->nhist; i++) {
        if (p->hist[i].version < lo || p->hist[i].version > hi)
            hist_entry_free(p, &p->hist[i]);
        else
            p->hist[n++] = p->hist[i];
    }
    p->nhist = n;
}

/* The live instance holds live_version, just rebuilt from files: the
 * only version in memory. */
static void
hist_reset(rdb_prov *p)
{
    hist_clear(p);
    p->hist[0].version = p->live_version;
    p->hist[0].keys = p->live_keys;
    p->hist[0].cfs = p->live_cfs;
    p->nhist = 1;
}

/* live_version stays readable once the instance leaves it. */
static void
hist_snapshot_current(rdb_prov *p)
{
    rdb_hist *e = hist_find(p, p->live_version);

    if (e && !e->snap && p->config->max_versions_in_memory > 1)
        e->snap = rocksdb_create_snapshot(p->live.db);
}

/* Before a batch on top of `base` (= live_version) reaches the
 * instance: drop the versions above base (the commit discards them) and
 * those the new version pushes out of the window; keep base readable. */
static void
hist_before_commit(rdb_prov *p, uint64_t base)
{
    uint64_t max = p->config->max_versions_in_memory, next = base + 1;

    hist_keep(p, next >= max ? next - max + 1 : 0, base);
    hist_snapshot_current(p);
}

/* The instance now holds `next`, made by s's batch, whose unique touched
 * keys (sorted by collect_changes) move into the history. */
static void
hist_after_commit(rdb_prov *p, rdb_store *s, uint64_t next, uint64_t keys)
{
    rdb_hist *e = &p->hist[p->nhist++]; /* room: hist_before_commit */

    memset(e, 0, sizeof(*e));
    e->version = next;
    e->keys = keys;
    e->cfs = s->cfs;
    e->keybuf = s->keybuf;
    e->t = s->t;
    e->nt = s->nt;
    memset(&s->keybuf, 0, sizeof(s->keybuf));
    s->t = NULL;
    s->nt = s->tcap = 0;
}

/* Move the live instance from live_version to `version`, both in
 * memory: every key a version between them changed gets its value in
 * the snapshot of `version`.  On failure the instance matches no
 * version; the caller rebuilds it from files. */
static int
hist_move(rdb_prov *p, uint64_t version)
{
    rdb_hist *to = hist_find(p, version), *e;
    uint64_t lo = version < p->live_version ? version : p->live_version;
    uint64_t hi = version < p->live_version ? p->live_version : version, v;
    rocksdb_readoptions_t *ro;
    rocksdb_writebatch_t *wb;
    char *err = NULL, *val;
    size_t i, vlen, pending = 0;
    int rc = 0;

    hist_snapshot_current(p);
    if (!to || !to->snap)
        return ss_error_set(SS_EIO, "version %" PRIu64 " is not in memory",
                            version);
    ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(ro, to->snap);
    wb = rocksdb_writebatch_create();
    for (v = lo + 1; rc == 0 && v <= hi; v++) {
        e = hist_find(p, v);
        for (i = 0; rc == 0 && i < e->nt; i++) {
            const touched *t = &e->t[i];
            const char *key = (const char *)e->keybuf.data + t->off;
            rocksdb_column_family_handle_t *cf = p->live.cf[t->cf];

            val = rocksdb_get_cf(p->live.db, ro, cf, key, t->len, &vlen, &err);
            if (err) {
                rc = ss_rdb__fail(err, "get", p->live.dir);
                break;
            }
            if (val)
                rocksdb_writebatch_put_cf(wb, cf, key, t->len, val, vlen);
            else
                rocksdb_writebatch_delete_cf(wb, cf, key, t->len);
            rocksdb_free(val);
            if (++pending < 4096)
                continue;
            rocksdb_write(p->live.db, p->wo, wb, &err);
            rocksdb_writebatch_clear(wb);
            pending = 0;
            if (err)
                rc = ss_rdb__fail(err, "write", p->live.dir);
        }
    }
    if (rc == 0 && pending) {
        rocksdb_write(p->live.db, p->wo, wb, &err);
        if (err)
            rc = ss_rdb__fail(err, "write", p->live.dir);
    }
    rocksdb_writebatch_destroy(wb);
    rocksdb_readoptions_destroy(ro);
    if (rc < 0)
        return rc;
    p->live_version = version;
    p->live_keys = to->keys;
    p->live_cfs = to->cfs;
    return 0;
}

/* ----------------------------------------------------------- read views */

/* The read options of a store's reads: its snapshot's for a view. */
static const rocksdb_readoptions_t *
read_opts(const rdb_store *s)
{
    return s->view_ro ? s->view_ro : s->p->ro;
}

/* The live instance leaves the provider: the views reading it take it
 * over (an rdb_orphan), so it stays open, unchanged, until the last of
 * them is freed.  Fails only for want of memory, changing nothing. */
static int
views_adopt(rdb_prov *p)
{
    rdb_orphan *o;
    rdb_store *v;

    if (!p->views)
        return 0;
    o = calloc(1, sizeof(*o));
    if (!o)
        return ss_error_set(SS_ENOMEM, "out of memory keeping a RocksDB "
                                       "instance for its read views");
    o->inst = p->live;
    for (v = p->views; v; v = v->next_view) {
        v->inst = &o->inst;
        v->orphan = o;
        o->refs++;
    }
    p->views = NULL;
    memset(&p->live, 0, sizeof(p->live));
    return 0;
}

static void
view_release(rdb_store *s)
{
    rdb_store **pp;

    if (!s->snap)
        return;
    rocksdb_release_snapshot(s->inst->db, s->snap);
    rocksdb_readoptions_destroy(s->view_ro);
    s->snap = NULL;
    s->view_ro = NULL;
    if (s->orphan) {
        if (--s->orphan->refs == 0) {
            inst_close(&s->orphan->inst);
            free(s->orphan);
        }
        s->orphan = NULL;
        return;
    }
    for (pp = &s->p->views; *pp; pp = &(*pp)->next_view)
        if (*pp == s) {
            *pp = s->next_view;
            break;
        }
}

/* The live instance is gone: closed (or kept by its views), nothing in
 * memory. */
static int
live_drop(rdb_prov *p)
{
    int rc;

    hist_clear(p);
    if ((rc = views_adopt(p)) < 0)
        return rc;
    inst_close(&p->live);
    p->live_valid = false;
    return 0;
}

/* ------------------------------------------------------------- provider */

/* An instance is never reopened from its folder (a load rebuilds or
 * downloads into a new one, and close removes it), so closing must not
 * flush its memtables: wasted writes, and a second's retry sleep inside
 * RocksDB when the folder was deleted under it.  The C API has no
 * setter for this option. */
static int
skip_shutdown_flush(rdb_prov *p)
{
    rocksdb_options_t *o = rocksdb_options_create();
    char *err = NULL;

    rocksdb_get_options_from_string(p->opts, "avoid_flush_during_shutdown=true",
                                    o, &err);
    if (err) {
        rocksdb_options_destroy(o);
        return ss_rdb__fail(err, "options", "avoid_flush_during_shutdown");
    }
    rocksdb_options_destroy(p->opts);
    p->opts = o;
    return 0;
}

/* Remove our working folder (cleaned at close), then drop its lock. */
static void
release_work_dir(rdb_prov *p)
{
    if (p->work_dir[0])
        ss_rdb__remove_tree(p->work_dir);
    if (p->lock_fd >= 0)
        close(p->lock_fd);
    p->lock_fd = -1;
    free(p->hist);
}

/* Free what rdb_open set up before the delta log, and p itself. */
static void
release_options(rdb_prov *p)
{
    rocksdb_readoptions_destroy(p->ro);
    rocksdb_writeoptions_destroy(p->wo);
    rocksdb_options_destroy(p->dbopts);
    if (p->fo)
        rocksdb_flushoptions_destroy(p->fo);
    rocksdb_options_destroy(p->opts);
    rocksdb_block_based_options_destroy(p->bbto);
    cache_release();
    release_work_dir(p);
    free(p);
}

static int
rdb_open(void **out, const ss_provider_env *env)
{
    rdb_prov *p;
    const char *tmp;
    int rc;

    *out = NULL;
    if (env->config->memory_limit_bytes)
        return ss_error_set(SS_EINVAL,
                            "option 'memory_limit_bytes' applies to the "
                            "memory provider; rocksdb spills to disk within "
                            "'rocksdb.memory_budget' instead");
    p = calloc(1, sizeof(*p));
    if (!p)
        return ss_error_set(SS_ENOMEM, "out of memory opening %s",
                            env->location);
    p->config = env->config;
    p->cfs = env->cfs;
    p->lock_fd = -1;
    tmp = env->config->rocksdb_local_dir[0] ? env->config->rocksdb_local_dir
                                            : getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = "/tmp";
    /* Room for "/statestore-rdb-XXXXXX/db-N/<file>" below it. */
    if (strlen(tmp) >= sizeof(p->base_dir) - 64) {
        rc = ss_error_set(SS_EINVAL,
                          "rocksdb working folder base %.64s...: "
                          "path too long",
                          tmp);
        free(p);
        return rc;
    }
    snprintf(p->base_dir, sizeof(p->base_dir), "%s", tmp);
    p->hist = calloc(env->config->max_versions_in_memory, sizeof(rdb_hist));
    if (!p->hist) {
        free(p);
        return ss_error_set(SS_ENOMEM, "out of memory opening %s",
                            env->location);
    }
    if ((rc = work_dir_open(p)) < 0) {
        release_work_dir(p);
        free(p);
        return rc;
    }
    /* Memory bound: one process-wide block cache of half the budget;
     * memtables of each store bounded to budget/8 in all (see README). */
    if ((rc = cache_acquire(&p->cache, env->config->rocksdb_memory_budget)) <
        0) {
        release_work_dir(p);
        free(p);
        return rc;
    }
    p->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(p->bbto, p->cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(p->bbto, 1);
    /* Absent keys (inserts, commit's "before" reads) then cost one
     * filter probe instead of a search of every level. */
    rocksdb_block_based_options_set_filter_policy(
        p->bbto, rocksdb_filterpolicy_create_bloom(10));
    p->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(p->opts, 1);
    rocksdb_options_set_block_based_table_factory(p->opts, p->bbto);
    rocksdb_options_set_write_buffer_size(
        p->opts, env->config->rocksdb_memory_budget / 16);
    rocksdb_options_set_max_write_buffer_number(p->opts, 2);
    rocksdb_options_set_db_write_buffer_size(
        p->opts, env->config->rocksdb_memory_budget / 8);
    /* SST mode inlines the MANIFEST in every <V>.meta: keep it small by
     * letting RocksDB roll it over often. */
    rocksdb_options_set_max_manifest_file_size(p->opts, 256u * 1024u);
    if ((rc = skip_shutdown_flush(p)) < 0)
        goto fail;
    p->fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(p->fo, 1);
    p->ro = rocksdb_readoptions_create();
    p->wo = rocksdb_writeoptions_create();
    p->dbopts = rocksdb_options_create();
    /* The checkpoint is the durability point, not RocksDB's WAL. */
    rocksdb_writeoptions_disable_WAL(p->wo, 1);
    if ((rc = ss_dlog_init(&p->log, env->storage, env->config)) < 0)
        goto fail;
    *out = p;
    return 0;
fail:
    release_options(p);
    return rc;
}

static void
rdb_close(void *prov)
{
    rdb_prov *p = prov;

    ss_dlog_destroy(&p->log);
    (void)live_drop(p); /* the front freed the views: cannot fail */
    release_options(p);
}

/* A declared family gets its RocksDB one when first written. */
static int
rdb_cf_added(void *prov, unsigned cf)
{
    (void)prov;
    (void)cf;
    return 0;
}

static int
rdb_load(void **out, void *prov, uint64_t version, bool readonly)
{
    rdb_prov *p = prov;
    rdb_store *s = calloc(1, sizeof(*s));
    uint64_t t0 = ss_now_ns();
    int rc;

    *out = NULL;
    if (!s)
        return ss_error_set(SS_ENOMEM, "out of memory loading version %" PRIu64,
                            version);
    s->p = p;
    s->version = version;
    s->readonly = readonly;
    /* Recreated if deleted since the last load; then so is the live
     * instance (invariant 5) -- by a writable load only: a read-only
     * load builds its own instance, and an open writable store, or a
     * committed one still reading (statestore.h convention 8), may be
     * using the live one. */
    if ((rc = work_dir_check(p)) < 0)
        goto fail;
    if (!readonly && p->live_valid && !inst_intact(&p->live) &&
        (rc = live_drop(p)) < 0)
        goto fail;
    if (readonly) {
        if ((rc = build_instance(&s->own, &s->keys, &s->cfs, p, version)) < 0)
            goto fail;
        s->inst = &s->own;
    } else {
        if ((rc = ss_dlog_pin(&p->log, version)) < 0)
            goto fail;
        if (p->live_valid && hist_find(p, version) &&
            (version == p->live_version || hist_move(p, version) == 0)) {
            p->log.m.loads_from_memory++;
        } else {
            /* Not in memory, or a move failed half-way. */
            if ((rc = live_drop(p)) < 0 ||
                (rc = build_instance(&p->live, &p->live_keys, &p->live_cfs, p,
                                     version)) < 0) {
                ss_dlog_unpin(&p->log);
                goto fail;
            }
            p->live_valid = true;
            p->live_version = version;
            hist_reset(p);
            p->log.m.loads_from_files++;
        }
        s->inst = &p->live;
        s->wb = rocksdb_writebatch_wi_create(0, 1);
        s->cfs = p->live_cfs;
    }
    /* Declared families are in every store (statestore.h). */
    ss_cf_set_union(&s->cfs, &p->cfs->declared);
    pthread_mutex_lock(&p->log.files_lock);
    p->log.m.load_ns = ss_now_ns() - t0;
    pthread_mutex_unlock(&p->log.files_lock);
    *out = s;
    return 0;
fail:
    free(s);
    return ss_error_wrap(rc, "loading version %" PRIu64 " from %s", version,
                         p->log.storage->location);
}

/* A read view: a snapshot of the live instance when it holds `version`
 * (no file read, no copy), else a read-only load from files.  Snapshots
 * of older versions the history keeps are the history's, released as
 * the writer moves on, so those versions load from files too. */
static int
rdb_view(void **out, void *prov, uint64_t version)
{
    rdb_prov *p = prov;
    rdb_store *s;

    *out = NULL;
    if (!p->live_valid || version != p->live_version || !inst_intact(&p->live))
        return rdb_load(out, prov, version, true);
    s = calloc(1, sizeof(*s));
    if (!s || !(s->view_ro = rocksdb_readoptions_create())) {
        free(s);
        return ss_error_set(SS_ENOMEM,
                            "out of memory opening a read view of "
                            "version %" PRIu64,
                            version);
    }
    s->p = p;
    s->version = version;
    s->readonly = true;
    s->keys = p->live_keys;
    s->cfs = p->live_cfs;
    ss_cf_set_union(&s->cfs, &p->cfs->declared); /* in every store */
    s->inst = &p->live;
    s->snap = rocksdb_create_snapshot(p->live.db);
    rocksdb_readoptions_set_snapshot(s->view_ro, s->snap);
    s->next_view = p->views;
    p->views = s;
    pthread_mutex_lock(&p->log.files_lock);
    p->log.m.loads_from_memory++;
    pthread_mutex_unlock(&p->log.files_lock);
    *out = s;
    return 0;
}

/* ---------------------------------------------------------------- store */

static int
ensure_cf(rdb_store *s, unsigned cf)
{
    return ss_rdb__inst_cf(s->inst, s->p, cf);
}

/* Whether family `cf` was ever written in s's instance (or batch: a
 * put creates it); if not it is empty, and reads need no RocksDB family
 * (invariant 8). */
static bool
has_cf(const rdb_store *s, unsigned cf)
{
    return s->inst->cf[cf] != NULL;
}

/* Free the values get returned (invariant 7): the store is written,
 * committed, aborted or freed. */
static void
release_values(rdb_store *s)
{
    size_t i;

    for (i = 0; i < s->nvalues; i++)
        rocksdb_free(s->values[i]);
    s->nvalues = 0;
    for (i = 0; i < s->npins; i++)
        rocksdb_pinnableslice_destroy(s->pins[i]);
    s->npins = 0;
}

static int
rdb_get(ss_slice *out, void *store, unsigned cf, ss_slice key)
{
    rdb_store *s = store;
    char *err = NULL, *v, **grown;
    size_t vlen = 0, cap;

    if (!has_cf(s, cf))
        return ss_error_set_str(SS_ENOTFOUND, "key not found");
    if (s->nvalues == s->values_cap) {
        cap = s->values_cap ? s->values_cap * 2 : 16;
        grown = realloc(s->values, cap * sizeof(*grown));
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory reading a value");
        s->values = grown;
        s->values_cap = cap;
    }
    if (s->wb)
        v = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
            s->wb, s->inst->db, read_opts(s), s->inst->cf[cf], key.data,
            key.len, &vlen, &err);
    else
        v = rocksdb_get_cf(s->inst->db, read_opts(s), s->inst->cf[cf], key.data,
                           key.len, &vlen, &err);
    if (err)
        return ss_rdb__fail(err, "get", s->inst->dir);
    if (!v)
        return ss_error_set_str(SS_ENOTFOUND, "key not found");
    s->values[s->nvalues++] = v;
    out->data = v;
    out->len = vlen;
    return 0;
}

static int
touch(rdb_store *s, unsigned cf, ss_slice key)
{
    touched *grown;
    size_t cap;
    int rc;

    if (s->nt == s->tcap) {
        cap = s->tcap ? s->tcap * 2 : 256;
        grown = realloc(s->t, cap * sizeof(*grown));
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory recording a change");
        s->t = grown;
        s->tcap = cap;
    }
    s->t[s->nt].off = (uint32_t)s->keybuf.len;
    s->t[s->nt].len = (uint32_t)key.len;
    s->t[s->nt].cf = cf;
    if ((rc = ss_buf_append(&s->keybuf, key.data, key.len)) < 0)
        return rc;
    s->nt++;
    return 0;
}

/* For iterators (rdb_cursor): is this a write to the key the last
 * stepping iterator returned? */
static void
count_write(rdb_store *s, unsigned cf, ss_slice key)
{
    const rdb_cursor *c = s->stepper;

    s->gen++;
    if (!c || c->cf != cf || c->last.len != key.len ||
        memcmp(c->last.data, key.data, key.len) != 0)
        s->gen_other++;
}

static int
rdb_put(void *store, unsigned cf, ss_slice key, ss_slice value)
{
    rdb_store *s = store;
    int rc;

    release_values(s);
    count_write(s, cf, key);
    if ((rc = ensure_cf(s, cf)) < 0 || (rc = touch(s, cf, key)) < 0)
        return rc;
    rocksdb_writebatch_wi_put_cf(s->wb, s->inst->cf[cf], key.data, key.len,
                                 value.len ? value.data : "", value.len);
    return 0;
}

static int
rdb_remove(void *store, unsigned cf, ss_slice key)
{
    rdb_store *s = store;
    int rc;

    release_values(s);
    if (!has_cf(s, cf))
        return 0; /* the key cannot exist */
    count_write(s, cf, key);
    if ((rc = touch(s, cf, key)) < 0)
        return rc;
    rocksdb_writebatch_wi_delete_cf(s->wb, s->inst->cf[cf], key.data, key.len);
    return 0;
}

#define MULTI_GET_CHUNK 512u

/* Many keys of one family.  With the batch empty (a committed or
 * read-only store, or one not yet written), one batched MultiGet per
 * chunk of keys, values pinned in RocksDB's blocks.  RocksDB's C API has
 * no MultiGetFromBatchAndDB, so with a non-empty batch each key goes
 * through the same lookup as get (batch, then instance). */
static int
rdb_multi_get(ss_slice *vals, int *status, void *store, unsigned cf,
              const ss_slice *keys, size_t n)
{
    rdb_store *s = store;
    const char *k[MULTI_GET_CHUNK];
    size_t lens[MULTI_GET_CHUNK], i, j, m, cap;
    rocksdb_pinnableslice_t *pv[MULTI_GET_CHUNK], **grown;
    char *errs[MULTI_GET_CHUNK], *first = NULL;
    int rc;

    if (!has_cf(s, cf)) {
        for (i = 0; i < n; i++)
            status[i] = SS_ENOTFOUND;
        return 0;
    }
    if (s->wb && rocksdb_writebatch_wi_count(s->wb) > 0) {
        for (i = 0; i < n; i++) {
            rc = rdb_get(&vals[i], s, cf, keys[i]);
            if (rc < 0 && rc != SS_ENOTFOUND)
                return rc;
            status[i] = rc;
        }
        return 0;
    }
    if (s->npins + n > s->pins_cap) {
        cap = s->pins_cap ? s->pins_cap * 2 : 64;
        if (cap < s->npins + n)
            cap = s->npins + n;
        grown = realloc(s->pins, cap * sizeof(*grown));
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory reading %zu values",
                                n);
        s->pins = grown;
        s->pins_cap = cap;
    }
    for (i = 0; i < n; i += m) {
        m = n - i < MULTI_GET_CHUNK ? n - i : MULTI_GET_CHUNK;
        for (j = 0; j < m; j++) {
            k[j] = keys[i + j].data;
            lens[j] = keys[i + j].len;
        }
        rocksdb_batched_multi_get_cf(s->inst->db, read_opts(s), s->inst->cf[cf],
                                     m, k, lens, pv, errs, false);
        for (j = 0; j < m; j++) {
            status[i + j] = SS_ENOTFOUND;
            if (errs[j]) {
                if (!first)
                    first = errs[j];
                else
                    rocksdb_free(errs[j]);
            }
            if (!pv[j])
                continue;
            if (errs[j]) {
                rocksdb_pinnableslice_destroy(pv[j]);
                continue;
            }
            s->pins[s->npins++] = pv[j];
            vals[i + j].data =
                rocksdb_pinnableslice_value(pv[j], &vals[i + j].len);
            status[i + j] = 0;
        }
        if (first)
            return ss_rdb__fail(first, "multi-get", s->inst->dir);
    }
    return 0;
}

/* --------------------------------------------------------------- commit */

typedef struct sort_ctx {
    const rdb_store *s;
    const unsigned *rank;
} sort_ctx;

static int
touched_cmp(const void *a, const void *b, void *arg)
{
    const sort_ctx *c = arg;
    const touched *x = a, *y = b;

    if (c->rank[x->cf] != c->rank[y->cf])
        return c->rank[x->cf] < c->rank[y->cf] ? -1 : 1;
    return ss_key_cmp(c->s->keybuf.data + x->off, x->len,
                      c->s->keybuf.data + y->off, y->len);
}

#define PROBE_CHUNK 512u

/* exists[k] = whether unique touched key t[a+k] is in the instance, for
 * a run t[a..b) of one family in key order: one batched MultiGet per
 * chunk instead of a Get per key (commit's prior-state reads). */
static int
probe_existing(unsigned char *exists, rdb_store *s, size_t a, size_t b)
{
    const char *keys[PROBE_CHUNK];
    size_t lens[PROBE_CHUNK], k, n = b - a;
    rocksdb_pinnableslice_t *vals[PROBE_CHUNK];
    char *errs[PROBE_CHUNK], *first = NULL;

    for (k = 0; k < n; k++) {
        keys[k] = (const char *)s->keybuf.data + s->t[a + k].off;
        lens[k] = s->t[a + k].len;
    }
    rocksdb_batched_multi_get_cf(s->inst->db, s->p->ro, s->inst->cf[s->t[a].cf],
                                 n, keys, lens, vals, errs, true);
    for (k = 0; k < n; k++) {
        exists[k] = vals[k] != NULL;
        if (vals[k])
            rocksdb_pinnableslice_destroy(vals[k]);
        if (errs[k] && !first)
            first = errs[k];
        else if (errs[k])
            rocksdb_free(errs[k]);
    }
    return first ? ss_rdb__fail(first, "multi-get", s->inst->dir) : 0;
}

/* Sort the touched keys by (file family rank, key) and drop repeats. */
static void
sort_unique(rdb_store *s, const unsigned *rank)
{
    sort_ctx ctx = {s, rank};
    size_t i, n = 0;

    if (s->nt > 1)
        qsort_r(s->t, s->nt, sizeof(touched), touched_cmp, &ctx);
    for (i = 0; i < s->nt; i++)
        if (n == 0 || touched_cmp(&s->t[n - 1], &s->t[i], &ctx) != 0)
            s->t[n++] = s->t[i];
    s->nt = n;
}

/* Op 3 records of the families ranked [*next, upto) the batch dropped
 * (none written when fw is NULL: SST mode). */
static int
write_drops(ss_frame_writer *fw, const bool *drop_at, unsigned *next,
            unsigned upto, uint64_t *records)
{
    int rc;

    for (; *next < upto; (*next)++) {
        if (!drop_at[*next])
            continue;
        if (fw && (rc = ss_frame_writer_add(fw, SS_OP_CF_DROP, *next, "", 0,
                                            NULL, 0)) < 0)
            return rc;
        (*records)++;
    }
    return 0;
}

/* Count how the batch changes the number of keys and, when `fw` is not
 * NULL, write <next>.delta with the final state of every touched key. */
static int
collect_changes(rdb_store *s, ss_frame_writer *fw, uint64_t next,
                int64_t *key_delta, uint64_t *records)
{
    rdb_prov *p = s->p;
    bool track = p->config->rocksdb_track_num_keys;
    unsigned rank[SS_MAX_CFS];
    unsigned char exists[PROBE_CHUNK];
    ss_file_header h = {
        .kind = SS_FILE_DELTA, .codec = p->config->codec, .version = next};
    char name[64], *err = NULL, *after;
    bool drop_at[SS_MAX_CFS]; /* by file rank: write an op 3 record */
    unsigned next_rank = 0;
    size_t i, end, k, alen;
    int rc;

    *key_delta = 0;
    *records = 0;
    if ((rc = ss_cf_table_file_header(&h, rank, p->cfs, &s->cfs, &s->dropped)) <
        0)
        return rc;
    for (i = 0; i < h.n_cf; i++)
        drop_at[i] = false;
    for (i = 0; i < p->cfs->count; i++)
        if (ss_cf_set_has(&s->dropped, (unsigned)i))
            drop_at[rank[i]] = true;
    *records = 0;
    sort_unique(s, rank);
    snprintf(name, sizeof(name), "%" PRIu64 ".delta", next);
    if (fw && (rc = ss_frame_writer_open(fw, p->log.storage, name, &h,
                                         p->config->compression_level,
                                         p->config->block_size)) < 0)
        goto out;
    for (i = 0; i < s->nt; i = end) {
        for (end = i + 1;
             end < s->nt && end - i < PROBE_CHUNK && s->t[end].cf == s->t[i].cf;
             end++)
            ;
        /* A dropped family's op 3 record comes before its keys. */
        if ((rc = write_drops(fw, drop_at, &next_rank, rank[s->t[i].cf] + 1,
                              records)) < 0)
            goto out;
        /* Untracked, a key is taken to exist: its remove is written. */
        if (!track)
            memset(exists, 1, end - i);
        else if ((rc = probe_existing(exists, s, i, end)) < 0)
            goto out;
        for (k = i; k < end; k++) {
            const touched *t = &s->t[k];
            const char *key = (const char *)s->keybuf.data + t->off;
            bool before = exists[k - i];

            /* Every touched key is in the batch: absent there means
             * removed. */
            after = rocksdb_writebatch_wi_get_from_batch_cf(
                s->wb, p->dbopts, s->inst->cf[t->cf], key, t->len, &alen, &err);
            if (err) {
                rc = ss_rdb__fail(err, "get", s->inst->dir);
                goto out;
            }
            *key_delta += (after != NULL) - (before ? 1 : 0);
            /* A dropped family's removes are its op 3 record. */
            if (!after && ss_cf_set_has(&s->dropped, t->cf))
                before = false;
            if (before || after)
                (*records)++;
            if (fw && (before || after))
                rc = after ? ss_frame_writer_add(fw, SS_OP_PUT, rank[t->cf],
                                                 key, t->len, after, alen)
                           : ss_frame_writer_add(fw, SS_OP_REMOVE, rank[t->cf],
                                                 key, t->len, NULL, 0);
            rocksdb_free(after);
            if (rc < 0)
                goto out;
        }
    }
    if ((rc = write_drops(fw, drop_at, &next_rank, h.n_cf, records)) < 0)
        goto out;
    rc = fw ? ss_frame_writer_finish(fw) : 0;
out:
    free(h.cf);
    return rc;
}

static int
commit_failed(int rc, uint64_t next)
{
    return ss_error_wrap(rc, "commit of version %" PRIu64, next);
}

static void
end_batch(rdb_store *s)
{
    rocksdb_writebatch_wi_destroy(s->wb);
    s->wb = NULL;
    ss_dlog_unpin(&s->p->log);
}

/* Changelog mode: <next>.delta durable first, then the instance. */
static int
commit_changelog(rdb_store *s, uint64_t next)
{
    rdb_prov *p = s->p;
    ss_frame_writer fw;
    uint64_t t0 = ss_now_ns(), t1, t2, records;
    int64_t key_delta;
    char *err = NULL;
    int rc;

    memset(&fw, 0, sizeof(fw));
    if ((rc = collect_changes(s, &fw, next, &key_delta, &records)) < 0 ||
        (t1 = ss_now_ns(),
         rc = ss_dlog_publish(&p->log, &fw, s->version, next)) < 0) {
        /* Newer versions may have been truncated; the instance still
         * holds s->version, which is still in the files. */
        ss_frame_writer_abort(&fw);
        return commit_failed(rc, next);
    }
    t2 = ss_now_ns();
    hist_before_commit(p, s->version);
    rocksdb_write_writebatch_wi(s->inst->db, p->wo, s->wb, &err);
    end_batch(s);
    if (err) {
        /* Version `next` is durable in the checkpoint, so the commit
         * succeeded; only the local copy is lost, and the next load
         * rebuilds it from the files. */
        rocksdb_free(err);
        p->live_valid = false;
    }
    p->live_version = next;
    p->live_cfs = s->cfs;
    p->live_keys = (uint64_t)((int64_t)p->live_keys + key_delta);
    if (p->live_valid)
        hist_after_commit(p, s, next, p->live_keys);
    ss_dlog_note_commit(&p->log, &fw, t1 - t0 - fw.encode_ns - fw.write_ns,
                        t2 - t1, records, ss_now_ns() - t0);
    return 0;
}

/* SST snapshot mode: apply, then checkpoint the instance as <next>.meta;
 * the instance is ahead of the files (invalid) until the meta is out. */
static int
commit_sst(rdb_store *s, uint64_t next)
{
    rdb_prov *p = s->p;
    rdb_sst_times t;
    uint64_t t0 = ss_now_ns(), t1, records, keys;
    int64_t key_delta;
    char *err = NULL;
    int rc;

    if ((rc = collect_changes(s, NULL, next, &key_delta, &records)) < 0)
        return commit_failed(rc, next);
    keys = (uint64_t)((int64_t)p->live_keys + key_delta);
    if (!p->config->rocksdb_track_num_keys)
        keys = 0; /* estimated after the flush, below */
    t1 = ss_now_ns();
    hist_before_commit(p, s->version);
    p->live_valid = false;
    rocksdb_write_writebatch_wi(s->inst->db, p->wo, s->wb, &err);
    /* The batch is spent either way; an empty one keeps a failed store
     * usable until it is aborted (which also unpins). */
    rocksdb_writebatch_wi_destroy(s->wb);
    s->wb = rocksdb_writebatch_wi_create(0, 1);
    if (err)
        return commit_failed(ss_rdb__fail(err, "write", s->inst->dir), next);
    if ((rc = ss_rdb__sst_commit(&t, s->inst, p, s->version, next, keys,
                                 &s->cfs)) < 0)
        return commit_failed(rc, next);
    end_batch(s);
    p->live_valid = true;
    p->live_version = next;
    p->live_cfs = s->cfs;
    p->live_keys = keys;
    hist_after_commit(p, s, next, keys);
    pthread_mutex_lock(&p->log.files_lock);
    p->log.m.commit_collect_ns = t1 - t0;
    p->log.m.commit_encode_ns = 0;
    p->log.m.commit_write_ns = 0;
    p->log.m.commit_sync_ns = 0;
    p->log.m.commit_flush_ns = t.flush_ns;
    p->log.m.commit_checkpoint_ns = t.checkpoint_ns;
    p->log.m.commit_upload_ns = t.upload_ns;
    p->log.m.commit_metadata_ns = t.metadata_ns;
    p->log.m.objects_uploaded += t.uploaded;
    p->log.m.objects_reused += t.reused;
    p->log.m.commit_records = records;
    p->log.m.commit_bytes = t.meta_bytes;
    p->log.m.bytes_written += t.meta_bytes + t.uploaded_bytes;
    p->log.m.files_written += 1 + t.uploaded;
    p->log.m.commit_total_ns = ss_now_ns() - t0;
    pthread_mutex_unlock(&p->log.files_lock);
    return 0;
}

static int
rdb_commit(uint64_t *version_out, void *store)
{
    rdb_store *s = store;
    rdb_prov *p = s->p;
    uint64_t next = s->version + 1;
    int rc;

    release_values(s);
    rc = p->config->rocksdb_changelog ? commit_changelog(s, next)
                                      : commit_sst(s, next);
    if (rc < 0)
        return rc;
    s->version = next;
    if (version_out)
        *version_out = next;
    return 0;
}

static void
rdb_abort(void *store)
{
    rdb_store *s = store;

    release_values(s);
    if (!s->wb)
        return;
    rocksdb_writebatch_wi_destroy(s->wb);
    s->wb = NULL;
    ss_dlog_unpin(&s->p->log);
}

static void
rdb_store_free(void *store)
{
    rdb_store *s = store;

    if (!s)
        return;
    rdb_abort(s);
    release_values(s);
    free(s->values);
    free(s->pins);
    if (s->snap)
        view_release(s);
    else if (s->readonly)
        inst_close(&s->own);
    ss_buf_free(&s->keybuf);
    free(s->t);
    free(s);
}

/* ------------------------------------------------------------ iterators */

/* (Re)make the cursor's RocksDB iterator and seek it: to the first key
 * of its bounds, or past the last key returned. */
static int
cursor_seek(rdb_cursor *it)
{
    rdb_store *s = it->s;
    rocksdb_iterator_t *base;
    const char *k;
    size_t klen;

    if (it->it)
        rocksdb_iter_destroy(it->it);
    it->it = NULL;
    it->gen = s->gen;
    it->gen_other = s->gen_other;
    if (!has_cf(s, it->cf))
        return 0; /* never written: empty for now */
    base = rocksdb_create_iterator_cf(s->inst->db, read_opts(s),
                                      s->inst->cf[it->cf]);
    it->it = s->wb ? rocksdb_writebatch_wi_create_iterator_with_base_cf(
                         s->wb, base, s->inst->cf[it->cf])
                   : base;
    if (!it->started) {
        if (it->start_len)
            rocksdb_iter_seek(it->it, (const char *)it->start, it->start_len);
        else
            rocksdb_iter_seek_to_first(it->it);
        return 0;
    }
    rocksdb_iter_seek(it->it, (const char *)it->last.data, it->last.len);
    if (rocksdb_iter_valid(it->it)) {
        k = rocksdb_iter_key(it->it, &klen);
        if (ss_key_cmp(k, klen, it->last.data, it->last.len) == 0)
            rocksdb_iter_next(it->it);
    }
    return 0;
}

static int
rdb_iter(void **out, void *store, unsigned cf, const ss_scan *scan)
{
    rdb_store *s = store;
    rdb_cursor *it;
    ss_slice first = scan->prefix.len ? scan->prefix : scan->start;

    *out = NULL;
    it = calloc(1, sizeof(*it));
    if (!it)
        return ss_error_set(SS_ENOMEM, "out of memory creating an iterator");
    it->s = s;
    it->cf = cf;
    it->prefix_len = scan->prefix.len;
    it->start_len = first.len;
    it->end_len = scan->end.len;
    it->prefix = malloc(it->prefix_len + it->start_len + it->end_len + 1);
    if (!it->prefix) {
        free(it);
        return ss_error_set(SS_ENOMEM, "out of memory creating an iterator");
    }
    it->start = it->prefix + it->prefix_len;
    it->end = it->start + it->start_len;
    if (it->prefix_len)
        memcpy(it->prefix, scan->prefix.data, it->prefix_len);
    if (it->start_len)
        memcpy(it->start, first.data, it->start_len);
    if (it->end_len)
        memcpy(it->end, scan->end.data, it->end_len);
    cursor_seek(it);
    *out = it;
    return 0;
}

static int
rdb_iter_next(void *iter, ss_slice *key, ss_slice *value)
{
    rdb_cursor *it = iter;
    const char *k;
    size_t klen, vlen;
    char *err = NULL;
    bool moved = false;
    int rc;

    if (it->done)
        return SS_EDONE;
    if (it->gen != it->s->gen &&
        (it->s->stepper != it || it->gen_other != it->s->gen_other ||
         !it->it)) {
        cursor_seek(it); /* lands past the last key already */
        moved = true;
    }
    if (!it->it) {
        it->done = true;
        return SS_EDONE;
    }
    if (it->started && !moved)
        rocksdb_iter_next(it->it);
    if (!rocksdb_iter_valid(it->it)) {
        it->done = true;
        rocksdb_iter_get_error(it->it, &err);
        if (err)
            return ss_rdb__fail(err, "iterate", "store");
        return SS_EDONE;
    }
    k = rocksdb_iter_key(it->it, &klen);
    if (klen < it->prefix_len || memcmp(k, it->prefix, it->prefix_len) != 0 ||
        (it->end_len && ss_key_cmp(k, klen, it->end, it->end_len) >= 0)) {
        it->done = true;
        return SS_EDONE;
    }
    /* The caller may remove this key before the next step: hand out our
     * copy, which also tells a later seek where to resume. */
    it->last.len = 0;
    if ((rc = ss_buf_append(&it->last, k, klen)) < 0)
        return rc;
    it->started = true;
    it->gen = it->s->gen;
    it->gen_other = it->s->gen_other;
    it->s->stepper = it;
    if (key) {
        key->data = it->last.data;
        key->len = klen;
    }
    if (value) {
        value->data = rocksdb_iter_value(it->it, &vlen);
        value->len = vlen;
    }
    return 0;
}

static void
rdb_iter_free(void *iter)
{
    rdb_cursor *it = iter;

    if (!it)
        return;
    if (it->s->stepper == it)
        it->s->stepper = NULL;
    if (it->it)
        rocksdb_iter_destroy(it->it);
    ss_buf_free(&it->last);
    free(it->prefix);
    free(it);
}

/* --------------------------------------------------------------- others */

static int
rdb_latest(uint64_t *out, void *prov)
{
    return ss_dlog_latest(out, &((rdb_prov *)prov)->log);
}

static int
rdb_maintenance(void *prov, bool force)
{
    return ss_dlog_maintenance(&((rdb_prov *)prov)->log, force);
}

static void
rdb_metrics(ss_metrics *out, void *prov)
{
    rdb_prov *p = prov;
    uint64_t cache = rocksdb_cache_get_usage(p->cache), mem = 0, sst = 0, v;
    unsigned i;

    pthread_mutex_lock(&p->log.files_lock);
    *out = p->log.m;
    pthread_mutex_unlock(&p->log.files_lock);
    for (i = 0; p->live.db && i < SS_MAX_CFS; i++) {
        if (!p->live.cf[i])
            continue;
        if (rocksdb_property_int_cf(p->live.db, p->live.cf[i],
                                    "rocksdb.cur-size-all-mem-tables", &v) == 0)
            mem += v;
        if (rocksdb_property_int_cf(p->live.db, p->live.cf[i],
                                    "rocksdb.total-sst-files-size", &v) == 0)
            sst += v;
    }
    out->version = SS_METRICS_VERSION;
    out->num_keys = !p->live_valid ? 0
                    : p->config->rocksdb_track_num_keys
                        ? p->live_keys
                        : ss_rdb__estimate_keys(&p->live);
    out->memory_bytes = cache + mem;
    out->memtable_bytes = mem;
    out->block_cache_bytes = cache;
    out->sst_bytes = sst;
    out->memory_limit_bytes = 0;
    out->versions_in_memory = p->live_valid ? p->nhist : 0;
    out->maintenance_errors = p->log.maint_errors;
}

/* ------------------------------------------------------------- families */

static void
rdb_cf_live(ss_cf_set *out, void *store)
{
    *out = ((rdb_store *)store)->cfs;
}

/* Empty: a family its version lacks has no keys in the instance (a drop
 * deleted them; invariant 9), and its RocksDB family comes when written
 * (invariant 8). */
static int
rdb_cf_create(void *store, unsigned cf)
{
    ss_cf_set_add(&((rdb_store *)store)->cfs, cf);
    return 0;
}

static int
rdb_cf_drop(void *store, unsigned cf)
{
    rdb_store *s = store;

    ss_cf_set_del(&s->cfs, cf);
    ss_cf_set_add(&s->dropped, cf);
    return 0;
}

const ss_provider_ops ss_rocksdb_provider_ops = {
    SS_PROVIDER_OPS_VERSION,
    "rocksdb",
    rdb_open,
    rdb_cf_added,
    rdb_load,
    rdb_get,
    rdb_put,
    rdb_remove,
    rdb_commit,
    rdb_abort,
    rdb_store_free,
    rdb_iter,
    rdb_iter_next,
    rdb_iter_free,
    rdb_latest,
    rdb_maintenance,
    rdb_metrics,
    rdb_multi_get,
    rdb_close,
    rdb_view,
    rdb_cf_live,
    rdb_cf_create,
    rdb_cf_drop,
};
