/*
 * rocksdb_ops.c -- what a point operation, a commit and a micro-batch cost
 * in the rocksdb provider, next to the same calls made directly on a
 * RocksDB instance through the C API in the same process, on the same
 * keys (16 B) and values (64 B).
 *
 * Two baselines, each a RocksDB instance opened with exactly the options
 * the provider uses (LRU block cache of budget/2 with index and filter
 * blocks in it, write_buffer_size budget/16, max_write_buffer_number 2,
 * db_write_buffer_size budget/8, WAL disabled, default read options;
 * budget 256 MiB).  The provider's cache is process-wide; only one
 * instance is open at a time here, so the raw instance's own cache of the
 * same size is the same bound):
 *   "raw"       rocksdb_get / rocksdb_put / rocksdb_delete on the instance.
 *               provider/raw is the figure the issue asks for.
 *   "raw+wbwi"  a write batch with index over the same instance:
 *               rocksdb_writebatch_wi_get_from_batch_and_db and
 *               rocksdb_writebatch_wi_put / _delete, which is what the
 *               provider calls inside a batch.  provider/raw+wbwi is the
 *               library's own overhead; raw+wbwi/raw is RocksDB's price
 *               for reading a batch's own writes and being able to abort.
 * Note the write ops are not the same work: a raw put lands in the
 * memtable (flushes and compactions follow in the background), a
 * provider put only indexes the change in its batch; the instance sees
 * it at commit.  Both are what a caller pays per put.
 *
 * What runs, for each key count N:
 *   1. Provider: load version 0, put N keys in batches of 100k, commit
 *      each (changelog checkpointing, no snapshots).  Then on the latest
 *      version: gets that hit (every key once, shuffled), gets that miss,
 *      overwrites, inserts of new keys, removes.  Each write phase is one
 *      batch that is ABORTED, then the version loaded again (from memory).
 *   2. Provider: commit of exactly 10k overwrites, repeated; the median
 *      with the commit_* split of ss_provider_metrics.  commit_collect
 *      holds the sort of the touched keys and the two lookups per key
 *      (state before, from the instance; after, through the batch) that
 *      give an exact key count; the time after commit_sync is the batch
 *      being applied to the instance.
 *   3. The provider is closed; a raw instance is filled the same way
 *      (write batches of 100k) and put through the same gets, then the
 *      same writes through a raw+wbwi batch (dropped afterwards), then
 *      the provider's commit minus its file, replicated call for call on
 *      the same 10k keys: sort, lookups before, lookups after, apply.
 *      That measures what the double read costs.  Last, the raw writes
 *      (which change the instance, so inserts are taken out again).
 * Then, once: the batch workload of memory_ops.  A fresh provider with a
 * 10k-row store (version 1, loaded from memory), 10k puts with 0%, 50% or
 * 100% overwrites, commit; against a fresh raw instance holding the same
 * 10k rows taking the same puts.  Medians over the batches.
 *
 * Every get checks the value's length and first word, sampled keys are
 * compared in full, key counts and commit record counts are checked; any
 * mismatch or API error makes the program exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "bench_util.h"
#include "statestore.h"

#define FILL_BATCH 100000u
#define COMMIT_CHANGES 10000u
#define BATCH_ROWS 10000u
#define SAMPLE_CHECKS 1000u
#define MAX_SIZES 8u
#define MAX_REPS 64u
#define MAX_BENCH_LINES 512u
#define DIR_LEN 3072u
#define PATH_LEN 4096u
#define LABEL_LEN 24u
#define BUDGET_BYTES (256u * 1024u * 1024u)
#define BUDGET_OPTION "rocksdb.memory_budget=256M"
#define RAW_ERROR (-100)

/* ------------------------------------------------------------ utilities */

static int
remove_entry(const char *path, const struct stat *st, int flag,
             struct FTW *walk)
{
    (void)st;
    (void)flag;
    (void)walk;
    return remove(path);
}

/* Only ever called on directories this program created. */
static void
remove_tree(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
        errno != ENOENT)
        fprintf(stderr, "rocksdb_ops: could not remove %s: %s\n", path,
                strerror(errno));
}

static double
mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* ------------------------------------------------- raw RocksDB instance */

typedef struct raw_db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ro;
    rocksdb_writeoptions_t *wo;
    char path[PATH_LEN];
} raw_db;

static int
raw_failed(char *err, const char *what)
{
    fprintf(stderr, "rocksdb_ops: raw rocksdb %s: %s\n", what,
            err ? err : "unknown error");
    rocksdb_free(err);
    return RAW_ERROR;
}

static void
raw_close(raw_db *r)
{
    if (r->db != NULL)
        rocksdb_close(r->db);
    if (r->ro != NULL)
        rocksdb_readoptions_destroy(r->ro);
    if (r->wo != NULL)
        rocksdb_writeoptions_destroy(r->wo);
    if (r->opts != NULL)
        rocksdb_options_destroy(r->opts);
    if (r->bbto != NULL)
        rocksdb_block_based_options_destroy(r->bbto);
    if (r->cache != NULL)
        rocksdb_cache_destroy(r->cache);
    if (r->path[0] != '\0')
        remove_tree(r->path);
    memset(r, 0, sizeof *r);
}

/* A fresh instance with the provider's options (see rocksdb.c). */
static int
raw_open(raw_db *r, const char *path)
{
    char *err = NULL;

    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    remove_tree(r->path);
    r->cache = rocksdb_cache_create_lru(BUDGET_BYTES / 2);
    r->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(r->bbto, r->cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(r->bbto, 1);
    /* The provider sets a 10-bit bloom filter; so must the baseline. */
    rocksdb_block_based_options_set_filter_policy(
        r->bbto, rocksdb_filterpolicy_create_bloom(10));
    r->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(r->opts, 1);
    rocksdb_options_set_block_based_table_factory(r->opts, r->bbto);
    rocksdb_options_set_write_buffer_size(r->opts, BUDGET_BYTES / 16);
    rocksdb_options_set_max_write_buffer_number(r->opts, 2);
    rocksdb_options_set_db_write_buffer_size(r->opts, BUDGET_BYTES / 8);
    r->ro = rocksdb_readoptions_create();
    r->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(r->wo, 1);
    r->db = rocksdb_open(r->opts, r->path, &err);
    if (err != NULL) {
        r->db = NULL;
        raw_failed(err, "open");
        raw_close(r);
        return -1;
    }
    return 0;
}

/* Keys first .. first+count-1 at generation 0, in write batches of 100k,
 * as the provider's commits apply them. */
static int
raw_fill(raw_db *r, uint32_t first, uint64_t count)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    unsigned char key[KEY_LEN];
    char *err = NULL;
    uint64_t i;

    for (i = 0; i < count; i++) {
        make_key(key, first + (uint32_t)i);
        rocksdb_writebatch_put(wb, (const char *)key, KEY_LEN,
                               (const char *)value_for(first + (uint32_t)i, 0),
                               VALUE_LEN);
        if ((i + 1) % FILL_BATCH == 0 || i + 1 == count) {
            rocksdb_write(r->db, r->wo, wb, &err);
            rocksdb_writebatch_clear(wb);
            if (err != NULL) {
                rocksdb_writebatch_destroy(wb);
                return raw_failed(err, "write (fill)");
            }
        }
    }
    rocksdb_writebatch_destroy(wb);
    return 0;
}

/* What ss_metrics.memory_bytes counts for the provider. */
static uint64_t
raw_memory(const raw_db *r)
{
    uint64_t mem = rocksdb_cache_get_usage(r->cache), v = 0;

    if (rocksdb_property_int(r->db, "rocksdb.cur-size-all-mem-tables", &v) == 0)
        mem += v;
    return mem;
}

/* ------------------------------------------ one interface for all three */

typedef enum impl_kind { IMPL_STORE, IMPL_RAW, IMPL_WBWI } impl_kind;
#define IMPL_COUNT 3

static const char *const impl_names[IMPL_COUNT] = {"provider", "raw",
                                                   "raw+wbwi"};

typedef struct target {
    impl_kind kind;
    ss_store *store;
    raw_db *raw;
    rocksdb_writebatch_wi_t *wb;
    char *held; /* last raw get's value, freed on the next (as rdb_get) */
} target;

static void
target_release(target *t)
{
    rocksdb_free(t->held);
    t->held = NULL;
    if (t->wb != NULL)
        rocksdb_writebatch_wi_destroy(t->wb);
    t->wb = NULL;
}

/* A list of key numbers: explicit, or first, first+1, ... when NULL. */
typedef struct key_list {
    const uint32_t *indexes;
    uint32_t first;
    size_t count;
} key_list;

static uint32_t
key_at(const key_list *keys, size_t i)
{
    return keys->indexes ? keys->indexes[i] : keys->first + (uint32_t)i;
}

static int
store_failed(int rc, const char *what, uint32_t key_index)
{
    fprintf(stderr, "rocksdb_ops: provider %s (key %" PRIu32 "): %s: %s\n",
            what, key_index, ss_strerror(rc), ss_error_last());
    return -1;
}

/* 1 found, 0 absent, negative on an error. */
static int
target_get(target *t, const unsigned char *key, const unsigned char **value_out,
           size_t *len_out)
{
    ss_slice key_slice = {key, KEY_LEN};
    ss_slice value;
    char *err = NULL, *v;
    size_t vlen = 0;
    int rc;

    if (t->kind == IMPL_STORE) {
        rc = ss_store_get(&value, t->store, SS_CF_DEFAULT, key_slice);
        if (rc == SS_ENOTFOUND)
            return 0;
        if (rc < 0)
            return rc;
        *value_out = value.data;
        *len_out = value.len;
        return 1;
    }
    rocksdb_free(t->held);
    t->held = NULL;
    if (t->kind == IMPL_RAW)
        v = rocksdb_get(t->raw->db, t->raw->ro, (const char *)key, KEY_LEN,
                        &vlen, &err);
    else
        v = rocksdb_writebatch_wi_get_from_batch_and_db(
            t->wb, t->raw->db, t->raw->ro, (const char *)key, KEY_LEN, &vlen,
            &err);
    if (err != NULL)
        return raw_failed(err, "get");
    if (v == NULL)
        return 0;
    t->held = v;
    *value_out = (const unsigned char *)v;
    *len_out = vlen;
    return 1;
}

static int
target_put(target *t, const unsigned char *key, const unsigned char *value)
{
    ss_slice key_slice = {key, KEY_LEN};
    ss_slice value_slice = {value, VALUE_LEN};
    char *err = NULL;

    switch (t->kind) {
    case IMPL_STORE:
        return ss_store_put(t->store, SS_CF_DEFAULT, key_slice, value_slice);
    case IMPL_RAW:
        rocksdb_put(t->raw->db, t->raw->wo, (const char *)key, KEY_LEN,
                    (const char *)value, VALUE_LEN, &err);
        return err ? raw_failed(err, "put") : 0;
    default:
        rocksdb_writebatch_wi_put(t->wb, (const char *)key, KEY_LEN,
                                  (const char *)value, VALUE_LEN);
        return 0;
    }
}

static int
target_remove(target *t, const unsigned char *key)
{
    ss_slice key_slice = {key, KEY_LEN};
    char *err = NULL;

    switch (t->kind) {
    case IMPL_STORE: return ss_store_remove(t->store, SS_CF_DEFAULT, key_slice);
    case IMPL_RAW:
        rocksdb_delete(t->raw->db, t->raw->wo, (const char *)key, KEY_LEN,
                       &err);
        return err ? raw_failed(err, "delete") : 0;
    default:
        rocksdb_writebatch_wi_delete(t->wb, (const char *)key, KEY_LEN);
        return 0;
    }
}

static int
op_failed(const target *t, int rc, const char *what, uint32_t key_index)
{
    if (t->kind == IMPL_STORE)
        return store_failed(rc, what, key_index);
    fprintf(stderr, "rocksdb_ops: %s %s failed (key %" PRIu32 ")\n",
            impl_names[t->kind], what, key_index);
    return -1;
}

/* Timed gets; each hit's length and first word checked against `gen`. */
static int
timed_gets(double *ns_out, target *t, const key_list *keys, unsigned gen,
           int expect_hit)
{
    unsigned char key[KEY_LEN];
    const unsigned char *value = NULL;
    size_t len = 0, i, found = 0, wrong = 0;
    uint64_t checksum = 0, word, start;
    uint32_t key_index;
    int rc;

    start = now_ns();
    for (i = 0; i < keys->count; i++) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_get(t, key, &value, &len);
        if (rc < 0)
            return op_failed(t, rc, "get", key_index);
        if (rc == 0)
            continue;
        found++;
        if (len != VALUE_LEN) {
            wrong++;
            continue;
        }
        word = load_word(value);
        checksum += word;
        if (word != load_word(value_for(key_index, gen)))
            wrong++;
    }
    *ns_out = (double)(now_ns() - start) / (double)keys->count;
    result_sink += checksum;
    if (wrong != 0 || found != (expect_hit ? keys->count : 0)) {
        fprintf(stderr,
                "rocksdb_ops: %s gets: %zu of %zu found (expected "
                "%s), %zu wrong values\n",
                impl_names[t->kind], found, keys->count,
                expect_hit ? "all" : "none", wrong);
        return -1;
    }
    return 0;
}

static int
timed_puts(double *ns_out, target *t, const key_list *keys, unsigned gen)
{
    unsigned char key[KEY_LEN];
    uint64_t start;
    uint32_t key_index;
    size_t i;
    int rc;

    start = now_ns();
    for (i = 0; i < keys->count; i++) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_put(t, key, value_for(key_index, gen));
        if (rc < 0)
            return op_failed(t, rc, "put", key_index);
    }
    *ns_out = (double)(now_ns() - start) / (double)keys->count;
    return 0;
}

static int
timed_removes(double *ns_out, target *t, const key_list *keys)
{
    unsigned char key[KEY_LEN];
    uint64_t start;
    uint32_t key_index;
    size_t i;
    int rc;

    start = now_ns();
    for (i = 0; i < keys->count; i++) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_remove(t, key);
        if (rc < 0)
            return op_failed(t, rc, "remove", key_index);
    }
    *ns_out = (double)(now_ns() - start) / (double)keys->count;
    return 0;
}

/* Untimed: up to SAMPLE_CHECKS keys spread over the list, full compare. */
static int
check_sample(target *t, const key_list *keys, unsigned gen, int expect_present,
             const char *when)
{
    unsigned char key[KEY_LEN];
    const unsigned char *value = NULL;
    size_t len = 0, i, step;
    uint32_t key_index;
    int rc;

    step = keys->count / SAMPLE_CHECKS + 1;
    for (i = 0; i < keys->count; i += step) {
        key_index = key_at(keys, i);
        make_key(key, key_index);
        rc = target_get(t, key, &value, &len);
        if (rc < 0)
            return op_failed(t, rc, "get", key_index);
        if (rc != expect_present ||
            (rc == 1 &&
             (len != VALUE_LEN ||
              memcmp(value, value_for(key_index, gen), VALUE_LEN) != 0))) {
            fprintf(stderr,
                    "rocksdb_ops: %s %s: key %" PRIu32 " is %s "
                    "(expected %s, generation %u)\n",
                    impl_names[t->kind], when, key_index,
                    rc == 0 ? "absent" : "present with another value",
                    expect_present ? "present" : "absent", gen);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- bench state */

typedef struct bench_line {
    char name[96];
    double value;
    int decimals;
    char unit[8];
} bench_line;

typedef struct bench_ctx {
    char dir[DIR_LEN];
    int quick;
    size_t min_ops;
    size_t get_passes;
    size_t commit_reps;
    size_t batch_reps;
    bench_line lines[MAX_BENCH_LINES];
    size_t line_count;
    size_t size_count;
    char size_labels[MAX_SIZES][LABEL_LEN];
    double commit10k_ms[MAX_SIZES];
    double reread_ms[MAX_SIZES];
    double get_ratio[MAX_SIZES];
    double put_ratio[MAX_SIZES];
    double batch_commit10k_ms;
    double batch_put_ratio[3];
} bench_ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void
bench_add(bench_ctx *ctx, double value, int decimals, const char *unit,
          const char *name_format, ...)
{
    bench_line *line;
    va_list args;

    if (ctx->line_count == MAX_BENCH_LINES)
        return;
    line = &ctx->lines[ctx->line_count++];
    va_start(args, name_format);
    vsnprintf(line->name, sizeof line->name, name_format, args);
    va_end(args);
    line->value = value;
    line->decimals = decimals;
    snprintf(line->unit, sizeof line->unit, "%s", unit);
}

static int
open_provider(ss_provider **out, const char *path)
{
    char local_dir[PATH_LEN + 32];
    const char *options[7];
    int rc;

    /* RocksDB's working directory next to the checkpoint, so --dir picks
     * the disk for both and everything is removed at the end. */
    snprintf(local_dir, sizeof local_dir, "rocksdb.local_dir=%s.work", path);
    options[0] = "provider=rocksdb";
    options[1] = "rocksdb.changelog_checkpointing=true";
    options[2] = BUDGET_OPTION;
    options[3] = local_dir;
    options[4] = "compression=none";
    /* Snapshots and file deletion would land in the middle of timed
     * phases; this benchmark is about the per-batch path only. */
    options[5] = "min_deltas_for_snapshot=1000000";
    options[6] = "maintenance_interval_ms=0";
    rc = ss_provider_open(out, path, options, 7);
    if (rc < 0) {
        fprintf(stderr, "rocksdb_ops: open %s: %s: %s\n", path, ss_strerror(rc),
                ss_error_last());
        return -1;
    }
    return 0;
}

static void
remove_provider_dirs(const char *path)
{
    char work[PATH_LEN + 8];

    snprintf(work, sizeof work, "%s.work", path);
    remove_tree(path);
    remove_tree(work);
}

static int
provider_metrics(ss_metrics *out, ss_provider *provider)
{
    int rc;

    memset(out, 0, sizeof *out);
    out->version = SS_METRICS_VERSION;
    rc = ss_provider_metrics(out, provider);
    if (rc < 0)
        return store_failed(rc, "metrics", 0);
    return 0;
}

static int
load_version(ss_store **out, double *us_out, ss_provider *provider,
             uint64_t version)
{
    uint64_t start = now_ns();
    int rc = ss_provider_load(out, provider, version);

    if (rc < 0)
        return store_failed(rc, "load", 0);
    if (us_out != NULL)
        *us_out = (double)(now_ns() - start) / 1e3;
    return 0;
}

/* ------------------------------------------------------ one key count N */

typedef enum op_kind {
    OP_GET_HIT,
    OP_GET_MISS,
    OP_PUT_OVERWRITE,
    OP_PUT_INSERT,
    OP_REMOVE
} op_kind;
#define OP_COUNT 5

static const char *const op_labels[OP_COUNT] = {
    "get (hit)", "get (miss)", "put (overwrite)", "put (insert new)", "remove"};
static const char *const op_bench_names[OP_COUNT] = {"get", "get_miss", "put",
                                                     "put_insert", "remove"};

/* The commit's parts, medians over the repetitions (ms). */
enum {
    C_WALL,
    C_PUT_NS,
    C_TOTAL,
    C_COLLECT,
    C_ENCODE,
    C_WRITE,
    C_SYNC,
    C_APPLY,
    C_LOAD_US,
    C_COUNT
};

/* The provider's commit without its file, replicated on raw (ms). */
enum { R_SORT, R_BEFORE, R_AFTER, R_APPLY, R_COUNT };

typedef struct size_run {
    uint64_t n;
    char label[LABEL_LEN];
    key_list ops[OP_COUNT];
    const uint32_t *perm;
    double ns[IMPL_COUNT][OP_COUNT];
    double fill_seconds[2], fill_put_ns;
    uint64_t memory_bytes[2];
    double commit[C_COUNT];
    double replica[R_COUNT];
    uint64_t commit_records, commit_bytes;
} size_run;

static int
store_fill(size_run *r, ss_provider *provider, uint64_t *version_out)
{
    key_list batch;
    ss_store *store = NULL;
    target t = {IMPL_STORE, NULL, NULL, NULL, NULL};
    uint64_t version = 0, start, put_ns = 0, t0;
    double ns;
    int rc;

    start = now_ns();
    for (batch.first = 0; batch.first < r->n; batch.first += FILL_BATCH) {
        batch.indexes = NULL;
        batch.count = r->n - batch.first < FILL_BATCH
                          ? (size_t)(r->n - batch.first)
                          : FILL_BATCH;
        if (load_version(&store, NULL, provider, version) < 0)
            return -1;
        t.store = store;
        t0 = now_ns();
        if (timed_puts(&ns, &t, &batch, 0) < 0)
            goto fail;
        put_ns += now_ns() - t0;
        rc = ss_store_commit(&version, store);
        if (rc < 0) {
            store_failed(rc, "commit", 0);
            goto fail;
        }
        ss_store_free(store);
        store = NULL;
    }
    r->fill_seconds[0] = (double)(now_ns() - start) / 1e9;
    r->fill_put_ns = (double)put_ns / (double)r->n;
    *version_out = version;
    return 0;
fail:
    ss_store_free(store);
    return -1;
}

/* What a write phase leaves, and what its abort must restore. */
typedef struct write_expect {
    unsigned gen_after;
    int present_after;
    int present_before;
} write_expect;

static const write_expect write_expects[OP_COUNT] = {
    {0, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 1, 0}, {0, 0, 1}};

static int
timed_write(double *ns_out, target *t, const key_list *keys, op_kind op)
{
    if (op == OP_REMOVE)
        return timed_removes(ns_out, t, keys);
    return timed_puts(ns_out, t, keys, op == OP_PUT_OVERWRITE ? 1 : 0);
}

static int
timed_get_passes(size_run *r, const bench_ctx *ctx, target *t)
{
    double passes[8];
    size_t p;

    for (p = 0; p < ctx->get_passes; p++)
        if (timed_gets(&passes[p], t, &r->ops[OP_GET_HIT], 0, 1) < 0)
            return -1;
    r->ns[t->kind][OP_GET_HIT] = median(passes, ctx->get_passes);
    for (p = 0; p < ctx->get_passes; p++)
        if (timed_gets(&passes[p], t, &r->ops[OP_GET_MISS], 0, 0) < 0)
            return -1;
    r->ns[t->kind][OP_GET_MISS] = median(passes, ctx->get_passes);
    return 0;
}

/* Each provider write phase: one batch, checked, aborted, reloaded. */
static int
store_point_ops(size_run *r, const bench_ctx *ctx, target *t,
                ss_provider *provider, uint64_t version)
{
    const write_expect *e;
    int op, rc;

    if (timed_get_passes(r, ctx, t) < 0)
        return -1;
    for (op = OP_PUT_OVERWRITE; op < OP_COUNT; op++) {
        e = &write_expects[op];
        if (timed_write(&r->ns[IMPL_STORE][op], t, &r->ops[op], op) < 0 ||
            check_sample(t, &r->ops[op], e->gen_after, e->present_after,
                         "after the write phase") < 0)
            return -1;
        if ((rc = ss_store_abort(t->store)) < 0)
            return store_failed(rc, "abort", 0);
        ss_store_free(t->store);
        t->store = NULL;
        if (load_version(&t->store, NULL, provider, version) < 0 ||
            check_sample(t, &r->ops[op], 0, e->present_before, "after abort") <
                0)
            return -1;
    }
    return 0;
}

/* Commit exactly COMMIT_CHANGES overwrites into the N-key store. */
static int
store_commits(size_run *r, const bench_ctx *ctx, target *t,
              ss_provider *provider, uint64_t *version)
{
    double parts[C_COUNT][MAX_REPS];
    ss_metrics m;
    key_list changes;
    uint64_t start;
    size_t rep;
    int rc, i;

    changes.first = 0;
    changes.count = COMMIT_CHANGES;
    for (rep = 0; rep < ctx->commit_reps; rep++) {
        changes.indexes =
            r->perm + (rep * COMMIT_CHANGES) % (r->n - COMMIT_CHANGES + 1);
        if (timed_puts(&parts[C_PUT_NS][rep], t, &changes, 2 + (unsigned)rep) <
            0)
            return -1;
        start = now_ns();
        rc = ss_store_commit(version, t->store);
        if (rc < 0)
            return store_failed(rc, "commit", 0);
        parts[C_WALL][rep] = (double)(now_ns() - start) / 1e6;
        if (provider_metrics(&m, provider) < 0)
            return -1;
        parts[C_TOTAL][rep] = (double)m.commit_total_ns / 1e6;
        parts[C_COLLECT][rep] = (double)m.commit_collect_ns / 1e6;
        parts[C_ENCODE][rep] = (double)m.commit_encode_ns / 1e6;
        parts[C_WRITE][rep] = (double)m.commit_write_ns / 1e6;
        parts[C_SYNC][rep] = (double)m.commit_sync_ns / 1e6;
        parts[C_APPLY][rep] = (double)(m.commit_total_ns - m.commit_collect_ns -
                                       m.commit_encode_ns - m.commit_write_ns -
                                       m.commit_sync_ns) /
                              1e6;
        r->commit_records = m.commit_records;
        r->commit_bytes = m.commit_bytes;
        if (m.commit_records != COMMIT_CHANGES) {
            fprintf(stderr,
                    "rocksdb_ops: commit wrote %" PRIu64 " records, "
                    "expected %u\n",
                    m.commit_records, COMMIT_CHANGES);
            return -1;
        }
        ss_store_free(t->store);
        t->store = NULL;
        if (load_version(&t->store, &parts[C_LOAD_US][rep], provider,
                         *version) < 0 ||
            provider_metrics(&m, provider) < 0)
            return -1;
        if (m.num_keys != r->n) {
            fprintf(stderr,
                    "rocksdb_ops: %" PRIu64 " keys after commit, "
                    "expected %" PRIu64 "\n",
                    m.num_keys, r->n);
            return -1;
        }
        if (check_sample(t, &changes, 2 + (unsigned)rep, 1,
                         "after commit and reload") < 0)
            return -1;
    }
    for (i = 0; i < C_COUNT; i++)
        r->commit[i] = median(parts[i], ctx->commit_reps);
    return 0;
}

static int
run_store(size_run *r, const bench_ctx *ctx)
{
    char path[PATH_LEN];
    ss_provider *provider = NULL;
    target t = {IMPL_STORE, NULL, NULL, NULL, NULL};
    key_list all = {NULL, 0, 0};
    ss_metrics m;
    uint64_t version;
    int result = -1;

    snprintf(path, sizeof path, "%s/store-%s", ctx->dir, r->label);
    if (open_provider(&provider, path) < 0)
        goto out;
    fprintf(stderr, "rocksdb_ops: %s: filling the provider\n", r->label);
    if (store_fill(r, provider, &version) < 0 ||
        provider_metrics(&m, provider) < 0)
        goto out;
    if (m.num_keys != r->n) {
        fprintf(stderr,
                "rocksdb_ops: provider holds %" PRIu64 " keys after "
                "the fill, expected %" PRIu64 "\n",
                m.num_keys, r->n);
        goto out;
    }
    all.count = r->n;
    fprintf(stderr, "rocksdb_ops: %s: provider point operations\n", r->label);
    if (load_version(&t.store, NULL, provider, version) < 0 ||
        check_sample(&t, &all, 0, 1, "after fill") < 0 ||
        store_point_ops(r, ctx, &t, provider, version) < 0 ||
        provider_metrics(&m, provider) < 0)
        goto out;
    r->memory_bytes[0] = m.memory_bytes;
    fprintf(stderr, "rocksdb_ops: %s: provider commits\n", r->label);
    if (store_commits(r, ctx, &t, provider, &version) < 0)
        goto out;
    result = 0;
out:
    ss_store_free(t.store);
    ss_provider_close(provider);
    remove_provider_dirs(path);
    return result;
}

static int
key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, KEY_LEN);
}

/*
 * The provider's commit minus its file, call for call on raw: a batch of
 * the same 10k overwrites in a WBWI; sort the touched keys; look each up
 * in the instance (before) and through the batch (after); apply the
 * batch.  The lookups are what the exact key count costs.
 */
static int
raw_commit_replica(size_run *r, const bench_ctx *ctx, raw_db *raw)
{
    static unsigned char keys[COMMIT_CHANGES][KEY_LEN];
    double parts[R_COUNT][MAX_REPS];
    target t = {IMPL_WBWI, NULL, raw, NULL, NULL};
    key_list changes = {NULL, 0, COMMIT_CHANGES};
    char *err = NULL, *v;
    size_t rep, i, vlen, wrong = 0, before_found = 0;
    uint64_t t0, t1, t2, t3, t4;
    double ns;
    int k;

    for (rep = 0; rep < ctx->commit_reps; rep++) {
        changes.indexes =
            r->perm + (rep * COMMIT_CHANGES) % (r->n - COMMIT_CHANGES + 1);
        t.wb = rocksdb_writebatch_wi_create(0, 1);
        if (timed_puts(&ns, &t, &changes, 2 + (unsigned)rep) < 0)
            goto fail;
        t0 = now_ns();
        /* The provider records each key as it is put; copying is that. */
        for (i = 0; i < COMMIT_CHANGES; i++)
            make_key(keys[i], changes.indexes[i]);
        qsort(keys, COMMIT_CHANGES, KEY_LEN, key_cmp);
        t1 = now_ns();
        for (i = 0; i < COMMIT_CHANGES; i++) {
            v = rocksdb_get(raw->db, raw->ro, (const char *)keys[i], KEY_LEN,
                            &vlen, &err);
            if (err != NULL) {
                raw_failed(err, "get (before)");
                goto fail;
            }
            before_found += v != NULL;
            rocksdb_free(v);
        }
        t2 = now_ns();
        for (i = 0; i < COMMIT_CHANGES; i++) {
            v = rocksdb_writebatch_wi_get_from_batch_and_db(
                t.wb, raw->db, raw->ro, (const char *)keys[i], KEY_LEN, &vlen,
                &err);
            if (err != NULL) {
                raw_failed(err, "get (after)");
                goto fail;
            }
            wrong += v == NULL || vlen != VALUE_LEN;
            rocksdb_free(v);
        }
        t3 = now_ns();
        rocksdb_write_writebatch_wi(raw->db, raw->wo, t.wb, &err);
        t4 = now_ns();
        if (err != NULL) {
            raw_failed(err, "write_writebatch_wi");
            goto fail;
        }
        target_release(&t);
        parts[R_SORT][rep] = (double)(t1 - t0) / 1e6;
        parts[R_BEFORE][rep] = (double)(t2 - t1) / 1e6;
        parts[R_AFTER][rep] = (double)(t3 - t2) / 1e6;
        parts[R_APPLY][rep] = (double)(t4 - t3) / 1e6;
        t.kind = IMPL_RAW;
        if (check_sample(&t, &changes, 2 + (unsigned)rep, 1,
                         "after the replicated commit") < 0)
            goto fail;
        target_release(&t);
        t.kind = IMPL_WBWI;
    }
    if (wrong != 0 || before_found != ctx->commit_reps * COMMIT_CHANGES) {
        fprintf(stderr,
                "rocksdb_ops: replicated commit: %zu keys found "
                "before (expected all), %zu wrong after\n",
                before_found, wrong);
        return -1;
    }
    for (k = 0; k < R_COUNT; k++)
        r->replica[k] = median(parts[k], ctx->commit_reps);
    return 0;
fail:
    target_release(&t);
    return -1;
}

/* The raw writes change the instance: inserts are taken out again
 * (untimed) so that the removes start from N keys, as the provider's. */
static int
raw_writes(size_run *r, raw_db *raw)
{
    target t = {IMPL_RAW, NULL, raw, NULL, NULL};
    double ns;
    int result = -1;

    if (timed_puts(&r->ns[IMPL_RAW][OP_PUT_OVERWRITE], &t,
                   &r->ops[OP_PUT_OVERWRITE], 1) < 0 ||
        check_sample(&t, &r->ops[OP_PUT_OVERWRITE], 1, 1, "after overwrite") <
            0 ||
        timed_puts(&r->ns[IMPL_RAW][OP_PUT_INSERT], &t, &r->ops[OP_PUT_INSERT],
                   0) < 0 ||
        check_sample(&t, &r->ops[OP_PUT_INSERT], 0, 1, "after insert") < 0 ||
        timed_removes(&ns, &t, &r->ops[OP_PUT_INSERT]) < 0 ||
        check_sample(&t, &r->ops[OP_PUT_INSERT], 0, 0,
                     "after removing inserts") < 0 ||
        timed_removes(&r->ns[IMPL_RAW][OP_REMOVE], &t, &r->ops[OP_REMOVE]) <
            0 ||
        check_sample(&t, &r->ops[OP_REMOVE], 0, 0, "after remove") < 0)
        goto out;
    result = 0;
out:
    target_release(&t);
    return result;
}

static int
run_raw(size_run *r, const bench_ctx *ctx)
{
    char path[PATH_LEN];
    raw_db raw;
    target t = {IMPL_RAW, NULL, &raw, NULL, NULL};
    key_list all = {NULL, 0, 0};
    const write_expect *e;
    uint64_t start;
    int result = -1, op;

    snprintf(path, sizeof path, "%s/raw-%s", ctx->dir, r->label);
    fprintf(stderr, "rocksdb_ops: %s: filling the raw instance\n", r->label);
    if (raw_open(&raw, path) < 0)
        return -1;
    start = now_ns();
    if (raw_fill(&raw, 0, r->n) < 0)
        goto out;
    r->fill_seconds[1] = (double)(now_ns() - start) / 1e9;
    all.count = r->n;
    fprintf(stderr, "rocksdb_ops: %s: raw point operations\n", r->label);
    if (check_sample(&t, &all, 0, 1, "after fill") < 0 ||
        timed_get_passes(r, ctx, &t) < 0)
        goto out;
    r->memory_bytes[1] = raw_memory(&raw);
    target_release(&t);
    t.kind = IMPL_WBWI;
    t.wb = rocksdb_writebatch_wi_create(0, 1);
    if (timed_get_passes(r, ctx, &t) < 0)
        goto out;
    for (op = OP_PUT_OVERWRITE; op < OP_COUNT; op++) {
        e = &write_expects[op];
        target_release(&t);
        t.wb = rocksdb_writebatch_wi_create(0, 1);
        if (timed_write(&r->ns[IMPL_WBWI][op], &t, &r->ops[op], op) < 0 ||
            check_sample(&t, &r->ops[op], e->gen_after, e->present_after,
                         "after the write phase") < 0)
            goto out;
    }
    target_release(&t);
    fprintf(stderr, "rocksdb_ops: %s: raw commit replica and writes\n",
            r->label);
    if (raw_commit_replica(r, ctx, &raw) < 0 || raw_writes(r, &raw) < 0)
        goto out;
    result = 0;
out:
    target_release(&t);
    raw_close(&raw);
    return result;
}

static void
print_size_report(size_run *r, bench_ctx *ctx)
{
    const char *label = r->label;
    double ratio_raw, ratio_wbwi, reread, file, replica_total;
    int op;

    printf("\n== N = %s keys (%" PRIu64 "): fill\n", label, r->n);
    printf("provider: commits of <= %u keys: %.2f s (puts %.1f ns/key); "
           "raw: write batches\n  of %u: %.2f s.  memory (block cache + "
           "memtables) after the point ops:\n  provider %.1f MiB, raw %.1f "
           "MiB (after its gets)\n",
           FILL_BATCH, r->fill_seconds[0], r->fill_put_ns, FILL_BATCH,
           r->fill_seconds[1], mib(r->memory_bytes[0]),
           mib(r->memory_bytes[1]));

    printf("\n== N = %s: point operations, ns/op\n", label);
    printf("%-17s %9s %9s %9s %9s %9s %9s\n", "operation", "ops", "provider",
           "raw", "raw+wbwi", "prov/raw", "prov/wbwi");
    for (op = 0; op < OP_COUNT; op++) {
        ratio_raw = r->ns[IMPL_STORE][op] / r->ns[IMPL_RAW][op];
        ratio_wbwi = r->ns[IMPL_STORE][op] / r->ns[IMPL_WBWI][op];
        printf("%-17s %9zu %9.1f %9.1f %9.1f %8.2fx %8.2fx\n", op_labels[op],
               r->ops[op].count, r->ns[IMPL_STORE][op], r->ns[IMPL_RAW][op],
               r->ns[IMPL_WBWI][op], ratio_raw, ratio_wbwi);
        bench_add(ctx, r->ns[IMPL_STORE][op], 1, "ns", "rocksdb.%s.%s.ns",
                  label, op_bench_names[op]);
        bench_add(ctx, ratio_raw, 2, "x", "rocksdb.%s.%s.ratio_raw", label,
                  op_bench_names[op]);
        bench_add(ctx, ratio_wbwi, 2, "x", "rocksdb.%s.%s.ratio_wbwi", label,
                  op_bench_names[op]);
        bench_add(ctx, r->ns[IMPL_RAW][op], 1, "ns", "rocksdb.%s.raw.%s.ns",
                  label, op_bench_names[op]);
        bench_add(ctx, r->ns[IMPL_WBWI][op], 1, "ns",
                  "rocksdb.%s.raw_wbwi.%s.ns", label, op_bench_names[op]);
    }
    printf("provider = one batch per write phase, aborted afterwards; gets: "
           "median of %zu passes\n",
           ctx->get_passes);
    printf("raw      = rocksdb_get/put/delete, WAL off: writes go to the "
           "memtable\n");
    printf("raw+wbwi = write batch with index over the raw instance (what "
           "the provider\n           calls); writes stay in the batch, "
           "which is dropped\n");

    reread = r->replica[R_BEFORE] + r->replica[R_AFTER];
    replica_total = r->replica[R_SORT] + reread + r->replica[R_APPLY];
    file = r->commit[C_ENCODE] + r->commit[C_WRITE] + r->commit[C_SYNC];
    printf("\n== N = %s: commit of %u changed keys (overwrites), median of "
           "%zu\n",
           label, COMMIT_CHANGES, ctx->commit_reps);
    printf("puts before the commit       %8.1f ns/row\n", r->commit[C_PUT_NS]);
    printf("ss_store_commit (wall)       %8.3f ms\n", r->commit[C_WALL]);
    printf("  metrics commit_total       %8.3f ms\n", r->commit[C_TOTAL]);
    printf("  metrics commit_collect     %8.3f ms  (sort + 2 lookups/key)\n",
           r->commit[C_COLLECT]);
    printf("  metrics commit_encode      %8.3f ms\n", r->commit[C_ENCODE]);
    printf("  metrics commit_write       %8.3f ms\n", r->commit[C_WRITE]);
    printf("  metrics commit_sync        %8.3f ms\n", r->commit[C_SYNC]);
    printf("  rest: apply batch to RocksDB %6.3f ms\n", r->commit[C_APPLY]);
    printf("  records / bytes (last)     %8" PRIu64 " / %" PRIu64 "\n",
           r->commit_records, r->commit_bytes);
    printf("load of the new version      %8.1f us\n", r->commit[C_LOAD_US]);
    printf("same commit without the file, replicated on raw (same keys):\n");
    printf("  copy + sort keys           %8.3f ms\n", r->replica[R_SORT]);
    printf("  lookups before (instance)  %8.3f ms  %6.0f ns/key\n",
           r->replica[R_BEFORE], r->replica[R_BEFORE] * 1e6 / COMMIT_CHANGES);
    printf("  lookups after (via batch)  %8.3f ms  %6.0f ns/key\n",
           r->replica[R_AFTER], r->replica[R_AFTER] * 1e6 / COMMIT_CHANGES);
    printf("  apply batch                %8.3f ms\n", r->replica[R_APPLY]);
    printf("  sum                        %8.3f ms\n", replica_total);
    printf("the double read costs ~%.3f ms = %.0f%% of the provider's "
           "commit (file: %.3f ms)\n",
           reread, 100.0 * reread / r->commit[C_WALL], file);

    bench_add(ctx, r->fill_seconds[0], 2, "s", "rocksdb.%s.fill.s", label);
    bench_add(ctx, r->fill_seconds[1], 2, "s", "rocksdb.%s.raw.fill.s", label);
    bench_add(ctx, mib(r->memory_bytes[0]), 1, "MiB",
              "rocksdb.%s.memory_bytes.MiB", label);
    bench_add(ctx, r->commit[C_WALL], 3, "ms", "rocksdb.%s.commit10k.ms",
              label);
    bench_add(ctx, r->commit[C_COLLECT], 3, "ms",
              "rocksdb.%s.commit10k.collect_ms", label);
    bench_add(ctx, r->commit[C_ENCODE], 3, "ms",
              "rocksdb.%s.commit10k.encode_ms", label);
    bench_add(ctx, r->commit[C_WRITE], 3, "ms", "rocksdb.%s.commit10k.write_ms",
              label);
    bench_add(ctx, r->commit[C_SYNC], 3, "ms", "rocksdb.%s.commit10k.sync_ms",
              label);
    bench_add(ctx, r->commit[C_APPLY], 3, "ms", "rocksdb.%s.commit10k.apply_ms",
              label);
    bench_add(ctx, (double)r->commit_bytes, 0, "B",
              "rocksdb.%s.commit10k.bytes", label);
    bench_add(ctx, reread, 3, "ms", "rocksdb.%s.commit10k.reread_ms", label);
    bench_add(ctx, 100.0 * reread / r->commit[C_WALL], 1, "%",
              "rocksdb.%s.commit10k.reread_share", label);
    bench_add(ctx, r->replica[R_SORT], 3, "ms",
              "rocksdb.%s.commit10k.raw_sort_ms", label);
    bench_add(ctx, r->replica[R_APPLY], 3, "ms",
              "rocksdb.%s.commit10k.raw_apply_ms", label);
    bench_add(ctx, r->commit[C_LOAD_US], 1, "us", "rocksdb.%s.load.us", label);
    fflush(stdout);
}

static int
run_size(bench_ctx *ctx, uint64_t n)
{
    size_run *r = calloc(1, sizeof *r);
    uint32_t *perm = NULL, *hits = NULL;
    uint64_t rng = 0x5eed0000u + n;
    size_t i, n_hits, n_change;
    int result = -1;

    if (r == NULL)
        return -1;
    r->n = n;
    format_count(r->label, sizeof r->label, n);
    perm = malloc((size_t)n * sizeof *perm);
    if (perm == NULL)
        goto out;
    for (i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    shuffle(perm, (size_t)n, &rng);
    r->perm = perm;
    /* The same op lists as memory_ops. */
    n_hits = n > ctx->min_ops ? (size_t)n : ctx->min_ops;
    if (n_hits == n) {
        r->ops[OP_GET_HIT].indexes = perm;
    } else {
        hits = malloc(n_hits * sizeof *hits);
        if (hits == NULL)
            goto out;
        for (i = 0; i < n_hits; i++)
            hits[i] = perm[i % n];
        r->ops[OP_GET_HIT].indexes = hits;
    }
    r->ops[OP_GET_HIT].count = n_hits;
    n_change = n < ctx->min_ops ? (size_t)n : ctx->min_ops;
    r->ops[OP_PUT_OVERWRITE].indexes = perm;
    r->ops[OP_PUT_OVERWRITE].count = n_change;
    n_change = n / 2 < ctx->min_ops ? (size_t)(n / 2) : ctx->min_ops;
    r->ops[OP_PUT_INSERT].first = (uint32_t)n;
    r->ops[OP_PUT_INSERT].count = n_change;
    r->ops[OP_REMOVE].indexes = perm + (n - n_change);
    r->ops[OP_REMOVE].count = n_change;
    r->ops[OP_GET_MISS].first = (uint32_t)(n + n_change);
    r->ops[OP_GET_MISS].count = ctx->min_ops;

    if (run_store(r, ctx) < 0 || run_raw(r, ctx) < 0)
        goto out;
    print_size_report(r, ctx);
    if (ctx->size_count < MAX_SIZES) {
        snprintf(ctx->size_labels[ctx->size_count], sizeof ctx->size_labels[0],
                 "%s", r->label);
        ctx->get_ratio[ctx->size_count] =
            r->ns[IMPL_STORE][OP_GET_HIT] / r->ns[IMPL_RAW][OP_GET_HIT];
        ctx->put_ratio[ctx->size_count] = r->ns[IMPL_STORE][OP_PUT_OVERWRITE] /
                                          r->ns[IMPL_RAW][OP_PUT_OVERWRITE];
        ctx->reread_ms[ctx->size_count] =
            r->replica[R_BEFORE] + r->replica[R_AFTER];
        ctx->commit10k_ms[ctx->size_count++] = r->commit[C_WALL];
    }
    result = 0;
out:
    free(hits);
    free(perm);
    free(r);
    return result;
}

/* ------------------------------------------------------ batch workload */

typedef struct batch_figures {
    double load_us, put_ns, commit_ns, raw_ns, wbwi_ns;
    double collect_ms, encode_ms, write_ms, sync_ms;
} batch_figures;

/* One stream-processor batch on a fresh provider of BATCH_ROWS rows. */
static int
batch_store_rep(batch_figures *out, const key_list *rows, const char *path)
{
    ss_provider *provider = NULL;
    target t = {IMPL_STORE, NULL, NULL, NULL, NULL};
    key_list base = {NULL, 0, BATCH_ROWS};
    ss_metrics m;
    uint64_t version = 0, start;
    double ns;
    int result = -1, rc;

    if (open_provider(&provider, path) < 0)
        return -1;
    if (load_version(&t.store, NULL, provider, 0) < 0 ||
        timed_puts(&ns, &t, &base, 0) < 0)
        goto out;
    if ((rc = ss_store_commit(&version, t.store)) < 0) {
        store_failed(rc, "commit", 0);
        goto out;
    }
    ss_store_free(t.store);
    t.store = NULL;
    if (load_version(&t.store, &out->load_us, provider, version) < 0 ||
        timed_puts(&ns, &t, rows, 1) < 0)
        goto out;
    out->put_ns = ns * (double)rows->count;
    start = now_ns();
    if ((rc = ss_store_commit(&version, t.store)) < 0) {
        store_failed(rc, "commit", 0);
        goto out;
    }
    out->commit_ns = (double)(now_ns() - start);
    if (provider_metrics(&m, provider) < 0)
        goto out;
    if (m.commit_records != BATCH_ROWS) {
        fprintf(stderr,
                "rocksdb_ops: batch commit wrote %" PRIu64 " records, "
                "expected %u\n",
                m.commit_records, BATCH_ROWS);
        goto out;
    }
    out->collect_ms = (double)m.commit_collect_ns / 1e6;
    out->encode_ms = (double)m.commit_encode_ns / 1e6;
    out->write_ms = (double)m.commit_write_ns / 1e6;
    out->sync_ms = (double)m.commit_sync_ns / 1e6;
    ss_store_free(t.store);
    t.store = NULL;
    if (load_version(&t.store, NULL, provider, version) < 0 ||
        check_sample(&t, rows, 1, 1, "after batch commit") < 0 ||
        provider_metrics(&m, provider) < 0)
        goto out;
    if (m.num_keys < BATCH_ROWS || m.num_keys > 2 * BATCH_ROWS) {
        fprintf(stderr, "rocksdb_ops: %" PRIu64 " keys after batch\n",
                m.num_keys);
        goto out;
    }
    result = 0;
out:
    ss_store_free(t.store);
    ss_provider_close(provider);
    remove_provider_dirs(path);
    return result;
}

/* The same puts on a fresh raw instance holding the same rows: first
 * into a WBWI (dropped), then straight into the instance. */
static int
batch_raw_rep(batch_figures *out, const key_list *rows, const char *path)
{
    raw_db raw;
    target t = {IMPL_WBWI, NULL, &raw, NULL, NULL};
    double ns;
    int result = -1;

    if (raw_open(&raw, path) < 0)
        return -1;
    if (raw_fill(&raw, 0, BATCH_ROWS) < 0)
        goto out;
    t.wb = rocksdb_writebatch_wi_create(0, 1);
    if (timed_puts(&ns, &t, rows, 1) < 0)
        goto out;
    out->wbwi_ns = ns * (double)rows->count;
    target_release(&t);
    t.kind = IMPL_RAW;
    if (timed_puts(&ns, &t, rows, 1) < 0 ||
        check_sample(&t, rows, 1, 1, "after batch") < 0)
        goto out;
    out->raw_ns = ns * (double)rows->count;
    result = 0;
out:
    target_release(&t);
    raw_close(&raw);
    return result;
}

static int
run_batch_workload(bench_ctx *ctx)
{
    static const unsigned overwrite_pcts[3] = {0, 50, 100};
    double load_us[MAX_REPS], put[MAX_REPS], commit[MAX_REPS];
    double total[MAX_REPS], raw[MAX_REPS], wbwi[MAX_REPS];
    double parts[4][3][MAX_REPS], split[3][4];
    double row_put, row_total, row_raw, row_wbwi, commit_ms;
    uint32_t existing[BATCH_ROWS], rows_buf[BATCH_ROWS];
    key_list rows = {rows_buf, 0, BATCH_ROWS};
    char path[PATH_LEN];
    batch_figures f;
    uint64_t rng;
    size_t mix, rep, i, n_overwrite;

    fprintf(stderr, "rocksdb_ops: batch workload\n");
    printf("\n== batch workload: provider of %u rows (loaded from memory), "
           "put %u rows,\n   commit; median of %zu batches, each on a fresh "
           "provider and a fresh raw instance\n",
           BATCH_ROWS, BATCH_ROWS, ctx->batch_reps);
    printf("%-9s %8s %10s %10s %11s %10s %10s %9s\n", "overwrite", "load us",
           "put ns/row", "commit ms", "put+commit", "raw", "raw+wbwi",
           "prov/raw");
    printf("%-9s %8s %10s %10s %11s %10s %10s %9s\n", "", "", "", "", "ns/row",
           "ns/row", "ns/row", "put");
    for (mix = 0; mix < 3; mix++) {
        for (rep = 0; rep < ctx->batch_reps; rep++) {
            rng = 0xba7c4u + mix * 1000u + rep;
            for (i = 0; i < BATCH_ROWS; i++)
                existing[i] = (uint32_t)i;
            shuffle(existing, BATCH_ROWS, &rng);
            n_overwrite = BATCH_ROWS * overwrite_pcts[mix] / 100u;
            for (i = 0; i < BATCH_ROWS; i++)
                rows_buf[i] =
                    i < n_overwrite ? existing[i] : (uint32_t)(BATCH_ROWS + i);
            shuffle(rows_buf, BATCH_ROWS, &rng);
            memset(&f, 0, sizeof f);
            snprintf(path, sizeof path, "%s/batch-%u-%zu", ctx->dir,
                     overwrite_pcts[mix], rep);
            if (batch_store_rep(&f, &rows, path) < 0)
                return -1;
            snprintf(path, sizeof path, "%s/batch-raw-%u-%zu", ctx->dir,
                     overwrite_pcts[mix], rep);
            if (batch_raw_rep(&f, &rows, path) < 0)
                return -1;
            load_us[rep] = f.load_us;
            put[rep] = f.put_ns;
            commit[rep] = f.commit_ns;
            total[rep] = f.put_ns + f.commit_ns;
            raw[rep] = f.raw_ns;
            wbwi[rep] = f.wbwi_ns;
            parts[0][mix][rep] = f.collect_ms;
            parts[1][mix][rep] = f.encode_ms;
            parts[2][mix][rep] = f.write_ms;
            parts[3][mix][rep] = f.sync_ms;
        }
        for (i = 0; i < 4; i++)
            split[mix][i] = median(parts[i][mix], ctx->batch_reps);
        row_put = median(put, ctx->batch_reps) / BATCH_ROWS;
        row_total = median(total, ctx->batch_reps) / BATCH_ROWS;
        row_raw = median(raw, ctx->batch_reps) / BATCH_ROWS;
        row_wbwi = median(wbwi, ctx->batch_reps) / BATCH_ROWS;
        commit_ms = median(commit, ctx->batch_reps) / 1e6;
        printf("%8u%% %8.1f %10.1f %10.3f %11.1f %10.1f %10.1f %8.2fx\n",
               overwrite_pcts[mix], median(load_us, ctx->batch_reps), row_put,
               commit_ms, row_total, row_raw, row_wbwi, row_put / row_raw);
        if (overwrite_pcts[mix] == 100)
            ctx->batch_commit10k_ms = commit_ms;
        ctx->batch_put_ratio[mix] = row_put / row_raw;

        bench_add(ctx, row_put, 1, "ns", "rocksdb.batch.overwrite%u.ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_total, 1, "ns",
                  "rocksdb.batch.overwrite%u.put_commit_ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, commit_ms, 3, "ms",
                  "rocksdb.batch.overwrite%u.commit_ms", overwrite_pcts[mix]);
        bench_add(ctx, median(load_us, ctx->batch_reps), 1, "us",
                  "rocksdb.batch.overwrite%u.load_us", overwrite_pcts[mix]);
        bench_add(ctx, row_raw, 1, "ns",
                  "rocksdb.batch.overwrite%u.raw_ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_wbwi, 1, "ns",
                  "rocksdb.batch.overwrite%u.raw_wbwi_ns_per_row",
                  overwrite_pcts[mix]);
        bench_add(ctx, row_put / row_raw, 2, "x",
                  "rocksdb.batch.overwrite%u.ratio_raw", overwrite_pcts[mix]);
        bench_add(ctx, row_total / row_raw, 2, "x",
                  "rocksdb.batch.overwrite%u.put_commit_ratio_raw",
                  overwrite_pcts[mix]);
        fflush(stdout);
    }
    printf("commit split (ms, medians of ss_provider_metrics):\n");
    printf("%-9s %8s %8s %8s %8s\n", "overwrite", "collect", "encode", "write",
           "sync");
    for (mix = 0; mix < 3; mix++)
        printf("%8u%% %8.3f %8.3f %8.3f %8.3f\n", overwrite_pcts[mix],
               split[mix][0], split[mix][1], split[mix][2], split[mix][3]);
    printf("put+commit includes the fsync'd delta file and applying the "
           "batch; raw puts\nwrite nothing durable (WAL off)\n");
    return 0;
}

/* ------------------------------------------------------------------ main */

static const char *
verdict(int met)
{
    return met ? "met" : "MISSED";
}

static void
print_targets(const bench_ctx *ctx)
{
    double ratio;
    size_t i;

    printf("\n== targets: provider/raw\n");
    for (i = 0; i < ctx->size_count; i++) {
        printf("%-5s get         %5.2fx  <= 1.2x   %s\n", ctx->size_labels[i],
               ctx->get_ratio[i], verdict(ctx->get_ratio[i] <= 1.2));
        printf("%-5s put         %5.2fx  <= 1.2x   %s\n", ctx->size_labels[i],
               ctx->put_ratio[i], verdict(ctx->put_ratio[i] <= 1.2));
        ratio = ctx->commit10k_ms[i] / ctx->batch_commit10k_ms;
        printf("%-5s commit10k %7.3f ms, %.2fx the 10k-row store's  "
               "<= 1.5x   %s  (double read %.3f ms)\n",
               ctx->size_labels[i], ctx->commit10k_ms[i], ratio,
               verdict(ratio <= 1.5), ctx->reread_ms[i]);
    }
    for (i = 0; i < 3; i++)
        printf("batch %3u%% put %5.2fx the raw puts (no target)\n",
               i == 0 ? 0u : (i == 1 ? 50u : 100u), ctx->batch_put_ratio[i]);
    printf("(commit10k: \"about 10k records' worth whatever the state size\" "
           "taken as <= 1.5x\n the commit of the batch workload's 10k-row "
           "store, 100%% overwrite)\n");
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: rocksdb_ops [--keys N[,N...]] [--dir DIR] [--quick]\n"
            "\n"
            "  --keys N,...  key counts to run (suffix k or M allowed);\n"
            "                default 1000000 (100000 with --quick).\n"
            "                10M takes minutes: --keys 1000000,10000000\n"
            "  --dir DIR     parent of the working directory (default "
            "/tmp); a fresh\n"
            "                subdirectory holds checkpoints and RocksDB "
            "instances\n"
            "                and is removed at the end\n"
            "  --quick       fewer ops and repetitions (smoke test, < 30 s)\n"
            "\n"
            "Prints tables, then one 'BENCH <name> <value> <unit>' line per "
            "figure.\n");
}

static int
parse_counts(uint64_t *counts, size_t *count_out, const char *text)
{
    char *end;
    unsigned long long value;
    size_t count = 0;

    while (*text != '\0') {
        errno = 0;
        value = strtoull(text, &end, 10);
        if (end == text || errno != 0)
            return -1;
        if (*end == 'k' || *end == 'K') {
            value *= 1000u;
            end++;
        } else if (*end == 'm' || *end == 'M') {
            value *= 1000000u;
            end++;
        }
        /* Key numbers up to N + 2 * min_ops must fit in 32 bits. */
        if (value < 2 * COMMIT_CHANGES || value > 1000000000u ||
            count == MAX_SIZES)
            return -1;
        counts[count++] = value;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        text = end;
    }
    *count_out = count;
    return count ? 0 : -1;
}

int
main(int argc, char **argv)
{
    static bench_ctx ctx;
    uint64_t counts[MAX_SIZES];
    size_t count_total = 0, i;
    const char *parent = "/tmp", *keys_arg = NULL;
    int status = 0;

    for (i = 1; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--keys") == 0 && i + 1 < (size_t)argc) {
            keys_arg = argv[++i];
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < (size_t)argc) {
            parent = argv[++i];
        } else if (strcmp(argv[i], "--quick") == 0) {
            ctx.quick = 1;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (keys_arg == NULL)
        keys_arg = ctx.quick ? "100000" : "1000000";
    if (parse_counts(counts, &count_total, keys_arg) < 0) {
        fprintf(stderr,
                "rocksdb_ops: bad --keys '%s' (each %u..1e9, at most"
                " %u)\n",
                keys_arg, 2 * COMMIT_CHANGES, MAX_SIZES);
        return 2;
    }
    ctx.min_ops = ctx.quick ? 100000u : 1000000u;
    ctx.get_passes = ctx.quick ? 1u : 3u;
    ctx.commit_reps = ctx.quick ? 3u : 7u;
    ctx.batch_reps = ctx.quick ? 5u : 20u;
    snprintf(ctx.dir, sizeof ctx.dir, "%s/rocksdb_ops.XXXXXX", parent);
    if (mkdtemp(ctx.dir) == NULL) {
        fprintf(stderr, "rocksdb_ops: mkdtemp %s: %s\n", ctx.dir,
                strerror(errno));
        return 1;
    }
    value_pool_init();

    printf("rocksdb_ops: statestore %s, provider=rocksdb (changelog "
           "checkpointing),\n  memory_budget 256 MiB (block "
           "cache 128 MiB, write buffers\n  16 MiB x 2, db_write_buffer_size "
           "32 MiB),\n  WAL off, "
           "compression=none for delta files, "
           "min_deltas_for_snapshot=1000000,\n  keys %u B, values %u B, "
           "working dir %s (removed at end)%s\n",
           SS_VERSION_STRING, KEY_LEN, VALUE_LEN, ctx.dir,
           ctx.quick ? ", QUICK" : "");
    fflush(stdout);

    for (i = 0; i < count_total && status == 0; i++)
        if (run_size(&ctx, counts[i]) < 0)
            status = 1;
    if (status == 0 && run_batch_workload(&ctx) < 0)
        status = 1;
    remove_tree(ctx.dir);
    if (status != 0) {
        fprintf(stderr, "rocksdb_ops: FAILED\n");
        return status;
    }

    for (i = 0; i < ctx.size_count; i++)
        bench_add(&ctx, ctx.commit10k_ms[i] / ctx.batch_commit10k_ms, 2, "x",
                  "rocksdb.%s.commit10k.ratio_vs_10k_store",
                  ctx.size_labels[i]);
    printf("\n== commit of 10k changes: N-key store vs 10k-row store "
           "(same run)\n");
    for (i = 0; i < ctx.size_count; i++)
        printf("%-6s %8.3f ms vs %8.3f ms = %.2fx\n", ctx.size_labels[i],
               ctx.commit10k_ms[i], ctx.batch_commit10k_ms,
               ctx.commit10k_ms[i] / ctx.batch_commit10k_ms);
    print_targets(&ctx);
    printf("\n");
    for (i = 0; i < ctx.line_count; i++)
        printf("BENCH %s %.*f %s\n", ctx.lines[i].name, ctx.lines[i].decimals,
               ctx.lines[i].value, ctx.lines[i].unit);
    printf("rocksdb_ops: OK (checksum %" PRIu64 ")\n", result_sink);
    return 0;
}
