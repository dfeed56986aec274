/*
 * store_model.c -- randomized model-based test of the store API, once per
 * provider config.
 *
 * A seeded PRNG drives random operations against the library and against
 * a plain reference model kept here; after every step they must agree.
 *
 *   SS_TEST_SEED   the seed (default: from the clock); printed first so a
 *                  failure reproduces with SS_TEST_SEED=<seed>
 *   SS_TEST_STEPS  operations per run (default 10000)
 *   SS_TEST_TRACE  if set, print every operation (to shrink a failure)
 *
 * The model.  Keys come from a fixed pool of POOL_KEYS byte strings (1..64
 * bytes, binary, many sharing prefixes), sorted in byte order, so a key is
 * its pool index and an ordered family's order is index order.  A value
 * is a 32-bit id (0 = absent) from which its bytes (0..300 of them) are
 * derived.  So one version's whole contents is a small array
 * cur[NCF][POOL_KEYS], and every committed version is kept, so any
 * version the library still has can be compared.
 *
 * Operations: put, remove (present and absent keys), get (present and
 * absent), full iteration, iteration (full, prefix, range) with puts and
 * removes between its steps (the removed key often the one just
 * returned),
 * prefix scans, range scans on the ordered family, commit, abort, free
 * without commit, load of the latest or any older version on the same
 * provider (served from memory or files), reopening a FRESH provider on
 * the same directory (files only; random compression and
 * max_versions_in_memory, families declared in random order), read-only
 * loads, read views kept open across all of that (checked whole, and
 * iterated while the writer writes), and maintenance; and family "dyn",
 * never declared: created and dropped mid-batch (ss_store_cf_create /
 * ss_store_cf_drop), so the model keeps which versions have it (vdyn)
 * and checks every store's family list (ss_store_cf_list) and that calls
 * on a family the store lacks are refused.
 *
 * What is checked:
 * - the touched key after each put/remove; full contents (iteration and a
 *   get of every pool key) after each load, commit and reopen;
 * - Invariant 1 (DESIGN.md): every committed version loads back
 *   byte-for-byte -- from memory, from files, read-only;
 * - Invariant 4: abort / free discard uncommitted changes;
 * - Invariant 5: a retained version has the same contents however many
 *   snapshots and deltas make it up;
 * - header convention 6: loading V and committing makes V+1 the newest
 *   version; ss_provider_latest says so, no file of a newer version is
 *   left, and the newer versions no longer load;
 * - retention: after maintenance, versions within min_versions_to_retain
 *   of the newest must load; older ones may only fail with SS_ENOTFOUND.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCF 4
#define DYN 3 /* created and dropped in batches, never declared */
#define NO_ID 0xffffffffu
#define POOL_KEYS 72
#define MAX_KEY 64
#define MAX_VAL 300
#define RETAIN 6
#define DEFAULT_STEPS 10000

static const char *const cf_names[NCF] = {NULL, "ord", "aux", "dyn"};
static const unsigned cf_flags[NCF] = {0, SS_CF_ORDERED, 0, 0};
#define ORD 1

typedef uint32_t contents[NCF][POOL_KEYS];

typedef struct pkey {
    unsigned char b[MAX_KEY];
    size_t n;
} pkey;

/* The list family "lst" (SS_CF_LIST): lists of value ids for pool keys
 * 0..LKEYS-1, at most LMAX values each. */
#define LKEYS 6
#define LMAX 10
typedef struct lists {
    uint32_t len[LKEYS];
    uint32_t v[LKEYS][LMAX];
} lists;

/* An open read view and the contents it must keep showing (its version
 * may be overwritten in the model when the writer goes back in time). */
#define MAX_VIEWS 3
typedef struct mview {
    ss_store *s;
    uint64_t v;
    contents c;
    int dyn; /* its version has family "dyn" */
    lists l;
} mview;

typedef struct model {
    ss_test *t;
    uint64_t seed;
    uint64_t rng;
    int step;
    const char *op;

    pkey pool[POOL_KEYS];

    contents *ver;       /* committed versions 0..latest */
    unsigned char *vdyn; /* version has family "dyn" */
    unsigned char *sure; /* version must load (retention) */
    uint64_t latest;
    uint64_t cap;

    ss_provider *p;
    unsigned cf[NCF];
    ss_store *s;   /* the writable store, or NULL */
    uint64_t base; /* version s was loaded at */
    contents cur;  /* s's contents, uncommitted changes included */
    int cur_dyn;   /* s has family "dyn" */
    uint32_t next_val;
    lists *lver; /* each version's lists */
    lists lcur;  /* s's lists */
    unsigned lcf;
    mview views[MAX_VIEWS];
    int nviews;

    unsigned long n_ops[32];
} model;

/* ---------------------------------------------------------------- prng */

static uint64_t
rnd(model *m)
{
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t
below(model *m, uint64_t n)
{
    return n ? rnd(m) % n : 0;
}

/* A family the writable store has. */
static int
pick_f(model *m)
{
    int f = (int)below(m, NCF);

    if (f == DYN && !m->cur_dyn)
        f = (int)below(m, DYN);
    return f;
}

static uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    return x ^ (x >> 33);
}

/* The bytes of value `id` (> 0); returns the length, 0..MAX_VAL. */
static size_t
value_bytes(uint32_t id, unsigned char *buf)
{
    uint64_t h = mix(id);
    size_t len, i;

    /* Mostly short values; every length 0..MAX_VAL occurs. */
    len = h % 4 == 0 ? (size_t)(h >> 8) % (MAX_VAL + 1) : (size_t)(h >> 8) % 24;
    for (i = 0; i < len; i++) {
        if (i % 8 == 0)
            h = mix(h + i);
        buf[i] = (unsigned char)(h >> (8 * (i % 8)));
    }
    return len;
}

/* ---------------------------------------------------------------- keys */

static int
pkey_cmp(const void *a, const void *b)
{
    const pkey *x = a, *y = b;

    return bytes_cmp(x->b, x->n, y->b, y->n);
}

/* Random keys, many sharing prefixes (extensions of earlier keys, and a
 * small alphabet), some with NUL and high bytes; sorted. */
static void
make_pool(model *m)
{
    size_t i, j, len, d;
    pkey k;
    int dup;

    for (i = 0; i < POOL_KEYS; i++) {
        do {
            memset(&k, 0, sizeof(k));
            switch (below(m, 4)) {
            case 0: /* extend an earlier key */
                if (i > 0) {
                    k = m->pool[below(m, i)];
                    if (k.n < MAX_KEY) {
                        len =
                            1 + below(m, MAX_KEY - k.n < 4 ? MAX_KEY - k.n : 4);
                        for (j = 0; j < len; j++)
                            k.b[k.n++] = (unsigned char)rnd(m);
                        break;
                    }
                }
                /* fall through */
            case 1: /* small alphabet, short */
                k.n = 1 + below(m, 6);
                for (j = 0; j < k.n; j++)
                    k.b[j] = "ab\x00\xff"[below(m, 4)];
                break;
            case 2: /* long binary */
                k.n = 1 + below(m, MAX_KEY);
                for (j = 0; j < k.n; j++)
                    k.b[j] = (unsigned char)rnd(m);
                break;
            default: /* printable, medium */
                k.n = 1 + below(m, 16);
                for (j = 0; j < k.n; j++)
                    k.b[j] = (unsigned char)('a' + below(m, 26));
                break;
            }
            dup = 0;
            for (d = 0; d < i; d++)
                if (pkey_cmp(&k, &m->pool[d]) == 0)
                    dup = 1;
        } while (dup);
        m->pool[i] = k;
    }
    qsort(m->pool, POOL_KEYS, sizeof(m->pool[0]), pkey_cmp);
}

/* Pool index of key (k, n), or -1. */
static int
pool_find(const model *m, const void *k, size_t n)
{
    size_t lo = 0, hi = POOL_KEYS, mid;
    int c;

    while (lo < hi) {
        mid = (lo + hi) / 2;
        c = bytes_cmp(m->pool[mid].b, m->pool[mid].n, k, n);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static ss_slice
key_slice(const model *m, size_t i)
{
    return ss_test_slice(m->pool[i].b, m->pool[i].n);
}

/* -------------------------------------------------------------- checks */

static void
note(model *m, const char *op)
{
    m->op = op;
    ss_test_context(m->t,
                    "seed %llu step %d op %s (store at %llu, latest "
                    "%llu); rerun with SS_TEST_SEED=%llu",
                    (unsigned long long)m->seed, m->step, op,
                    (unsigned long long)m->base, (unsigned long long)m->latest,
                    (unsigned long long)m->seed);
}

/* Key i of family f in `s` is what `c` says. */
static void
check_key(model *m, ss_store *s, const contents *c, int f, size_t i)
{
    ss_test *t = m->t;
    unsigned char buf[MAX_VAL];
    ss_slice got = {NULL, 0};
    size_t n;

    if ((*c)[f][i] == 0) {
        SS_CHECK_ERR(SS_ENOTFOUND,
                     ss_store_get(&got, s, m->cf[f], key_slice(m, i)));
        return;
    }
    SS_CHECK_OK(ss_store_get(&got, s, m->cf[f], key_slice(m, i)));
    n = value_bytes((*c)[f][i], buf);
    SS_CHECK_EQ_SLICE(got, ss_test_slice(buf, n));
}

/* Drain `it`; the entries must be exactly the keys i of family f with
 * want[i] set (ordered: in index order), with their model values. */
static void
check_iter(model *m, ss_iter *it, const contents *c, int f,
           const unsigned char *want)
{
    ss_test *t = m->t;
    unsigned char seen[POOL_KEYS] = {0}, buf[MAX_VAL];
    size_t count = 0, expected = 0, i, n;
    int idx, last = -1, rc;
    ss_slice k, v;

    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        idx = pool_find(m, k.data, k.len);
        if (idx < 0)
            SS_FAIL("family %d: iterator returned a key never put "
                    "(len %zu)",
                    f, k.len);
        if (!want[idx] || (*c)[f][idx] == 0)
            SS_FAIL("family %d: iterator returned key %d, which it should "
                    "not (in scan %d, present %d)",
                    f, idx, want[idx], (*c)[f][idx] != 0);
        if (seen[idx])
            SS_FAIL("family %d: key %d returned twice", f, idx);
        if (cf_flags[f] & SS_CF_ORDERED && idx <= last)
            SS_FAIL("family %d: key %d after key %d: not in byte order", f, idx,
                    last);
        seen[idx] = 1;
        last = idx;
        n = value_bytes((*c)[f][idx], buf);
        SS_CHECK_EQ_SLICE(v, ss_test_slice(buf, n));
        count++;
    }
    SS_CHECK_RC(SS_EDONE, rc);
    ss_iter_free(it);
    for (i = 0; i < POOL_KEYS; i++)
        if (want[i] && (*c)[f][i] != 0)
            expected++;
    if (count != expected)
        SS_FAIL("family %d: iterator returned %zu entries, model has %zu", f,
                count, expected);
}

/* s's families are the declared ones plus "dyn" if `dyn`; learns the
 * id of "dyn" (a fresh provider learns it from the files). */
static void
check_families(model *m, ss_store *s, int dyn)
{
    ss_test *t = m->t;
    ss_cf_info info[NCF + 2];
    ss_slice got;
    int n, i, f, found[NCF] = {0};

    /* The declared ones, "lst" (not its hidden values family), "dyn". */
    n = ss_store_cf_list(info, NCF + 2, s);
    SS_CHECK_EQ_U64((uint64_t)n, (uint64_t)(DYN + 1 + (dyn ? 1 : 0)));
    for (i = 0; i < n; i++) {
        if (strcmp(info[i].name, "lst") == 0) {
            SS_CHECK_EQ_U64(info[i].flags, SS_CF_LIST);
            SS_CHECK_EQ_U64(info[i].id, m->lcf);
            continue;
        }
        for (f = 0; f < NCF; f++)
            if (strcmp(info[i].name, cf_names[f] ? cf_names[f] : "default") ==
                0)
                break;
        if (f == NCF || found[f])
            SS_FAIL("family list names '%s'", info[i].name);
        found[f] = 1;
        SS_CHECK_EQ_U64(info[i].flags, cf_flags[f]);
        if (f == DYN)
            m->cf[DYN] = info[i].id;
        else
            SS_CHECK_EQ_U64(info[i].id, m->cf[f]);
    }
    if (!dyn && m->cf[DYN] != NO_ID)
        SS_CHECK_ERR(SS_EINVAL,
                     ss_store_get(&got, s, m->cf[DYN], key_slice(m, 0)));
}

/* The lists of `s` are exactly `l`: each key's values in order, and the
 * list family's keys are the non-empty lists. */
static void
check_lists(model *m, ss_store *s, const lists *l)
{
    ss_test *t = m->t;
    unsigned char buf[MAX_VAL];
    size_t k, j, n, want = 0;
    ss_iter *it = NULL;
    ss_slice key, v;
    int rc;

    for (k = 0; k < LKEYS; k++) {
        SS_CHECK_OK(ss_store_list_iter(&it, s, m->lcf, key_slice(m, k)));
        for (j = 0; (rc = ss_iter_next(it, &key, &v)) == 0; j++) {
            if (j >= l->len[k])
                SS_FAIL("list of key %zu: more than %u values", k, l->len[k]);
            SS_CHECK_EQ_SLICE(key, key_slice(m, k));
            n = value_bytes(l->v[k][j], buf);
            SS_CHECK_EQ_SLICE(v, ss_test_slice(buf, n));
        }
        SS_CHECK_RC(SS_EDONE, rc);
        ss_iter_free(it);
        SS_CHECK_EQ_U64(j, l->len[k]);
        want += l->len[k] > 0;
    }
    SS_CHECK_EQ_U64(family_size(t, s, m->lcf), want);
}

/* Everything in `s` equals `c`: every family iterated, every key got. */
static void
check_all(model *m, ss_store *s, const contents *c, int dyn)
{
    ss_test *t = m->t;
    unsigned char all[POOL_KEYS];
    ss_iter *it = NULL;
    size_t i;
    int f;

    check_families(m, s, dyn);
    memset(all, 1, sizeof(all));
    for (f = 0; f < NCF; f++) {
        if (f == DYN && !dyn) {
            for (i = 0; i < POOL_KEYS; i++)
                SS_CHECK((*c)[f][i] == 0);
            continue;
        }
        SS_CHECK_OK(ss_store_iter(&it, s, m->cf[f]));
        check_iter(m, it, c, f, all);
        for (i = 0; i < POOL_KEYS; i++)
            check_key(m, s, c, f, i);
    }
}

/* No checkpoint file of a version above the newest is left behind. */
static void
check_no_newer_files(model *m)
{
    ss_test *t = m->t;
    uint64_t v[4096];
    size_t n;

    n = list_versions(t->dir, ".delta", v, 4096);
    if (n && v[n - 1] > m->latest)
        SS_FAIL("%llu.delta exists, newest version is %llu",
                (unsigned long long)v[n - 1], (unsigned long long)m->latest);
    n = list_versions(t->dir, ".snapshot", v, 4096);
    if (n && v[n - 1] > m->latest)
        SS_FAIL("%llu.snapshot exists, newest version is %llu",
                (unsigned long long)v[n - 1], (unsigned long long)m->latest);
}

static void
check_latest(model *m)
{
    ss_test *t = m->t;
    uint64_t latest = UINT64_MAX;

    SS_CHECK_OK(ss_provider_latest(&latest, m->p));
    SS_CHECK_EQ_U64(latest, m->latest);
}

/* ------------------------------------------------------------ versions */

static void
push_version(model *m, const contents *c)
{
    ss_test *t = m->t;
    uint64_t v = m->latest + 1;

    if (v >= m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->ver = realloc(m->ver, m->cap * sizeof(contents));
        m->sure = realloc(m->sure, m->cap);
        m->vdyn = realloc(m->vdyn, m->cap);
        m->lver = realloc(m->lver, m->cap * sizeof(lists));
        SS_CHECK(m->ver != NULL && m->sure != NULL && m->vdyn != NULL &&
                 m->lver != NULL);
    }
    m->lver[v] = m->lcur;
    memcpy(m->ver[v], *c, sizeof(contents));
    m->vdyn[v] = (unsigned char)m->cur_dyn;
    m->sure[v] = 1;
    m->latest = v;
}

/* Load `v` writable (or read-only: 1, or a read view: 2); NULL if the
 * library may and did say SS_ENOTFOUND.  Checks the contents. */
static ss_store *
load_version(model *m, uint64_t v, int readonly)
{
    ss_test *t = m->t;
    ss_store *s = NULL;
    int rc;

    ss_error_clear();
    rc = readonly == 2 ? ss_provider_load_view(&s, m->p, v)
         : readonly    ? ss_provider_load_readonly(&s, m->p, v)
                       : ss_provider_load(&s, m->p, v);
    /* Never committed, or gone with retention: SS_ENOTFOUND only. */
    if (v > m->latest || (rc == SS_ENOTFOUND && !m->sure[v])) {
        SS_CHECK_RC(SS_ENOTFOUND, rc);
        SS_CHECK(ss_error_last()[0] != '\0');
        SS_CHECK(s == NULL);
        return NULL;
    }
    if (rc != 0)
        SS_FAIL("load%s of version %llu (newest %llu, %s retention) "
                "returned %d (%s)",
                readonly ? "_readonly" : "", (unsigned long long)v,
                (unsigned long long)m->latest,
                m->sure[v] ? "within" : "outside", rc, ss_strerror(rc));
    SS_CHECK(s != NULL);
    SS_CHECK_EQ_U64(ss_store_version(s), v);
    check_all(m, s, &m->ver[v], m->vdyn[v]);
    check_lists(m, s, &m->lver[v]);
    return s;
}

/* A version to load: mostly the newest, else any (older ones may be
 * gone), rarely one above the newest. */
static uint64_t
pick_version(model *m)
{
    uint64_t r = below(m, 100);

    if (r < 50)
        return m->latest;
    if (r < 60 && m->latest > 0)
        return m->latest - 1;
    if (r < 97)
        return below(m, m->latest + 1);
    return m->latest + 1 + below(m, 3);
}

/* Open the writable store at some version (the newest if the chosen one
 * is gone). */
static void
open_store(model *m, uint64_t v)
{
    ss_store *s = load_version(m, v, 0);

    if (!s) {
        v = m->latest;
        s = load_version(m, v, 0);
    }
    m->s = s;
    m->base = v;
    memcpy(m->cur, m->ver[v], sizeof(contents));
    m->cur_dyn = m->vdyn[v];
    m->lcur = m->lver[v];
}

static void
drop_store(model *m)
{
    ss_store_free(m->s);
    m->s = NULL;
}

/* Close the provider and open a fresh one on the same directory. */
static void
reopen_provider(model *m)
{
    static const char *const comp[] = {"compression=none", "compression=lz4",
                                       "compression=zstd"};
    static const char *const mem[] = {"max_versions_in_memory=1",
                                      "max_versions_in_memory=2",
                                      "max_versions_in_memory=3"};
    ss_test *t = m->t;
    int order[DYN] = {1, 2, 0}, i, j, x;

    drop_store(m);
    m->nviews = 0; /* closing the provider frees its views */
    if (m->p)
        ss_test_close(t, m->p);
    m->p =
        ss_test_open(t, "min_deltas_for_snapshot=3", "min_versions_to_retain=6",
                     mem[below(m, 3)], comp[below(m, 3)]);
    /* Families are matched by name, whatever order they are declared
     * in. */
    for (i = DYN - 1; i > 0; i--) {
        j = (int)below(m, (uint64_t)i + 1);
        x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    m->cf[0] = SS_CF_DEFAULT;
    m->cf[DYN] = NO_ID; /* learned from a load, or made by a create */
    for (i = 0; i < DYN; i++)
        if (cf_names[order[i]])
            SS_CHECK_OK(ss_provider_cf(&m->cf[order[i]], m->p,
                                       cf_names[order[i]], cf_flags[order[i]]));
    SS_CHECK_OK(ss_provider_cf(&m->lcf, m->p, "lst", SS_CF_LIST));
    check_latest(m);
}

/* ---------------------------------------------------------- operations */

static void
op_put(model *m)
{
    ss_test *t = m->t;
    unsigned char buf[MAX_VAL];
    int f = pick_f(m);
    size_t i = below(m, POOL_KEYS), n;
    uint32_t id = ++m->next_val;

    n = value_bytes(id, buf);
    SS_CHECK_OK(ss_store_put(m->s, m->cf[f], key_slice(m, i),
                             ss_test_slice(n ? buf : NULL, n)));
    m->cur[f][i] = id;
    check_key(m, m->s, &m->cur, f, i);
}

static void
op_remove(model *m)
{
    ss_test *t = m->t;
    int f = pick_f(m), tries;
    size_t i = below(m, POOL_KEYS);

    /* Half the time look for a present key. */
    for (tries = 0; below(m, 2) && tries < 8 && !m->cur[f][i]; tries++)
        i = below(m, POOL_KEYS);
    SS_CHECK_OK(ss_store_remove(m->s, m->cf[f], key_slice(m, i)));
    m->cur[f][i] = 0;
    check_key(m, m->s, &m->cur, f, i);
}

static void
op_get(model *m)
{
    ss_test *t = m->t;
    unsigned char k[MAX_KEY];
    ss_slice got;
    int f = pick_f(m);
    size_t i, n;

    if (below(m, 4) == 0) {
        /* A key never put (not in the pool). */
        n = 1 + below(m, MAX_KEY);
        for (i = 0; i < n; i++)
            k[i] = (unsigned char)rnd(m);
        if (pool_find(m, k, n) < 0)
            SS_CHECK_ERR(SS_ENOTFOUND, ss_store_get(&got, m->s, m->cf[f],
                                                    ss_test_slice(k, n)));
        return;
    }
    check_key(m, m->s, &m->cur, f, below(m, POOL_KEYS));
}

static void
op_iterate(model *m)
{
    ss_test *t = m->t;
    unsigned char all[POOL_KEYS];
    ss_iter *it = NULL;
    int f = pick_f(m);

    memset(all, 1, sizeof(all));
    SS_CHECK_OK(ss_store_iter(&it, m->s, m->cf[f]));
    check_iter(m, it, &m->cur, f, all);
}

/* A bound: a pool key, a prefix of one, a pool key plus a byte, random
 * bytes, or empty. */
static size_t
pick_bound(model *m, unsigned char *out)
{
    const pkey *k = &m->pool[below(m, POOL_KEYS)];
    size_t n, i;

    switch (below(m, 5)) {
    case 0: memcpy(out, k->b, k->n); return k->n;
    case 1:
        n = below(m, k->n + 1);
        memcpy(out, k->b, n);
        return n;
    case 2:
        memcpy(out, k->b, k->n);
        out[k->n] = (unsigned char)rnd(m);
        return k->n + 1;
    case 3:
        n = 1 + below(m, 3);
        for (i = 0; i < n; i++)
            out[i] = (unsigned char)rnd(m);
        return n;
    default: return 0;
    }
}

/* One write while iterating family f: mostly to the key just returned
 * (remove it, or put it again), else to any pool key.  Keeps the model
 * and `touched` (keys written since the iterator was made) up to date. */
static void
write_while_iterating(model *m, int f, int cur_idx, unsigned char *touched)
{
    ss_test *t = m->t;
    unsigned char buf[MAX_VAL];
    size_t i = cur_idx >= 0 && below(m, 3) ? (size_t)cur_idx
                                           : below(m, POOL_KEYS),
           n;
    uint32_t id;

    touched[i] = 1;
    if (below(m, 2)) {
        SS_CHECK_OK(ss_store_remove(m->s, m->cf[f], key_slice(m, i)));
        m->cur[f][i] = 0;
        return;
    }
    id = ++m->next_val;
    n = value_bytes(id, buf);
    SS_CHECK_OK(ss_store_put(m->s, m->cf[f], key_slice(m, i),
                             ss_test_slice(n ? buf : NULL, n)));
    m->cur[f][i] = id;
}

/* Iterate (whole family, prefix or range) and write between the steps,
 * checking the visibility the header promises (ss_iter_next): each step
 * returns the first key after the last one returned that is present at
 * that step, with its value at that step, so
 * - ordered families: exactly the next present key in byte order;
 * - any family: no key twice, no key absent at its step, and every key
 *   present from the start to the end and never written meanwhile is
 *   returned.
 * The key slice must survive the writes (even a remove of that key). */
static void
op_iterate_writes(model *m)
{
    ss_test *t = m->t;
    unsigned char want[POOL_KEYS], seen[POOL_KEYS] = {0};
    unsigned char touched[POOL_KEYS] = {0}, start[POOL_KEYS], buf[MAX_VAL];
    unsigned char lo[MAX_KEY + 1], hi[MAX_KEY + 1];
    ss_iter *it = NULL;
    ss_slice k, v;
    int f = pick_f(m), idx, last = -1, rc, kind = (int)below(m, 3);
    size_t nlo = 0, nhi = 0, i, n, w;
    const pkey *pk;

    if (kind == 2 && f != ORD)
        kind = 0;
    if (kind == 1) {
        nlo = pick_bound(m, lo);
        for (i = 0; i < POOL_KEYS; i++)
            want[i] = m->pool[i].n >= nlo && memcmp(m->pool[i].b, lo, nlo) == 0;
        SS_CHECK_OK(ss_store_prefix_scan(&it, m->s, m->cf[f],
                                         ss_test_slice(nlo ? lo : NULL, nlo)));
    } else if (kind == 2) {
        nlo = pick_bound(m, lo);
        nhi = pick_bound(m, hi);
        for (i = 0; i < POOL_KEYS; i++) {
            pk = &m->pool[i];
            want[i] = bytes_cmp(pk->b, pk->n, lo, nlo) >= 0 &&
                      (nhi == 0 || bytes_cmp(pk->b, pk->n, hi, nhi) < 0);
        }
        SS_CHECK_OK(ss_store_range_scan(&it, m->s, m->cf[f],
                                        ss_test_slice(lo, nlo),
                                        ss_test_slice(hi, nhi)));
    } else {
        memset(want, 1, sizeof(want));
        SS_CHECK_OK(ss_store_iter(&it, m->s, m->cf[f]));
    }
    /* Sometimes write before the first step too. */
    for (i = 0; i < POOL_KEYS; i++)
        start[i] = m->cur[f][i] != 0;
    if (below(m, 4) == 0)
        write_while_iterating(m, f, -1, touched);
    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        idx = pool_find(m, k.data, k.len);
        if (idx < 0)
            SS_FAIL("family %d: iterator returned a key never put", f);
        if (!want[idx] || m->cur[f][idx] == 0 || seen[idx])
            SS_FAIL("family %d: iterator returned key %d (in scan %d, "
                    "present %d, returned before %d)",
                    f, idx, want[idx], m->cur[f][idx] != 0, seen[idx]);
        if (cf_flags[f] & SS_CF_ORDERED) {
            for (i = (size_t)(last + 1); i < (size_t)idx; i++)
                if (want[i] && m->cur[f][i])
                    SS_FAIL("family %d: after key %d the iterator skipped "
                            "present key %zu for %d",
                            f, last, i, idx);
        }
        n = value_bytes(m->cur[f][idx], buf);
        SS_CHECK_EQ_SLICE(v, ss_test_slice(buf, n));
        seen[idx] = 1;
        last = idx;
        for (w = below(m, 3); w > 0; w--)
            write_while_iterating(m, f, idx, touched);
        /* The key slice is the iterator's: still the key after writes. */
        SS_CHECK_EQ_SLICE(k, key_slice(m, (size_t)idx));
    }
    SS_CHECK_RC(SS_EDONE, rc);
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, &k, &v));
    ss_iter_free(it);
    for (i = 0; i < POOL_KEYS; i++) {
        if (want[i] && start[i] && !touched[i] && !seen[i])
            SS_FAIL("family %d: key %zu, present and untouched throughout, "
                    "was never returned",
                    f, i);
        if ((cf_flags[f] & SS_CF_ORDERED) && want[i] && m->cur[f][i] &&
            (int)i > last && !seen[i])
            SS_FAIL("family %d: key %zu, present after the last key %d, "
                    "was not returned",
                    f, i, last);
    }
    for (i = 0; i < POOL_KEYS; i++)
        check_key(m, m->s, &m->cur, f, i);
}

static void
op_prefix_scan(model *m)
{
    ss_test *t = m->t;
    unsigned char pre[MAX_KEY + 1], want[POOL_KEYS];
    ss_iter *it = NULL;
    int f = pick_f(m);
    size_t n = pick_bound(m, pre), i;

    for (i = 0; i < POOL_KEYS; i++)
        want[i] = m->pool[i].n >= n && memcmp(m->pool[i].b, pre, n) == 0;
    SS_CHECK_OK(ss_store_prefix_scan(&it, m->s, m->cf[f],
                                     ss_test_slice(n ? pre : NULL, n)));
    check_iter(m, it, &m->cur, f, want);
}

static void
op_range_scan(model *m)
{
    ss_test *t = m->t;
    unsigned char lo[MAX_KEY + 1], hi[MAX_KEY + 1], want[POOL_KEYS];
    ss_iter *it = NULL;
    size_t nlo = pick_bound(m, lo), nhi = pick_bound(m, hi), i;
    const pkey *k;

    for (i = 0; i < POOL_KEYS; i++) {
        k = &m->pool[i];
        want[i] = bytes_cmp(k->b, k->n, lo, nlo) >= 0 &&
                  (nhi == 0 || bytes_cmp(k->b, k->n, hi, nhi) < 0);
    }
    SS_CHECK_OK(ss_store_range_scan(
        &it, m->s, m->cf[ORD], ss_test_slice(lo, nlo), ss_test_slice(hi, nhi)));
    check_iter(m, it, &m->cur, ORD, want);
}

/* Create "dyn" (or, if the store has it, create it again: same id). */
static void
op_cf_create(model *m)
{
    ss_test *t = m->t;
    unsigned id = NO_ID;
    size_t i;

    SS_CHECK_OK(ss_store_cf_create(&id, m->s, "dyn", cf_flags[DYN]));
    if (m->cur_dyn || m->cf[DYN] != NO_ID)
        SS_CHECK_EQ_U64(id, m->cf[DYN]);
    m->cf[DYN] = id;
    if (!m->cur_dyn) {
        m->cur_dyn = 1;
        for (i = 0; i < POOL_KEYS; i++)
            SS_CHECK(m->cur[DYN][i] == 0);
        SS_CHECK_EQ_U64(family_size(t, m->s, id), 0);
    }
    check_families(m, m->s, 1);
}

/* Drop "dyn" with its keys (refused if the store lacks it). */
static void
op_cf_drop(model *m)
{
    ss_test *t = m->t;
    ss_slice got;

    if (!m->cur_dyn) {
        if (m->cf[DYN] != NO_ID)
            SS_CHECK_ERR(SS_EINVAL, ss_store_cf_drop(m->s, m->cf[DYN]));
        return;
    }
    SS_CHECK_OK(ss_store_cf_drop(m->s, m->cf[DYN]));
    m->cur_dyn = 0;
    memset(m->cur[DYN], 0, sizeof(m->cur[DYN]));
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_get(&got, m->s, m->cf[DYN], key_slice(m, 0)),
                     "dropped");
    check_families(m, m->s, 0);
}

static void
op_commit(model *m)
{
    ss_test *t = m->t;
    uint64_t v = UINT64_MAX;

    SS_CHECK_OK(ss_store_commit(&v, m->s));
    SS_CHECK_EQ_U64(v, m->base + 1);
    /* Going back in time: the newer versions are gone. */
    m->latest = m->base;
    push_version(m, &m->cur);
    check_latest(m);
    check_no_newer_files(m);
    if (below(m, 8) == 0) {
        SS_CHECK_ERR(SS_EINVAL, ss_store_put(m->s, m->cf[0], key_slice(m, 0),
                                             BS(B("late"))));
    }
    drop_store(m);
    /* The next version is served from memory; sometimes check the files
     * too. */
    open_store(m, v);
    if (below(m, 4) == 0) {
        ss_store *ro = load_version(m, v, 1);

        ss_store_free(ro);
    }
}

static void
op_abort(model *m)
{
    ss_test *t = m->t;

    SS_CHECK_OK(ss_store_abort(m->s));
    if (below(m, 4) == 0) {
        SS_CHECK_ERR(SS_EINVAL, ss_store_put(m->s, m->cf[0], key_slice(m, 0),
                                             BS(B("late"))));
        SS_CHECK_ERR(SS_EINVAL, ss_store_abort(m->s));
    }
    drop_store(m);
    /* Invariant 4: the version loads again, unchanged. */
    open_store(m, below(m, 2) ? m->base : pick_version(m));
}

static void
op_free(model *m)
{
    drop_store(m);
    check_latest(m);
    open_store(m, below(m, 2) ? m->base : pick_version(m));
}

static void
op_reload(model *m)
{
    drop_store(m);
    open_store(m, pick_version(m));
}

static void
op_reopen(model *m)
{
    uint64_t v = pick_version(m);

    reopen_provider(m);
    open_store(m, v);
}

static void
op_readonly(model *m)
{
    ss_test *t = m->t;
    ss_store *ro = load_version(m, pick_version(m), 1);

    if (ro && below(m, 4) == 0)
        SS_CHECK_ERR(SS_EINVAL,
                     ss_store_put(ro, m->cf[0], key_slice(m, 0), BS(B("ro"))));
    ss_store_free(ro);
    /* The writable store is unaffected. */
    check_key(m, m->s, &m->cur, pick_f(m), below(m, POOL_KEYS));
}

static void
op_maintenance(model *m)
{
    ss_test *t = m->t;
    uint64_t v, oldest;
    ss_store *ro;

    SS_CHECK_OK(ss_provider_maintenance(m->p));
    oldest = m->latest >= RETAIN ? m->latest - RETAIN + 1 : 0;
    /* Version 0 (the empty state) needs no file. */
    for (v = 1; v < oldest; v++)
        m->sure[v] = 0;
    check_no_newer_files(m);
    /* The oldest retained version is the edge of the window. */
    ro = load_version(m, oldest, 1);
    ss_store_free(ro);
    /* The open store is unaffected. */
    check_key(m, m->s, &m->cur, pick_f(m), below(m, POOL_KEYS));
}

/* Iterate view `x` while the writer writes between the steps: the
 * view's keys come back exactly, each once, with the view's values. */
static void
view_iterate_writes(model *m, mview *x)
{
    ss_test *t = m->t;
    unsigned char seen[POOL_KEYS] = {0}, touched[POOL_KEYS], buf[MAX_VAL];
    /* A declared family: both the view and the writer have it. */
    int f = (int)below(m, DYN), idx, last = -1, rc;
    size_t count = 0, expected = 0, i, n;
    ss_iter *it = NULL;
    ss_slice k, v;

    SS_CHECK_OK(ss_store_iter(&it, x->s, m->cf[f]));
    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        idx = pool_find(m, k.data, k.len);
        if (idx < 0 || x->c[f][idx] == 0 || seen[idx])
            SS_FAIL("view of %llu, family %d: key %d returned (present %d, "
                    "seen %d)",
                    (unsigned long long)x->v, f, idx,
                    idx >= 0 && x->c[f][idx] != 0, idx >= 0 && seen[idx]);
        if (cf_flags[f] & SS_CF_ORDERED && idx <= last)
            SS_FAIL("view, family %d: key %d after key %d", f, idx, last);
        seen[idx] = 1;
        last = idx;
        n = value_bytes(x->c[f][idx], buf);
        SS_CHECK_EQ_SLICE(v, ss_test_slice(buf, n));
        count++;
        /* The writer changes this key or another of the same family
         * (often one the view has not reached yet). */
        write_while_iterating(m, f, idx, touched);
        if (below(m, 2))
            write_while_iterating(m, f, -1, touched);
    }
    SS_CHECK_RC(SS_EDONE, rc);
    ss_iter_free(it);
    for (i = 0; i < POOL_KEYS; i++)
        expected += x->c[f][i] != 0;
    if (count != expected)
        SS_FAIL("view of %llu, family %d: %zu entries, model has %zu",
                (unsigned long long)x->v, f, count, expected);
}

/* Read views (ss_provider_load_view): open one of some version, or check
 * an open one still reads its version (whole, or iterated while the
 * writer writes), or free one.  Views stay open across the other ops --
 * writes, commits, aborts, loads of other versions, maintenance -- until
 * freed or the provider is reopened. */
static void
op_view(model *m)
{
    ss_test *t = m->t;
    uint64_t r = below(m, 4), v;
    ss_store *s;
    mview *x;

    if (m->nviews < MAX_VIEWS && (m->nviews == 0 || r == 0)) {
        v = pick_version(m);
        if ((s = load_version(m, v, 2)) != NULL) {
            x = &m->views[m->nviews++];
            x->s = s;
            x->v = v;
            memcpy(x->c, m->ver[v], sizeof(contents));
            x->dyn = m->vdyn[v];
            x->l = m->lver[v];
            if (below(m, 4) == 0)
                SS_CHECK_ERR(
                    SS_EINVAL,
                    ss_store_put(s, m->cf[0], key_slice(m, 0), BS(B("view"))));
        }
        return;
    }
    x = &m->views[below(m, (uint64_t)m->nviews)];
    if (r == 2) {
        view_iterate_writes(m, x);
        return;
    }
    check_all(m, x->s, &x->c, x->dyn);
    check_lists(m, x->s, &x->l);
    if (r == 1) {
        ss_store_free(x->s);
        *x = m->views[--m->nviews];
    }
}

/* Lists: append (a full list is replaced instead), replace with 0..3
 * values, remove, or check all; then the key's list is checked. */
static void
op_list(model *m)
{
    ss_test *t = m->t;
    unsigned char bufs[3][MAX_VAL];
    ss_slice vals[3];
    size_t k = below(m, LKEYS), n, j, r = below(m, 10);

    if (r < 6 && m->lcur.len[k] < LMAX) {
        uint32_t id = ++m->next_val;

        n = value_bytes(id, bufs[0]);
        SS_CHECK_OK(ss_store_append(m->s, m->lcf, key_slice(m, k),
                                    ss_test_slice(n ? bufs[0] : NULL, n)));
        m->lcur.v[k][m->lcur.len[k]++] = id;
    } else if (r < 8) {
        n = below(m, 4);
        for (j = 0; j < n; j++) {
            uint32_t id = ++m->next_val;
            size_t len = value_bytes(id, bufs[j]);

            vals[j] = ss_test_slice(len ? bufs[j] : NULL, len);
            m->lcur.v[k][j] = id;
        }
        SS_CHECK_OK(ss_store_put_list(m->s, m->lcf, key_slice(m, k),
                                      n ? vals : NULL, n));
        m->lcur.len[k] = (uint32_t)n;
    } else if (r == 8) {
        SS_CHECK_OK(ss_store_remove(m->s, m->lcf, key_slice(m, k)));
        m->lcur.len[k] = 0;
    } else {
        check_lists(m, m->s, &m->lcur);
    }
}

enum {
    OP_PUT,
    OP_REMOVE,
    OP_GET,
    OP_ITER,
    OP_ITER_WRITES,
    OP_PREFIX,
    OP_RANGE,
    OP_COMMIT,
    OP_ABORT,
    OP_FREE,
    OP_RELOAD,
    OP_REOPEN,
    OP_READONLY,
    OP_MAINT,
    OP_VIEW,
    OP_LIST,
    OP_CF_CREATE,
    OP_CF_DROP,
    N_OPS
};

static const struct {
    const char *name;
    void (*fn)(model *m);
    unsigned weight;
} ops[N_OPS] = {
    [OP_PUT] = {"put", op_put, 30},
    [OP_REMOVE] = {"remove", op_remove, 12},
    [OP_GET] = {"get", op_get, 12},
    [OP_ITER] = {"iterate", op_iterate, 3},
    [OP_ITER_WRITES] = {"iterate_writes", op_iterate_writes, 4},
    [OP_PREFIX] = {"prefix_scan", op_prefix_scan, 5},
    [OP_RANGE] = {"range_scan", op_range_scan, 5},
    [OP_COMMIT] = {"commit", op_commit, 12},
    [OP_ABORT] = {"abort", op_abort, 3},
    [OP_FREE] = {"free", op_free, 2},
    [OP_RELOAD] = {"reload", op_reload, 5},
    [OP_REOPEN] = {"reopen", op_reopen, 2},
    [OP_READONLY] = {"readonly", op_readonly, 4},
    [OP_MAINT] = {"maintenance", op_maintenance, 3},
    [OP_VIEW] = {"view", op_view, 6},
    [OP_LIST] = {"list", op_list, 8},
    [OP_CF_CREATE] = {"cf_create", op_cf_create, 3},
    [OP_CF_DROP] = {"cf_drop", op_cf_drop, 2},
};

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    char *end;
    unsigned long long v;

    if (!s || !*s)
        return dflt;
    v = strtoull(s, &end, 0);
    return *end ? dflt : (uint64_t)v;
}

static void
test_model__random_ops(ss_test *t)
{
    model *m = calloc(1, sizeof(*m));
    unsigned total = 0, r, i;
    uint64_t steps;
    int trace = getenv("SS_TEST_TRACE") != NULL;

    SS_CHECK(m != NULL);
    m->t = t;
    m->seed = env_u64("SS_TEST_SEED", (uint64_t)time(NULL));
    steps = env_u64("SS_TEST_STEPS", DEFAULT_STEPS);
    m->rng = m->seed;
    printf("model [%s]: seed %llu, %llu steps (SS_TEST_SEED, "
           "SS_TEST_STEPS)\n",
           t->provider->name, (unsigned long long)m->seed,
           (unsigned long long)steps);
    fflush(stdout);
    make_pool(m);
    for (i = 0; i < N_OPS; i++)
        total += ops[i].weight;

    /* Version 0: empty. */
    m->latest = UINT64_MAX;
    push_version(m, &m->cur);
    SS_CHECK_EQ_U64(m->latest, 0);
    note(m, "open");
    reopen_provider(m);
    open_store(m, 0);

    for (m->step = 0; (uint64_t)m->step < steps; m->step++) {
        r = (unsigned)below(m, total);
        for (i = 0; r >= ops[i].weight; i++)
            r -= ops[i].weight;
        note(m, ops[i].name);
        if (trace)
            printf("step %d: %s (store at %llu, latest %llu)\n", m->step,
                   ops[i].name, (unsigned long long)m->base,
                   (unsigned long long)m->latest);
        ops[i].fn(m);
        m->n_ops[i]++;
    }
    note(m, "final");
    drop_store(m);
    /* Finally every version that must load does, from a fresh provider. */
    reopen_provider(m);
    for (i = 0; i <= m->latest; i++) {
        ss_store *ro = load_version(m, i, 1);

        ss_store_free(ro);
    }
    if (t->verbose) {
        printf("model [%s]: %llu versions;", t->provider->name,
               (unsigned long long)m->latest);
        for (i = 0; i < N_OPS; i++)
            printf(" %s %lu", ops[i].name, m->n_ops[i]);
        printf("\n");
    }
    free(m->ver);
    free(m->vdyn);
    free(m->lver);
    free(m->sure);
    free(m);
}

static const ss_test_case tests[] = {
    SS_TEST(model, random_ops),
    SS_TEST_END,
};

SS_TEST_MAIN(tests)
