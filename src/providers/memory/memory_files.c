/*
 * memory_files.c -- finding versions in the checkpoint and rebuilding a
 * map from its files.
 *
 * Invariant 1: version V "exists" iff V.delta or V.snapshot is listed.
 * Invariant 2: loading V reads the newest snapshot S <= V, then every
 * delta S+1..V; a missing delta in that chain is SS_ECORRUPT naming it,
 * never skipped.
 */
#include "providers/memory/memory.h"

#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_name(const char *name, uint64_t *version, unsigned *kind)
{
    const char *p = name;
    uint64_t v = 0;

    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (strcmp(p, ".delta") == 0)
        *kind = SS_FILE_DELTA;
    else if (strcmp(p, ".snapshot") == 0)
        *kind = SS_FILE_SNAPSHOT;
    else
        return -1;
    /* "007.delta" is not ours: versions are written without padding. */
    if (name[0] == '0')
        return -1;
    *version = v;
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int
mem_list_versions(mem_versions *out, ss_storage *st)
{
    ss_namelist names;
    uint64_t v;
    unsigned kind;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = st->list(&names, st)) < 0)
        return rc;
    out->deltas = calloc(names.count + 1, sizeof(uint64_t));
    out->snapshots = calloc(names.count + 1, sizeof(uint64_t));
    if (!out->deltas || !out->snapshots) {
        rc = ss_error_set(SS_ENOMEM, "out of memory listing %s", st->location);
        goto out;
    }
    for (i = 0; i < names.count; i++) {
        if (parse_name(names.names[i], &v, &kind) < 0)
            continue;
        if (kind == SS_FILE_DELTA)
            out->deltas[out->n_deltas++] = v;
        else
            out->snapshots[out->n_snapshots++] = v;
        if (v > out->latest)
            out->latest = v;
    }
    qsort(out->deltas, out->n_deltas, sizeof(uint64_t), cmp_u64);
    qsort(out->snapshots, out->n_snapshots, sizeof(uint64_t), cmp_u64);
out:
    ss_namelist_free(&names);
    if (rc < 0)
        mem_versions_free(out);
    return rc;
}

void
mem_versions_free(mem_versions *v)
{
    free(v->deltas);
    free(v->snapshots);
    memset(v, 0, sizeof(*v));
}

static bool
contains(const uint64_t *a, size_t n, uint64_t x)
{
    return bsearch(&x, a, n, sizeof(uint64_t), cmp_u64) != NULL;
}

bool
mem_versions_has_delta(const mem_versions *v, uint64_t version)
{
    return contains(v->deltas, v->n_deltas, version);
}

uint64_t
mem_versions_base(const mem_versions *v, uint64_t version)
{
    size_t i;
    uint64_t best = 0;

    for (i = 0; i < v->n_snapshots; i++)
        if (v->snapshots[i] <= version)
            best = v->snapshots[i];
    return best;
}

int
mem_map_file_cfs(unsigned *local_to_cf, mem_prov *p, mm_map *m,
                 const ss_file_header *h, const char *path)
{
    unsigned i, id;
    int rc;

    for (i = 0; i < h->n_cf; i++) {
        if ((rc = ss_cf_table_declare(&id, p->cfs, h->cf[i].name,
                                      h->cf[i].flags & SS_CF_ORDERED)) < 0)
            return ss_error_wrap(rc, "%s", path);
        local_to_cf[i] = id;
        if (m && id >= m->ncf)
            mm_map_add_cf(m, id, p->cfs->cf[id].flags & SS_CF_ORDERED);
    }
    return 0;
}

int
mem_apply_file(mm_map *m, mem_prov *p, unsigned kind, uint64_t version)
{
    unsigned local_to_cf[SS_MAX_CFS];
    ss_frame_reader fr;
    ss_record rec;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64 ".%s", version,
             ss_file_kind_name(kind));
    if ((rc = ss_frame_reader_open(&fr, p->storage, name, kind, version)) < 0)
        return rc;
    if ((rc = mem_map_file_cfs(local_to_cf, p, m, &fr.header, fr.path)) < 0)
        goto out;
    while ((rc = ss_frame_reader_next(&fr, &rec)) == 0) {
        rc = mm_map_apply(m, local_to_cf[rec.cf], rec.op, rec.key, rec.klen,
                          rec.value, rec.vlen, version);
        if (rc < 0) {
            rc = ss_error_wrap(rc, "loading %s", fr.path);
            goto out;
        }
    }
    if (rc == SS_EDONE)
        rc = 0;
out:
    ss_frame_reader_close(&fr);
    return rc;
}

int
mem_build_map(mm_map **out, mem_prov *p, uint64_t version)
{
    mem_versions vs;
    mm_map *m = NULL;
    uint64_t base, v;
    unsigned i;
    int rc;

    *out = NULL;
    if ((rc = mem_list_versions(&vs, p->storage)) < 0)
        return rc;
    if (version > 0 && !mem_versions_has_delta(&vs, version) &&
        mem_versions_base(&vs, version) != version) {
        rc = ss_error_set(SS_ENOTFOUND,
                          "version %" PRIu64 " not found in "
                          "%s (newest is %" PRIu64 ")",
                          version, p->storage->location, vs.latest);
        goto out;
    }
    base = mem_versions_base(&vs, version);
    for (v = base + 1; v <= version; v++) {
        if (!mem_versions_has_delta(&vs, v)) {
            rc = ss_error_set(SS_ECORRUPT,
                              "%s/%" PRIu64 ".delta is "
                              "missing: version %" PRIu64 " needs it "
                              "(newest snapshot at or below is %" PRIu64 ")",
                              p->storage->location, v, version, base);
            goto out;
        }
    }
    if ((rc = mm_map_new(&m, &p->budget)) < 0)
        goto out;
    for (i = 0; i < p->cfs->count; i++)
        mm_map_add_cf(m, i, p->cfs->cf[i].flags & SS_CF_ORDERED);
    if (base > 0 && (rc = mem_apply_file(m, p, SS_FILE_SNAPSHOT, base)) < 0)
        goto out;
    for (v = base + 1; v <= version; v++)
        if ((rc = mem_apply_file(m, p, SS_FILE_DELTA, v)) < 0)
            goto out;
    *out = m;
    m = NULL;
out:
    mm_map_free(m);
    mem_versions_free(&vs);
    return rc;
}
