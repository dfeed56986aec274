/*
 * window_agg.c -- event-time windowed aggregation (tumbling and sliding
 * windows) with a watermark, on the public store API only.
 *
 * State layout, in one ordered column family per partition store:
 *
 *   key   = window start (8 bytes, big-endian, sign bit flipped, so byte
 *           order is time order) || group key
 *   group key = per group field: type byte (ss_field type), varint
 *           length, value bytes
 *   value = count (u64 LE) || per value field: n (u64 LE), sum, min, max
 *           (IEEE doubles, bit patterns as u64 LE)
 *
 * Invariants (tests/runner cite them):
 * 1. A window's state is the fold, in input order, of every accepted row
 *    in it: the batch first reads the stored accumulator, then adds the
 *    batch's rows one by one, so sums are added in the same order as a
 *    plain sequential computation over the input.
 * 2. After apply(watermark W), no key with window end <= W remains:
 *    closed windows are removed (and emitted in append mode), so state
 *    is bounded by the windows open under the watermark.
 * 3. Rows older than the watermark never reach apply (the runner drops
 *    them), so a closed window is never reopened.
 * 4. Emitted rows depend only on the stored state and the batch's rows,
 *    so replaying a batch from the same version emits the same rows.
 */
#include "ops/window_agg.h"

#include "util/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static const char *const agg_names[] = {"count", "sum", "min", "max", "avg"};

int
ss_wagg__parse_aggs(ss_wagg_query *q, char *spec)
{
    char *save = NULL, *item, *colon;
    size_t k, v, d;

    q->n_aggs = 0;
    q->n_vals = 0;
    for (item = strtok_r(spec, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        ss_agg_spec *a;

        if (q->n_aggs == SS_WAGG_MAX_AGGS)
            return ss_error_set(SS_EINVAL, "--agg: more than %d aggregates",
                                SS_WAGG_MAX_AGGS);
        a = &q->aggs[q->n_aggs];
        colon = strchr(item, ':');
        if (colon)
            *colon = '\0';
        for (k = 0; k < 5; k++)
            if (strcmp(item, agg_names[k]) == 0)
                break;
        if (k == 5)
            return ss_error_set(SS_EINVAL,
                                "--agg: unknown aggregate '%s' (want count, "
                                "sum:F, min:F, max:F or avg:F)",
                                item);
        a->kind = (ss_agg_kind)k;
        a->val = -1;
        if (k == SS_AGG_COUNT) {
            for (d = 0; d < q->n_aggs; d++)
                if (q->aggs[d].kind == SS_AGG_COUNT)
                    return ss_error_set(SS_EINVAL,
                                        "--agg: 'count' is given twice");
            if (colon)
                return ss_error_set(SS_EINVAL,
                                    "--agg: count takes no field (got "
                                    "'count:%s')",
                                    colon + 1);
        } else {
            if (!colon || !colon[1])
                return ss_error_set(SS_EINVAL,
                                    "--agg: %s needs a field, "
                                    "e.g. %s:bytes",
                                    item, item);
            for (v = 0; v < q->n_vals; v++)
                if (strcmp(q->vals[v], colon + 1) == 0)
                    break;
            for (d = 0; v < q->n_vals && d < q->n_aggs; d++)
                if (q->aggs[d].kind == (ss_agg_kind)k &&
                    q->aggs[d].val == (int)v)
                    return ss_error_set(SS_EINVAL,
                                        "--agg: '%s:%s' is given twice", item,
                                        colon + 1);
            if (v == q->n_vals) {
                if (q->n_vals == SS_WAGG_MAX_VALS)
                    return ss_error_set(SS_EINVAL,
                                        "--agg: more than %d value fields",
                                        SS_WAGG_MAX_VALS);
                q->vals[q->n_vals++] = colon + 1;
            }
            a->val = (int)v;
        }
        q->n_aggs++;
    }
    if (q->n_aggs == 0)
        return ss_error_set(SS_EINVAL, "--agg: no aggregates given");
    return 0;
}

/* The output column name of aggregate `a` into buf. */
static void
agg_column(char *buf, size_t size, const ss_wagg_query *q, const ss_agg_spec *a)
{
    if (a->kind == SS_AGG_COUNT)
        snprintf(buf, size, "count");
    else
        snprintf(buf, size, "%s_%s", agg_names[a->kind], q->vals[a->val]);
}

int
ss_wagg__check_names(const ss_wagg_query *q)
{
    char col[640];
    size_t i, j;

    for (i = 0; i < q->n_group; i++) {
        if (strcmp(q->group[i], "window_start") == 0 ||
            strcmp(q->group[i], "window_end") == 0)
            return ss_error_set(SS_EINVAL,
                                "--group-by: '%s' is an output column of its "
                                "own (window bounds)",
                                q->group[i]);
        for (j = 0; j < i; j++)
            if (strcmp(q->group[i], q->group[j]) == 0)
                return ss_error_set(
                    SS_EINVAL, "--group-by: '%s' is given twice", q->group[i]);
        for (j = 0; j < q->n_aggs; j++) {
            agg_column(col, sizeof(col), q, &q->aggs[j]);
            if (strcmp(q->group[i], col) == 0)
                return ss_error_set(SS_EINVAL,
                                    "--group-by '%s' and --agg would both "
                                    "write an output column '%s'",
                                    q->group[i], col);
        }
    }
    return 0;
}

int
ss_wagg__describe(ss_buf *out, const ss_wagg_query *q)
{
    size_t i;
    int rc;

    if ((rc = ss_buf_printf(out,
                            "window_agg window=%" PRId64 " slide=%" PRId64
                            " lateness=%" PRId64 " mode=%s group=",
                            q->window_ms, q->slide_ms, q->lateness_ms,
                            q->update_mode ? "update" : "append")) < 0)
        return rc;
    for (i = 0; i < q->n_group; i++)
        if ((rc = ss_buf_printf(out, "%s%s", i ? "," : "", q->group[i])) < 0)
            return rc;
    if ((rc = ss_buf_printf(out, " agg=")) < 0)
        return rc;
    for (i = 0; i < q->n_aggs; i++) {
        const ss_agg_spec *a = &q->aggs[i];

        if ((rc = ss_buf_printf(out, "%s%s%s%s", i ? "," : "",
                                agg_names[a->kind], a->val >= 0 ? ":" : "",
                                a->val >= 0 ? q->vals[a->val] : "")) < 0)
            return rc;
    }
    return 0;
}

size_t
ss_wagg__value_size(const ss_wagg_query *q)
{
    return 8 + q->n_vals * 32;
}

void
ss_wagg__enc_time(unsigned char out[8], int64_t t)
{
    uint64_t u = (uint64_t)t ^ 0x8000000000000000ull;
    int i;

    for (i = 7; i >= 0; i--) {
        out[i] = (unsigned char)u;
        u >>= 8;
    }
}

int64_t
ss_wagg__dec_time(const unsigned char in[8])
{
    uint64_t u = 0;
    int i;

    for (i = 0; i < 8; i++)
        u = (u << 8) | in[i];
    return (int64_t)(u ^ 0x8000000000000000ull);
}

int
ss_wagg__key_append(ss_buf *out, int type, const char *data, size_t len)
{
    unsigned char hdr[11];
    size_t n;
    int rc;

    hdr[0] = (unsigned char)type;
    n = 1 + ss_put_varint(hdr + 1, len);
    if ((rc = ss_buf_append(out, hdr, n)) < 0)
        return rc;
    return ss_buf_append(out, data, len);
}

/* ------------------------------------------------------- accumulators */

/* Accumulator words: [0] count, then per value field n, sum, min, max
 * (doubles stored as bit patterns). */
static size_t
acc_words(const ss_wagg_query *q)
{
    return 1 + 4 * q->n_vals;
}

static uint64_t
dbits(double d)
{
    uint64_t u;

    memcpy(&u, &d, 8);
    return u;
}

static double
bitsd(uint64_t u)
{
    double d;

    memcpy(&d, &u, 8);
    return d;
}

static void
acc_zero(uint64_t *a, const ss_wagg_query *q)
{
    size_t v;

    a[0] = 0;
    for (v = 0; v < q->n_vals; v++) {
        a[1 + 4 * v] = 0;
        a[2 + 4 * v] = dbits(0.0);
        a[3 + 4 * v] = dbits(0.0);
        a[4 + 4 * v] = dbits(0.0);
    }
}

static void
acc_add(uint64_t *a, const ss_wagg_query *q, const ss_rec *r,
        const double *vals)
{
    size_t v;

    a[0]++;
    for (v = 0; v < q->n_vals; v++) {
        double x = vals[(size_t)r->val_idx * q->n_vals + v];
        uint64_t *s = a + 1 + 4 * v;

        if (!(r->present & (1u << v)))
            continue;
        if (s[0] == 0) {
            s[2] = s[3] = dbits(x);
            s[1] = dbits(x);
        } else {
            s[1] = dbits(bitsd(s[1]) + x);
            if (x < bitsd(s[2]))
                s[2] = dbits(x);
            if (x > bitsd(s[3]))
                s[3] = dbits(x);
        }
        s[0]++;
    }
}

static void
acc_encode(unsigned char *out, const uint64_t *a, const ss_wagg_query *q)
{
    size_t i;

    for (i = 0; i < acc_words(q); i++)
        ss_store_le64(out + 8 * i, a[i]);
}

static void
acc_decode(uint64_t *a, const unsigned char *in, const ss_wagg_query *q)
{
    size_t i;

    for (i = 0; i < acc_words(q); i++)
        a[i] = ss_load_le64(in + 8 * i);
}

static ss_slice
mkslice(const void *data, size_t len)
{
    ss_slice s;

    s.data = data;
    s.len = len;
    return s;
}

/* ------------------------------------------------ batch-local table */

typedef struct slot {
    uint64_t hash;
    uint32_t off, len; /* composite key in keys arena */
    uint32_t acc;      /* accumulator index + 1; 0 = empty */
} slot;

typedef struct table {
    slot *slots;
    size_t cap, n;
    ss_buf keys;
    uint64_t *accs;
    size_t accs_cap;
    uint32_t *kpos; /* per accumulator: key offset, key length */
    size_t kpos_cap;
} table;

static int
table_grow(table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024, i, j;
    slot *ns = calloc(ncap, sizeof(*ns));

    if (!ns)
        return ss_error_set(SS_ENOMEM,
                            "window_agg: out of memory (batch "
                            "table of %zu slots)",
                            ncap);
    for (i = 0; i < t->cap; i++) {
        if (!t->slots[i].acc)
            continue;
        for (j = t->slots[i].hash & (ncap - 1); ns[j].acc;
             j = (j + 1) & (ncap - 1))
            ;
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

static void
table_free(table *t)
{
    free(t->slots);
    ss_buf_free(&t->keys);
    free(t->accs);
    free(t->kpos);
    memset(t, 0, sizeof(*t));
}

/* The accumulator for `key`, loading it from the store on first use. */
static int
table_acc(uint64_t **out, table *t, ss_store *store, unsigned cf,
          const ss_wagg_query *q, const unsigned char *key, size_t klen)
{
    uint64_t h = XXH3_64bits(key, klen);
    size_t words = acc_words(q), j, need;
    ss_slice v;
    slot *s;
    int rc;

    if ((t->n + 1) * 2 > t->cap && (rc = table_grow(t)) < 0)
        return rc;
    for (j = h & (t->cap - 1); t->slots[j].acc; j = (j + 1) & (t->cap - 1)) {
        s = &t->slots[j];
        if (s->hash == h && s->len == klen &&
            memcmp(t->keys.data + s->off, key, klen) == 0) {
            *out = t->accs + (size_t)(s->acc - 1) * words;
            return 0;
        }
    }
    need = (t->n + 1) * words;
    if (need > t->accs_cap) {
        size_t ncap = t->accs_cap ? t->accs_cap * 2 : 1024 * words;
        uint64_t *na;

        while (ncap < need)
            ncap *= 2;
        if (!(na = realloc(t->accs, ncap * sizeof(*na))))
            return ss_error_set(SS_ENOMEM, "window_agg: out of memory");
        t->accs = na;
        t->accs_cap = ncap;
    }
    if (2 * (t->n + 1) > t->kpos_cap) {
        size_t ncap = t->kpos_cap ? t->kpos_cap * 2 : 2048;
        uint32_t *nk = realloc(t->kpos, ncap * sizeof(*nk));

        if (!nk)
            return ss_error_set(SS_ENOMEM, "window_agg: out of memory");
        t->kpos = nk;
        t->kpos_cap = ncap;
    }
    t->kpos[2 * t->n] = (uint32_t)t->keys.len;
    t->kpos[2 * t->n + 1] = (uint32_t)klen;
    s = &t->slots[j];
    s->hash = h;
    s->off = (uint32_t)t->keys.len;
    s->len = (uint32_t)klen;
    if ((rc = ss_buf_append(&t->keys, key, klen)) < 0)
        return rc;
    s->acc = (uint32_t)++t->n;
    *out = t->accs + (t->n - 1) * words;
    rc = ss_store_get(&v, store, cf, mkslice(key, klen));
    if (rc == SS_ENOTFOUND) {
        acc_zero(*out, q);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (v.len != ss_wagg__value_size(q))
        return ss_error_set(SS_ECORRUPT,
                            "window_agg: state value of %zu bytes, "
                            "expected %zu (checkpoint from another query?)",
                            v.len, ss_wagg__value_size(q));
    acc_decode(*out, v.data, q);
    return 0;
}

static int
emit(ss_wagg_result *res, const unsigned char *key, size_t klen,
     const unsigned char *val, size_t vlen)
{
    unsigned char hdr[4];
    int rc;

    ss_store_le32(hdr, (uint32_t)klen);
    if ((rc = ss_buf_append(&res->rows, hdr, 4)) < 0 ||
        (rc = ss_buf_append(&res->rows, key, klen)) < 0 ||
        (rc = ss_buf_append(&res->rows, val, vlen)) < 0)
        return rc;
    res->n_rows++;
    return 0;
}

/* Floor division for window alignment of negative times. */
static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t d = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? d - 1 : d;
}

/* Emit (append mode) and remove every window with end <= watermark. */
static int
evict(ss_wagg_result *res, ss_store *store, unsigned cf, const ss_wagg_query *q,
      int64_t watermark)
{
    unsigned char lo[8], hi[8];
    ss_iter *it = NULL;
    ss_slice k, v;
    int rc;

    if (watermark == INT64_MIN || watermark - q->window_ms < INT64_MIN + 2)
        return 0;
    ss_wagg__enc_time(lo, INT64_MIN);
    /* start + window <= W  <=>  start < W - window + 1 */
    ss_wagg__enc_time(hi, watermark - q->window_ms + 1);
    if ((rc = ss_store_range_scan(&it, store, cf, mkslice(lo, 8),
                                  mkslice(hi, 8))) < 0)
        goto out;
    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        if (k.len < 8 || v.len != ss_wagg__value_size(q)) {
            rc = ss_error_set(SS_ECORRUPT,
                              "window_agg: state entry with a %zu-byte key "
                              "and a %zu-byte value (expected %zu)",
                              k.len, v.len, ss_wagg__value_size(q));
            goto out;
        }
        if (!q->update_mode &&
            (rc = emit(res, k.data, k.len, v.data, v.len)) < 0)
            goto out;
        /* Emitted first: the remove ends the value slice, not the
         * iterator (statestore.h). */
        if ((rc = ss_store_remove(store, cf, k)) < 0)
            goto out;
        res->n_evicted++;
    }
    if (rc == SS_EDONE)
        rc = 0;
out:
    ss_iter_free(it);
    return rc;
}

int
ss_wagg__apply(ss_wagg_result *res, ss_store *store, unsigned cf,
               const ss_wagg_query *q, const ss_rec *recs, const uint32_t *idx,
               size_t n, const unsigned char *arena, const double *vals,
               int64_t watermark)
{
    table t;
    ss_buf key = SS_BUF_INIT;
    unsigned char *vbuf = NULL;
    size_t i, vsize = ss_wagg__value_size(q), words = acc_words(q);
    uint64_t *acc = NULL;
    int rc = 0;

    memset(&t, 0, sizeof(t));
    if (!(vbuf = malloc(vsize))) {
        rc = ss_error_set(SS_ENOMEM, "window_agg: out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const ss_rec *r = &recs[idx[i]];
        int64_t s = floor_div(r->ts, q->slide_ms) * q->slide_ms;

        /* Every window [s, s + window) with s <= ts < s + window. */
        for (; s > r->ts - q->window_ms; s -= q->slide_ms) {
            key.len = 0;
            if ((rc = ss_buf_reserve(&key, 8 + r->key_len)) < 0)
                goto out;
            ss_wagg__enc_time(key.data, s);
            memcpy(key.data + 8, arena + r->key_off, r->key_len);
            key.len = 8 + r->key_len;
            if ((rc = table_acc(&acc, &t, store, cf, q, key.data, key.len)) < 0)
                goto out;
            acc_add(acc, q, r, vals);
        }
    }
    /* Write back in first-touch order, so output order is deterministic. */
    for (i = 0; i < t.n; i++) {
        const unsigned char *k = t.keys.data + t.kpos[2 * i];
        size_t klen = t.kpos[2 * i + 1];

        acc_encode(vbuf, t.accs + i * words, q);
        if ((rc = ss_store_put(store, cf, mkslice(k, klen),
                               mkslice(vbuf, vsize))) < 0)
            goto out;
        res->n_updated++;
        if (q->update_mode && (rc = emit(res, k, klen, vbuf, vsize)) < 0)
            goto out;
    }
    rc = evict(res, store, cf, q, watermark);
out:
    table_free(&t);
    ss_buf_free(&key);
    free(vbuf);
    return rc;
}

void
ss_wagg__result_free(ss_wagg_result *res)
{
    if (!res)
        return;
    ss_buf_free(&res->rows);
    memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------ output */

void
ss_wagg__format_time(char *buf, size_t size, int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t msr = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400, z, era, yoe, doy, mp, y, d, m;

    /* civil_from_days (H. Hinnant). */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    yoe = z - era * 146097;
    yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
    y = yoe + era * 400;
    doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (msr)
        snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                 (long long)y, (long long)m, (long long)d,
                 (long long)(sod / 3600), (long long)(sod / 60 % 60),
                 (long long)(sod % 60), (long long)msr);
    else
        snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                 (long long)y, (long long)m, (long long)d,
                 (long long)(sod / 3600), (long long)(sod / 60 % 60),
                 (long long)(sod % 60));
}

void
ss_wagg__format_double(char *buf, size_t size, double d)
{
    const double two53 = 9007199254740992.0;
    int prec;

    if (!isfinite(d)) {
        buf[0] = '\0';
        return;
    }
    /* Integers below 2^53 are exact in a double: print every digit. */
    if (d > -two53 && d < two53 && (double)(int64_t)d == d) {
        snprintf(buf, size, "%" PRId64, (int64_t)d);
        if (d == 0 && signbit(d))
            snprintf(buf, size, "-0");
        return;
    }
    /* The shortest %g that reads back as the same double; 17 digits
     * always do. */
    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
    snprintf(buf, size, "%.17g", d);
}

int
ss_wagg__json_string(ss_buf *out, const char *s, size_t n)
{
    size_t i;
    int rc;

    if ((rc = ss_buf_append(out, "\"", 1)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            rc = ss_buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            rc = ss_buf_printf(out, "\\u%04x", c);
        else
            rc = ss_buf_append(out, &s[i], 1);
        if (rc < 0)
            return rc;
    }
    return ss_buf_append(out, "\"", 1);
}

int
ss_wagg__csv_cell(ss_buf *out, const char *s, size_t n)
{
    size_t i;
    int rc;

    /* Quote what the reader would split or trim: separators, quotes,
     * line ends, and blanks at either end (batch.c trims a row's end). */
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) &&
        !memchr(s, '\r', n) &&
        !(n &&
          (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')))
        return ss_buf_append(out, s, n);
    if ((rc = ss_buf_append(out, "\"", 1)) < 0)
        return rc;
    for (i = 0; i < n; i++)
        if ((rc = ss_buf_append(out, s[i] == '"' ? "\"\"" : &s[i],
                                s[i] == '"' ? 2 : 1)) < 0)
            return rc;
    return ss_buf_append(out, "\"", 1);
}

int
ss_wagg__format_header(ss_buf *out, const ss_wagg_query *q)
{
    char col[640];
    size_t i;
    int rc;

    if ((rc = ss_buf_printf(out, "window_start,window_end")) < 0)
        return rc;
    for (i = 0; i < q->n_group; i++)
        if ((rc = ss_buf_append(out, ",", 1)) < 0 ||
            (rc = ss_wagg__csv_cell(out, q->group[i], strlen(q->group[i]))) < 0)
            return rc;
    for (i = 0; i < q->n_aggs; i++) {
        agg_column(col, sizeof(col), q, &q->aggs[i]);
        if ((rc = ss_buf_append(out, ",", 1)) < 0 ||
            (rc = ss_wagg__csv_cell(out, col, strlen(col))) < 0)
            return rc;
    }
    return ss_buf_printf(out, "\n");
}

int
ss_wagg__format_row(ss_buf *out, const ss_wagg_query *q, int format,
                    const unsigned char *key, size_t klen,
                    const unsigned char *val)
{
    uint64_t a[1 + 4 * SS_WAGG_MAX_VALS];
    char ts0[40], ts1[40], num[40], col[640];
    const unsigned char *p = key + 8, *end = key + klen;
    int64_t start = ss_wagg__dec_time(key);
    int csv = format == SS_OUT_CSV;
    size_t i;
    int rc;

    acc_decode(a, val, q);
    ss_wagg__format_time(ts0, sizeof(ts0), start);
    ss_wagg__format_time(ts1, sizeof(ts1), start + q->window_ms);
    if (csv)
        rc = ss_buf_printf(out, "%s,%s", ts0, ts1);
    else
        rc = ss_buf_printf(
            out, "{\"window_start\":\"%s\",\"window_end\":\"%s\"", ts0, ts1);
    if (rc < 0)
        return rc;
    for (i = 0; i < q->n_group; i++) {
        uint64_t len;
        int type;

        if (p >= end)
            return ss_error_set(SS_ECORRUPT, "window_agg: truncated group key");
        type = *p++;
        if (ss_get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
            return ss_error_set(SS_ECORRUPT, "window_agg: bad group key");
        if (csv) {
            if ((rc = ss_buf_append(out, ",", 1)) < 0 ||
                (rc = ss_wagg__csv_cell(out, (const char *)p, len)) < 0)
                return rc;
        } else {
            if ((rc = ss_buf_append(out, ",", 1)) < 0 ||
                (rc = ss_wagg__json_string(out, q->group[i],
                                           strlen(q->group[i]))) < 0 ||
                (rc = ss_buf_append(out, ":", 1)) < 0)
                return rc;
            if (type == SS_WAGG_STRING)
                rc = ss_wagg__json_string(out, (const char *)p, len);
            else
                rc = ss_buf_append(out, p, len);
            if (rc < 0)
                return rc;
        }
        p += len;
    }
    for (i = 0; i < q->n_aggs; i++) {
        const ss_agg_spec *ag = &q->aggs[i];
        const uint64_t *s = ag->val >= 0 ? a + 1 + 4 * ag->val : NULL;

        if (ag->kind == SS_AGG_COUNT)
            snprintf(num, sizeof(num), "%" PRIu64, a[0]);
        else if (s[0] == 0)
            num[0] = '\0';
        else if (ag->kind == SS_AGG_SUM)
            ss_wagg__format_double(num, sizeof(num), bitsd(s[1]));
        else if (ag->kind == SS_AGG_MIN)
            ss_wagg__format_double(num, sizeof(num), bitsd(s[2]));
        else if (ag->kind == SS_AGG_MAX)
            ss_wagg__format_double(num, sizeof(num), bitsd(s[3]));
        else
            ss_wagg__format_double(num, sizeof(num),
                                   bitsd(s[1]) / (double)s[0]);
        if (csv) {
            rc = ss_buf_printf(out, ",%s", num);
        } else {
            agg_column(col, sizeof(col), q, ag);
            if ((rc = ss_buf_append(out, ",", 1)) < 0 ||
                (rc = ss_wagg__json_string(out, col, strlen(col))) < 0)
                return rc;
            /* No value, or one past double's range: JSON has no inf. */
            rc = ss_buf_printf(out, ":%s", num[0] ? num : "null");
        }
        if (rc < 0)
            return rc;
    }
    return ss_buf_printf(out, csv ? "\n" : "}\n");
}
