/*
 * delta_log.h -- a store's chain of checkpoint files: <V>.delta per
 * commit, <V>.snapshot written by maintenance (format/frame.h), and
 * <V>.meta, a whole version as RocksDB files (format/meta.h).
 *
 * Shared by the providers that checkpoint by changes (the memory
 * provider, and rocksdb in changelog mode), so every such checkpoint
 * loads the same whichever provider wrote it.  It knows files, versions
 * and column-family names -- never a provider's in-memory state.
 *
 * Invariant 1: version V exists iff V.delta, V.snapshot or V.meta is
 * listed; loading V starts from its base, the newest snapshot or meta
 * B <= V, then replays every delta B+1..V, and a gap is SS_ECORRUPT
 * naming the missing file.
 * Invariant 2: publishing version V+1 on top of V first deletes every
 * version above V, newest first, so the visible versions are always one
 * lineage, even after a crash part-way.
 * Invariant 3: retention never deletes a file that a version within
 * min_versions_to_retain of the newest, or the pinned version of an
 * open writer, needs; and never deletes an object (sst-*) that a
 * remaining meta lists, nor one a commit is uploading (upload_lock).
 * Invariant 4 (many processes): the checkpoint listing is the truth.
 * A writable load takes a writer epoch (providers/writer.h) and reads
 * the newest version from the listing; a commit, under the storage lock,
 * lists again, refuses with SS_EFENCED if a newer epoch exists, deletes
 * the listed versions above its base, and publishes with create-if-
 * absent, so a writer that lost the lock's protection (NFS without
 * locks, an object store) still cannot overwrite another's version.
 * Invariant 5: only the current writer (the holder of the newest epoch)
 * deletes: retention, object collection and old epoch files.  Anyone's
 * maintenance may write a snapshot, published only if the delta it was
 * built up to is still the same file (its nonce), under the lock.
 */
#ifndef SS_PROVIDERS_DELTA_LOG_H
#define SS_PROVIDERS_DELTA_LOG_H

#include "providers/provider.h"

#include <pthread.h>
#include <stdbool.h>

/* Versions present in the checkpoint location. */
typedef struct ss_dlog_versions {
    uint64_t *deltas;
    size_t n_deltas;
    uint64_t *snapshots;
    size_t n_snapshots;
    uint64_t *metas;
    size_t n_metas;
    size_t n_objects; /* sst-* objects present */
    uint64_t latest;
    uint64_t max_epoch; /* highest writer-<E> present (0: none) */
} ss_dlog_versions;

typedef struct ss_dlog {
    ss_storage *storage;
    const ss_config *config;

    /* Serialises publishing and deleting files between the writer and
     * maintenance (which may run on its own thread). */
    pthread_mutex_t files_lock;
    pthread_mutex_t maint_lock; /* one maintenance run at a time */
    /* Held by a commit from its first object upload until its meta is
     * published, and by object garbage collection: an object is never
     * collected between its upload and the meta that lists it. */
    pthread_mutex_t upload_lock;
    uint64_t generation; /* bumped when newer versions are truncated */
    uint64_t latest;     /* newest committed version in the checkpoint */
    /* The writable store's base version: retention keeps its files, or
     * the version committed on top of it could not be loaded. */
    bool pinned;
    uint64_t pin;
    /* This provider's writer epoch (0 until its first writable load)
     * and whether a newer writer fenced it (sticky: reopen). */
    uint64_t epoch;
    bool fenced;
    uint64_t fenced_by;

    pthread_t maint_thread;
    bool maint_running;
    bool maint_stop;
    pthread_cond_t maint_cond;

    /* The objects each meta lists, read once per meta for garbage
     * collection (under upload_lock); metas never change, but a
     * truncation may replace one, so a new generation clears it. */
    struct ss_dlog_meta_objects *meta_objects;
    size_t n_meta_objects;
    uint64_t meta_objects_gen;

    ss_metrics m; /* file and commit counters (under files_lock) */
    uint64_t maint_errors;
} ss_dlog;

/* A provider's side of replaying files (ss_dlog_replay). */
typedef struct ss_dlog_sink {
    /* A file begins: map its family table to provider ids. */
    int (*begin_file)(void *payload, unsigned *local_to_cf,
                      const ss_file_header *h, const char *path);
    /* One record, family already mapped.  Op SS_OP_CF_DROP (no key):
     * remove every key of family `cf` (also sent for a family that left
     * the set, format/frame.h FAMILIES). */
    int (*apply)(void *payload, unsigned cf, const ss_record *rec,
                 uint64_t version);
    /* The chain starts at <version>.meta: load it as the base.  NULL for
     * providers that cannot (then such a version is refused). */
    int (*meta_base)(void *payload, uint64_t version);
    /* Drop everything applied so far: the replay starts over because
     * retention moved the chain's base under it. */
    int (*reset)(void *payload);
    void *payload;
    /* If not NULL: the families of the version replayed so far, kept by
     * the replay from each file's table (format/frame.h, FAMILIES);
     * meta_base sets it from its meta. */
    ss_cf_set *cfs;
} ss_dlog_sink;

/* Load (or create) the store identity and start the background
 * maintenance thread if the config asks for it. */
int ss_dlog_init(ss_dlog *d, ss_storage *st, const ss_config *config);
/* Stop the thread; the storage stays the caller's. */
void ss_dlog_destroy(ss_dlog *d);

int ss_dlog_list(ss_dlog_versions *out, ss_storage *st);
/* The same from a listing already made. */
int ss_dlog_versions_parse(ss_dlog_versions *out, const ss_namelist *names,
                           const char *location);
/* Newest version present in the checkpoint (0 if none). */
int ss_dlog_latest(uint64_t *out, ss_dlog *d);
void ss_dlog_versions_free(ss_dlog_versions *v);
bool ss_dlog_has_delta(const ss_dlog_versions *v, uint64_t version);
/* Newest snapshot or meta <= version, 0 if none; *kind_out (may be
 * NULL) is SS_FILE_SNAPSHOT or SS_FILE_META (0 if none). */
uint64_t ss_dlog_base(const ss_dlog_versions *v, uint64_t version,
                      unsigned *kind_out);

/* Replay the files of `version` into `sink` (nothing for version 0).
 * SS_ENOTFOUND if the version does not exist, SS_ECORRUPT / SS_EVERSION
 * naming the file otherwise.  A replay whose files retention deletes
 * part-way (a newer snapshot took over) starts over from the new base. */
int ss_dlog_replay(ss_dlog *d, uint64_t version, const ss_dlog_sink *sink);

/* Start a writable load: take a writer epoch if this provider has none
 * (SS_EFENCED if a newer writer has taken over since), refresh the
 * newest version from the listing, and pin the writer's base version
 * (refused with SS_ENOTFOUND if its files are already gone).  unpin
 * releases the pin. */
int ss_dlog_pin(ss_dlog *d, uint64_t version);
void ss_dlog_unpin(ss_dlog *d);

/* Make the finished file `fw` (version base+1) visible: under the
 * storage lock, check the fence and that base still exists, delete the
 * listed versions above `base`, then publish only if absent.
 * SS_EFENCED if another writer took over or wrote version base+1. */
int ss_dlog_publish(ss_dlog *d, ss_frame_writer *fw, uint64_t base,
                    uint64_t next);

/* Record a finished commit's figures (times in ns; `fw` the published
 * delta) in the log's metrics. */
void ss_dlog_note_commit(ss_dlog *d, const ss_frame_writer *fw,
                         uint64_t collect_ns, uint64_t sync_ns,
                         uint64_t records, uint64_t total_ns);

/* Snapshot and retention (delta_log_maint.c).  `force`: snapshot the
 * newest version whatever min_deltas_for_snapshot says (when it is not
 * its own base already and its chain has no .meta base). */
int ss_dlog_maintenance(ss_dlog *d, bool force);
int ss_dlog__maint_start(ss_dlog *d);
void ss_dlog__maint_stop(ss_dlog *d);
void ss_dlog__meta_objects_free(ss_dlog *d);
/* files_lock, then the storage's inter-process lock (in that order, by
 * everyone); released in reverse by ss_dlog__unlock. */
int ss_dlog__lock(ss_storage_lock **out, ss_dlog *d);
void ss_dlog__unlock(ss_dlog *d, ss_storage_lock *l);
/* Fence check against a listing's max epoch (caller holds the locks):
 * 0 if this provider is still the current writer, SS_EFENCED (and the
 * provider marked fenced) if not.  Never called without an epoch. */
int ss_dlog__check_fence(ss_dlog *d, uint64_t max_epoch);

#endif
