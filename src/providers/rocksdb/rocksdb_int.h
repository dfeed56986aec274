/*
 * rocksdb_int.h -- what rocksdb.c (the provider, changelog mode) and
 * rocksdb_sst.c (SST snapshot checkpoints) share.  Only these two files
 * include rocksdb/c.h.
 */
#ifndef SS_PROVIDERS_ROCKSDB_INT_H
#define SS_PROVIDERS_ROCKSDB_INT_H

#include "format/meta.h"
#include "providers/delta_log.h"
#include "providers/provider.h"
#include "util/buf.h"

#include <rocksdb/c.h>

#include <stdbool.h>
#include <stdint.h>

/* <V>.meta's num_keys with this bit set is RocksDB's estimate (written
 * with rocksdb.track_num_keys=false), never taken as an exact count. */
#define RDB_KEYS_ESTIMATED (UINT64_C(1) << 63)

/* A key a batch touched: bytes [off, off+len) of its key buffer. */
typedef struct touched {
    uint32_t off, len;
    uint32_t cf;
} touched;

/* A local SST file already durable in the checkpoint as `object`. */
typedef struct rdb_object {
    char name[SS_META_NAME_MAX];
    char object[SS_META_NAME_MAX];
    uint64_t size;
    uint32_t crc;
} rdb_object;

typedef struct rdb_inst {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[SS_MAX_CFS];
    char dir[600]; /* work dir + "/db-N" */
    /* SST mode: names the objects this instance uploads, so two
     * instances grown from one version never collide. */
    uint64_t uid;
    rdb_object *objects; /* sorted by name */
    size_t n_objects;
} rdb_inst;

/* One version the live instance can go back (or forward) to without
 * files: a RocksDB snapshot taken while the instance held it (NULL while
 * it still does), and the keys of the commit that made it. */
typedef struct rdb_hist {
    uint64_t version;
    const rocksdb_snapshot_t *snap;
    uint64_t keys; /* num_keys at this version */
    ss_cf_set cfs; /* its families */
    ss_buf keybuf;
    touched *t; /* unique, into keybuf */
    size_t nt;
} rdb_hist;

/* An instance the provider let go of while read views still read it
 * (rocksdb.c, "read views"): closed with the last one. */
typedef struct rdb_orphan {
    rdb_inst inst;
    unsigned refs;
} rdb_orphan;

struct rdb_store;

typedef struct rdb_prov {
    const ss_config *config;
    ss_cf_table *cfs;
    ss_dlog log;
    /* Working folders (rocksdb.c, "working folders"): base_dir holds
     * one work_dir per provider, locked by lock_fd (its owner file). */
    char base_dir[512];
    char work_dir[560];
    int lock_fd;
    unsigned next_inst; /* names instance directories */

    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ro;
    rocksdb_writeoptions_t *wo;
    rocksdb_options_t *dbopts; /* for batch-only reads */
    rocksdb_flushoptions_t *fo;

    rdb_inst live;
    bool live_valid;
    uint64_t live_version;
    uint64_t live_keys;
    ss_cf_set live_cfs; /* the families at live_version */
    /* Versions in memory, oldest first, consecutive, one of them
     * live_version; at most max_versions_in_memory. */
    rdb_hist *hist;
    size_t nhist;
    /* Read views of the live instance, through their snapshots. */
    struct rdb_store *views;
} rdb_prov;

typedef struct rdb_store {
    rdb_prov *p;
    rdb_inst *inst;
    rdb_inst own; /* read-only stores: a private instance */
    bool readonly;
    uint64_t version;
    uint64_t keys;     /* read-only stores */
    ss_cf_set cfs;     /* the store's families (store.c invariant 7) */
    ss_cf_set dropped; /* dropped by the batch (op 3 in its delta) */
    rocksdb_writebatch_wi_t *wb;
    ss_buf keybuf;
    touched *t;
    size_t nt, tcap;
    /* The values get returned, kept until the next write, commit,
     * abort or free (header convention 3). */
    char **values;
    size_t nvalues, values_cap;
    /* The same for multi-get's values, pinned in RocksDB (no copy). */
    rocksdb_pinnableslice_t **pins;
    size_t npins, pins_cap;
    /* Iterators (rocksdb.c, rdb_cursor): gen counts every put and
     * remove, gen_other those not to the key `stepper` (the iterator
     * that stepped last) returned. */
    uint64_t gen, gen_other;
    struct rdb_cursor *stepper;
    /* A read view: reads `inst` (the live instance, or `orphan`'s once
     * the provider let it go) at `snap`, through `view_ro`. */
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t *view_ro;
    rdb_orphan *orphan;
    struct rdb_store *next_view; /* in p->views while on the live one */
} rdb_store;

/* The parts of an SST-mode commit, in nanoseconds. */
typedef struct rdb_sst_times {
    uint64_t flush_ns, checkpoint_ns, upload_ns, metadata_ns;
    uint64_t uploaded, uploaded_bytes, reused, meta_bytes;
} rdb_sst_times;

/* rocksdb.c */
int ss_rdb__fail(char *err, const char *what, const char *where);
void ss_rdb__remove_tree(const char *dir);
int ss_rdb__inst_cf(rdb_inst *in, rdb_prov *p, unsigned id);
void ss_rdb__inst_init(rdb_inst *in, rdb_prov *p);
/* RocksDB's estimate of the instance's keys (rocksdb.track_num_keys). */
uint64_t ss_rdb__estimate_keys(const rdb_inst *in);

/* rocksdb_sst.c */

/* Open `in` (fresh from ss_rdb__inst_init) from <version>.meta:
 * download its files into its directory and open them.  *keys_out is
 * the meta's key count (with RDB_KEYS_ESTIMATED if it was estimated). */
int ss_rdb__open_meta(rdb_inst *in, uint64_t *keys_out, ss_cf_set *cfs_out,
                      rdb_prov *p, uint64_t version);

/* Checkpoint `in`, which holds version `next` (the batch applied), as
 * <next>.meta on top of `base`: flush, RocksDB checkpoint, upload the
 * SSTs the checkpoint location lacks, publish the meta. */
int ss_rdb__sst_commit(rdb_sst_times *t, rdb_inst *in, rdb_prov *p,
                       uint64_t base, uint64_t next, uint64_t keys,
                       const ss_cf_set *cfs);

#endif
