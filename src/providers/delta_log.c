/*
 * delta_log.c -- versions, replay, pinning and publishing of a store's
 * delta/snapshot files (delta_log.h has the invariants).
 */
#include "providers/delta_log.h"

#include "format/meta.h"
#include "providers/writer.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ss_dlog_init(ss_dlog *d, ss_storage *st, const ss_config *config)
{
    ss_dlog_versions vs;
    ss_namelist names;
    int rc;

    memset(d, 0, sizeof(*d));
    d->storage = st;
    d->config = config;
    pthread_mutex_init(&d->files_lock, NULL);
    pthread_mutex_init(&d->maint_lock, NULL);
    pthread_mutex_init(&d->upload_lock, NULL);
    pthread_cond_init(&d->maint_cond, NULL);
    if ((rc = st->list(&names, st)) < 0)
        goto fail;
    rc = ss_dlog_versions_parse(&vs, &names, st->location);
    if (rc == 0 &&
        (rc = ss_identity_load(
             st, &names, vs.n_deltas || vs.n_snapshots || vs.n_metas)) < 0)
        ss_dlog_versions_free(&vs);
    ss_namelist_free(&names);
    if (rc < 0)
        goto fail;
    d->latest = vs.latest;
    d->m.last_snapshot_version = ss_dlog_base(&vs, vs.latest, NULL);
    ss_dlog_versions_free(&vs);
    if (config->maintenance_interval_ms > 0 &&
        (rc = ss_dlog__maint_start(d)) < 0)
        goto fail;
    return 0;
fail:
    pthread_mutex_destroy(&d->files_lock);
    pthread_mutex_destroy(&d->maint_lock);
    pthread_mutex_destroy(&d->upload_lock);
    pthread_cond_destroy(&d->maint_cond);
    return rc;
}

void
ss_dlog_destroy(ss_dlog *d)
{
    ss_dlog__maint_stop(d);
    ss_dlog__meta_objects_free(d);
    pthread_mutex_destroy(&d->files_lock);
    pthread_mutex_destroy(&d->maint_lock);
    pthread_mutex_destroy(&d->upload_lock);
    pthread_cond_destroy(&d->maint_cond);
}

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
    else if (strcmp(p, ".meta") == 0)
        *kind = SS_FILE_META;
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
ss_dlog_versions_parse(ss_dlog_versions *out, const ss_namelist *names,
                       const char *location)
{
    uint64_t v;
    unsigned kind;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->deltas = calloc(names->count + 1, sizeof(uint64_t));
    out->snapshots = calloc(names->count + 1, sizeof(uint64_t));
    out->metas = calloc(names->count + 1, sizeof(uint64_t));
    if (!out->deltas || !out->snapshots || !out->metas) {
        ss_dlog_versions_free(out);
        return ss_error_set(SS_ENOMEM, "out of memory listing %s", location);
    }
    for (i = 0; i < names->count; i++) {
        if (strncmp(names->names[i], SS_META_OBJECT_PREFIX,
                    strlen(SS_META_OBJECT_PREFIX)) == 0)
            out->n_objects++;
        if (ss_writer_parse(&v, names->names[i])) {
            if (v > out->max_epoch)
                out->max_epoch = v;
            continue;
        }
        if (parse_name(names->names[i], &v, &kind) < 0)
            continue;
        if (kind == SS_FILE_DELTA)
            out->deltas[out->n_deltas++] = v;
        else if (kind == SS_FILE_SNAPSHOT)
            out->snapshots[out->n_snapshots++] = v;
        else
            out->metas[out->n_metas++] = v;
        if (v > out->latest)
            out->latest = v;
    }
    qsort(out->deltas, out->n_deltas, sizeof(uint64_t), cmp_u64);
    qsort(out->snapshots, out->n_snapshots, sizeof(uint64_t), cmp_u64);
    qsort(out->metas, out->n_metas, sizeof(uint64_t), cmp_u64);
    return 0;
}

int
ss_dlog_list(ss_dlog_versions *out, ss_storage *st)
{
    ss_namelist names;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = st->list(&names, st)) < 0)
        return rc;
    rc = ss_dlog_versions_parse(out, &names, st->location);
    ss_namelist_free(&names);
    return rc;
}

int
ss_dlog_latest(uint64_t *out, ss_dlog *d)
{
    ss_dlog_versions vs;
    int rc;

    if ((rc = ss_dlog_list(&vs, d->storage)) < 0)
        return rc;
    *out = vs.latest;
    ss_dlog_versions_free(&vs);
    return 0;
}

void
ss_dlog_versions_free(ss_dlog_versions *v)
{
    free(v->deltas);
    free(v->snapshots);
    free(v->metas);
    memset(v, 0, sizeof(*v));
}

static bool
contains(const uint64_t *a, size_t n, uint64_t x)
{
    return bsearch(&x, a, n, sizeof(uint64_t), cmp_u64) != NULL;
}

bool
ss_dlog_has_delta(const ss_dlog_versions *v, uint64_t version)
{
    return contains(v->deltas, v->n_deltas, version);
}

uint64_t
ss_dlog_base(const ss_dlog_versions *v, uint64_t version, unsigned *kind_out)
{
    size_t i;
    uint64_t best = 0;
    unsigned kind = 0;

    for (i = 0; i < v->n_snapshots; i++)
        if (v->snapshots[i] <= version) {
            best = v->snapshots[i];
            kind = SS_FILE_SNAPSHOT;
        }
    /* A meta and a snapshot of one version hold the same state (mode
     * switches); the meta wins, as only its writer's provider reads it
     * fast. */
    for (i = 0; i < v->n_metas; i++)
        if (v->metas[i] <= version && v->metas[i] >= best) {
            best = v->metas[i];
            kind = SS_FILE_META;
        }
    if (kind_out)
        *kind_out = kind;
    return best;
}

/* The sink's family set after file `fr`; a family that left it without
 * an op 3 record is dropped all the same (format/frame.h, FAMILIES). */
static int
families_after(const ss_dlog_sink *sink, const unsigned *local_to_cf,
               ss_frame_reader *fr, uint64_t version)
{
    ss_cf_set gone;
    ss_record drop;
    unsigned cf;
    int rc;

    memset(&gone, 0, sizeof(gone));
    memset(&drop, 0, sizeof(drop));
    ss_cf_set_after_file(sink->cfs, &gone, local_to_cf, &fr->header);
    drop.op = SS_OP_CF_DROP;
    drop.key = drop.value = (const unsigned char *)"";
    for (cf = 0; cf < SS_MAX_CFS; cf++)
        if (ss_cf_set_has(&gone, cf) &&
            (rc = sink->apply(sink->payload, cf, &drop, version)) < 0)
            return ss_error_wrap(rc, "loading %s", fr->path);
    return 0;
}

static int
replay_file(ss_dlog *d, const ss_dlog_sink *sink, unsigned kind,
            uint64_t version)
{
    unsigned local_to_cf[SS_MAX_CFS];
    ss_frame_reader fr;
    ss_record rec;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64 ".%s", version,
             ss_file_kind_name(kind));
    if ((rc = ss_frame_reader_open(&fr, d->storage, name, kind, version)) < 0)
        return rc;
    if ((rc = sink->begin_file(sink->payload, local_to_cf, &fr.header,
                               fr.path)) < 0)
        goto out;
    if (sink->cfs && (rc = families_after(sink, local_to_cf, &fr, version)) < 0)
        goto out;
    while ((rc = ss_frame_reader_next(&fr, &rec)) == 0) {
        rc = sink->apply(sink->payload, local_to_cf[rec.cf], &rec, version);
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

/* One replay of `version`'s chain as listed now; *base_out and
 * *kind_out say which base it started from (kind 0: it did not get as
 * far as a chain, e.g. the listing failed). */
static int
replay_once(ss_dlog *d, uint64_t version, const ss_dlog_sink *sink,
            uint64_t *base_out, unsigned *kind_out)
{
    ss_dlog_versions vs;
    uint64_t base, v;
    unsigned kind;
    int rc;

    *base_out = 0;
    *kind_out = 0;
    if (sink->cfs)
        memset(sink->cfs, 0, sizeof(*sink->cfs));
    if ((rc = ss_dlog_list(&vs, d->storage)) < 0)
        return rc;
    if (!ss_dlog_has_delta(&vs, version) &&
        ss_dlog_base(&vs, version, NULL) != version) {
        rc = ss_error_set(SS_ENOTFOUND,
                          "version %" PRIu64 " not found in "
                          "%s (newest is %" PRIu64 ")",
                          version, d->storage->location, vs.latest);
        goto out;
    }
    base = ss_dlog_base(&vs, version, &kind);
    *base_out = base;
    *kind_out = kind ? kind : SS_FILE_DELTA;
    for (v = base + 1; v <= version; v++) {
        if (!ss_dlog_has_delta(&vs, v)) {
            rc = ss_error_set(SS_ECORRUPT,
                              "%s/%" PRIu64 ".delta is "
                              "missing: version %" PRIu64 " needs it "
                              "(newest snapshot at or below is %" PRIu64 ")",
                              d->storage->location, v, version, base);
            goto out;
        }
    }
    if (kind == SS_FILE_META && !sink->meta_base) {
        rc = ss_error_set(SS_EINVAL,
                          "version %" PRIu64 " of %s starts from %" PRIu64
                          ".meta, a RocksDB checkpoint: load it with "
                          "provider=rocksdb",
                          version, d->storage->location, base);
        goto out;
    }
    if (kind == SS_FILE_META)
        rc = sink->meta_base(sink->payload, base);
    else if (base > 0)
        rc = replay_file(d, sink, SS_FILE_SNAPSHOT, base);
    if (rc < 0)
        goto out;
    for (v = base + 1; v <= version; v++)
        if ((rc = replay_file(d, sink, SS_FILE_DELTA, v)) < 0)
            goto out;
out:
    ss_dlog_versions_free(&vs);
    return rc;
}

/* Did the chain of `version` change since a replay started from `base`
 * (a newer snapshot, or the base deleted by retention under it)? */
static bool
chain_moved(ss_dlog *d, uint64_t version, uint64_t base, unsigned kind)
{
    ss_dlog_versions vs;
    uint64_t now;
    unsigned now_kind;

    if (ss_dlog_list(&vs, d->storage) < 0)
        return false;
    now = ss_dlog_base(&vs, version, &now_kind);
    ss_dlog_versions_free(&vs);
    if (!now_kind)
        now_kind = SS_FILE_DELTA; /* no base: the chain starts at 1 */
    return now != base || now_kind != kind;
}

#define REPLAY_ATTEMPTS 5

int
ss_dlog_replay(ss_dlog *d, uint64_t version, const ss_dlog_sink *sink)
{
    char saved[1024];
    uint64_t base;
    unsigned kind, attempt;
    int rc;

    if (version == 0)
        return 0;
    for (attempt = 1;; attempt++) {
        rc = replay_once(d, version, sink, &base, &kind);
        if (rc >= 0 || !sink->reset || kind == 0 || attempt == REPLAY_ATTEMPTS)
            return rc;
        /* Maintenance (this provider's thread, or another process's)
         * may have written a newer snapshot and deleted the files this
         * replay had listed: the version is still there, from a new
         * base.  Start over from it; any other failure stands. */
        ss_error__save(saved, sizeof(saved));
        if (!chain_moved(d, version, base, kind)) {
            ss_error__restore(saved);
            return rc;
        }
        if ((rc = sink->reset(sink->payload)) < 0)
            return rc;
    }
}

int
ss_dlog__lock(ss_storage_lock **out, ss_dlog *d)
{
    int rc;

    pthread_mutex_lock(&d->files_lock);
    if ((rc = d->storage->lock(out, d->storage)) < 0)
        pthread_mutex_unlock(&d->files_lock);
    return rc;
}

void
ss_dlog__unlock(ss_dlog *d, ss_storage_lock *l)
{
    d->storage->unlock(l);
    pthread_mutex_unlock(&d->files_lock);
}

int
ss_dlog__check_fence(ss_dlog *d, uint64_t max_epoch)
{
    if (!d->fenced && max_epoch > d->epoch) {
        d->fenced = true;
        d->fenced_by = max_epoch;
    }
    if (d->fenced)
        return ss_writer_fenced_error(d->storage, d->epoch, d->fenced_by);
    return 0;
}

/* Does version `v` still load from the listing (its base and every
 * delta up to it)?  Another process's retention may have taken it. */
static bool
version_present(const ss_dlog_versions *vs, uint64_t v)
{
    uint64_t base = ss_dlog_base(vs, v, NULL), u;

    if (v == 0)
        return true;
    if (base != v && !ss_dlog_has_delta(vs, v))
        return false;
    for (u = base + 1; u <= v; u++)
        if (!ss_dlog_has_delta(vs, u))
            return false;
    return true;
}

/* Take this provider's writer epoch, or check it still holds.  Caller
 * holds the locks; `vs` is a listing made under them. */
static int
writer_begin(ss_dlog *d, const ss_dlog_versions *vs)
{
    uint64_t e;
    int rc;

    if (d->epoch)
        return ss_dlog__check_fence(d, vs->max_epoch);
    if ((rc = ss_writer_acquire(&e, d->storage, vs->max_epoch)) < 0)
        return rc;
    d->epoch = e;
    d->storage->writer_epoch = e;
    return 0;
}

/* Begin a writable load.  The pin keeps the writer's base version from
 * retention: a version past the retention window may already have lost
 * its files (and be served only from memory); committing on top of it
 * would make a version no fresh provider can load, so such a load is
 * refused. */
int
ss_dlog_pin(ss_dlog *p, uint64_t version)
{
    uint64_t retain = p->config->min_versions_to_retain;
    ss_storage_lock *l;
    ss_dlog_versions vs;
    int rc = 0;

    if ((rc = ss_dlog__lock(&l, p)) < 0)
        return rc;
    if ((rc = ss_dlog_list(&vs, p->storage)) < 0)
        goto out;
    if ((rc = writer_begin(p, &vs)) < 0)
        goto free;
    /* The checkpoint is the truth: another process may have written
     * (before this one took over) since this provider last looked. */
    if (vs.latest != p->latest)
        p->generation++;
    p->latest = vs.latest;
    if (version > 0 && p->latest >= retain &&
        version < p->latest - retain + 1 && !version_present(&vs, version))
        rc = ss_error_set(SS_ENOTFOUND,
                          "version %" PRIu64 " is older than the "
                          "retained versions of %s (its files were "
                          "deleted by maintenance)",
                          version, p->storage->location);
    if (rc == 0) {
        p->pinned = true;
        p->pin = version;
    }
free:
    ss_dlog_versions_free(&vs);
out:
    ss_dlog__unlock(p, l);
    return rc;
}

void
ss_dlog_unpin(ss_dlog *p)
{
    pthread_mutex_lock(&p->files_lock);
    p->pinned = false;
    pthread_mutex_unlock(&p->files_lock);
}

/* Delete the listed versions above `keep`, newest first, so a crash
 * part-way leaves a shorter prefix of the old lineage, never a gap.
 * The listing, not this process's memory, says which exist: another
 * process may have written them before this one took over. */
static int
truncate_future(ss_dlog *p, const ss_dlog_versions *vs, uint64_t keep)
{
    char name[64];
    uint64_t v;
    int rc;

    for (v = vs->latest; v > keep; v--) {
        snprintf(name, sizeof(name), "%" PRIu64 ".snapshot", v);
        if ((rc = p->storage->remove(p->storage, name)) < 0)
            return rc;
        snprintf(name, sizeof(name), "%" PRIu64 ".meta", v);
        if ((rc = p->storage->remove(p->storage, name)) < 0)
            return rc;
        snprintf(name, sizeof(name), "%" PRIu64 ".delta", v);
        if ((rc = p->storage->remove(p->storage, name)) < 0)
            return rc;
        p->latest = v - 1;
        p->generation++;
    }
    return 0;
}

int
ss_dlog_publish(ss_dlog *d, ss_frame_writer *fw, uint64_t base, uint64_t next)
{
    ss_storage_lock *l;
    ss_dlog_versions vs;
    char other[512];
    int rc;

    if ((rc = ss_dlog__lock(&l, d)) < 0)
        return rc;
    if ((rc = ss_dlog_list(&vs, d->storage)) < 0)
        goto out;
    if ((rc = ss_dlog__check_fence(d, vs.max_epoch)) < 0)
        goto free;
    if (!version_present(&vs, base)) {
        rc = ss_error_set(SS_ENOTFOUND,
                          "version %" PRIu64 " of %s, the base of this "
                          "commit, is no longer in the checkpoint (deleted "
                          "while the batch ran, by retention or by another "
                          "writer)",
                          base, d->storage->location);
        goto free;
    }
    if ((rc = truncate_future(d, &vs, base)) < 0)
        goto free;
    rc = ss_frame_writer_commit_new(fw);
    if (rc == SS_EEXISTS) {
        /* Only a writer that did not honour the lock gets here (a
         * filesystem without working locks): it lost the race. */
        ss_writer_describe(other, sizeof(other), d->storage, vs.max_epoch);
        d->fenced = true;
        d->fenced_by = vs.max_epoch;
        rc = ss_error_set(SS_EFENCED,
                          "%s: version %" PRIu64 " was published by another "
                          "writer while this one (epoch %" PRIu64
                          ") committed it; newest epoch: %s",
                          d->storage->location, next, d->epoch, other);
    }
    if (rc == 0 && next > d->latest)
        d->latest = next;
free:
    ss_dlog_versions_free(&vs);
out:
    ss_dlog__unlock(d, l);
    return rc;
}

void
ss_dlog_note_commit(ss_dlog *d, const ss_frame_writer *fw, uint64_t collect_ns,
                    uint64_t sync_ns, uint64_t records, uint64_t total_ns)
{
    pthread_mutex_lock(&d->files_lock); /* maintenance updates m too */
    d->m.commit_collect_ns = collect_ns;
    d->m.commit_encode_ns = fw->encode_ns;
    d->m.commit_write_ns = fw->write_ns;
    d->m.commit_sync_ns = sync_ns;
    d->m.commit_records = records;
    d->m.commit_bytes = fw->bytes;
    d->m.bytes_written += fw->bytes;
    d->m.files_written++;
    d->m.commit_total_ns = total_ns;
    pthread_mutex_unlock(&d->files_lock);
}
