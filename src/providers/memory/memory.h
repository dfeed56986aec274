/*
 * memory.h -- internals shared by the memory provider's files.
 */
#ifndef SS_MEMORY_H
#define SS_MEMORY_H

#include "providers/memory/memory_map.h"
#include "providers/delta_log.h"
#include "providers/provider.h"

struct mem_view;
struct mem_hold;

typedef struct mem_prov {
    const ss_config *config;
    ss_cf_table *cfs;
    ss_budget budget;

    /* The live map and the change lists around it.  hist[i] leads to
     * version hist[i]->version; the map sits at map_version, somewhere in
     * [hist[0]->version - 1, hist[nhist-1]->version].  Lists above
     * map_version are in their "backward" state (they hold the newer
     * nodes). */
    mm_map *map;
    uint64_t map_version;
    ss_cf_set map_cfs; /* the families at map_version */
    mm_changes **hist;
    size_t nhist;

    ss_dlog log; /* the store's delta/snapshot files */

    /* Read views (memory_view.c): those sharing the live map, the
     * holder they share it through, and the open batch's change list
     * (NULL when no batch is open), which a new view starts from. */
    struct mem_view *views;
    struct mem_hold *map_hold;
    mm_changes *batch;
} mem_prov;

typedef struct mem_store {
    mem_prov *p;
    mm_map *map;
    bool readonly;
    uint64_t version;
    mm_changes *changes;
    struct mem_view *view; /* a read view: reads go through it */
    ss_cf_set cfs;         /* the store's families (store.c invariant 7) */
    ss_cf_set dropped;     /* dropped by the batch (op 3 in its delta) */
} mem_store;

/* memory_files.c */
/* Build a map of `version` from the checkpoint files alone. */
int mem_build_map(mm_map **out, ss_cf_set *cfs, mem_prov *p, uint64_t version);

/* Add every family up to `cf` that `m` lacks, with its declared flags.
 * (Ids are dense: adding only `cf` would leave lower ones unordered.) */
void mem_map_cover(mem_prov *p, mm_map *m, unsigned cf);

/* memory_view.c: read views of in-memory versions
 * (ss_provider_load_view).  A view shares the live map; the writer
 * calls the preserve hooks BEFORE it changes the map. */
typedef struct mem_view mem_view;

/* A view of `version`, which must be in memory. */
int mem_view_new(mem_view **out, mem_prov *p, uint64_t version);
void mem_view_free(mem_view *v);
int mem_view_get(ss_slice *out, mem_view *v, unsigned cf, ss_slice key);

/* Key `key` of `cf` is about to change in the live map. */
int mem_views_preserve(mem_prov *p, unsigned cf, const void *key, size_t klen,
                       uint64_t hash);
/* Every key of list `c` is about to change (a swap). */
int mem_views_preserve_list(mem_prov *p, const mm_changes *c);
/* The live map is about to leave the provider: true if views keep it
 * (then the caller must not free it). */
bool mem_views_keep_map(mem_prov *p);

/* Iterating a view: the live map merged with the view's copies. */
typedef struct mv_iter mv_iter;
int mv_iter_new(mv_iter **out, mem_view *v, unsigned cf, const ss_scan *scan);
/* 0 with the entry (key: the iterator's copy), SS_EDONE, SS_ENOMEM. */
int mv_iter_next(mv_iter *it, ss_slice *key, ss_slice *value);
void mv_iter_free(mv_iter *it);

#endif
