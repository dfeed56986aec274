/*
 * memory_files.c -- rebuilding a map from the checkpoint files (the
 * delta log replays them; this maps families and applies records).
 */
#include "providers/memory/memory.h"

#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_build {
    mem_prov *p;
    mm_map *m;
} mem_build;

static int
mem_map_file_cfs(unsigned *local_to_cf, mem_prov *p, mm_map *m,
                 const ss_file_header *h, const char *path)
{
    unsigned i, j, id;
    int rc;

    for (i = 0; i < h->n_cf; i++) {
        if ((rc = ss_cf_table_declare(&id, p->cfs, h->cf[i].name,
                                      h->cf[i].flags &
                                          (SS_CF_ORDERED | SS_CF_LIST))) < 0)
            return ss_error_wrap(rc, "%s", path);
        local_to_cf[i] = id;
        for (j = m ? m->ncf : id + 1; j <= id; j++)
            mm_map_add_cf(m, j, p->cfs->cf[j].flags & SS_CF_ORDERED);
    }
    return 0;
}

static int
map_begin_file(void *payload, unsigned *local_to_cf, const ss_file_header *h,
               const char *path)
{
    mem_build *b = payload;

    return mem_map_file_cfs(local_to_cf, b->p, b->m, h, path);
}

static int
map_apply(void *payload, unsigned cf, const ss_record *rec, uint64_t version)
{
    mem_build *b = payload;

    return mm_map_apply(b->m, cf, rec->op, rec->key, rec->klen, rec->value,
                        rec->vlen, version);
}

static int
map_reset(void *payload)
{
    mem_build *b = payload;
    unsigned i;
    int rc;

    mm_map_free(b->m);
    b->m = NULL;
    if ((rc = mm_map_new(&b->m, &b->p->budget)) < 0)
        return rc;
    for (i = 0; i < b->p->cfs->count; i++)
        mm_map_add_cf(b->m, i, b->p->cfs->cf[i].flags & SS_CF_ORDERED);
    return 0;
}

int
mem_build_map(mm_map **out, ss_cf_set *cfs, mem_prov *p, uint64_t version)
{
    mem_build b = {p, NULL};
    ss_dlog_sink sink = {map_begin_file, map_apply, NULL, map_reset, &b, cfs};
    int rc;

    *out = NULL;
    if ((rc = map_reset(&b)) < 0 ||
        (rc = ss_dlog_replay(&p->log, version, &sink)) < 0) {
        mm_map_free(b.m);
        return rc;
    }
    *out = b.m;
    return 0;
}
