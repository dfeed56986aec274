/*
 * provider.h -- the provider vtable and what the store front hands it.
 *
 * The front (src/store/store.c) validates every argument and the store's
 * state (open / committed / aborted / read-only) before calling a
 * provider, so providers only see well-formed calls: keys of 1..65535
 * bytes, declared families, live stores.
 */
#ifndef SS_PROVIDERS_PROVIDER_H
#define SS_PROVIDERS_PROVIDER_H

#include "checkpoint/storage.h"
#include "format/frame.h"
#include "statestore.h"

#include <stdbool.h>
#include <stdint.h>

/* 2: multi_get (optional).  3: view (optional); cf_live, cf_create,
 * cf_drop (optional). */
#define SS_PROVIDER_OPS_VERSION 4u

/* Parsed common options (README "Configuration"). */
typedef struct ss_config {
    char provider[32];
    unsigned codec;
    int compression_level;
    uint64_t min_deltas_for_snapshot;
    uint64_t min_versions_to_retain;
    uint64_t max_versions_in_memory;
    uint64_t memory_limit_bytes;
    uint64_t maintenance_interval_ms;
    uint64_t block_size;
    /* rocksdb provider (ignored by memory) */
    bool rocksdb_changelog;         /* rocksdb.changelog_checkpointing */
    bool rocksdb_track_num_keys;    /* rocksdb.track_num_keys */
    char rocksdb_local_dir[256];    /* rocksdb.local_dir, "" = temp dir */
    uint64_t rocksdb_memory_budget; /* rocksdb.memory_budget */
} ss_config;

/* Column families of one provider; ids are indexes.  Shared by the front
 * (which declares) and the provider (which also declares families found
 * in files). */
typedef struct ss_cf_table {
    unsigned count;
    ss_cf_entry cf[SS_MAX_CFS];
    /* Declared with ss_provider_cf (and "default"): every store this
     * provider loads has them, whatever its version's files say. */
    ss_cf_set declared;
} ss_cf_table;

/* Find `name`; declare it if absent.  SS_EINVAL if flags disagree. */
int ss_cf_table_declare(unsigned *out, ss_cf_table *t, const char *name,
                        unsigned flags);

/* A file header whose table is the families of `live` (NULL: every
 * family of the table), plus those of `dropped` not in `live` flagged
 * SS_CF_FILE_DROPPED, sorted by name; rank[id] is the family's
 * file-local id (0 for families not in the table).  Free header->cf
 * after. */
int ss_cf_table_file_header(ss_file_header *h, unsigned rank[SS_MAX_CFS],
                            const ss_cf_table *t, const ss_cf_set *live,
                            const ss_cf_set *dropped);

/* The family set after file `h` (its entries mapped to provider ids by
 * local_to_cf), given `set`, the set before it (empty before a base
 * file): format/frame.h, FAMILIES.  Families that left the set are
 * added to `gone` (their keys are gone with them). */
void ss_cf_set_after_file(ss_cf_set *set, ss_cf_set *gone,
                          const unsigned *local_to_cf, const ss_file_header *h);

/* What ss_provider_open gives a provider. */
typedef struct ss_provider_env {
    const char *location;
    ss_storage *storage;
    const ss_config *config;
    ss_cf_table *cfs;
} ss_provider_env;

/* Scan bounds for iterators (all borrowed for the iterator's life). */
typedef struct ss_scan {
    ss_slice prefix; /* len 0 = none */
    ss_slice start;  /* range: len 0 = from the first key */
    ss_slice end;    /* range: len 0 = to the last key */
} ss_scan;

typedef struct ss_provider_ops {
    unsigned version;
    const char *name;
    int (*open)(void **out, const ss_provider_env *env);
    /* Called after the front declared a family (no store loaded). */
    int (*cf_added)(void *prov, unsigned cf);
    int (*load)(void **out, void *prov, uint64_t version, bool readonly);
    int (*get)(ss_slice *out, void *store, unsigned cf, ss_slice key);
    int (*put)(void *store, unsigned cf, ss_slice key, ss_slice value);
    int (*remove)(void *store, unsigned cf, ss_slice key);
    int (*commit)(uint64_t *version_out, void *store);
    void (*abort)(void *store);
    void (*store_free)(void *store);
    int (*iter)(void **out, void *store, unsigned cf, const ss_scan *scan);
    int (*iter_next)(void *iter, ss_slice *key, ss_slice *value);
    void (*iter_free)(void *iter);
    int (*latest)(uint64_t *out, void *prov);
    /* force: snapshot the newest version now (ss_provider_snapshot). */
    int (*maintenance)(void *prov, bool force);
    void (*metrics)(ss_metrics *out, void *prov);
    /* Optional (NULL: the front calls get per key).  Look up keys[0..n)
     * of `cf`; status[i] is 0 (vals[i] set, borrowed as get's) or
     * SS_ENOTFOUND.  A negative return fails the whole call. */
    int (*multi_get)(ss_slice *vals, int *status, void *store, unsigned cf,
                     const ss_slice *keys, size_t n);
    void (*close)(void *prov);
    /* Optional (NULL: the front makes a read-only load).  A read view of
     * `version`: a store that reads like a read-only one, served from
     * the provider's memory when it holds the version, and correct
     * whatever the provider's writer does meanwhile (header,
     * ss_provider_load_view).  Freed with store_free. */
    int (*view)(void **out, void *prov, uint64_t version);
    /* Optional, all three or none (NULL: every family of the table
     * exists in every version, and the front refuses ss_store_cf_create
     * and ss_store_cf_drop).  cf_live: the families of the store (its
     * version's, plus the batch's creates and drops).  cf_create: family
     * `cf` (of the table, absent from the store) exists from now on in
     * the batch, empty.  cf_drop: family `cf` leaves the batch; the front
     * already removed its keys with remove.  A commit records the set
     * (frame.h, FAMILIES); abort forgets both. */
    void (*cf_live)(ss_cf_set *out, void *store);
    int (*cf_create)(void *store, unsigned cf);
    int (*cf_drop)(void *store, unsigned cf);
} ss_provider_ops;

/* Registry: the ops for `name`, or NULL. */
const ss_provider_ops *ss_provider__find(const char *name);

extern const ss_provider_ops ss_memory_provider_ops;
#ifdef SS_WITH_ROCKSDB
extern const ss_provider_ops ss_rocksdb_provider_ops;
#endif

#endif
