/*
 * memory.h -- internals shared by the memory provider's files.
 */
#ifndef SS_MEMORY_H
#define SS_MEMORY_H

#include "providers/memory/memory_map.h"
#include "providers/provider.h"

#include <pthread.h>

/* Versions present in the checkpoint location. */
typedef struct mem_versions {
    uint64_t *deltas;
    size_t n_deltas;
    uint64_t *snapshots;
    size_t n_snapshots;
    uint64_t latest;
} mem_versions;

typedef struct mem_prov {
    ss_storage *storage;
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
    mm_changes **hist;
    size_t nhist;

    bool fatal;
    char fatal_msg[512];

    /* Serialises publishing and deleting files between the writer and
     * maintenance (which may run on its own thread). */
    pthread_mutex_t files_lock;
    pthread_mutex_t maint_lock; /* one maintenance run at a time */
    uint64_t generation;        /* bumped when newer versions are truncated */
    uint64_t latest;            /* newest committed version in the checkpoint */
    /* The writable store's base version: retention keeps its files, or
     * the version committed on top of it could not be loaded. */
    bool pinned;
    uint64_t pin;

    pthread_t maint_thread;
    bool maint_running;
    bool maint_stop;
    pthread_cond_t maint_cond;

    ss_metrics m; /* counters; the rest is filled on request */
    uint64_t maint_errors;
} mem_prov;

typedef struct mem_store {
    mem_prov *p;
    mm_map *map;
    bool readonly;
    uint64_t version;
    mm_changes *changes;
} mem_store;

/* memory_files.c */
int mem_list_versions(mem_versions *out, ss_storage *st);
void mem_versions_free(mem_versions *v);
bool mem_versions_has_delta(const mem_versions *v, uint64_t version);
/* Newest snapshot <= version, 0 if none. */
uint64_t mem_versions_base(const mem_versions *v, uint64_t version);
/* Build a map of `version` from the checkpoint files alone. */
int mem_build_map(mm_map **out, mem_prov *p, uint64_t version);
/* Replay one file into a map (families matched by name). */
int mem_apply_file(mm_map *m, mem_prov *p, unsigned kind, uint64_t version);
/* Map a file's family table onto the provider's, declaring missing ones
 * (and adding them to `m` if given). */
int mem_map_file_cfs(unsigned *local_to_cf, mem_prov *p, mm_map *m,
                     const ss_file_header *h, const char *path);

/* memory_maint.c */
int mem_maintenance(void *prov);
int mem_maint_start(mem_prov *p);
void mem_maint_stop(mem_prov *p);

#endif
