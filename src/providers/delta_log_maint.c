/*
 * delta_log_maint.c -- snapshots and retention of a delta log.
 *
 * A snapshot of version L is a streaming merge of the newest snapshot
 * S < L with the deltas S+1..L, all sorted by (family name, key).  It
 * reads only files, never the live map, so it can run on a background
 * thread while the writer keeps going; its memory is that of the deltas,
 * not of the state.
 *
 * Invariant 1: a snapshot is published only if no version was truncated
 * while it was being built: by this process (files_lock + generation)
 * or by any other (under the storage lock, the delta it was built up to
 * is still the same file: same nonce), so it never describes a
 * discarded lineage.  It is published only if absent.
 * Invariant 2: retention deletes a file only when no version within
 * min_versions_to_retain of the newest, nor the open writer's base
 * version (the pin), needs it: it keeps the newest snapshot at or below
 * the oldest of those and every delta after it.
 * Invariant 3: an sst-* object is deleted only when no remaining meta
 * lists it, under upload_lock (delta_log.h), so a commit's freshly
 * uploaded objects survive until its meta is published.
 * Invariant 4: only the current writer (delta_log.h invariant 5)
 * deletes anything: another process's upload in flight is invisible to
 * this one's upload_lock, but a writer that is not current can never
 * publish the meta that would list it (it is fenced).
 */
#include "providers/delta_log.h"

#include "format/meta.h"
#include "providers/writer.h"
#include "util/clock.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct union_cfs {
    unsigned count;
    ss_cf_entry cf[SS_MAX_CFS]; /* in first-seen order */
    unsigned rank[SS_MAX_CFS];  /* position in name order */
} union_cfs;

typedef struct delta_rec {
    unsigned name_idx;
    unsigned op;
    size_t koff, klen, voff, vlen;
    size_t seq;
} delta_rec;

typedef struct merge_ctx {
    union_cfs cfs;
    /* By union index: the family exists at the version merged so far,
     * and, if `wiped`, every record with seq < wipe_seq is gone (the
     * family was dropped after it; format/frame.h, FAMILIES). */
    bool live[SS_MAX_CFS];
    bool wiped[SS_MAX_CFS];
    size_t wipe_seq[SS_MAX_CFS];
    unsigned file_rank[SS_MAX_CFS]; /* position among the live ones */
    ss_buf bytes;
    delta_rec *recs;
    size_t n, cap;
} merge_ctx;

static int
union_add(unsigned *out, union_cfs *u, const ss_cf_entry *e)
{
    unsigned i;

    for (i = 0; i < u->count; i++) {
        if (strcmp(u->cf[i].name, e->name) == 0) {
            *out = i;
            return 0;
        }
    }
    if (u->count == SS_MAX_CFS)
        return ss_error_set(SS_ELIMIT,
                            "more than %u column families in "
                            "the files to snapshot",
                            SS_MAX_CFS);
    u->cf[u->count] = *e;
    *out = u->count++;
    return 0;
}

/* Whether the merged record `d` is still there at the end. */
static bool
rec_alive(const merge_ctx *mc, const delta_rec *d)
{
    return mc->live[d->name_idx] &&
           !(mc->wiped[d->name_idx] && d->seq < mc->wipe_seq[d->name_idx]);
}

static void
union_rank(union_cfs *u)
{
    unsigned i, j;

    for (i = 0; i < u->count; i++) {
        u->rank[i] = 0;
        for (j = 0; j < u->count; j++)
            if (strcmp(u->cf[j].name, u->cf[i].name) < 0)
                u->rank[i]++;
    }
}

static int
read_delta(merge_ctx *mc, ss_storage *st, uint64_t version, uint64_t *nonce)
{
    unsigned local[SS_MAX_CFS], i;
    ss_frame_reader fr;
    ss_record rec;
    delta_rec *grown, *d;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64 ".delta", version);
    if ((rc = ss_frame_reader_open(&fr, st, name, SS_FILE_DELTA, version)) < 0)
        return rc;
    *nonce = fr.header.nonce;
    for (i = 0; i < fr.header.n_cf; i++)
        if ((rc = union_add(&local[i], &mc->cfs, &fr.header.cf[i])) < 0)
            goto out;
    {
        bool in[SS_MAX_CFS] = {false};

        for (i = 0; i < fr.header.n_cf; i++)
            if (!(fr.header.cf[i].flags & SS_CF_FILE_DROPPED))
                in[local[i]] = true;
        for (i = 0; i < mc->cfs.count; i++) {
            if (fr.header.format < 3) { /* version 2: tables only add */
                mc->live[i] = mc->live[i] || in[i];
                continue;
            }
            if (mc->live[i] && !in[i]) {
                mc->wiped[i] = true;
                mc->wipe_seq[i] = mc->n;
            }
            mc->live[i] = in[i];
        }
    }
    while ((rc = ss_frame_reader_next(&fr, &rec)) == 0) {
        if (rec.op == SS_OP_CF_DROP) {
            /* Later records (the family created again) have seq >= n. */
            mc->wiped[local[rec.cf]] = true;
            mc->wipe_seq[local[rec.cf]] = mc->n;
            continue;
        }
        if (mc->n == mc->cap) {
            mc->cap = mc->cap ? mc->cap * 2 : 1024;
            grown = realloc(mc->recs, mc->cap * sizeof(*grown));
            if (!grown) {
                rc = ss_error_set(SS_ENOMEM, "out of memory snapshotting");
                goto out;
            }
            mc->recs = grown;
        }
        d = &mc->recs[mc->n];
        d->name_idx = local[rec.cf];
        d->op = rec.op;
        d->seq = mc->n++;
        d->koff = mc->bytes.len;
        d->klen = rec.klen;
        if ((rc = ss_buf_append(&mc->bytes, rec.key, rec.klen)) < 0)
            goto out;
        d->voff = mc->bytes.len;
        d->vlen = rec.vlen;
        if ((rc = ss_buf_append(&mc->bytes, rec.value, rec.vlen)) < 0)
            goto out;
    }
    if (rc == SS_EDONE)
        rc = 0;
out:
    ss_frame_reader_close(&fr);
    return rc;
}

static int
rec_cmp(const void *a, const void *b, void *arg)
{
    const merge_ctx *mc = arg;
    const delta_rec *x = a, *y = b;
    unsigned rx = mc->cfs.rank[x->name_idx], ry = mc->cfs.rank[y->name_idx];
    int c;

    if (rx != ry)
        return rx < ry ? -1 : 1;
    c = ss_key_cmp(mc->bytes.data + x->koff, x->klen, mc->bytes.data + y->koff,
                   y->klen);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool
same_key(const merge_ctx *mc, const delta_rec *x, const delta_rec *y)
{
    return mc->cfs.rank[x->name_idx] == mc->cfs.rank[y->name_idx] &&
           ss_key_cmp(mc->bytes.data + x->koff, x->klen,
                      mc->bytes.data + y->koff, y->klen) == 0;
}

/* Compare a snapshot record (rank, key) with a delta record. */
static int
cmp_snap_delta(const merge_ctx *mc, unsigned srank, const ss_record *s,
               const delta_rec *d)
{
    unsigned drank = mc->cfs.rank[d->name_idx];

    if (srank != drank)
        return srank < drank ? -1 : 1;
    return ss_key_cmp(s->key, s->klen, mc->bytes.data + d->koff, d->klen);
}

static int
emit_delta(ss_frame_writer *fw, const merge_ctx *mc, const delta_rec *d)
{
    if (d->op != SS_OP_PUT)
        return 0;
    return ss_frame_writer_add(fw, SS_OP_PUT, mc->file_rank[d->name_idx],
                               mc->bytes.data + d->koff, d->klen,
                               mc->bytes.data + d->voff, d->vlen);
}

/* 1 if <version>.delta is still the file with `nonce` (0 if it is gone
 * or was rewritten by a truncating writer), negative on error. */
static int
same_delta(ss_dlog *p, uint64_t version, uint64_t nonce)
{
    ss_frame_reader fr;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64 ".delta", version);
    rc = ss_frame_reader_open(&fr, p->storage, name, SS_FILE_DELTA, version);
    if (rc == SS_ENOTFOUND) {
        ss_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = fr.header.nonce == nonce;
    ss_frame_reader_close(&fr);
    return rc;
}

/* Write <last>.snapshot from <base>.snapshot and the deltas after it. */
static int
write_snapshot(ss_dlog *p, uint64_t base, uint64_t last, uint64_t gen)
{
    merge_ctx mc;
    ss_frame_reader snap;
    ss_frame_writer fw;
    ss_file_header h = {
        .kind = SS_FILE_SNAPSHOT, .codec = p->config->codec, .version = last};
    unsigned snap_local[SS_MAX_CFS], i;
    ss_record rec;
    char name[64];
    size_t di = 0, dj, kept = 0;
    uint64_t last_nonce = 0;
    ss_storage_lock *l;
    bool snap_open = false;
    int rc, src = SS_EDONE, c;

    memset(&mc, 0, sizeof(mc));
    memset(&fw, 0, sizeof(fw));
    if (base > 0) {
        snprintf(name, sizeof(name), "%" PRIu64 ".snapshot", base);
        if ((rc = ss_frame_reader_open(&snap, p->storage, name,
                                       SS_FILE_SNAPSHOT, base)) < 0)
            goto out;
        snap_open = true;
        for (i = 0; i < snap.header.n_cf; i++) {
            if ((rc = union_add(&snap_local[i], &mc.cfs, &snap.header.cf[i])) <
                0)
                goto out;
            mc.live[snap_local[i]] = true;
        }
    }
    for (uint64_t v = base + 1; v <= last; v++)
        if ((rc = read_delta(&mc, p->storage, v, &last_nonce)) < 0)
            goto out;
    union_rank(&mc.cfs);
    if (mc.n > 1) /* qsort_r(NULL, 0, ...) is undefined */
        qsort_r(mc.recs, mc.n, sizeof(delta_rec), rec_cmp, &mc);
    /* Keep the newest record of each key: the last of each equal run. */
    for (di = 0; di < mc.n; di = dj) {
        for (dj = di + 1;
             dj < mc.n && same_key(&mc, &mc.recs[di], &mc.recs[dj]); dj++)
            ;
        /* A record older than its family's drop is gone (the snapshot's
         * own records of that family are skipped below). */
        if (rec_alive(&mc, &mc.recs[dj - 1]))
            mc.recs[kept++] = mc.recs[dj - 1];
    }
    mc.n = kept;
    /* The table is the families of version `last` (FAMILIES). */
    h.n_cf = 0;
    for (i = 0; i < mc.cfs.count; i++) {
        unsigned j;

        mc.file_rank[i] = 0;
        for (j = 0; j < mc.cfs.count; j++)
            if (mc.live[j] && mc.cfs.rank[j] < mc.cfs.rank[i])
                mc.file_rank[i]++;
        h.n_cf += mc.live[i];
    }
    h.cf = calloc(mc.cfs.count ? mc.cfs.count : 1, sizeof(ss_cf_entry));
    if (!h.cf) {
        rc = ss_error_set(SS_ENOMEM, "out of memory snapshotting");
        goto out;
    }
    for (i = 0; i < mc.cfs.count; i++) {
        if (!mc.live[i])
            continue;
        h.cf[mc.file_rank[i]] = mc.cfs.cf[i];
        h.cf[mc.file_rank[i]].flags &= ~SS_CF_FILE_DROPPED;
    }
    snprintf(name, sizeof(name), "%" PRIu64 ".snapshot", last);
    if ((rc = ss_frame_writer_open(&fw, p->storage, name, &h,
                                   p->config->compression_level,
                                   p->config->block_size)) < 0)
        goto out;
    di = 0;
    if (snap_open)
        src = ss_frame_reader_next(&snap, &rec);
    for (;;) {
        if (src < 0 && src != SS_EDONE) {
            rc = src;
            goto out;
        }
        if (src == SS_EDONE && di == mc.n)
            break;
        if (src == 0 &&
            (mc.wiped[snap_local[rec.cf]] || !mc.live[snap_local[rec.cf]])) {
            src = ss_frame_reader_next(&snap, &rec); /* dropped since */
            continue;
        }
        if (src == SS_EDONE) {
            c = 1;
        } else if (di == mc.n) {
            c = -1;
        } else {
            c = cmp_snap_delta(&mc, mc.cfs.rank[snap_local[rec.cf]], &rec,
                               &mc.recs[di]);
        }
        if (c < 0) {
            rc = ss_frame_writer_add(&fw, SS_OP_PUT,
                                     mc.file_rank[snap_local[rec.cf]], rec.key,
                                     rec.klen, rec.value, rec.vlen);
            src = ss_frame_reader_next(&snap, &rec);
        } else {
            /* The delta replaces (or removes) the snapshot's record. */
            rc = emit_delta(&fw, &mc, &mc.recs[di++]);
            if (c == 0)
                src = ss_frame_reader_next(&snap, &rec);
        }
        if (rc < 0)
            goto out;
    }
    if ((rc = ss_frame_writer_finish(&fw)) < 0)
        goto out;
    if ((rc = ss_dlog__lock(&l, p)) < 0)
        goto out;
    if (gen == p->generation && (rc = same_delta(p, last, last_nonce)) == 1) {
        rc = ss_frame_writer_commit_new(&fw);
        if (rc == 0) {
            p->m.snapshots_written++;
            p->m.files_written++;
            p->m.bytes_written += fw.bytes;
            p->m.last_snapshot_version = last;
        } else if (rc == SS_EEXISTS) {
            rc = 0; /* another process's maintenance wrote it first */
        }
    }
    if (rc > 0)
        rc = 0;
    ss_dlog__unlock(p, l);
out:
    ss_frame_writer_abort(&fw);
    if (snap_open)
        ss_frame_reader_close(&snap);
    free(h.cf);
    free(mc.recs);
    ss_buf_free(&mc.bytes);
    return rc;
}

static int
remove_file(ss_dlog *p, uint64_t version, const char *kind)
{
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64 ".%s", version, kind);
    if ((rc = p->storage->remove(p->storage, name)) == 0)
        p->m.files_deleted++;
    return rc;
}

/* Delete every file below `base` (and base's delta), newest version
 * first: a run cut short leaves the oldest versions whole and loadable,
 * and nothing of the newer ones, never a version missing a file. */
static int
remove_below(ss_dlog *p, const ss_dlog_versions *vs, uint64_t base)
{
    size_t d = vs->n_deltas, s = vs->n_snapshots, m = vs->n_metas;
    uint64_t v;
    int rc = 0;

    while (d > 0 && vs->deltas[d - 1] > base)
        d--;
    while (s > 0 && vs->snapshots[s - 1] >= base)
        s--;
    while (m > 0 && vs->metas[m - 1] >= base)
        m--;
    while (rc == 0 && (d || s || m)) {
        v = 0;
        if (d && vs->deltas[d - 1] > v)
            v = vs->deltas[d - 1];
        if (s && vs->snapshots[s - 1] > v)
            v = vs->snapshots[s - 1];
        if (m && vs->metas[m - 1] > v)
            v = vs->metas[m - 1];
        /* The version's base file goes last: until then its delta
         * chain or base still loads it. */
        if (d && vs->deltas[d - 1] == v &&
            (rc = remove_file(p, v, "delta")) == 0)
            d--;
        if (rc == 0 && s && vs->snapshots[s - 1] == v &&
            (rc = remove_file(p, v, "snapshot")) == 0)
            s--;
        if (rc == 0 && m && vs->metas[m - 1] == v &&
            (rc = remove_file(p, v, "meta")) == 0)
            m--;
    }
    return rc;
}

/* Delete the epoch files of writers older than this one: they are
 * fenced whatever happens (the newest epoch decides), and only the
 * newest is read, to name the writer in a fenced one's error. */
static int
remove_old_writers(ss_dlog *p, const ss_namelist *names)
{
    uint64_t e;
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < names->count; i++)
        if (ss_writer_parse(&e, names->names[i]) && e < p->epoch &&
            (rc = p->storage->remove(p->storage, names->names[i])) == 0)
            p->m.files_deleted++;
    return rc;
}

/* Is this provider the current writer?  1 yes, 0 no (nothing of others'
 * may be deleted), negative on error.  Caller holds the locks. */
static int
current_writer(ss_dlog *p, uint64_t max_epoch)
{
    if (!p->epoch || p->fenced)
        return 0;
    if (ss_dlog__check_fence(p, max_epoch) < 0) {
        ss_error_clear(); /* not an error of maintenance */
        return 0;
    }
    return 1;
}

static int
apply_retention(ss_dlog *p)
{
    ss_dlog_versions vs;
    ss_namelist names = {0};
    ss_storage_lock *l;
    uint64_t earliest, base;
    int rc;

    memset(&vs, 0, sizeof(vs));
    if ((rc = ss_dlog__lock(&l, p)) < 0)
        return rc;
    if ((rc = p->storage->list(&names, p->storage)) < 0 ||
        (rc = ss_dlog_versions_parse(&vs, &names, p->storage->location)) < 0)
        goto out;
    if ((rc = current_writer(p, vs.max_epoch)) <= 0)
        goto out;
    if ((rc = remove_old_writers(p, &names)) < 0)
        goto out;
    if (vs.latest < p->config->min_versions_to_retain)
        goto out;
    earliest = vs.latest - p->config->min_versions_to_retain + 1;
    if (p->pinned && p->pin < earliest)
        earliest = p->pin;
    base = ss_dlog_base(&vs, earliest, NULL);
    if (base == 0)
        goto out; /* every delta from 1 is still needed */
    rc = remove_below(p, &vs, base);
out:
    ss_dlog_versions_free(&vs);
    ss_namelist_free(&names);
    ss_dlog__unlock(p, l);
    return rc < 0 ? rc : 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct ss_dlog_meta_objects {
    uint64_t version;
    char **names;
    size_t n;
};

static void
meta_objects_clear(struct ss_dlog_meta_objects *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        free(e->names[i]);
    free(e->names);
    e->names = NULL;
    e->n = 0;
}

void
ss_dlog__meta_objects_free(ss_dlog *d)
{
    size_t i;

    for (i = 0; i < d->n_meta_objects; i++)
        meta_objects_clear(&d->meta_objects[i]);
    free(d->meta_objects);
    d->meta_objects = NULL;
    d->n_meta_objects = 0;
}

/* Read <version>.meta's object names into e. */
static int
meta_objects_read(struct ss_dlog_meta_objects *e, ss_dlog *p, uint64_t version)
{
    ss_meta m;
    size_t j;
    int rc;

    e->version = version;
    e->n = 0;
    if ((rc = ss_meta_read(&m, p->storage, version)) < 0)
        return rc;
    e->names = calloc(m.n_files + 1, sizeof(char *));
    if (!e->names)
        rc = ss_error_set(SS_ENOMEM, "out of memory in retention");
    for (j = 0; rc == 0 && j < m.n_files; j++) {
        if (!m.files[j].object[0])
            continue;
        if (!(e->names[e->n] = strdup(m.files[j].object)))
            rc = ss_error_set(SS_ENOMEM, "out of memory in retention");
        else
            e->n++;
    }
    ss_meta_free(&m);
    return rc;
}

/* Bring the cache to exactly the metas of `vs` (reading new ones only). */
static int
meta_objects_sync(ss_dlog *p, const ss_dlog_versions *vs)
{
    struct ss_dlog_meta_objects *next, *old = p->meta_objects;
    size_t i, j = 0, n_old = p->n_meta_objects;
    uint64_t gen;
    int rc = 0;

    pthread_mutex_lock(&p->files_lock);
    gen = p->generation;
    pthread_mutex_unlock(&p->files_lock);
    if (gen != p->meta_objects_gen) {
        ss_dlog__meta_objects_free(p);
        old = NULL;
        n_old = 0;
        p->meta_objects_gen = gen;
    }
    next = calloc(vs->n_metas + 1, sizeof(*next));
    if (!next)
        return ss_error_set(SS_ENOMEM, "out of memory in retention");
    /* Both lists are sorted by version. */
    for (i = 0; i < vs->n_metas; i++) {
        while (j < n_old && old[j].version < vs->metas[i])
            meta_objects_clear(&old[j++]);
        if (j < n_old && old[j].version == vs->metas[i])
            next[i] = old[j++];
        else if (rc == 0)
            rc = meta_objects_read(&next[i], p, vs->metas[i]);
    }
    while (j < n_old)
        meta_objects_clear(&old[j++]);
    free(old);
    p->meta_objects = next;
    p->n_meta_objects = vs->n_metas;
    if (rc < 0)
        ss_dlog__meta_objects_free(p); /* a half-read entry is not kept */
    return rc;
}

/* Names of every object the metas of `vs` list, sorted (for bsearch);
 * borrowed from the cache. */
static int
listed_objects(const char ***out, size_t *n_out, ss_dlog *p,
               const ss_dlog_versions *vs)
{
    const char **names;
    size_t n = 0, i, j;
    int rc;

    *out = NULL;
    *n_out = 0;
    if ((rc = meta_objects_sync(p, vs)) < 0)
        return rc;
    for (i = 0; i < p->n_meta_objects; i++)
        n += p->meta_objects[i].n;
    names = calloc(n + 1, sizeof(*names));
    if (!names)
        return ss_error_set(SS_ENOMEM, "out of memory in retention");
    n = 0;
    for (i = 0; i < p->n_meta_objects; i++)
        for (j = 0; j < p->meta_objects[i].n; j++)
            names[n++] = p->meta_objects[i].names[j];
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    *out = names;
    *n_out = n;
    return 0;
}

/* Delete the sst-* objects no remaining meta lists.  A meta that cannot
 * be read stops the collection: its objects might still be needed. */
static int
collect_objects(ss_dlog *p)
{
    ss_dlog_versions vs;
    ss_namelist names = {0};
    const char **listed = NULL;
    size_t n_listed = 0, i;
    ss_storage_lock *l;
    const char *name;
    int rc;

    memset(&vs, 0, sizeof(vs));
    pthread_mutex_lock(&p->upload_lock);
    if ((rc = p->storage->list(&names, p->storage)) < 0 ||
        (rc = ss_dlog_versions_parse(&vs, &names, p->storage->location)) < 0 ||
        vs.n_objects == 0)
        goto out;
    /* Checked under the locks, then collected under upload_lock only: a
     * writer that takes over from now on publishes metas listing only
     * objects a retained meta lists already, or its own new ones. */
    if ((rc = ss_dlog__lock(&l, p)) < 0)
        goto out;
    rc = current_writer(p, vs.max_epoch);
    ss_dlog__unlock(p, l);
    if (rc <= 0 || (rc = listed_objects(&listed, &n_listed, p, &vs)) < 0)
        goto out;
    for (i = 0; rc == 0 && i < names.count; i++) {
        name = names.names[i];
        if (strncmp(name, SS_META_OBJECT_PREFIX,
                    strlen(SS_META_OBJECT_PREFIX)) != 0 ||
            (n_listed &&
             bsearch(&name, listed, n_listed, sizeof(*listed), cmp_str)))
            continue;
        if ((rc = p->storage->remove(p->storage, name)) == 0) {
            pthread_mutex_lock(&p->files_lock);
            p->m.files_deleted++;
            p->m.objects_deleted++;
            pthread_mutex_unlock(&p->files_lock);
        }
    }
out:
    free(listed);
    ss_namelist_free(&names);
    ss_dlog_versions_free(&vs);
    pthread_mutex_unlock(&p->upload_lock);
    return rc < 0 ? rc : 0;
}

static int maintain(ss_dlog *p, bool force);

int
ss_dlog_maintenance(ss_dlog *p, bool force)
{
    int rc;

    /* One run at a time: the caller's and the background thread's. */
    pthread_mutex_lock(&p->maint_lock);
    rc = maintain(p, force);
    pthread_mutex_unlock(&p->maint_lock);
    return rc;
}

static int
maintain(ss_dlog *p, bool force)
{
    ss_dlog_versions vs;
    uint64_t last, gen, base;
    unsigned kind;
    int rc;

    pthread_mutex_lock(&p->files_lock);
    gen = p->generation;
    pthread_mutex_unlock(&p->files_lock);
    /* The newest version is the listing's: another process may be the
     * one committing. */
    if ((rc = ss_dlog_list(&vs, p->storage)) < 0)
        return rc;
    last = vs.latest;
    base = ss_dlog_base(&vs, last, &kind);
    ss_dlog_versions_free(&vs);
    /* A merge reads snapshot and delta files; a meta base is RocksDB's
     * own files, so deltas after one stay deltas (README). */
    if (kind != SS_FILE_META && last > base &&
        (force || last - base >= p->config->min_deltas_for_snapshot)) {
        rc = write_snapshot(p, base, last, gen);
        if (rc < 0) {
            pthread_mutex_lock(&p->files_lock);
            /* The writer truncated versions under us: not a failure. */
            if (gen != p->generation)
                rc = 0;
            pthread_mutex_unlock(&p->files_lock);
            if (rc < 0)
                return ss_error_wrap(rc,
                                     "maintenance of %s: snapshot of "
                                     "version %" PRIu64,
                                     p->storage->location, last);
        }
    }
    if ((rc = apply_retention(p)) < 0 || (rc = collect_objects(p)) < 0)
        return ss_error_wrap(rc, "maintenance of %s: retention",
                             p->storage->location);
    return 0;
}

static void *
maint_main(void *arg)
{
    ss_dlog *p = arg;
    struct timespec until;
    uint64_t ms = p->config->maintenance_interval_ms;

    pthread_mutex_lock(&p->files_lock);
    while (!p->maint_stop) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(ms / 1000);
        until.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->maint_cond, &p->files_lock, &until);
        if (p->maint_stop)
            break;
        pthread_mutex_unlock(&p->files_lock);
        if (ss_dlog_maintenance(p, false) < 0) {
            pthread_mutex_lock(&p->files_lock);
            p->maint_errors++;
        } else {
            pthread_mutex_lock(&p->files_lock);
        }
    }
    pthread_mutex_unlock(&p->files_lock);
    return NULL;
}

int
ss_dlog__maint_start(ss_dlog *p)
{
    int e = pthread_create(&p->maint_thread, NULL, maint_main, p);

    if (e != 0)
        return ss_error_set(SS_EIO,
                            "cannot start the maintenance thread: "
                            "%s",
                            strerror(e));
    p->maint_running = true;
    return 0;
}

void
ss_dlog__maint_stop(ss_dlog *p)
{
    if (!p->maint_running)
        return;
    pthread_mutex_lock(&p->files_lock);
    p->maint_stop = true;
    pthread_cond_signal(&p->maint_cond);
    pthread_mutex_unlock(&p->files_lock);
    pthread_join(p->maint_thread, NULL);
    p->maint_running = false;
}
