/*
 * pool.c -- the partition worker pool: rows split by key hash, and an
 * operator (dedup or window_agg) run on every partition's store.
 *
 *   ss_pool__partition --> ss_pool__run --> worker (xN) --> part_run
 *   (rows -> idx lists)   (start, join)    (claim next)   (load N, apply,
 *                                                          commit N+1)
 *
 * Invariants:
 * 1. A row goes to partition hash % partitions, so a key always meets
 *    its own state; the partition count is part of the query
 *    fingerprint (query.c) and cannot change under a checkpoint.
 * 2. Each partition is run by exactly one thread per operator run; a
 *    worker touches only its own ss_run_part and reads the batch, which
 *    nobody writes while workers run (dedup writes only its own rows of
 *    b->keep).
 * 3. Partition stores are loaded at version N and committed as N+1
 *    (runner.c invariant 2); they stay open until ss_pool__close.
 * 4. Errors are thread-local, so a failed partition keeps its message
 *    in its ss_run_part; ss_pool__run re-raises the lowest-numbered
 *    failure on the calling thread, whatever the thread timing.
 * 5. If threads cannot be started the calling thread (worker 0) runs
 *    the remaining partitions: fewer threads, same result.
 */
#include "runner/runner_int.h"

#include "ops/dedup.h"
#include "util/error.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static int
part_open(ss_runner *r, ss_run_op *o, ss_run_part *p, unsigned i)
{
    const ss_run_options *ro = r->o;
    char path[SS_RUNNER_PATH_MAX];
    int rc;

    if (snprintf(path, sizeof(path), "%s/state/%s/%u", ro->checkpoint, o->name,
                 i) >= (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", ro->checkpoint);
    if ((rc = ss_provider_open(&p->prov, path, ro->store_options,
                               ro->n_store_options)) < 0)
        return ss_error_wrap(rc, "%s", path);
    if (o == &r->agg)
        rc = ss_provider_cf(&p->cf, p->prov, "window_agg", SS_CF_ORDERED);
    else if ((rc = ss_provider_cf(&p->cf, p->prov, "dedup", 0)) >= 0)
        rc = ss_provider_cf(&p->cf2, p->prov, "dedup_time", SS_CF_ORDERED);
    return rc;
}

static int
part_run(ss_runner *r, ss_run_op *o, ss_run_part *p, unsigned i)
{
    ss_run_batch *b = &r->b;
    ss_store *s = NULL;
    ss_metrics m;
    int rc;

    if (!p->prov && (rc = part_open(r, o, p, i)) < 0)
        return rc;
    if ((rc = ss_provider_load(&s, p->prov, r->cur_batch)) < 0) {
        rc = ss_error_wrap(rc, "%s partition %u: loading version %" PRIu64,
                           o->name, i, r->cur_batch);
        goto out;
    }
    if (o == &r->agg)
        rc = ss_wagg__apply(&p->res, s, p->cf, &r->o->wagg, b->recs, p->idx,
                            p->n, b->arena.data, b->vals, r->cur_wm);
    else
        rc =
            ss_dedup__apply(&p->dropped, &p->evicted, b->keep, s, p->cf, p->cf2,
                            b->recs, p->idx, p->n, b->arena.data, r->cur_wm);
    if (rc < 0) {
        rc = ss_error_wrap(rc, "%s partition %u, batch %" PRIu64, o->name, i,
                           r->cur_batch);
        goto out;
    }
    if ((rc = ss_store_commit(NULL, s)) < 0) {
        rc = ss_error_wrap(rc, "%s partition %u: commit of batch %" PRIu64,
                           o->name, i, r->cur_batch);
        goto out;
    }
    m.version = SS_METRICS_VERSION;
    if ((rc = ss_provider_metrics(&m, p->prov)) < 0)
        goto out;
    p->num_keys = m.num_keys;
    p->memory_bytes = m.memory_bytes;
    p->commit_ns = m.commit_total_ns;
    rc = ss_provider_maintenance(p->prov);
out:
    ss_store_free(s);
    return rc;
}

static void *
worker(void *arg)
{
    ss_runner *r = arg;
    unsigned i;

    while ((i = atomic_fetch_add(&r->next_part, 1)) < r->o->partitions) {
        ss_run_part *p = &r->cur_op->parts[i];

        p->rc = part_run(r, r->cur_op, p, i);
        if (p->rc < 0)
            snprintf(p->err, sizeof(p->err), "%s", ss_error_last());
    }
    return NULL;
}

/* Run `o` on every partition, on the worker threads. */
int
ss_pool__run(ss_runner *r, ss_run_op *o)
{
    pthread_t th[256];
    unsigned n = r->threads, i, started = 0;
    int rc = 0;

    if (n > r->o->partitions)
        n = r->o->partitions;
    if (n > 256)
        n = 256;
    r->cur_op = o;
    atomic_store(&r->next_part, 0);
    for (i = 0; i < r->o->partitions; i++)
        o->parts[i].rc = 0;
    for (i = 1; i < n; i++) {
        if (pthread_create(&th[i], NULL, worker, r) != 0)
            break;
        started++;
    }
    worker(r); /* the calling thread is worker 0 */
    for (i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < r->o->partitions; i++)
        if (o->parts[i].rc < 0) {
            rc = ss_error_set(o->parts[i].rc, "%s", o->parts[i].err);
            break;
        }
    return rc;
}

/* Assign rows to partitions by hash (dedup key or group key). */
int
ss_pool__partition(ss_runner *r, ss_run_op *o, int by_dedup)
{
    ss_run_batch *b = &r->b;
    unsigned P = r->o->partitions, i;
    size_t k;

    for (i = 0; i < P; i++)
        o->parts[i].n = 0;
    for (k = 0; k < b->n; k++) {
        ss_run_part *p;

        if (b->keep && !by_dedup && !b->keep[k])
            continue;
        p = &o->parts[(by_dedup ? b->recs[k].dhash : b->recs[k].hash) % P];
        if (p->n == p->cap) {
            size_t ncap = p->cap ? p->cap * 2 : 1024;
            uint32_t *ni = realloc(p->idx, ncap * sizeof(*ni));

            if (!ni)
                return ss_error_set(SS_ENOMEM, "out of memory partitioning");
            p->idx = ni;
            p->cap = ncap;
        }
        p->idx[p->n++] = (uint32_t)k;
    }
    return 0;
}

void
ss_pool__close(ss_runner *r, ss_run_op *o)
{
    unsigned i;

    if (!o->parts)
        return;
    for (i = 0; i < r->o->partitions; i++) {
        ss_provider_close(o->parts[i].prov);
        free(o->parts[i].idx);
        ss_wagg__result_free(&o->parts[i].res);
    }
    free(o->parts);
    o->parts = NULL;
}

void
ss_pool__totals(const ss_runner *r, const ss_run_op *o, uint64_t *keys,
                uint64_t *bytes, uint64_t *commit_ns)
{
    unsigned i;

    *keys = *bytes = *commit_ns = 0;
    if (!o->parts)
        return;
    for (i = 0; i < r->o->partitions; i++) {
        *keys += o->parts[i].num_keys;
        *bytes += o->parts[i].memory_bytes;
        if (o->parts[i].commit_ns > *commit_ns)
            *commit_ns = o->parts[i].commit_ns;
    }
}
