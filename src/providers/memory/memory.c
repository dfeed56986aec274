/*
 * memory.c -- the memory provider: all state in memory, a delta file per
 * commit, snapshots and retention by maintenance (all files through the
 * shared delta log, providers/delta_log.h).
 *
 * Invariants (tests/conformance cite these):
 * 1. get/put/remove never touch disk.
 * 2. A batch changes the live map in place and records each key's prior
 *    node in a change list the first time the batch touches it (a node
 *    whose version is the batch number was written by this batch).
 *    Abort swaps the list back; commit keeps it as the way back to the
 *    previous version.  Memory for retained versions is therefore
 *    proportional to what changed, never a copy of the map.
 * 3. Commit writes <V+1>.delta completely before it becomes visible; if
 *    versions above V exist they are deleted newest first before it is
 *    published, so the visible versions are always one lineage.
 * 4. A failed commit poisons the provider (SS_EFATAL, done by the store
 *    front for every provider): the live map may no longer match any
 *    durable version.  The checkpoint still holds every version
 *    committed before.
 * 5. A put refused for memory_limit_bytes changes nothing.
 *
 * State of the live map:
 *
 *   NONE --load(V)--> AT V --put/remove--> BATCH(V+1) --commit--> AT V+1
 *                      ^  \__load(W), W in memory: swap lists___/  |
 *                      |                                          |
 *                      +-----------------abort--------------------+
 */
#include "providers/memory/memory.h"

#include "providers/memory/commit_sort.h"

#include "util/clock.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
drop_memory_state(mem_prov *p)
{
    size_t i;

    for (i = 0; i < p->nhist; i++)
        mm_changes_free(&p->budget, p->hist[i]);
    p->nhist = 0;
    if (!mem_views_keep_map(p)) /* else read views keep it */
        mm_map_free(p->map);
    p->map = NULL;
}

static int
mem_open(void **out, const ss_provider_env *env)
{
    mem_prov *p = calloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if (!p)
        return ss_error_set(SS_ENOMEM, "out of memory opening %s",
                            env->location);
    p->config = env->config;
    p->cfs = env->cfs;
    p->budget.limit = env->config->memory_limit_bytes;
    p->hist =
        calloc(env->config->max_versions_in_memory + 1, sizeof(mm_changes *));
    if (!p->hist) {
        free(p);
        return ss_error_set(SS_ENOMEM, "out of memory opening %s",
                            env->location);
    }
    if ((rc = ss_dlog_init(&p->log, env->storage, env->config)) < 0) {
        free(p->hist);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void
mem_close(void *prov)
{
    mem_prov *p = prov;

    ss_dlog_destroy(&p->log);
    drop_memory_state(p);
    free(p->hist);
    free(p);
}

static int
mem_maintenance(void *prov, bool force)
{
    return ss_dlog_maintenance(&((mem_prov *)prov)->log, force);
}

static int
mem_cf_added(void *prov, unsigned cf)
{
    mem_prov *p = prov;

    if (p->map)
        mem_map_cover(p, p->map, cf);
    return 0;
}

/* Move the live map to `version` through the change lists. */
static int
move_map(mem_prov *p, uint64_t version)
{
    size_t i;
    int rc;

    while (p->map_version > version) {
        for (i = 0; p->hist[i]->version != p->map_version; i++)
            ;
        if ((rc = mem_views_preserve_list(p, p->hist[i])) < 0 ||
            (rc = mm_changes_swap(p->map, p->hist[i], true)) < 0)
            return rc;
        p->map_cfs = p->hist[i]->cfs_before;
        p->map_version--;
    }
    while (p->map_version < version) {
        for (i = 0; p->hist[i]->version != p->map_version + 1; i++)
            ;
        if ((rc = mem_views_preserve_list(p, p->hist[i])) < 0 ||
            (rc = mm_changes_swap(p->map, p->hist[i], false)) < 0)
            return rc;
        p->map_cfs = p->hist[i]->cfs_after;
        p->map_version++;
    }
    return 0;
}

static bool
in_memory(const mem_prov *p, uint64_t version)
{
    uint64_t lo, hi;

    if (!p->map)
        return false;
    lo = p->nhist ? p->hist[0]->version - 1 : p->map_version;
    hi = p->nhist ? p->hist[p->nhist - 1]->version : p->map_version;
    if (hi < p->map_version)
        hi = p->map_version;
    return version >= lo && version <= hi;
}

static int
load_live(mem_prov *p, uint64_t version)
{
    mm_map *m;
    unsigned i;
    int rc;

    if (version > p->log.latest && !in_memory(p, version))
        return ss_error_set(SS_ENOTFOUND,
                            "version %" PRIu64 " not found in "
                            "%s (newest is %" PRIu64 ")",
                            version, p->log.storage->location, p->log.latest);
    if (in_memory(p, version)) {
        if ((rc = move_map(p, version)) == 0) {
            p->log.m.loads_from_memory++;
            return 0;
        }
        /* A half-moved map matches no version: rebuild from files. */
    }
    /* Free the old state first: holding two full maps could double the
     * memory this provider uses. */
    drop_memory_state(p);
    memset(&p->map_cfs, 0, sizeof(p->map_cfs));
    if (version == 0) {
        if ((rc = mm_map_new(&m, &p->budget)) < 0)
            return rc;
        for (i = 0; i < p->cfs->count; i++)
            mm_map_add_cf(m, i, p->cfs->cf[i].flags & SS_CF_ORDERED);
    } else if ((rc = mem_build_map(&m, &p->map_cfs, p, version)) < 0) {
        return rc;
    }
    p->map = m;
    p->map_version = version;
    p->log.m.loads_from_files++;
    return 0;
}

static int
mem_load(void **out, void *prov, uint64_t version, bool readonly)
{
    mem_prov *p = prov;
    mem_store *s;
    uint64_t t0 = ss_now_ns();
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ss_error_set(SS_ENOMEM, "out of memory loading version %" PRIu64,
                            version);
    s->p = p;
    s->version = version;
    s->readonly = readonly;
    if (readonly) {
        if (version == 0) {
            unsigned i;

            rc = mm_map_new(&s->map, &p->budget);
            for (i = 0; rc == 0 && i < p->cfs->count; i++)
                mm_map_add_cf(s->map, i, p->cfs->cf[i].flags & SS_CF_ORDERED);
        } else {
            rc = mem_build_map(&s->map, &s->cfs, p, version);
        }
        if (rc < 0)
            goto fail;
    } else {
        if ((rc = ss_dlog_pin(&p->log, version)) < 0)
            goto fail;
        if ((rc = load_live(p, version)) < 0 ||
            (rc = mm_changes_new(&s->changes, &p->budget, version + 1)) < 0) {
            ss_dlog_unpin(&p->log);
            goto fail;
        }
        s->map = p->map;
        p->batch = s->changes;
        s->cfs = p->map_cfs;
    }
    /* Declared families are in every store (statestore.h). */
    ss_cf_set_union(&s->cfs, &p->cfs->declared);
    pthread_mutex_lock(&p->log.files_lock);
    p->log.m.load_ns = ss_now_ns() - t0;
    pthread_mutex_unlock(&p->log.files_lock);
    *out = s;
    return 0;
fail:
    if (readonly)
        mm_map_free(s->map);
    free(s);
    return ss_error_wrap(rc, "loading version %" PRIu64 " from %s", version,
                         p->log.storage->location);
}

/* Families declared after the map was built (by a read-only load that
 * found them in files) join lazily. */
static inline mm_map *
map_for(mem_store *s, unsigned cf)
{
    if (cf >= s->map->ncf)
        mem_map_cover(s->p, s->map, cf);
    return s->map;
}

static int
mem_get(ss_slice *out, void *store, unsigned cf, ss_slice key)
{
    mem_store *s = store;
    mm_node **slot;

    if (s->view)
        return mem_view_get(out, s->view, cf, key);
    slot = mm_map_find(map_for(s, cf), cf, key.data, key.len,
                       mm_hash(key.data, key.len));
    if (!slot)
        return ss_error_set_str(SS_ENOTFOUND, "key not found");
    out->data = MM_VAL(*slot);
    out->len = (*slot)->vlen;
    return 0;
}

static int
limit_error(mem_prov *p, size_t need)
{
    return ss_error_set(SS_ELIMIT,
                        "memory_limit_bytes=%" PRIu64 " would be "
                        "exceeded: %" PRIu64 " bytes in use, %zu more "
                        "needed; abort the batch or raise the limit",
                        p->budget.limit, p->budget.used, need);
}

static int
mem_put(void *store, unsigned cf, ss_slice key, ss_slice value)
{
    mem_store *s = store;
    mem_prov *p = s->p;
    mm_map *m = map_for(s, cf);
    uint64_t h = mm_hash(key.data, key.len), batch = s->changes->version;
    mm_node **slot = mm_map_find(m, cf, key.data, key.len, h), *old, *n;
    bool touched;
    size_t need;
    int rc;

    if (p->views && (rc = mem_views_preserve(p, cf, key.data, key.len, h)) < 0)
        return rc;
    old = slot ? *slot : NULL;
    touched = old && old->version == batch;
    if (old && value.len <= old->vcap) {
        /* Overwrite in place.  On the batch's first touch the node's
         * prior state is copied into the change list's arena first: a
         * sequential copy is far cheaper than a new heap node. */
        if (!touched) {
            need = mm_changes_copy_cost(s->changes, old);
            if (!ss_budget_fits(&p->budget, need))
                return limit_error(p, need);
            if ((rc = mm_changes_copy(s->changes, &p->budget, cf, old, h)) < 0)
                return rc;
            old->version = batch;
        }
        if (value.len)
            memcpy(MM_VAL(old), value.data, value.len);
        old->vlen = (uint32_t)value.len;
        return 0;
    }
    need = mm_alloc_cost(mm_node_size(key.len, value.len));
    if (!touched)
        need += mm_changes_push_cost(s->changes, key.len);
    if (!old)
        need += mm_map_insert_cost(m, cf);
    if (!ss_budget_fits(&p->budget, need))
        return limit_error(p, need);
    n = mm_node_new(&p->budget, key.data, key.len, value.data, value.len,
                    batch);
    if (!n)
        return ss_error_set(SS_ENOMEM,
                            "out of memory storing a key of %zu "
                            "bytes",
                            key.len);
    if (touched) {
        /* A node this batch wrote in place holds the key's prior state
         * in its copy; give that back to the node, which the change list
         * then keeps. */
        if (old->copy)
            mm_changes_uncopy(s->changes, old);
        else
            mm_node_free(&p->budget, old);
        *slot = n;
        return 0;
    }
    if ((rc = mm_changes_push(s->changes, &p->budget, cf, key.data, key.len, h,
                              old)) < 0)
        goto fail;
    if (old) {
        *slot = n;
        return 0;
    }
    if ((rc = mm_map_insert(m, cf, n, h)) < 0) {
        s->changes->len--; /* the entry just pushed */
        goto fail;
    }
    return 0;
fail:
    mm_node_free(&p->budget, n);
    return rc;
}

static int
mem_remove(void *store, unsigned cf, ss_slice key)
{
    mem_store *s = store;
    mem_prov *p = s->p;
    mm_map *m = map_for(s, cf);
    uint64_t h = mm_hash(key.data, key.len);
    mm_node **slot = mm_map_find(m, cf, key.data, key.len, h), *old;
    int rc;

    if (!slot)
        return 0;
    if (p->views && (rc = mem_views_preserve(p, cf, key.data, key.len, h)) < 0)
        return rc;
    old = *slot;
    if (old->version == s->changes->version) {
        mm_map_delete(m, cf, key.data, key.len, h);
        if (old->copy)
            mm_changes_uncopy(s->changes, old); /* the list keeps it */
        else
            mm_node_free(&p->budget, old);
        return 0;
    }
    /* The change entry is allocated before unlinking so a failure
     * leaves the key in place. */
    if (!ss_budget_fits(&p->budget, mm_changes_push_cost(s->changes, key.len)))
        return limit_error(p, mm_changes_push_cost(s->changes, key.len));
    if ((rc = mm_changes_push(s->changes, &p->budget, cf, key.data, key.len, h,
                              old)) < 0)
        return rc;
    mm_map_delete(m, cf, key.data, key.len, h);
    return 0;
}

/* ---------------------------------------------------------------- commit */

#define PREFETCH_AHEAD 8

/* Op 3 records of the families ranked [*next, upto) the batch dropped. */
static int
write_drops(ss_frame_writer *fw, const bool *drop_at, unsigned *next,
            unsigned upto, uint64_t *records)
{
    int rc;

    for (; *next < upto; (*next)++) {
        if (!drop_at[*next])
            continue;
        if ((rc = ss_frame_writer_add(fw, SS_OP_CF_DROP, *next, "", 0, NULL,
                                      0)) < 0)
            return rc;
        (*records)++;
    }
    return 0;
}

static int
write_delta(mem_store *s, ss_frame_writer *fw, uint64_t *records,
            uint64_t *collect_ns)
{
    mem_prov *p = s->p;
    mm_changes *ch = s->changes;
    unsigned rank[SS_MAX_CFS];
    ss_file_header h = {.kind = SS_FILE_DELTA,
                        .codec = p->config->codec,
                        .version = ch->version};
    commit_rec *recs = NULL, *tmp;
    bool drop_at[SS_MAX_CFS]; /* by file rank: write an op 3 record */
    unsigned next_rank = 0;
    char name[64];
    uint64_t t0 = ss_now_ns();
    size_t i, j, n = ch->len;
    mm_node **slot;
    int rc;

    *records = 0;
    if ((rc = ss_cf_table_file_header(&h, rank, p->cfs, &s->cfs, &s->dropped)) <
        0)
        return rc;
    for (i = 0; i < h.n_cf; i++)
        drop_at[i] = false;
    for (i = 0; i < p->cfs->count; i++)
        if (ss_cf_set_has(&s->dropped, (unsigned)i))
            drop_at[rank[i]] = true;
    recs = malloc((n ? 2 * n : 1) * sizeof(*recs));
    if (!recs) {
        rc = ss_error_set(SS_ENOMEM, "out of memory committing %zu changes", n);
        goto out;
    }
    for (i = 0; i < n; i++)
        commit_rec_init(&recs[i], &ch->v[i], (uint32_t)i, rank[ch->v[i].cf]);
    tmp = recs + n;
    commit_sort(recs, tmp, n, ch->v);
    *collect_ns = ss_now_ns() - t0;
    snprintf(name, sizeof(name), "%" PRIu64 ".delta", ch->version);
    if ((rc = ss_frame_writer_open(fw, p->log.storage, name, &h,
                                   p->config->compression_level,
                                   p->config->block_size)) < 0)
        goto out;
    for (i = 0; i < n; i = j) {
        const mm_change *e = &ch->v[recs[i].index];

        /* Looking up changed keys is random access into the map: start
         * the cache misses of the keys a few records ahead now. */
        if (i + 2 * PREFETCH_AHEAD < n) {
            const mm_change *f = &ch->v[recs[i + 2 * PREFETCH_AHEAD].index];
            mm_map_prefetch(s->map, f->cf, f->hash, 0);
        }
        if (i + PREFETCH_AHEAD < n) {
            const mm_change *f = &ch->v[recs[i + PREFETCH_AHEAD].index];
            mm_map_prefetch(s->map, f->cf, f->hash, 1);
        }
        /* Equal keys sort together, first entry first: it holds the
         * key's state before the batch. */
        for (j = i + 1;
             j < n && recs[j].rank == recs[i].rank &&
             recs[j].head == recs[i].head &&
             mm_key_cmp(ch->v[recs[j].index].key, ch->v[recs[j].index].klen,
                        e->key, e->klen) == 0;
             j++)
            ;
        /* A dropped family's op 3 record comes before its keys. */
        if ((rc = write_drops(fw, drop_at, &next_rank, recs[i].rank + 1,
                              records)) < 0)
            goto out;
        slot = mm_map_find(s->map, e->cf, e->key, e->klen, e->hash);
        if (!slot && !e->other)
            continue; /* created and removed within the batch */
        if (!slot && ss_cf_set_has(&s->dropped, e->cf))
            continue; /* its op 3 record removed it */
        rc = slot ? ss_frame_writer_add(fw, SS_OP_PUT, recs[i].rank, e->key,
                                        e->klen, MM_VAL(*slot), (*slot)->vlen)
                  : ss_frame_writer_add(fw, SS_OP_REMOVE, recs[i].rank, e->key,
                                        e->klen, NULL, 0);
        if (rc < 0)
            goto out;
        (*records)++;
    }
    if ((rc = write_drops(fw, drop_at, &next_rank, h.n_cf, records)) < 0)
        goto out;
    rc = ss_frame_writer_finish(fw);
out:
    free(recs);
    free(h.cf);
    return rc;
}

static void
keep_history(mem_prov *p, mm_changes *ch)
{
    size_t i, keep = p->config->max_versions_in_memory - 1;

    /* Lists above the new version belong to a discarded lineage. */
    while (p->nhist && p->hist[p->nhist - 1]->version >= ch->version)
        mm_changes_free(&p->budget, p->hist[--p->nhist]);
    p->hist[p->nhist++] = ch;
    while (p->nhist > keep) {
        mm_changes_free(&p->budget, p->hist[0]);
        for (i = 1; i < p->nhist; i++)
            p->hist[i - 1] = p->hist[i];
        p->nhist--;
    }
}

static int
mem_commit(uint64_t *version_out, void *store)
{
    mem_store *s = store;
    mem_prov *p = s->p;
    ss_frame_writer fw;
    uint64_t t0 = ss_now_ns(), t1, records, collect_ns = 0, sync_ns;
    uint64_t next = s->changes->version;
    int rc;

    memset(&fw, 0, sizeof(fw));
    if ((rc = write_delta(s, &fw, &records, &collect_ns)) < 0) {
        ss_frame_writer_abort(&fw);
        return ss_error_wrap(rc, "commit of version %" PRIu64, next);
    }
    t1 = ss_now_ns();
    rc = ss_dlog_publish(&p->log, &fw, s->version, next);
    sync_ns = ss_now_ns() - t1;
    if (rc < 0) {
        ss_frame_writer_abort(&fw);
        return ss_error_wrap(rc, "commit of version %" PRIu64, next);
    }
    s->changes->cfs_before = p->map_cfs;
    s->changes->cfs_after = s->cfs;
    p->map_cfs = s->cfs;
    keep_history(p, s->changes);
    s->changes = NULL; /* now owned by the history */
    p->batch = NULL;
    ss_dlog_unpin(&p->log);
    p->map_version = next;
    s->version = next;
    ss_dlog_note_commit(&p->log, &fw, collect_ns, sync_ns, records,
                        ss_now_ns() - t0);
    if (version_out)
        *version_out = next;
    return 0;
}

static void
mem_abort(void *store)
{
    mem_store *s = store;
    mem_prov *p = s->p;

    if (!s->changes)
        return;
    ss_dlog_unpin(&p->log);
    p->batch = NULL;
    /* No view hook: every key of the batch is in every view already
     * (seeded from the batch, or preserved by put and remove). */
    if (mm_changes_swap(s->map, s->changes, true) < 0) {
        /* Half-undone: forget memory state; the next load reads files. */
        mm_changes_free(&p->budget, s->changes);
        s->changes = NULL;
        drop_memory_state(p);
        return;
    }
    mm_changes_free(&p->budget, s->changes);
    s->changes = NULL;
}

static void
mem_store_free(void *store)
{
    mem_store *s = store;

    if (!s)
        return;
    if (s->view)
        mem_view_free(s->view);
    else if (s->readonly)
        mm_map_free(s->map);
    else
        mem_abort(s);
    free(s);
}

/* ------------------------------------------------------------- iterators */

/* An iterator of a store (over its map) or of a view (a merge). */
typedef struct mem_cursor {
    mv_iter *view;
    mm_iter it;
} mem_cursor;

static int
mem_iter(void **out, void *store, unsigned cf, const ss_scan *scan)
{
    mem_store *s = store;
    mem_cursor *c = calloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    if (!c)
        return ss_error_set(SS_ENOMEM, "out of memory creating an iterator");
    if (s->view)
        rc = mv_iter_new(&c->view, s->view, cf, scan);
    else
        rc = mm_iter_init(&c->it, map_for(s, cf), cf, scan->prefix.data,
                          scan->prefix.len, scan->start.data, scan->start.len,
                          scan->end.data, scan->end.len);
    if (rc < 0) {
        mm_iter_release(&c->it);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int
mem_iter_next(void *iter, ss_slice *key, ss_slice *value)
{
    mem_cursor *c = iter;
    mm_iter *it = &c->it;
    mm_node *n;
    int rc;

    if (c->view)
        return mv_iter_next(c->view, key, value);
    if ((rc = mm_iter_next(it, &n)) < 0)
        return rc;
    if (key) { /* the iterator's copy: survives a remove of the key */
        key->data = it->last;
        key->len = it->last_len;
    }
    if (value) {
        value->data = MM_VAL(n);
        value->len = n->vlen;
    }
    return 0;
}

static void
mem_iter_free(void *iter)
{
    mem_cursor *c = iter;

    if (!c)
        return;
    if (c->view)
        mv_iter_free(c->view);
    else
        mm_iter_release(&c->it);
    free(c);
}

/* The families of `version`, in memory: the map's, or those a change
 * list between the map and it records. */
static ss_cf_set
view_cfs(const mem_prov *p, uint64_t version)
{
    size_t i;

    for (i = 0; version != p->map_version && i < p->nhist; i++) {
        if (version < p->map_version && p->hist[i]->version == version + 1)
            return p->hist[i]->cfs_before;
        if (version > p->map_version && p->hist[i]->version == version)
            return p->hist[i]->cfs_after;
    }
    return p->map_cfs;
}

/* A read view: shares the live map when it holds the version (see
 * memory_view.c), else a read-only load from files. */
static int
mem_load_view(void **out, void *prov, uint64_t version)
{
    mem_prov *p = prov;
    mem_store *s;
    int rc;

    *out = NULL;
    if (!in_memory(p, version))
        return mem_load(out, prov, version, true);
    s = calloc(1, sizeof(*s));
    if (!s)
        return ss_error_set(SS_ENOMEM, "out of memory loading version %" PRIu64,
                            version);
    s->p = p;
    s->version = version;
    s->readonly = true;
    s->cfs = view_cfs(p, version);
    /* Declared families are in every store (statestore.h). */
    ss_cf_set_union(&s->cfs, &p->cfs->declared);
    if ((rc = mem_view_new(&s->view, p, version)) < 0) {
        free(s);
        return ss_error_wrap(rc, "read view of version %" PRIu64 " of %s",
                             version, p->log.storage->location);
    }
    pthread_mutex_lock(&p->log.files_lock);
    p->log.m.loads_from_memory++;
    pthread_mutex_unlock(&p->log.files_lock);
    *out = s;
    return 0;
}

static int
mem_latest(uint64_t *out, void *prov)
{
    return ss_dlog_latest(out, &((mem_prov *)prov)->log);
}

static void
mem_metrics(ss_metrics *out, void *prov)
{
    mem_prov *p = prov;

    pthread_mutex_lock(&p->log.files_lock);
    *out = p->log.m;
    pthread_mutex_unlock(&p->log.files_lock);
    out->version = SS_METRICS_VERSION;
    out->num_keys = p->map ? p->map->nkeys : 0;
    out->memory_bytes = p->budget.used;
    out->memory_limit_bytes = p->budget.limit;
    out->versions_in_memory = p->map ? p->nhist + 1 : 0;
    out->maintenance_errors = p->log.maint_errors;
}

/* ------------------------------------------------------------- families */

static void
mem_cf_live(ss_cf_set *out, void *store)
{
    *out = ((mem_store *)store)->cfs;
}

/* The family is empty: families a version lacks hold no keys in its map
 * (drops remove them, replays wipe them). */
static int
mem_cf_create(void *store, unsigned cf)
{
    mem_store *s = store;

    (void)map_for(s, cf);
    ss_cf_set_add(&s->cfs, cf);
    return 0;
}

static int
mem_cf_drop(void *store, unsigned cf)
{
    mem_store *s = store;

    ss_cf_set_del(&s->cfs, cf);
    ss_cf_set_add(&s->dropped, cf);
    return 0;
}

const ss_provider_ops ss_memory_provider_ops = {
    SS_PROVIDER_OPS_VERSION,
    "memory",
    mem_open,
    mem_cf_added,
    mem_load,
    mem_get,
    mem_put,
    mem_remove,
    mem_commit,
    mem_abort,
    mem_store_free,
    mem_iter,
    mem_iter_next,
    mem_iter_free,
    mem_latest,
    mem_maintenance,
    mem_metrics,
    NULL,
    mem_close,
    mem_load_view,
    mem_cf_live,
    mem_cf_create,
    mem_cf_drop,
};
