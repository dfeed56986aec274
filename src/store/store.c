/*
 * store.c -- the public ss_provider / ss_store / ss_iter API.
 *
 * The front owns every check that does not depend on the provider, so
 * each provider sees only well-formed calls.
 *
 * Invariant 1: a store is OPEN until commit or abort.  A COMMITTED
 * store still reads (get, multi-get, scans: the provider keeps its state
 * addressable at the new version) until the provider's next writable
 * load, which makes it STALE: the provider may then move or rebuild that
 * state, so the front frees the store's iterators first and refuses
 * every later read.  An ABORTED store, and any write to a finished store,
 * returns SS_EINVAL (the provider never sees them).
 * Invariant 2: commit and abort bump the store's `mods`; an iterator
 * made before refuses to continue.  Puts and removes do not: provider
 * iterators survive them (each step seeks past the last key returned
 * when the store changed).
 * Invariant 3: at most one writable store per provider; a committed one
 * no longer counts (p->committed, not p->writer).
 * Invariant 4: ss_store_remove_range and the generic multi-get are
 * built from provider calls the front already validates (iter, remove,
 * get), so providers need nothing new for them; a provider may serve
 * multi-get itself (ops->multi_get, rocksdb: batched MultiGet).
 * Invariant 5: every entry point turns its handle argument into the
 * object with one SS_DECODE_* (handles.h) before anything else, and
 * internal helpers take objects only; every object hands out the value
 * ss_handle__register gave it and releases it when freed
 * (tests/lint/handle_decode.sh checks the first half).
 * Invariant 6: freeing is a cascade: a provider frees every store it
 * made (writer, committed, read-only and stale ones: p->others), a store
 * its iterators.  With checked handles (convention 9) an iterator is
 * freed with its store, its token going stale; without, a raw pointer
 * cannot be invalidated, so the iterator is detached (ss_iter_next
 * refuses it) and stays the caller's to free.
 * Invariant 7: a store's families are s->live: its version's (the
 * provider's cf_live at load) plus the batch's creates, less its drops.
 * Every call naming a family checks it is live (check_store), so a
 * provider never sees a family its store lacks.  A drop removes the
 * family's keys through the provider's remove (as remove_range does),
 * then tells the provider (cf_drop), which records the drop in its
 * commit (format/frame.h, FAMILIES).  Families declared with
 * ss_provider_cf are in every store the provider loads and cannot be
 * dropped.
 *
 *   store:  OPEN --commit--> COMMITTED --next writable load--> STALE
 *             \---abort----> ABORTED      (free from any state)
 */
#include "statestore.h"

#include "providers/provider.h"
#include "store/handles.h"
#include "store/options.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_OPEN, ST_COMMITTED, ST_ABORTED };

/* Lists (invariant 8). */
#define LIST_VALUES_PREFIX "\x1fL"
#define SS_MAX_CF_NAME 255u
#define LIST_MAX_KEY (SS_MAX_KEY_LEN - 10u)

static ss_slice
ss_slice_of(const void *data, size_t len)
{
    ss_slice r;

    r.data = data;
    r.len = len;
    return r;
}

struct ss_provider {
    void *handle; /* what the caller holds (handles.h) */
    const ss_provider_ops *ops;
    void *impl;
    ss_storage *storage;
    ss_config config;
    ss_cf_table cfs;
    char *location;
    ss_store *writer;
    ss_store *committed; /* committed writable store, still readable */
    ss_store *others;    /* read-only and stale stores, freed at close */
    size_t stores;       /* open store handles */
    /* A failed commit poisons the provider until it is reopened
     * (statestore.h): loads and commits then return SS_EFATAL. */
    bool fatal;
    int fatal_code; /* SS_EFATAL, or SS_EFENCED: another writer took over */
    char fatal_msg[512];
};

struct ss_store {
    void *handle; /* what the caller holds (handles.h) */
    ss_provider *p;
    void *impl;
    int state;
    bool readonly;
    bool stale; /* committed, then the provider loaded another writer */
    uint64_t version;
    uint64_t mods;
    ss_cf_set live;       /* its families (invariant 7) */
    ss_cf_set dropped;    /* dropped by this store's batch */
    bool all_live;        /* provider without cf_live: every family */
    ss_iter *iters;       /* live iterators, freed or detached with it */
    ss_store *next_other; /* the next in p->others */
};

struct ss_iter {
    void *handle; /* what the caller holds (handles.h) */
    ss_store *s;
    void *impl;
    uint64_t mods;
    ss_iter *next;
    unsigned char *bounds; /* owned copies of prefix/start/end */
    /* A list family's keys (heads) come without values; a list's values
     * come with its key (invariant 8). */
    bool heads;
    ss_slice list_key; /* into bounds */
};

ss_slice
ss_slice_str(const char *s)
{
    ss_slice r;

    r.data = s;
    r.len = s ? strlen(s) : 0;
    return r;
}

/* -------------------------------------------------------------- provider */

int
ss_provider_open(ss_provider **out, const char *location,
                 const char *const *options, size_t n_options)
{
    ss_provider *p = NULL;
    ss_provider_env env;
    unsigned id;
    int rc;

    if (!out)
        return ss_error_set(SS_EINVAL, "ss_provider_open: out is NULL");
    *out = NULL;
    if (!location || !location[0])
        return ss_error_set(SS_EINVAL, "ss_provider_open: location is "
                                       "empty");
    p = calloc(1, sizeof(*p));
    if (!p || !(p->location = strdup(location))) {
        free(p);
        return ss_error_set(SS_ENOMEM, "out of memory opening %s", location);
    }
    if ((rc = ss_handle__register(&p->handle, SS_HANDLE_PROVIDER, p)) < 0)
        goto fail;
    ss_config_defaults(&p->config);
    if ((rc = ss_config_parse(&p->config, options, n_options)) < 0)
        goto fail;
    p->ops = ss_provider__find(p->config.provider);
    if (!p->ops) {
        rc = ss_error_set(SS_EINVAL,
                          "option 'provider': provider '%s' is "
                          "not built into this library",
                          p->config.provider);
        goto fail;
    }
    if ((rc = ss_cf_table_declare(&id, &p->cfs, "default", 0)) < 0)
        goto fail;
    ss_cf_set_add(&p->cfs.declared, id);
    if ((rc = ss_storage_open(&p->storage, location)) < 0)
        goto fail;
    env.location = p->location;
    env.storage = p->storage;
    env.config = &p->config;
    env.cfs = &p->cfs;
    if ((rc = p->ops->open(&p->impl, &env)) < 0)
        goto fail;
    *out = p->handle;
    return 0;
fail:
    if (p->handle)
        ss_handle__release(p->handle);
    if (p->storage)
        p->storage->free(p->storage);
    free(p->location);
    free(p);
    return ss_error_wrap(rc, "opening %s", location);
}

static int
check_provider(const ss_provider *p, const char *fn)
{
    if (!p)
        return ss_error_set(SS_EINVAL, "%s: provider is NULL", fn);
    return 0;
}

static int declare_family(unsigned *out, unsigned *values, ss_provider *p,
                          const char *name, unsigned flags, const char *fn);

int
ss_provider_cf(unsigned *out, ss_provider *p, const char *name, unsigned flags)
{
    unsigned values;
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_cf")) < 0 ||
        (rc = check_provider(p, "ss_provider_cf")) < 0)
        return rc;
    if (!out || !name)
        return ss_error_set(SS_EINVAL, "ss_provider_cf: out or name is "
                                       "NULL");
    if (p->stores > 0)
        return ss_error_set(SS_EINVAL,
                            "ss_provider_cf('%s'): declare "
                            "column families before loading a store",
                            name);
    if ((rc = declare_family(out, &values, p, name, flags, "ss_provider_cf")) <
        0)
        return rc;
    ss_cf_set_add(&p->cfs.declared, *out);
    if (values != SS_MAX_CFS)
        ss_cf_set_add(&p->cfs.declared, values);
    return 0;
}

static int
fatal_error(const ss_provider *p)
{
    if (p->fatal_code == SS_EFENCED)
        return ss_error_set(SS_EFENCED, "%s", p->fatal_msg);
    return ss_error_set(SS_EFATAL,
                        "provider on %s failed earlier and must be "
                        "reopened: %s",
                        p->location, p->fatal_msg);
}

static void
retire(ss_store *s)
{
    ss_iter *it;

    for (it = s->iters; it; it = it->next) {
        s->p->ops->iter_free(it->impl);
        it->impl = NULL;
    }
    s->stale = true;
    s->p->committed = NULL;
    s->next_other = s->p->others;
    s->p->others = s;
}

/* How a store is loaded: the provider's one writable store, a read-only
 * store built from files, or a read view (served from memory when it
 * can be). */
typedef enum { LOAD_WRITE, LOAD_READONLY, LOAD_VIEW } load_mode;

static int
load(ss_store **out, ss_provider *p, uint64_t version, load_mode mode)
{
    bool readonly = mode != LOAD_WRITE;
    ss_store *s;
    int rc;

    if (!out)
        return ss_error_set(SS_EINVAL, "load: out is NULL");
    *out = NULL;
    if ((rc = check_provider(p, "load")) < 0)
        return rc;
    /* A fenced provider still reads: its files are the checkpoint's. */
    if (p->fatal && !(readonly && p->fatal_code == SS_EFENCED))
        return fatal_error(p);
    if (!readonly && p->writer)
        return ss_error_set(SS_EBUSY,
                            "%s: a writable store (version %" PRIu64
                            ") is already open; commit, abort or "
                            "free it first",
                            p->location, p->writer->version);
    s = calloc(1, sizeof(*s));
    if (!s)
        return ss_error_set(SS_ENOMEM, "out of memory loading version %" PRIu64,
                            version);
    if ((rc = ss_handle__register(&s->handle, SS_HANDLE_STORE, s)) < 0) {
        free(s);
        return rc;
    }
    /* The load may move or rebuild the state the committed store reads
     * (invariant 1): retire it and its iterators first.  Views need no
     * such care: providers keep them correct. */
    if (!readonly && p->committed)
        retire(p->committed);
    if (mode == LOAD_VIEW && p->ops->view)
        rc = p->ops->view(&s->impl, p->impl, version);
    else
        rc = p->ops->load(&s->impl, p->impl, version, readonly);
    if (rc < 0) {
        ss_handle__release(s->handle);
        free(s);
        return rc;
    }
    s->p = p;
    s->readonly = readonly;
    s->version = version;
    s->state = ST_OPEN;
    if (p->ops->cf_live)
        p->ops->cf_live(&s->live, s->impl);
    else
        s->all_live = true;
    if (!readonly) {
        p->writer = s;
    } else {
        s->next_other = p->others;
        p->others = s;
    }
    p->stores++;
    *out = s->handle;
    return 0;
}

int
ss_provider_load(ss_store **out, ss_provider *p, uint64_t version)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_load")) < 0) {
        if (out)
            *out = NULL;
        return rc;
    }
    return load(out, p, version, LOAD_WRITE);
}

int
ss_provider_load_readonly(ss_store **out, ss_provider *p, uint64_t version)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_load_readonly")) < 0) {
        if (out)
            *out = NULL;
        return rc;
    }
    return load(out, p, version, LOAD_READONLY);
}

int
ss_provider_load_view(ss_store **out, ss_provider *p, uint64_t version)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_load_view")) < 0) {
        if (out)
            *out = NULL;
        return rc;
    }
    return load(out, p, version, LOAD_VIEW);
}

int
ss_provider_latest(uint64_t *out, ss_provider *p)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_latest")) < 0 ||
        (rc = check_provider(p, "ss_provider_latest")) < 0)
        return rc;
    if (!out)
        return ss_error_set(SS_EINVAL, "ss_provider_latest: out is NULL");
    return p->ops->latest(out, p->impl);
}

int
ss_provider_maintenance(ss_provider *p)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_maintenance")) < 0 ||
        (rc = check_provider(p, "ss_provider_maintenance")) < 0)
        return rc;
    return p->ops->maintenance(p->impl, false);
}

int
ss_provider_snapshot(ss_provider *p)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_snapshot")) < 0 ||
        (rc = check_provider(p, "ss_provider_snapshot")) < 0)
        return rc;
    return p->ops->maintenance(p->impl, true);
}

int
ss_provider_metrics(ss_metrics *out, ss_provider *p)
{
    int rc;

    if ((rc = SS_DECODE_PROVIDER(p, "ss_provider_metrics")) < 0 ||
        (rc = check_provider(p, "ss_provider_metrics")) < 0)
        return rc;
    if (!out)
        return ss_error_set(SS_EINVAL, "ss_provider_metrics: out is NULL");
    if (out->version != SS_METRICS_VERSION)
        return ss_error_set(SS_EINVAL,
                            "ss_provider_metrics: struct "
                            "version %u, expected %u (set out->version)",
                            out->version, SS_METRICS_VERSION);
    p->ops->metrics(out, p->impl);
    return 0;
}

static void store_release(ss_store *s);

void
ss_provider_close(ss_provider *p)
{
    if (SS_DECODE_PROVIDER(p, "ss_provider_close") < 0 || !p)
        return;
    /* Stores left open abort and go with it (invariant 6). */
    if (p->writer)
        store_release(p->writer);
    if (p->committed)
        store_release(p->committed);
    while (p->others)
        store_release(p->others);
    p->ops->close(p->impl);
    p->storage->free(p->storage);
    ss_handle__release(p->handle);
    free(p->location);
    free(p);
}

/* ----------------------------------------------------------------- store */

/* What a call needs of its store (invariant 1). */
enum { NEED_READ, NEED_OPEN, NEED_WRITE };

static int
store_readable(const ss_store *s, const char *fn)
{
    if (s->state == ST_OPEN || (s->state == ST_COMMITTED && !s->stale))
        return 0;
    if (s->state == ST_COMMITTED)
        return ss_error_set(SS_EINVAL,
                            "%s: store (version %" PRIu64 ") was "
                            "committed and the provider has since "
                            "loaded another writable store, so its "
                            "state is gone; free it",
                            fn, s->version);
    return ss_error_set(SS_EINVAL,
                        "%s: store (version %" PRIu64 ") was aborted; "
                        "load the version again to read it",
                        fn, s->version);
}

static int
check_store(const ss_store *s, const char *fn, unsigned cf, int need)
{
    int rc;

    if (!s)
        return ss_error_set(SS_EINVAL, "%s: store is NULL", fn);
    if (need == NEED_READ && (rc = store_readable(s, fn)) < 0)
        return rc;
    if (need != NEED_READ && s->state != ST_OPEN)
        return ss_error_set(
            SS_EINVAL,
            "%s: store (version %" PRIu64 ") was "
            "already %s%s",
            fn, s->version, s->state == ST_COMMITTED ? "committed" : "aborted",
            s->state == ST_COMMITTED ? " (it still reads; writes need the "
                                       "next version loaded)"
                                     : "");
    if (need == NEED_WRITE && s->readonly)
        return ss_error_set(SS_EINVAL,
                            "%s: store (version %" PRIu64 ") is "
                            "read-only",
                            fn, s->version);
    if (cf >= s->p->cfs.count)
        return ss_error_set(SS_EINVAL,
                            "%s: column family %u is not "
                            "declared",
                            fn, cf);
    if (!s->all_live && !ss_cf_set_has(&s->live, cf) &&
        ss_cf_set_has(&s->dropped, cf))
        return ss_error_set(SS_EINVAL, "%s: family '%s' was dropped", fn,
                            s->p->cfs.cf[cf].name);
    if (!s->all_live && !ss_cf_set_has(&s->live, cf))
        return ss_error_set(SS_EINVAL,
                            "%s: family '%s' does not exist in this "
                            "store (version %" PRIu64 ")",
                            fn, s->p->cfs.cf[cf].name, s->version);
    return 0;
}

static int
check_slice(ss_slice x, const char *fn, const char *what)
{
    if (x.len > 0 && !x.data)
        return ss_error_set(SS_EINVAL, "%s: %s has length %zu but NULL data",
                            fn, what, x.len);
    return 0;
}

/* A too-long key is SS_ELIMIT where the header documents it (put) and
 * SS_EINVAL elsewhere: no such key can exist. */
static int
check_key(ss_slice key, const char *fn, int too_long)
{
    int rc;

    if ((rc = check_slice(key, fn, "key")) < 0)
        return rc;
    if (key.len == 0)
        return ss_error_set(SS_EINVAL,
                            "%s: empty key (keys are 1..%u "
                            "bytes)",
                            fn, SS_MAX_KEY_LEN);
    if (key.len > SS_MAX_KEY_LEN)
        return ss_error_set(too_long,
                            "%s: key length %zu exceeds the "
                            "maximum %u",
                            fn, key.len, SS_MAX_KEY_LEN);
    return 0;
}

/* Calls that read or write single values refuse list families. */
static int
not_list(const ss_store *s, unsigned cf, const char *fn)
{
    if (!(s->p->cfs.cf[cf].flags & SS_CF_LIST))
        return 0;
    return ss_error_set(SS_EINVAL,
                        "%s: family '%s' holds lists: use "
                        "ss_store_append, ss_store_put_list or "
                        "ss_store_list_iter",
                        fn, s->p->cfs.cf[cf].name);
}

static int remove_list(ss_store *s, unsigned cf, ss_slice key);

int
ss_store_get(ss_slice *out, ss_store *s, unsigned cf, ss_slice key)
{
    int rc;

    if ((rc = SS_DECODE_STORE(s, "ss_store_get")) < 0 ||
        (rc = check_store(s, "ss_store_get", cf, NEED_READ)) < 0 ||
        (rc = not_list(s, cf, "ss_store_get")) < 0 ||
        (rc = check_key(key, "ss_store_get", SS_EINVAL)) < 0)
        return rc;
    if (!out)
        return ss_error_set(SS_EINVAL, "ss_store_get: out is NULL");
    return s->p->ops->get(out, s->impl, cf, key);
}

int
ss_store_put(ss_store *s, unsigned cf, ss_slice key, ss_slice value)
{
    int rc;

    if ((rc = SS_DECODE_STORE(s, "ss_store_put")) < 0 ||
        (rc = check_store(s, "ss_store_put", cf, NEED_WRITE)) < 0 ||
        (rc = not_list(s, cf, "ss_store_put")) < 0 ||
        (rc = check_key(key, "ss_store_put", SS_ELIMIT)) < 0 ||
        (rc = check_slice(value, "ss_store_put", "value")) < 0)
        return rc;
    if (value.len > SS_MAX_VALUE_LEN)
        return ss_error_set(SS_ELIMIT,
                            "ss_store_put: value length %zu "
                            "exceeds the maximum %u",
                            value.len, SS_MAX_VALUE_LEN);
    return s->p->ops->put(s->impl, cf, key, value);
}

int
ss_store_remove(ss_store *s, unsigned cf, ss_slice key)
{
    int rc;

    if ((rc = SS_DECODE_STORE(s, "ss_store_remove")) < 0 ||
        (rc = check_store(s, "ss_store_remove", cf, NEED_WRITE)) < 0 ||
        (rc = check_key(key, "ss_store_remove", SS_EINVAL)) < 0)
        return rc;
    if (s->p->cfs.cf[cf].flags & SS_CF_LIST)
        return remove_list(s, cf, key);
    return s->p->ops->remove(s->impl, cf, key);
}

int
ss_store_commit(uint64_t *version_out, ss_store *s)
{
    uint64_t v;
    int rc;

    if ((rc = SS_DECODE_STORE(s, "ss_store_commit")) < 0 ||
        (rc = check_store(s, "ss_store_commit", 0, NEED_WRITE)) < 0)
        return rc;
    if (s->p->fatal)
        return fatal_error(s->p);
    s->mods++;
    if ((rc = s->p->ops->commit(&v, s->impl)) < 0) {
        s->p->fatal = true;
        s->p->fatal_code = rc == SS_EFENCED ? SS_EFENCED : SS_EFATAL;
        snprintf(s->p->fatal_msg, sizeof(s->p->fatal_msg), "%s",
                 ss_error_last());
        return rc;
    }
    s->state = ST_COMMITTED;
    s->version = v;
    s->p->writer = NULL;
    s->p->committed = s;
    if (version_out)
        *version_out = v;
    return 0;
}

int
ss_store_abort(ss_store *s)
{
    int rc;

    if ((rc = SS_DECODE_STORE(s, "ss_store_abort")) < 0 ||
        (rc = check_store(s, "ss_store_abort", 0, NEED_OPEN)) < 0)
        return rc;
    s->mods++;
    if (!s->readonly)
        s->p->ops->abort(s->impl);
    s->state = ST_ABORTED;
    return 0;
}

uint64_t
ss_store_version(const ss_store *store)
{
    ss_store *s = (ss_store *)store;

    if (SS_DECODE_STORE(s, "ss_store_version") < 0)
        return 0;
    return s ? s->version : 0;
}

static void iter_release(ss_iter *it);

/* Invariant 6. */
static void
store_release(ss_store *s)
{
    ss_store **pp;
    ss_iter *it, *next;

    for (it = s->iters; it; it = next) {
        next = it->next;
        if (it->impl)
            s->p->ops->iter_free(it->impl);
        it->impl = NULL;
        it->s = NULL;
        if (ss_handle__checked())
            iter_release(it);
    }
    s->p->ops->store_free(s->impl);
    if (s->p->writer == s)
        s->p->writer = NULL;
    if (s->p->committed == s)
        s->p->committed = NULL;
    for (pp = &s->p->others; *pp; pp = &(*pp)->next_other)
        if (*pp == s) {
            *pp = s->next_other;
            break;
        }
    s->p->stores--;
    ss_handle__release(s->handle);
    free(s);
}

void
ss_store_free(ss_store *s)
{
    if (SS_DECODE_STORE(s, "ss_store_free") < 0 || !s)
        return;
    store_release(s);
}

/* ------------------------------------------------------------- iterators */

/* list_values: the iterator walks one list's values (ss_store_list_iter):
 * `prefix` is the list's prefix, and steps return the list's key. */
static int
make_iter(ss_iter **out, ss_store *s, unsigned cf, ss_slice prefix,
          ss_slice start, ss_slice end, const char *fn, bool list_values)
{
    ss_iter *it;
    ss_scan scan;
    unsigned char *b;
    int rc;

    if (!out)
        return ss_error_set(SS_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if ((rc = check_store(s, fn, cf, NEED_READ)) < 0 ||
        (rc = check_slice(prefix, fn, "prefix")) < 0 ||
        (rc = check_slice(start, fn, "start")) < 0 ||
        (rc = check_slice(end, fn, "end")) < 0)
        return rc;
    it = calloc(1, sizeof(*it));
    b = malloc(prefix.len + start.len + end.len + 1);
    if (!it || !b) {
        free(it);
        free(b);
        return ss_error_set(SS_ENOMEM, "%s: out of memory", fn);
    }
    /* Own copies: the caller's bound buffers may not outlive the call. */
    memcpy(b, prefix.data ? prefix.data : "", prefix.len);
    memcpy(b + prefix.len, start.data ? start.data : "", start.len);
    memcpy(b + prefix.len + start.len, end.data ? end.data : "", end.len);
    scan.prefix.data = b;
    scan.prefix.len = prefix.len;
    scan.start.data = b + prefix.len;
    scan.start.len = start.len;
    scan.end.data = b + prefix.len + start.len;
    scan.end.len = end.len;
    if ((rc = ss_handle__register(&it->handle, SS_HANDLE_ITER, it)) < 0 ||
        (rc = s->p->ops->iter(&it->impl, s->impl, cf, &scan)) < 0) {
        if (it->handle)
            ss_handle__release(it->handle);
        free(it);
        free(b);
        return rc;
    }
    it->bounds = b;
    it->heads = (s->p->cfs.cf[cf].flags & SS_CF_LIST) != 0;
    if (list_values)
        it->list_key = ss_slice_of(b + 2, prefix.len - 2);
    it->s = s;
    it->mods = s->mods;
    it->next = s->iters;
    s->iters = it;
    *out = it->handle;
    return 0;
}

int
ss_store_iter(ss_iter **out, ss_store *s, unsigned cf)
{
    ss_slice none = {NULL, 0};
    int rc;

    if (out)
        *out = NULL;
    if ((rc = SS_DECODE_STORE(s, "ss_store_iter")) < 0)
        return rc;
    return make_iter(out, s, cf, none, none, none, "ss_store_iter", false);
}

int
ss_store_prefix_scan(ss_iter **out, ss_store *s, unsigned cf, ss_slice prefix)
{
    ss_slice none = {NULL, 0};
    int rc;

    if (out)
        *out = NULL;
    if ((rc = SS_DECODE_STORE(s, "ss_store_prefix_scan")) < 0)
        return rc;
    return make_iter(out, s, cf, prefix, none, none, "ss_store_prefix_scan",
                     false);
}

int
ss_store_range_scan(ss_iter **out, ss_store *s, unsigned cf, ss_slice start,
                    ss_slice end)
{
    ss_slice none = {NULL, 0};
    int rc;

    if (out)
        *out = NULL;
    if ((rc = SS_DECODE_STORE(s, "ss_store_range_scan")) < 0 ||
        (rc = check_store(s, "ss_store_range_scan", cf, NEED_READ)) < 0)
        return rc;
    if (!(s->p->cfs.cf[cf].flags & SS_CF_ORDERED))
        return ss_error_set(SS_EINVAL,
                            "ss_store_range_scan: column family "
                            "'%s' is not ordered (declare it with "
                            "SS_CF_ORDERED)",
                            s->p->cfs.cf[cf].name);
    return make_iter(out, s, cf, none, start, end, "ss_store_range_scan",
                     false);
}

int
ss_iter_next(ss_iter *it, ss_slice *key_out, ss_slice *value_out)
{
    int rc;

    if ((rc = SS_DECODE_ITER(it, "ss_iter_next")) < 0)
        return rc;
    if (!it)
        return ss_error_set(SS_EINVAL, "ss_iter_next: iterator is NULL");
    if (!it->s)
        return ss_error_set(SS_EINVAL, "ss_iter_next: its store was freed");
    if (store_readable(it->s, "ss_iter_next") < 0)
        return SS_EINVAL;
    if (it->mods != it->s->mods)
        return ss_error_set(SS_EINVAL,
                            "ss_iter_next: the store was committed "
                            "or aborted after the iterator was created");
    if ((rc = it->s->p->ops->iter_next(it->impl, key_out, value_out)) < 0)
        return rc;
    if (it->list_key.data && key_out)
        *key_out = it->list_key;
    if (it->heads && value_out) /* a list head's bytes are ours */
        *value_out = ss_slice_of(NULL, 0);
    return 0;
}

static void
iter_release(ss_iter *it)
{
    ss_iter **pp;

    if (it->s) {
        for (pp = &it->s->iters; *pp != it; pp = &(*pp)->next)
            ;
        *pp = it->next;
        if (it->impl)
            it->s->p->ops->iter_free(it->impl);
    }
    ss_handle__release(it->handle);
    free(it->bounds);
    free(it);
}

void
ss_iter_free(ss_iter *it)
{
    if (SS_DECODE_ITER(it, "ss_iter_free") < 0 || !it)
        return;
    iter_release(it);
}

/* Remove every key `scan` yields from family cf, through the provider's
 * remove (invariant 7), counting them in *removed. */
static int
remove_scan(ss_store *s, unsigned cf, const ss_scan *scan, uint64_t *removed)
{
    ss_slice k;
    void *it = NULL;
    int rc;

    /* Iterators survive writes (statestore.h, ss_iter_next) and the key
     * slice survives the remove of its key. */
    if ((rc = s->p->ops->iter(&it, s->impl, cf, scan)) < 0)
        return rc;
    while ((rc = s->p->ops->iter_next(it, &k, NULL)) == 0) {
        if ((rc = s->p->ops->remove(s->impl, cf, k)) < 0)
            break;
        (*removed)++;
    }
    s->p->ops->iter_free(it);
    return rc == SS_EDONE ? 0 : rc;
}

/* ------------------------------------------------------ batch reads/writes */

int
ss_store_multi_get(ss_slice *values_out, int *status_out, ss_store *s,
                   unsigned cf, const ss_slice *keys, size_t n)
{
    const char *fn = "ss_store_multi_get";
    size_t i;
    int rc, found = 0;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_store(s, fn, cf, NEED_READ)) < 0 ||
        (rc = not_list(s, cf, fn)) < 0)
        return rc;
    if (n > 0 && (!values_out || !status_out || !keys))
        return ss_error_set(SS_EINVAL,
                            "%s: values_out, status_out or keys is "
                            "NULL",
                            fn);
    if (n > INT32_MAX)
        return ss_error_set(SS_EINVAL, "%s: %zu keys (at most %d per call)", fn,
                            n, (int)INT32_MAX);
    /* Every key is checked before any lookup, so a bad one fails the
     * call without partial results. */
    for (i = 0; i < n; i++)
        if ((rc = check_key(keys[i], fn, SS_EINVAL)) < 0)
            return ss_error_wrap(rc, "%s: key %zu of %zu", fn, i, n);
    if (s->p->ops->multi_get) {
        if ((rc = s->p->ops->multi_get(values_out, status_out, s->impl, cf,
                                       keys, n)) < 0)
            return rc;
    } else {
        for (i = 0; i < n; i++) {
            rc = s->p->ops->get(&values_out[i], s->impl, cf, keys[i]);
            if (rc < 0 && rc != SS_ENOTFOUND)
                return rc;
            status_out[i] = rc;
        }
    }
    for (i = 0; i < n; i++) {
        if (status_out[i] == 0) {
            found++;
        } else {
            values_out[i].data = NULL;
            values_out[i].len = 0;
        }
    }
    return found;
}

int
ss_store_remove_range(ss_store *s, unsigned cf, ss_slice start, ss_slice end)
{
    const char *fn = "ss_store_remove_range";
    ss_scan scan;
    uint64_t removed = 0;
    int rc;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_store(s, fn, cf, NEED_WRITE)) < 0 ||
        (rc = not_list(s, cf, fn)) < 0 ||
        (rc = check_slice(start, fn, "start")) < 0 ||
        (rc = check_slice(end, fn, "end")) < 0)
        return rc;
    if (!(s->p->cfs.cf[cf].flags & SS_CF_ORDERED))
        return ss_error_set(SS_EINVAL,
                            "%s: column family '%s' is not ordered "
                            "(declare it with SS_CF_ORDERED)",
                            fn, s->p->cfs.cf[cf].name);
    /* Providers may memcmp the bounds: never hand them NULL data. */
    scan.prefix.data = "";
    scan.prefix.len = 0;
    scan.start = start;
    scan.end = end;
    if (!scan.start.data)
        scan.start.data = "";
    if (!scan.end.data)
        scan.end.data = "";
    if ((rc = remove_scan(s, cf, &scan, &removed)) < 0)
        return ss_error_wrap(rc, "%s: after removing %" PRIu64 " keys", fn,
                             removed);
    return 0;
}

/* ---------------------------------------------------------------- families */

/* Whether `name` is a list family's hidden values family. */
static bool
is_values_name(const char *name)
{
    return strncmp(name, LIST_VALUES_PREFIX, 2) == 0;
}

/* The id of list family cf's values family (invariant 8). */
static int
values_cf(unsigned *out, const ss_cf_table *t, unsigned cf)
{
    char name[SS_MAX_CF_NAME + 3];
    unsigned i;

    snprintf(name, sizeof(name), "%s%s", LIST_VALUES_PREFIX, t->cf[cf].name);
    for (i = 0; i < t->count; i++)
        if (strcmp(t->cf[i].name, name) == 0) {
            *out = i;
            return 0;
        }
    return ss_error_set(SS_ECORRUPT,
                        "list family '%s' has no values family (its files "
                        "lack family \\x1fL%s)",
                        t->cf[cf].name, t->cf[cf].name);
}

/* Check a family name and flags a caller gives; declare the family (and,
 * for a list family, its values family) in the provider's table. */
static int
declare_family(unsigned *out, unsigned *values, ss_provider *p,
               const char *name, unsigned flags, const char *fn)
{
    char hidden[SS_MAX_CF_NAME + 3];
    unsigned id, before = p->cfs.count;
    int rc;

    *values = SS_MAX_CFS;
    if (is_values_name(name))
        return ss_error_set(SS_EINVAL,
                            "%s('%s'): names starting with \\x1fL are "
                            "reserved",
                            fn, name);
    if ((flags & SS_CF_LIST) && strlen(name) > SS_MAX_CF_NAME - 2)
        return ss_error_set(SS_EINVAL,
                            "%s: a list family's name is 1..%u bytes "
                            "(got %zu)",
                            fn, SS_MAX_CF_NAME - 2, strlen(name));
    if ((rc = ss_cf_table_declare(&id, &p->cfs, name, flags)) < 0)
        return ss_error_wrap(rc, "%s", fn);
    if (p->cfs.count != before && (rc = p->ops->cf_added(p->impl, id)) < 0)
        return rc;
    *out = id;
    if (!(flags & SS_CF_LIST))
        return 0;
    snprintf(hidden, sizeof(hidden), "%s%s", LIST_VALUES_PREFIX, name);
    before = p->cfs.count;
    if ((rc = ss_cf_table_declare(values, &p->cfs, hidden, SS_CF_ORDERED)) < 0)
        return ss_error_wrap(rc, "%s", fn);
    if (p->cfs.count != before && (rc = p->ops->cf_added(p->impl, *values)) < 0)
        return rc;
    return 0;
}

static int
create_in_store(ss_store *s, unsigned id, const char *fn)
{
    int rc;

    if (id == SS_MAX_CFS || ss_cf_set_has(&s->live, id))
        return 0;
    if ((rc = s->p->ops->cf_create(s->impl, id)) < 0)
        return ss_error_wrap(rc, "%s('%s')", fn, s->p->cfs.cf[id].name);
    ss_cf_set_add(&s->live, id);
    return 0;
}

int
ss_store_cf_create(unsigned *out, ss_store *s, const char *name, unsigned flags)
{
    const char *fn = "ss_store_cf_create";
    unsigned id, values;
    int rc;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_store(s, fn, SS_CF_DEFAULT, NEED_WRITE)) < 0)
        return rc;
    if (!out || !name)
        return ss_error_set(SS_EINVAL, "%s: out or name is NULL", fn);
    if (!s->p->ops->cf_create)
        return ss_error_set(SS_EINVAL,
                            "%s('%s'): provider '%s' cannot create "
                            "families in a store (use ss_provider_cf)",
                            fn, name, s->p->ops->name);
    if ((rc = declare_family(&id, &values, s->p, name, flags, fn)) < 0 ||
        (rc = create_in_store(s, id, fn)) < 0 ||
        (rc = create_in_store(s, values, fn)) < 0)
        return rc;
    *out = id;
    return 0;
}

/* Drop family cf from s's batch with its keys (invariant 7). */
static int
drop_from_store(ss_store *s, unsigned cf, const char *fn)
{
    ss_slice none = {"", 0};
    ss_scan scan;
    uint64_t removed = 0;
    int rc;

    scan.prefix = scan.start = scan.end = none;
    if ((rc = remove_scan(s, cf, &scan, &removed)) < 0)
        return ss_error_wrap(
            rc, "%s('%s'): after removing %" PRIu64 " keys (abort the batch)",
            fn, s->p->cfs.cf[cf].name, removed);
    if ((rc = s->p->ops->cf_drop(s->impl, cf)) < 0)
        return rc;
    ss_cf_set_del(&s->live, cf);
    ss_cf_set_add(&s->dropped, cf);
    return 0;
}

int
ss_store_cf_drop(ss_store *s, unsigned cf)
{
    const char *fn = "ss_store_cf_drop";
    unsigned values;
    int rc;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_store(s, fn, cf, NEED_WRITE)) < 0)
        return rc;
    if (cf == SS_CF_DEFAULT)
        return ss_error_set(SS_EINVAL,
                            "%s: the default family cannot be "
                            "dropped",
                            fn);
    if (ss_cf_set_has(&s->p->cfs.declared, cf))
        return ss_error_set(SS_EINVAL,
                            "%s: family '%s' was declared with "
                            "ss_provider_cf, so every store of this "
                            "provider has it; it cannot be dropped",
                            fn, s->p->cfs.cf[cf].name);
    if (!s->p->ops->cf_drop)
        return ss_error_set(SS_EINVAL, "%s: provider '%s' cannot drop families",
                            fn, s->p->ops->name);
    if ((s->p->cfs.cf[cf].flags & SS_CF_LIST) &&
        ((rc = values_cf(&values, &s->p->cfs, cf)) < 0 ||
         (ss_cf_set_has(&s->live, values) &&
          (rc = drop_from_store(s, values, fn)) < 0)))
        return rc;
    return drop_from_store(s, cf, fn);
}

int
ss_store_cf_list(ss_cf_info *out, size_t cap, ss_store *s)
{
    const char *fn = "ss_store_cf_list";
    unsigned i;
    size_t n = 0;
    int rc;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_store(s, fn, SS_CF_DEFAULT, NEED_READ)) < 0)
        return rc;
    if (cap > 0 && !out)
        return ss_error_set(SS_EINVAL, "%s: out is NULL with cap %zu", fn, cap);
    for (i = 0; i < s->p->cfs.count; i++) {
        if ((!s->all_live && !ss_cf_set_has(&s->live, i)) ||
            is_values_name(s->p->cfs.cf[i].name))
            continue;
        if (n < cap) {
            out[n].id = i;
            out[n].flags = s->p->cfs.cf[i].flags & (SS_CF_ORDERED | SS_CF_LIST);
            snprintf(out[n].name, sizeof(out[n].name), "%s",
                     s->p->cfs.cf[i].name);
        }
        n++;
    }
    return (int)n;
}

/* ------------------------------------------------------------------ lists */

/* Family cf of s is a list family, or SS_EINVAL saying what to use. */
static int
is_list(const ss_store *s, unsigned cf, const char *fn)
{
    if (s->p->cfs.cf[cf].flags & SS_CF_LIST)
        return 0;
    return ss_error_set(SS_EINVAL,
                        "%s: family '%s' does not hold lists (create it "
                        "with SS_CF_LIST)",
                        fn, s->p->cfs.cf[cf].name);
}

/* The values' key prefix of list `key`: its length (u16, big-endian),
 * then the key.  A value's key adds its sequence number (u64,
 * big-endian), so one key's values are a prefix scan, in append order. */
static size_t
list_prefix(unsigned char *out, ss_slice key)
{
    out[0] = (unsigned char)(key.len >> 8);
    out[1] = (unsigned char)key.len;
    memcpy(out + 2, key.data, key.len);
    return key.len + 2;
}

static void
put_be64(unsigned char *out, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

/* Checks of a list write: store, family, key; *values its values
 * family. */
static int
check_list_write(unsigned *values, ss_store *s, unsigned cf, ss_slice key,
                 const char *fn)
{
    int rc;

    if ((rc = check_store(s, fn, cf, NEED_WRITE)) < 0 ||
        (rc = is_list(s, cf, fn)) < 0 || (rc = check_key(key, fn, SS_ELIMIT)))
        return rc;
    if (key.len > LIST_MAX_KEY)
        return ss_error_set(SS_ELIMIT,
                            "%s: key length %zu exceeds the maximum %u "
                            "of a list family",
                            fn, key.len, LIST_MAX_KEY);
    return values_cf(values, &s->p->cfs, cf);
}

static int
check_value(ss_slice v, const char *fn)
{
    int rc;

    if ((rc = check_slice(v, fn, "value")) < 0)
        return rc;
    if (v.len > SS_MAX_VALUE_LEN)
        return ss_error_set(SS_ELIMIT,
                            "%s: value length %zu exceeds the "
                            "maximum %u",
                            fn, v.len, SS_MAX_VALUE_LEN);
    return 0;
}

/* Append values[0..n) to list `key` whose head says `next` (the next
 * sequence number), then write the head.  buf holds the key's prefix
 * (plen bytes) and room for a sequence number. */
static int
list_add(ss_store *s, unsigned cf, unsigned values, ss_slice key,
         unsigned char *buf, size_t plen, uint64_t next, const ss_slice *vals,
         size_t n, const char *fn)
{
    unsigned char head[8];
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        put_be64(buf + plen, next + i);
        if ((rc = s->p->ops->put(s->impl, values, ss_slice_of(buf, plen + 8),
                                 vals[i])) < 0)
            return ss_error_wrap(rc,
                                 "%s: list of %zu-byte key, value %zu "
                                 "(abort the batch)",
                                 fn, key.len, i);
    }
    put_be64(head, next + n);
    if ((rc = s->p->ops->put(s->impl, cf, key, ss_slice_of(head, 8))) < 0)
        return ss_error_wrap(rc, "%s: list of %zu-byte key (abort the batch)",
                             fn, key.len);
    return 0;
}

/* Remove list `key` (its head and values); buf holds its prefix. */
static int
list_clear(ss_store *s, unsigned cf, unsigned values, ss_slice key,
           const unsigned char *buf, size_t plen)
{
    ss_slice none = {"", 0};
    ss_scan scan;
    uint64_t removed = 0;
    int rc;

    scan.prefix = ss_slice_of(buf, plen);
    scan.start = scan.end = none;
    if ((rc = remove_scan(s, values, &scan, &removed)) < 0)
        return ss_error_wrap(rc,
                             "removing a list after %" PRIu64
                             " of its values (abort the batch)",
                             removed);
    return s->p->ops->remove(s->impl, cf, key);
}

/* The sequence number list `key`'s next value gets (0: no list). */
static int
list_next(uint64_t *next, ss_store *s, unsigned cf, ss_slice key)
{
    const unsigned char *h;
    ss_slice head;
    int rc, i;

    *next = 0;
    rc = s->p->ops->get(&head, s->impl, cf, key);
    if (rc == SS_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (head.len != 8)
        return ss_error_set(SS_ECORRUPT,
                            "list head of a %zu-byte key in family '%s' "
                            "has %zu bytes, not 8",
                            key.len, s->p->cfs.cf[cf].name, head.len);
    for (h = head.data, i = 0; i < 8; i++)
        *next = *next << 8 | h[i];
    return 0;
}

int
ss_store_append(ss_store *s, unsigned cf, ss_slice key, ss_slice value)
{
    const char *fn = "ss_store_append";
    unsigned char *buf;
    unsigned values;
    uint64_t next;
    size_t plen;
    int rc;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_list_write(&values, s, cf, key, fn)) < 0 ||
        (rc = check_value(value, fn)) < 0)
        return rc;
    if (!(buf = malloc(key.len + 10)))
        return ss_error_set(SS_ENOMEM, "%s: out of memory", fn);
    plen = list_prefix(buf, key);
    if ((rc = list_next(&next, s, cf, key)) == 0)
        rc = list_add(s, cf, values, key, buf, plen, next, &value, 1, fn);
    free(buf);
    return rc;
}

int
ss_store_put_list(ss_store *s, unsigned cf, ss_slice key,
                  const ss_slice *values, size_t n)
{
    const char *fn = "ss_store_put_list";
    unsigned char *buf;
    unsigned vcf;
    uint64_t next;
    size_t i, plen;
    int rc;

    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_list_write(&vcf, s, cf, key, fn)) < 0)
        return rc;
    if (n > 0 && !values)
        return ss_error_set(SS_EINVAL, "%s: values is NULL with n %zu", fn, n);
    for (i = 0; i < n; i++)
        if ((rc = check_value(values[i], fn)) < 0)
            return ss_error_wrap(rc, "%s: value %zu of %zu", fn, i, n);
    if (!(buf = malloc(key.len + 10)))
        return ss_error_set(SS_ENOMEM, "%s: out of memory", fn);
    plen = list_prefix(buf, key);
    /* Sequence numbers go on from the old list's, so an iteration of
     * the list in progress finds the new values after its position. */
    if ((rc = list_next(&next, s, cf, key)) == 0)
        rc = list_clear(s, cf, vcf, key, buf, plen);
    if (rc == 0 && n > 0)
        rc = list_add(s, cf, vcf, key, buf, plen, next, values, n, fn);
    free(buf);
    return rc;
}

int
ss_store_list_iter(ss_iter **out, ss_store *s, unsigned cf, ss_slice key)
{
    const char *fn = "ss_store_list_iter";
    ss_slice none = {NULL, 0};
    unsigned char *buf;
    unsigned values;
    size_t plen;
    int rc;

    if (out)
        *out = NULL;
    if ((rc = SS_DECODE_STORE(s, fn)) < 0 ||
        (rc = check_store(s, fn, cf, NEED_READ)) < 0 ||
        (rc = is_list(s, cf, fn)) < 0 ||
        (rc = check_key(key, fn, SS_EINVAL)) < 0 ||
        (rc = values_cf(&values, &s->p->cfs, cf)) < 0)
        return rc;
    if (!(buf = malloc(key.len + 2)))
        return ss_error_set(SS_ENOMEM, "%s: out of memory", fn);
    plen = list_prefix(buf, key);
    rc =
        make_iter(out, s, values, ss_slice_of(buf, plen), none, none, fn, true);
    free(buf);
    return rc;
}

static int
remove_list(ss_store *s, unsigned cf, ss_slice key)
{
    unsigned char *buf;
    unsigned values;
    int rc;

    if (key.len > LIST_MAX_KEY)
        return 0; /* no such list */
    if ((rc = values_cf(&values, &s->p->cfs, cf)) < 0)
        return rc;
    if (!(buf = malloc(key.len + 2)))
        return ss_error_set(SS_ENOMEM, "ss_store_remove: out of memory");
    rc = list_clear(s, cf, values, key, buf, list_prefix(buf, key));
    free(buf);
    return rc;
}
