/*
 * statestore.h -- the one public header of libstatestore.
 *
 * Versioned, checkpointed key-value state stores for stream processors.
 *
 * CONVENTIONS (read these first)
 *
 * 1. Handles are opaque.  ss_provider is one store location (a checkpoint
 *    directory) opened with one provider; ss_store is one version of it,
 *    loaded for a batch of reads and writes; ss_iter walks a store.
 *    Only ss_slice and ss_metrics are transparent.
 *
 * 2. Errors.  Every fallible function returns int: 0 (or a non-negative
 *    count where documented) on success, a negative SS_E* code on failure.
 *    Each function lists the codes a caller should expect; anything else is
 *    SS_EIO, SS_ENOMEM or SS_EINVAL.  After any negative return,
 *    ss_error_last() gives a message naming what failed (file, version, key
 *    length, option key).  The message is thread-local.
 *
 * 3. Ownership.  A handle returned through `**out` belongs to the caller,
 *    who releases it with its own ss_X_free/ss_X_close; on failure *out is
 *    NULL.  A returned ss_slice is BORROWED: it stays valid only until the
 *    next put, remove, remove_range, commit, abort or free on the same
 *    store (all values of one ss_store_multi_get likewise, together; on a
 *    read-only store, which has no writes, until it is freed; an
 *    iterator's key until its next step, see ss_iter_next).  Copy it
 *    to keep it.  Keys and values passed in are copied; the caller keeps
 *    its buffers.  Memory from ss_malloc is released with ss_free.
 *
 * 4. Threads.  A provider and its stores are used by one thread at a time.
 *    Different providers (e.g. partitions) may be used on different threads
 *    at once.  The optional background maintenance thread of a provider
 *    only reads and writes checkpoint files and is synchronised internally.
 *    ss_error_last() is per thread.
 *
 * 5. NULL.  Passing NULL where a handle is required returns SS_EINVAL with
 *    a message; it never crashes.  Destructors (ss_X_free, ss_X_close)
 *    accept NULL.  A slice with len > 0 must have non-NULL data.
 *
 * 6. Versions.  Version 0 is the empty state.  Loading version V and
 *    committing produces version V+1.  If versions above V already exist
 *    (the caller went back in time), committing V+1 first deletes them,
 *    newest first, so the visible versions are always one lineage.
 *    Which versions exist is always read from the checkpoint itself,
 *    never from what this process remembers: another process may have
 *    written them.
 *
 * 7. Many processes.  Any number of providers, in any processes and on
 *    any hosts sharing the location, may read it.  At most one may write:
 *    a provider's first writable load takes a new writer epoch (a file
 *    writer-<E> naming pid, host and time), which fences every provider
 *    holding an older one.  A fenced provider's commit and writable
 *    loads return SS_EFENCED with a message naming the writer that took
 *    over; it still reads, and must be reopened to write again.  Every
 *    commit checks the fence and publishes its version only if absent,
 *    under an inter-process lock of the location, so of two writers of
 *    one version exactly one succeeds.  Only the current writer deletes
 *    files (retention, SST object collection).  Every file carries the
 *    store's id (store.id, fixed when the store was created); a file of
 *    another store is refused with SS_ECORRUPT naming both.
 *
 * 8. Store life.  A store is open until ss_store_commit or
 *    ss_store_abort.  A committed store stays READABLE at its new version
 *    (get, multi_get, iter and scans) until it is freed or until its
 *    provider loads another writable store; from then on reads on it
 *    (and its iterators) return SS_EINVAL saying its state is gone.  A
 *    committed store no longer counts as the provider's writable store.
 *    Writes, commit and abort on a committed store return SS_EINVAL.  An
 *    aborted store refuses everything (SS_EINVAL) but ss_store_version
 *    and ss_store_free: load the version again to read it.
 *
 * 9. Bindings.  By default a handle is the object's address: a call on a
 *    handle after its free or close (or its provider's close) is
 *    undefined, as with any freed pointer.  A binding from a garbage-
 *    collected language, whose objects are finalised or closed in any
 *    order, turns on checked handles with ss_handle_checks(1) before it
 *    opens its first provider.  Every handle is then an opaque token
 *    looked up in a process-wide table, and a call with a handle that was
 *    freed or closed, or is of the wrong kind, or never was one, returns
 *    SS_EINVAL with a message ("ss_store_get: store handle is stale
 *    (freed or closed)") without touching memory; ss_X_free and
 *    ss_X_close do nothing but set the message, and ss_store_version
 *    returns 0.  A token stays refused forever: a table slot is reused
 *    with a new generation, and retired after 2^32 - 1 reuses.
 *    Freeing cascades: ss_provider_close frees every store of the
 *    provider (open ones are aborted), and with checks on ss_store_free
 *    frees the store's iterators, so all their handles go stale and
 *    closing the provider releases everything.  Without checks a raw
 *    iterator pointer cannot be invalidated, so it outlives its store
 *    detached: ss_iter_next returns SS_EINVAL and ss_iter_free must still
 *    release it; a closed provider's store pointers dangle.  Checks do
 *    not relax convention 4: calls on one provider's handles, frees
 *    included, must not overlap in time (a finaliser thread takes the
 *    binding's lock).  The cost is one table lookup per call
 *    (bench/handle_checks.c).
 */
#ifndef STATESTORE_H
#define STATESTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SS_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define SS_EXTERN __attribute__((visibility("default")))
#else
#define SS_EXTERN
#endif

#define SS_VERSION_STRING "0.1.0"

/** Status codes.  0 is success; every failure is negative. */
enum {
    SS_OK = 0,
    SS_EINVAL = -1,    /**< bad argument, option or API misuse */
    SS_ENOMEM = -2,    /**< allocation failed */
    SS_EIO = -3,       /**< an I/O call failed (see message for file) */
    SS_ENOTFOUND = -4, /**< key or version does not exist */
    SS_EEXISTS = -5,   /**< object already exists */
    SS_ECORRUPT = -6,  /**< a checkpoint file failed its checks */
    SS_EVERSION = -7,  /**< unsupported file format version */
    SS_ELIMIT = -8,    /**< a configured or built-in limit was hit */
    SS_EBUSY = -9,     /**< the provider already has a writable store */
    SS_EFATAL = -10,   /**< an earlier failure poisoned the provider */
    SS_EDONE = -11,    /**< iterator exhausted (not an error) */
    SS_EFENCED = -12   /**< another writer took over the store (7.) */
};

/** Largest key, in bytes.  Keys must be at least 1 byte. */
#define SS_MAX_KEY_LEN 65535u
/** Largest value, in bytes. */
#define SS_MAX_VALUE_LEN (256u * 1024u * 1024u)
/** The column family every store has; others come from ss_provider_cf
 *  or ss_store_cf_create. */
#define SS_CF_DEFAULT 0u
/** Flag for ss_provider_cf and ss_store_cf_create: keep the family in key
 *  byte order. */
#define SS_CF_ORDERED 1u
/** Flag for ss_provider_cf and ss_store_cf_create: a LIST family, whose
 *  keys each hold a list of values (ss_store_append, ss_store_put_list,
 *  ss_store_list_iter).  May be combined with SS_CF_ORDERED (key order).
 *  Its name is 1..253 bytes; its keys 1..SS_MAX_KEY_LEN - 10 bytes. */
#define SS_CF_LIST 2u

/** A borrowed byte string (see convention 3). */
typedef struct ss_slice {
    const void *data;
    size_t len;
} ss_slice;

/** Make a slice of a NUL-terminated string (not including the NUL). */
#define SS_STR(s) ss_slice_str(s)

typedef struct ss_provider ss_provider;
typedef struct ss_store ss_store;
typedef struct ss_iter ss_iter;

/* ---------------------------------------------------------------- errors */

/** The message of the last failure on this thread ("" if none). */
SS_EXTERN const char *ss_error_last(void);
/** A static name for a status code, e.g. "SS_ECORRUPT". */
SS_EXTERN const char *ss_strerror(int code);
/** Forget this thread's last error message. */
SS_EXTERN void ss_error_clear(void);

/* ---------------------------------------------------------------- memory */

/** Allocate with the library's allocator.  NULL on failure. */
SS_EXTERN void *ss_malloc(size_t size);
/** Release memory from ss_malloc or returned by the library.  NULL ok. */
SS_EXTERN void ss_free(void *ptr);

/** Slice over a NUL-terminated string. */
SS_EXTERN ss_slice ss_slice_str(const char *s);

/* -------------------------------------------------------------- provider */

/**
 * Open a store location.
 *
 * @param[out] out     the provider, on success
 * @param location     checkpoint directory (created if absent)
 * @param options      array of "key=value" strings, may be NULL if n is 0.
 *                     Keys are listed in README.md ("Configuration"); an
 *                     unknown key or a bad value is refused naming it.
 * @param n_options    number of entries in options
 * @return 0, SS_EINVAL for a bad option, SS_EIO if the location cannot be
 *         created or read.
 * @note The provider is named by option "provider" (default "memory").
 */
SS_EXTERN int ss_provider_open(ss_provider **out, const char *location,
                               const char *const *options, size_t n_options);

/**
 * Declare a column family (a separate key space committed atomically with
 * the others).  Declaring an existing name returns its id if the flags
 * agree.  Must be called while no store is loaded.
 *
 * Families and versions (see also ss_store_cf_create): each version has
 * its own set of families, recorded in its checkpoint files.  A family
 * declared here is in EVERY store this provider loads, whatever the
 * version: one whose files lack it (older, or written by a provider that
 * did not declare it) gets it empty, and commits record it from then on.
 * It cannot be dropped.  Families found in a version's files are learned
 * (they get ids) when it loads.
 *
 * Ids: a provider gives each family name one id, an index that stays the
 * name's for the provider's life (dropping a family does not free it;
 * creating the name again returns the same id).  So a name keeps its
 * flags within a provider: at most 256 names in all, SS_ELIMIT past that.
 *
 * @param[out] out  the family id to pass to store calls
 * @param name      1..255 bytes
 * @param flags     0 or SS_CF_ORDERED (enables ss_store_range_scan)
 * @return 0, SS_EINVAL (bad name, flags differ from the existing family),
 *         SS_ELIMIT (more than 255 families)
 */
SS_EXTERN int ss_provider_cf(unsigned *out, ss_provider *provider,
                             const char *name, unsigned flags);

/** One family of a store, as ss_store_cf_list returns it. */
typedef struct ss_cf_info {
    unsigned id;    /**< the id to pass to store calls */
    unsigned flags; /**< SS_CF_ORDERED and/or SS_CF_LIST, or 0 */
    char name[256]; /**< NUL-terminated, 1..255 bytes */
} ss_cf_info;

/**
 * Load `version` as a writable store.  Only one writable store may be open
 * per provider.  The last `max_versions_in_memory` versions this provider
 * committed or loaded (the current one included) are served from memory;
 * any other version is rebuilt from the checkpoint files.
 *
 * @param[out] out  the store
 * @return 0, SS_ENOTFOUND (version not in the checkpoint), SS_ECORRUPT or
 *         SS_EVERSION (a file failed its checks; message names it),
 *         SS_EBUSY (a writable store is already open), SS_ELIMIT
 *         (state exceeds memory_limit_bytes), SS_EFENCED (another
 *         provider took over as the writer, convention 7), SS_EFATAL.
 * @note The first writable load of a provider takes the writer epoch
 *       (convention 7), fencing older writers of the location.
 */
SS_EXTERN int ss_provider_load(ss_store **out, ss_provider *provider,
                               uint64_t version);

/**
 * Load `version` read-only, independent of the writable store: it is built
 * from the checkpoint files alone, so it also checks them.  Writes to it
 * return SS_EINVAL.  Any number may be open.  Same return codes as
 * ss_provider_load but never SS_EBUSY.
 */
SS_EXTERN int ss_provider_load_readonly(ss_store **out, ss_provider *provider,
                                        uint64_t version);

/**
 * Load a read view of `version`: a store that reads like a read-only one
 * (writes return SS_EINVAL; any number may be open; never SS_EBUSY) but
 * is served from the provider's memory when it holds the version, with
 * no file read and no copy of the state -- Spark's getReadStore(v)
 * beside getStore(v).  The view reads `version` exactly, whatever the
 * provider's writable store does meanwhile: writes, commits, aborts, and
 * loads of other versions all leave it unchanged.  It reads until freed.
 *
 * Served from memory:
 * - memory provider: every version ss_provider_load would serve from
 *   memory (the loaded or last committed version and the
 *   max_versions_in_memory before it), an open batch's base included.
 *   The view shares the provider's map; before the writer first changes
 *   a key the view can see (or the map moves to another version), the
 *   key's state is copied into the view, so the writer pays one lookup
 *   per write per open view, and the view's memory grows with what the
 *   writer changes (counted in memory_bytes and memory_limit_bytes: a
 *   put that would exceed the limit with those copies is SS_ELIMIT).
 * - rocksdb provider: the version the provider's RocksDB instance holds
 *   (the loaded or last committed one), through a RocksDB snapshot; an
 *   instance the provider replaces stays open until its last view is
 *   freed.
 * Any other version is loaded from files exactly as
 * ss_provider_load_readonly would.  A view served from memory counts in
 * the metric loads_from_memory.
 *
 * @note Unlike other read-only stores, a memory-provider view's value
 *       slices (from get, multi_get and its iterators) are borrowed only
 *       until the provider's writable store next writes, aborts or a
 *       writable load moves the state (convention 3): the writer may
 *       overwrite the bytes in place.  Its iterators' keys are their own
 *       copies as usual, and iterators see `version` throughout.
 * @note Convention 4 applies: the view is one of the provider's stores,
 *       used by the thread that uses the provider.
 * @return as ss_provider_load_readonly
 */
SS_EXTERN int ss_provider_load_view(ss_store **out, ss_provider *provider,
                                    uint64_t version);

/**
 * Newest version present in the checkpoint location (0 if none).
 * @param[out] out  the version
 */
SS_EXTERN int ss_provider_latest(uint64_t *out, ss_provider *provider);

/**
 * Run maintenance now: write a snapshot when `min_deltas_for_snapshot`
 * deltas have piled up since the last one, then delete files that no
 * version within `min_versions_to_retain` needs.  Safe to call while a
 * writable store is open.  With option maintenance_interval_ms > 0 the same
 * runs on a background thread.
 * @return 0, SS_EIO, SS_ECORRUPT (a file it needed failed its checks)
 */
SS_EXTERN int ss_provider_maintenance(ss_provider *provider);

/**
 * Run maintenance now as ss_provider_maintenance does, but write a
 * snapshot of the newest version whatever `min_deltas_for_snapshot`
 * says: Spark's forceSnapshotOnCommit.  Nothing is snapshotted when the
 * newest version is already a snapshot (or an SST-mode `.meta`, which
 * is a full checkpoint), or when its chain starts at a `.meta`
 * (changelog deltas on top of one stay deltas, README).
 * @note Cost: a whole snapshot write, O(state), on the calling thread.
 * @return as ss_provider_maintenance
 */
SS_EXTERN int ss_provider_snapshot(ss_provider *provider);

/** Close the provider, stopping background maintenance.  Stores still
 *  open are aborted and freed with it, as by ss_store_free (convention 9:
 *  their handles are then stale).  NULL is a no-op. */
SS_EXTERN void ss_provider_close(ss_provider *provider);

/* ----------------------------------------------------------------- store */

/**
 * Look up `key` in family `cf` (loaded version plus uncommitted changes;
 * after commit, the committed version, convention 8).
 * @note The value is borrowed (convention 3).
 * @param[out] out  the value, on success; untouched on failure
 * @return 0, SS_ENOTFOUND if absent, SS_EINVAL (bad key, cf, the store
 *         was aborted, or committed and then its provider loaded another
 *         writable store)
 */
SS_EXTERN int ss_store_get(ss_slice *out, ss_store *store, unsigned cf,
                           ss_slice key);

/**
 * Look up `n` keys of family `cf` in one call, with the same visibility
 * as ss_store_get.
 * @param[out] values_out  n slices: values_out[i] is the value of
 *                         keys[i], or {NULL, 0} when it is absent
 * @param[out] status_out  n codes: status_out[i] is 0 or SS_ENOTFOUND
 * @param keys             n keys (1..SS_MAX_KEY_LEN bytes each; repeats
 *                         are allowed); all are checked before any
 *                         lookup
 * @param n                number of keys; 0 is allowed (then the arrays
 *                         may be NULL)
 * @return the number of keys found (0..n), or SS_EINVAL (a bad key, cf,
 *         NULL array, or a store that does not read, convention 8); on a
 *         negative return the out arrays are unspecified.
 * @note Values are borrowed (convention 3), all n together: they stay
 *       valid until the next write, commit, abort or free of `store`.
 * @note Cost: memory provider, one hash or tree lookup per key.  rocksdb
 *       provider: one batched RocksDB MultiGet per 512 keys when the store
 *       has no uncommitted writes (committed, read-only, or not yet
 *       written; values are pinned, not copied); with uncommitted writes
 *       each key is a lookup in the write batch then the instance, as
 *       ss_store_get (RocksDB's C API has no batched read through a write
 *       batch).
 */
SS_EXTERN int ss_store_multi_get(ss_slice *values_out, int *status_out,
                                 ss_store *store, unsigned cf,
                                 const ss_slice *keys, size_t n);

/**
 * Insert or replace `key` -> `value` in family `cf`.
 * @note Invalidates value slices obtained from this store; iterators go
 *       on (ss_iter_next says what they see).
 * @return 0, SS_ELIMIT (key/value too long, or memory_limit_bytes would be
 *         exceeded; the store stays usable and may be aborted), SS_EINVAL
 */
SS_EXTERN int ss_store_put(ss_store *store, unsigned cf, ss_slice key,
                           ss_slice value);

/**
 * Remove `key` from family `cf`.  Removing an absent key is not an error.
 * Removing the key an iterator just returned is the usual eviction loop:
 * the iterator goes on to the next key, and the key slice it returned
 * stays valid until its next step.
 * @note Invalidates value slices obtained from this store; iterators go
 *       on (ss_iter_next).
 * @return 0, SS_EINVAL
 */
SS_EXTERN int ss_store_remove(ss_store *store, unsigned cf, ss_slice key);

/**
 * Remove every key k of ORDERED family `cf` with start <= k < end, as
 * seen by the store (loaded version plus uncommitted changes).  An empty
 * `start` means from the first key, an empty `end` (len 0) to the last;
 * end <= start removes nothing.
 * @note Same as calling ss_store_remove on each key in the range: num_keys
 *       drops by the number of keys removed, and the commit records one
 *       remove per key (no new file format: the delta gets per-key
 *       removes, an SST-mode meta just the new state).
 * @note Cost: one range scan, removing each key as it is reached (no
 *       copy of the range).  Invalidates value slices obtained from this
 *       store; iterators go on (ss_iter_next).
 * @return 0, SS_EINVAL (`cf` not ordered, bad bounds, store not open or
 *         read-only), SS_ELIMIT (memory_limit_bytes would be exceeded; the
 *         keys before the one refused are removed: abort the batch).
 */
SS_EXTERN int ss_store_remove_range(ss_store *store, unsigned cf,
                                    ss_slice start, ss_slice end);

/**
 * Make the changes durable as version loaded+1, which is returned.  After
 * a successful commit the store accepts no more writes but still reads the
 * new version (convention 8); free it and load the next version (served
 * from memory, no I/O) to write again.
 * @note Invalidates slices and iterators obtained from this store.
 * @param[out] version_out  the new version (may be NULL)
 * @return 0, SS_EIO (the provider is then SS_EFATAL until reopened; the
 *         checkpoint still holds the previous version intact), SS_EFENCED
 *         (another writer took over, convention 7: nothing was published;
 *         the provider refuses writes until reopened, reads still work),
 *         SS_ENOTFOUND (the base version was deleted meanwhile by another
 *         process), SS_EINVAL
 */
SS_EXTERN int ss_store_commit(uint64_t *version_out, ss_store *store);

/**
 * Discard all uncommitted changes.  The store accepts no more calls but
 * ss_store_version and ss_store_free (convention 8).
 * @return 0, SS_EINVAL if already committed or aborted
 */
SS_EXTERN int ss_store_abort(ss_store *store);

/** The version this store was loaded at (or committed, after commit).
 *  0 for NULL, and for a stale handle with checks on (convention 9; the
 *  message then says so). */
SS_EXTERN uint64_t ss_store_version(const ss_store *store);

/** Free the store, aborting uncommitted changes.  Its iterators are
 *  freed with it when handle checks are on, detached otherwise
 *  (convention 9).  NULL is a no-op. */
SS_EXTERN void ss_store_free(ss_store *store);

/* -------------------------------------------------------------- families */

/**
 * Create column family `name` in the batch of writable store `store`.
 * It is usable in this batch at once (empty), exists in the version the
 * commit makes and in later ones, and vanishes on abort.  A name that
 * exists in the store returns its id if the flags agree.
 * @param[out] out  the family id (provider-wide, see ss_provider_cf)
 * @param name      1..255 bytes
 * @param flags     0 or SS_CF_ORDERED
 * @return 0, SS_EINVAL (bad name, flags differ from the family of that
 *         name -- in this store or known to the provider --, store not
 *         open or read-only), SS_ELIMIT (more than 256 names)
 * @note Cost: no I/O; the commit records the family in its file's table.
 */
SS_EXTERN int ss_store_cf_create(unsigned *out, ss_store *store,
                                 const char *name, unsigned flags);

/**
 * Drop family `cf` and all its keys in the batch of writable store
 * `store`.  From then on calls with `cf` on this store return SS_EINVAL
 * ("family 'x' was dropped"), until ss_store_cf_create makes the name
 * again, which gives an empty family (same id).  The version the commit
 * makes lacks the family; older versions keep it with its keys; abort
 * brings it back.  The store's iterators over the family end.
 * @return 0, SS_EINVAL (SS_CF_DEFAULT, a family declared with
 *         ss_provider_cf, a family the store lacks, store not open or
 *         read-only), SS_ELIMIT (memory_limit_bytes would be exceeded by
 *         the removes: some keys are gone, abort the batch)
 * @note Invalidates value slices obtained from this store.
 * @note Cost: one remove per key of the family in the batch (memory:
 *         a change-list entry each; rocksdb: a write-batch delete each),
 *         so O(keys) at the drop and at a rocksdb commit; the file is
 *         O(1): a delta records the drop as one record, not per-key
 *         removes, and a snapshot or SST meta simply lacks the family.
 */
SS_EXTERN int ss_store_cf_drop(ss_store *store, unsigned cf);

/**
 * List the families of `store` (its version's, with its batch's creates
 * and drops), in id order.  Works on any store that reads (convention
 * 8), read-only ones included.
 * @param[out] out  up to `cap` entries; may be NULL if cap is 0
 * @param cap       entries `out` has room for
 * @return the number of families the store has (which may exceed cap:
 *         then only the first cap are filled; call with cap 0 to size
 *         the array), or SS_EINVAL
 */
SS_EXTERN int ss_store_cf_list(ss_cf_info *out, size_t cap, ss_store *store);

/* ----------------------------------------------------------------- lists */

/*
 * Lists: several values per key (Spark's ListState), in a family made
 * with SS_CF_LIST.  A list family is read and written only through the
 * calls below and ss_store_remove (which removes a key's whole list);
 * ss_store_get, ss_store_put, ss_store_multi_get and
 * ss_store_remove_range on it return SS_EINVAL naming the family.
 * ss_store_iter and the scans over it yield each key that has a list
 * once, with an empty value.  Lists are versioned, committed, aborted,
 * served from memory, read by read-only loads and views, and
 * checkpointed like other keys.
 *
 * How they are stored (docs/format.md, "Lists"): family F keeps one head
 * per key (its next sequence number); a hidden ordered family
 * "\x1fL" + F, which ss_store_cf_list does not show, keeps one entry per
 * value.  Names starting with "\x1fL" are reserved.  So an append costs
 * a lookup and two puts whatever the list's length, and a commit writes
 * two records per append (the value and the head), never the whole list.
 * The metric num_keys counts heads and values.
 */

/**
 * Append `value` (0..SS_MAX_VALUE_LEN bytes) to the list of `key` in
 * list family `cf`, creating the list if absent.
 * @return 0, SS_ELIMIT (key or value too long, memory_limit_bytes; a
 *         failure half-way through leaves the batch to abort, as the
 *         message says), SS_EINVAL (not a list family, store not
 *         writable, bad key)
 */
SS_EXTERN int ss_store_append(ss_store *store, unsigned cf, ss_slice key,
                              ss_slice value);

/**
 * Replace the list of `key` with values[0..n); n == 0 removes it.  Every
 * value is checked before anything changes.
 * @return as ss_store_append
 */
SS_EXTERN int ss_store_put_list(ss_store *store, unsigned cf, ss_slice key,
                                const ss_slice *values, size_t n);

/**
 * Iterate the values of `key`'s list in append order: each ss_iter_next
 * gives the key (the iterator's copy) and one value.  An absent key
 * gives an iterator that is done at once.  Writes during the iteration
 * follow ss_iter_next's rule, in append order: values appended to the
 * list meanwhile are returned after the others; after a put_list, the
 * iterator goes on with the new list's values (all of them: they come
 * after every older one); after the list's removal it is done.
 * @return 0, SS_EINVAL (not a list family, bad key, store not readable)
 */
SS_EXTERN int ss_store_list_iter(ss_iter **out, ss_store *store, unsigned cf,
                                 ss_slice key);

/* ------------------------------------------------------------- iterators */

/**
 * Iterate every key of family `cf`.  Ordered families yield keys in byte
 * order; others in no particular order.  Works on a committed store while
 * it reads (convention 8); so do the scans below.
 * @param[out] out  the iterator; release with ss_iter_free
 */
SS_EXTERN int ss_store_iter(ss_iter **out, ss_store *store, unsigned cf);

/** Iterate keys of `cf` that start with `prefix` (ordered families seek;
 *  others filter a full scan). */
SS_EXTERN int ss_store_prefix_scan(ss_iter **out, ss_store *store, unsigned cf,
                                   ss_slice prefix);

/**
 * Iterate keys k of an ORDERED family with start <= k < end in byte order.
 * An empty `end` (len 0) means no upper bound.
 * @return 0, SS_EINVAL if `cf` is not ordered
 */
SS_EXTERN int ss_store_range_scan(ss_iter **out, ss_store *store, unsigned cf,
                                  ss_slice start, ss_slice end);

/**
 * Advance to the next entry.
 *
 * Iterators survive puts and removes on their store, including removes of
 * the key just returned (Spark's eviction loops).  What a step sees: each
 * step returns the FIRST KEY AFTER THE LAST ONE RETURNED that is present
 * in the store at that step (loaded version plus every uncommitted change
 * so far, the writes since the last step included), with its value at
 * that step, within the iterator's prefix or range.  "After" is the
 * family's iteration order:
 * - ordered families, both providers: key byte order.  So a key put ahead
 *   of the cursor is returned, one put behind it is not, one removed
 *   ahead is not, and a rewritten key ahead gives its new value.
 * - unordered families: an order of the provider's choosing (memory:
 *   by key hash; rocksdb: key byte order), fixed for the iteration.  So a
 *   key is never returned twice, a key present from the iterator's
 *   creation to its end is returned exactly once, a removed key is not
 *   returned after its removal, and a key put during the iteration may
 *   or may not be.
 * Prefix and range scans behave the same within their bounds.  Once a
 * step returns SS_EDONE, every later step does.  Commit and abort end the
 * store's iterators (SS_EINVAL); an iterator made on the committed store
 * reads until the provider's next writable load (convention 8).
 *
 * @note The key is the iterator's own copy: valid until its next step or
 *       free, whatever is written meanwhile.  The value is borrowed until
 *       the next step or the next write to the store.  Either out-param
 *       may be NULL.
 * @note Cost: a step after a write seeks the last key again (memory: a
 *       hash probe or a tree descent; rocksdb: a new iterator over the
 *       batch and the instance, then a seek); steps without writes between
 *       them just advance.
 * @return 0 with an entry, SS_EDONE when exhausted, SS_EINVAL (the store
 *         was committed, aborted or freed since)
 */
SS_EXTERN int ss_iter_next(ss_iter *iter, ss_slice *key_out,
                           ss_slice *value_out);

/** Release an iterator (also one its store's free detached, convention
 *  9).  NULL is a no-op. */
SS_EXTERN void ss_iter_free(ss_iter *iter);

/* -------------------------------------------------------------- bindings */

/**
 * Turn checked handles on (1) or off (0) for the whole process, or ask
 * (-1: no change).  See convention 9.
 * @return the previous setting (0 or 1), or SS_EINVAL when a switch is
 *         asked while any provider, store or iterator exists, in any
 *         thread (both kinds of handle never mix; asking for the current
 *         setting always succeeds), or on a platform whose pointers are
 *         narrower than 64 bits.
 * @note Thread-safe.  Switch once, before the first provider is opened:
 *       a handle kept from before a switch must not be used after it.
 */
SS_EXTERN int ss_handle_checks(int on);

/* --------------------------------------------------------------- metrics */

/** Figures about a provider and its current state. */
typedef struct ss_metrics {
    unsigned version;            /**< struct version: SS_METRICS_VERSION */
    uint64_t num_keys;           /**< live keys in the current state */
    uint64_t memory_bytes;       /**< bytes allocated for state, exact */
    uint64_t memory_limit_bytes; /**< 0 = unlimited */
    uint64_t versions_in_memory; /**< versions loadable without I/O */
    uint64_t bytes_written;      /**< checkpoint bytes written, total */
    uint64_t files_written;      /**< checkpoint files written, total */
    uint64_t files_deleted;      /**< files removed by maintenance */
    uint64_t snapshots_written;  /**< snapshot files written */
    uint64_t loads_from_memory;  /**< loads served without I/O */
    uint64_t loads_from_files;   /**< loads rebuilt from checkpoint files */
    /* The last commit, split into its parts (nanoseconds). */
    uint64_t commit_total_ns;       /**< whole ss_store_commit */
    uint64_t commit_collect_ns;     /**< gather and sort changed keys */
    uint64_t commit_encode_ns;      /**< encode and compress records */
    uint64_t commit_write_ns;       /**< write the file */
    uint64_t commit_sync_ns;        /**< fsync, rename, fsync directory */
    uint64_t commit_records;        /**< records in the last delta */
    uint64_t commit_bytes;          /**< bytes of the last delta file */
    uint64_t load_ns;               /**< duration of the last load */
    uint64_t last_snapshot_version; /**< newest snapshot written, 0 if none */
    uint64_t maintenance_errors;    /**< failed background maintenance runs */
    /* rocksdb provider (0 for memory).  SST snapshot mode splits the
     * last commit into flush, checkpoint, upload and metadata. */
    uint64_t commit_flush_ns;      /**< flush memtables to SST files */
    uint64_t commit_checkpoint_ns; /**< RocksDB checkpoint (hard links) */
    uint64_t commit_upload_ns;     /**< upload the new SST files */
    uint64_t commit_metadata_ns;   /**< write and publish <V>.meta */
    uint64_t objects_uploaded;     /**< SST files uploaded, total */
    uint64_t objects_reused;       /**< SST files a meta shared, total */
    uint64_t objects_deleted;      /**< SST objects collected, total */
    uint64_t memtable_bytes;       /**< this store's memtables */
    uint64_t block_cache_bytes;    /**< the process-wide block cache */
    uint64_t sst_bytes;            /**< this store's live SST files */
} ss_metrics;

#define SS_METRICS_VERSION 1u

/**
 * Fill `out` with the provider's figures.  Set out->version to
 * SS_METRICS_VERSION first.
 * @return 0, SS_EINVAL (unknown struct version)
 */
SS_EXTERN int ss_provider_metrics(ss_metrics *out, ss_provider *provider);

#ifdef __cplusplus
}
#endif
#endif /* STATESTORE_H */
