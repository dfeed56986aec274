/*
 * memory.h -- internals shared by the memory provider's files.
 */
#ifndef SS_MEMORY_H
#define SS_MEMORY_H

#include "providers/memory/memory_map.h"
#include "providers/delta_log.h"
#include "providers/provider.h"

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
} mem_prov;

typedef struct mem_store {
    mem_prov *p;
    mm_map *map;
    bool readonly;
    uint64_t version;
    mm_changes *changes;
    ss_cf_set cfs;     /* the store's families (store.c invariant 7) */
    ss_cf_set dropped; /* dropped by the batch (op 3 in its delta) */
} mem_store;

/* memory_files.c */
/* Build a map of `version` from the checkpoint files alone. */
int mem_build_map(mm_map **out, ss_cf_set *cfs, mem_prov *p, uint64_t version);

#endif
