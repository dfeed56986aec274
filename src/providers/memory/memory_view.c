/*
 * memory_view.c -- read views of in-memory versions (statestore.h,
 * ss_provider_load_view).
 *
 * A view of version W reads the live map through a SHADOW: a small map
 * of its own holding, for every key whose state in the live map differs
 * from its state at W, that state (a copy of the node, or an ABSENT
 * marker).  A key the shadow lacks reads from the live map.
 *
 * Invariant 1: for every key, shadow state if the shadow has the key,
 * else live state, equals the key's state at W.  It holds at creation:
 * the shadow is seeded from the change lists between the live map and W
 * (the open batch's list, then the history's), which name every key the
 * two differ on.  It is kept by the writer calling the preserve hooks
 * before any change to the live map (put, remove, a list swap by a move
 * to another version): a key the shadow lacks gets its live state, still
 * W's, copied in first.  Abort needs none (it swaps back only keys its
 * batch wrote, which every view holds), and commit changes nothing in
 * the map.
 * Invariant 2: when the live map leaves the provider (a load from files,
 * close), the views sharing it keep it through their holder (mem_hold);
 * nothing changes it after that, so those views need no more hooks.
 *
 * Change lists below the map's version (and the open batch's) hold the
 * older state, the FIRST entry of a key being its state before the
 * list's batch; lists above it hold the newer state, the LAST entry of a
 * key being its state at the list's version (mm_changes_swap).
 */
#include "providers/memory/memory.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* A shadow node with this version says: absent at the view's version. */
#define MV_ABSENT UINT64_MAX

/* The live map as shared by views.  `retired`: it left the provider and
 * the holder owns it. */
typedef struct mem_hold {
    mm_map *map;
    unsigned refs;
    bool retired;
} mem_hold;

struct mem_view {
    mem_prov *p;
    uint64_t version;
    mem_hold *hold;
    mm_map *shadow;
    mem_view *next; /* in p->views while the map is live */
};

void
mem_map_cover(mem_prov *p, mm_map *m, unsigned cf)
{
    unsigned i;

    for (i = m->ncf; i <= cf; i++)
        mm_map_add_cf(m, i, p->cfs->cf[i].flags & SS_CF_ORDERED);
}

/* The shadow's node for key (ABSENT marker included), or NULL. */
static mm_node *
shadow_find(mem_view *v, unsigned cf, const void *key, size_t klen,
            uint64_t hash)
{
    mm_node **slot;

    mem_map_cover(v->p, v->shadow, cf);
    slot = mm_map_find(v->shadow, cf, key, klen, hash);
    return slot ? *slot : NULL;
}

/* Record `state` (NULL: absent) as key's state at the view's version. */
static int
shadow_set(mem_view *v, unsigned cf, const void *key, size_t klen,
           const mm_node *state)
{
    int rc;

    mem_map_cover(v->p, v->shadow, cf);
    rc = mm_map_apply(v->shadow, cf, SS_OP_PUT, key, klen,
                      state ? MM_VAL(state) : NULL, state ? state->vlen : 0,
                      state ? 0 : MV_ABSENT);
    if (rc < 0)
        return ss_error_wrap(rc,
                             "keeping a read view of version %llu "
                             "while its key of %zu bytes changes",
                             (unsigned long long)v->version, klen);
    return 0;
}

/* Copy the state of list c's keys (see top for which entry holds it). */
static int
seed(mem_view *v, const mm_changes *c, bool older)
{
    size_t i, n = c->len;
    int rc;

    for (i = 0; i < n; i++) {
        /* Later writes win: walk toward the entry that must win. */
        const mm_change *e = &c->v[older ? n - 1 - i : i];

        if ((rc = shadow_set(v, e->cf, e->key, e->klen, e->other)) < 0)
            return rc;
    }
    return 0;
}

static const mm_changes *
hist_list(const mem_prov *p, uint64_t version)
{
    size_t i;

    for (i = 0; i < p->nhist; i++)
        if (p->hist[i]->version == version)
            return p->hist[i];
    return NULL;
}

int
mem_view_new(mem_view **out, mem_prov *p, uint64_t version)
{
    mem_view *v = calloc(1, sizeof(*v));
    const mm_changes *c;
    uint64_t w;
    int rc = 0;

    *out = NULL;
    if (!v || (!p->map_hold && !(p->map_hold = calloc(1, sizeof(mem_hold))))) {
        free(v);
        return ss_error_set(SS_ENOMEM, "out of memory opening a read view");
    }
    p->map_hold->map = p->map;
    p->map_hold->refs++;
    v->p = p;
    v->version = version;
    v->hold = p->map_hold;
    v->next = p->views;
    p->views = v;
    if ((rc = mm_map_new(&v->shadow, &p->budget)) < 0)
        goto fail;
    if (p->batch && (rc = seed(v, p->batch, true)) < 0)
        goto fail;
    for (w = p->map_version; rc == 0 && w > version; w--)
        if ((c = hist_list(p, w)))
            rc = seed(v, c, true);
    for (w = p->map_version + 1; rc == 0 && w <= version; w++)
        if ((c = hist_list(p, w)))
            rc = seed(v, c, false);
    if (rc < 0)
        goto fail;
    *out = v;
    return 0;
fail:
    mem_view_free(v);
    return rc;
}

void
mem_view_free(mem_view *v)
{
    mem_prov *p;
    mem_view **pp;

    if (!v)
        return;
    p = v->p;
    if (!v->hold->retired)
        for (pp = &p->views; *pp; pp = &(*pp)->next)
            if (*pp == v) {
                *pp = v->next;
                break;
            }
    if (--v->hold->refs == 0) {
        if (v->hold->retired)
            mm_map_free(v->hold->map);
        else
            p->map_hold = NULL;
        free(v->hold);
    }
    mm_map_free(v->shadow);
    free(v);
}

/* Key's node at the view's version, or NULL if absent then. */
static mm_node *
view_find(mem_view *v, unsigned cf, const void *key, size_t klen, uint64_t hash)
{
    mm_node *n = shadow_find(v, cf, key, klen, hash), **slot;
    mm_map *base = v->hold->map;

    if (n)
        return n->version == MV_ABSENT ? NULL : n;
    if (cf >= base->ncf)
        return NULL;
    slot = mm_map_find(base, cf, key, klen, hash);
    return slot ? *slot : NULL;
}

int
mem_view_get(ss_slice *out, mem_view *v, unsigned cf, ss_slice key)
{
    mm_node *n =
        view_find(v, cf, key.data, key.len, mm_hash(key.data, key.len));

    if (!n)
        return ss_error_set_str(SS_ENOTFOUND, "key not found");
    out->data = MM_VAL(n);
    out->len = n->vlen;
    return 0;
}

int
mem_views_preserve(mem_prov *p, unsigned cf, const void *key, size_t klen,
                   uint64_t hash)
{
    mem_view *v;
    mm_node **slot;
    int rc;

    for (v = p->views; v; v = v->next) {
        if (shadow_find(v, cf, key, klen, hash))
            continue;
        slot =
            cf < p->map->ncf ? mm_map_find(p->map, cf, key, klen, hash) : NULL;
        if ((rc = shadow_set(v, cf, key, klen, slot ? *slot : NULL)) < 0)
            return rc;
    }
    return 0;
}

int
mem_views_preserve_list(mem_prov *p, const mm_changes *c)
{
    size_t i;
    int rc;

    for (i = 0; p->views && i < c->len; i++)
        if ((rc = mem_views_preserve(p, c->v[i].cf, c->v[i].key, c->v[i].klen,
                                     c->v[i].hash)) < 0)
            return rc;
    return 0;
}

bool
mem_views_keep_map(mem_prov *p)
{
    if (!p->map_hold)
        return false;
    p->map_hold->retired = true;
    p->map_hold = NULL;
    p->views = NULL;
    return true;
}

/* ------------------------------------------------------------- iterator */

/* A merge of two iterations in the family's order: BASE over the map
 * the view shares, SHADOW over its copies.  Each may hold a key it
 * returned that the merge has not yet used (pending).  A pending key is
 * only a position; the state returned is looked up when the merge takes
 * it (view_find), so a writer changing that key in between is seen
 * through the shadow.  When either map changed since the last step,
 * positions in it may be stale: both restart just after the last key
 * the merge returned. */
struct mv_iter {
    mem_view *v;
    unsigned cf;
    bool ordered;
    bool has_base;
    mm_iter base, shadow;
    bool pend_base, pend_shadow;
    uint64_t gen_base, gen_shadow;
    bool started, done;
    unsigned char *last;
    size_t last_len, last_cap;
    uint64_t last_hash;
};

int
mv_iter_new(mv_iter **out, mem_view *v, unsigned cf, const ss_scan *scan)
{
    mv_iter *it = calloc(1, sizeof(*it));
    mm_map *base = v->hold->map;
    int rc;

    *out = NULL;
    if (!it)
        return ss_error_set(SS_ENOMEM, "out of memory creating an iterator");
    it->v = v;
    it->cf = cf;
    it->ordered = v->p->cfs->cf[cf].flags & SS_CF_ORDERED;
    /* The live map may gain the family later; a retired one never. */
    if (!v->hold->retired)
        mem_map_cover(v->p, base, cf);
    mem_map_cover(v->p, v->shadow, cf);
    it->has_base = cf < base->ncf;
    if ((it->has_base &&
         (rc = mm_iter_init(&it->base, base, cf, scan->prefix.data,
                            scan->prefix.len, scan->start.data, scan->start.len,
                            scan->end.data, scan->end.len)) < 0) ||
        (rc = mm_iter_init(&it->shadow, v->shadow, cf, scan->prefix.data,
                           scan->prefix.len, scan->start.data, scan->start.len,
                           scan->end.data, scan->end.len)) < 0) {
        mv_iter_free(it);
        return rc;
    }
    it->gen_base = it->has_base ? base->cf[cf].gen : 0;
    it->gen_shadow = v->shadow->cf[cf].gen;
    *out = it;
    return 0;
}

/* Order of two positions in the family (as mm_iter walks it). */
static int
pos_cmp(const mv_iter *it, const mm_iter *a, const mm_iter *b)
{
    if (!it->ordered && a->last_hash != b->last_hash)
        return a->last_hash < b->last_hash ? -1 : 1;
    return mm_key_cmp(a->last, a->last_len, b->last, b->last_len);
}

static int
remember(mv_iter *it, const mm_iter *from)
{
    unsigned char *grown;

    if (from->last_len > it->last_cap) {
        grown = realloc(it->last, from->last_len);
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory iterating");
        it->last = grown;
        it->last_cap = from->last_len;
    }
    memcpy(it->last, from->last, from->last_len);
    it->last_len = from->last_len;
    it->last_hash = from->last_hash;
    it->started = true;
    return 0;
}

/* Pull the next key of `m` into pending, unless it has one. */
static int
fill(mm_iter *m, bool *pending)
{
    mm_node *n;
    int rc;

    if (*pending)
        return 0;
    rc = mm_iter_next(m, &n);
    if (rc == 0)
        *pending = true;
    return rc == SS_EDONE ? 0 : rc;
}

/* Either map changed: positions may be stale (see mv_iter). */
static int
restart(mv_iter *it)
{
    uint64_t h = it->ordered ? 0 : it->last_hash;
    int rc;

    it->pend_base = it->pend_shadow = false;
    if (!it->started)
        return 0; /* nothing returned: both resume from the start */
    if ((it->has_base &&
         (rc = mm_iter_seek_after(&it->base, it->last, it->last_len, h)) < 0) ||
        (rc = mm_iter_seek_after(&it->shadow, it->last, it->last_len, h)) < 0)
        return rc;
    return 0;
}

int
mv_iter_next(mv_iter *it, ss_slice *key, ss_slice *value)
{
    mm_map *base = it->v->hold->map;
    mm_node *n;
    int c, rc;

    if (it->done)
        return SS_EDONE;
    if (((it->has_base && base->cf[it->cf].gen != it->gen_base) ||
         it->v->shadow->cf[it->cf].gen != it->gen_shadow) &&
        (rc = restart(it)) < 0)
        return rc;
    for (;;) {
        if ((it->has_base && (rc = fill(&it->base, &it->pend_base)) < 0) ||
            (rc = fill(&it->shadow, &it->pend_shadow)) < 0)
            return rc;
        if (!it->pend_base && !it->pend_shadow) {
            it->done = true;
            return SS_EDONE;
        }
        c = !it->pend_shadow ? -1
            : !it->pend_base ? 1
                             : pos_cmp(it, &it->base, &it->shadow);
        if ((rc = remember(it, c <= 0 ? &it->base : &it->shadow)) < 0)
            return rc;
        if (c <= 0)
            it->pend_base = false;
        if (c >= 0)
            it->pend_shadow = false;
        /* Ordered families find by key alone: no hash needed. */
        n = view_find(it->v, it->cf, it->last, it->last_len,
                      it->ordered ? 0 : it->last_hash);
        if (n)
            break; /* else absent at the view's version: next */
    }
    it->gen_base = it->has_base ? base->cf[it->cf].gen : 0;
    it->gen_shadow = it->v->shadow->cf[it->cf].gen;
    if (key) {
        key->data = it->last;
        key->len = it->last_len;
    }
    if (value) {
        value->data = MM_VAL(n);
        value->len = n->vlen;
    }
    return 0;
}

void
mv_iter_free(mv_iter *it)
{
    if (!it)
        return;
    if (it->has_base)
        mm_iter_release(&it->base);
    mm_iter_release(&it->shadow);
    free(it->last);
    free(it);
}
