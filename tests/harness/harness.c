/*
 * harness.c -- runner, checks and helpers of the test harness.
 *
 * See harness.h for the rules.  The run of one test case against one
 * provider config:
 *
 *     mkdtemp(t->dir) -> [initialize] -> test -> [cleanup]
 *         -> close tracked providers -> remove t->dir (if passed)
 *
 * A failed check longjmps back here from anywhere inside the test or a
 * hook; cleanup still runs (once) after a failed test.
 */
#define _XOPEN_SOURCE 700

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * The provider configs.  Adding one is one line; a config whose provider
 * is not built into the library is skipped with a message.
 */
const ss_test_provider ss_test_providers[] = {
    {"memory", {"provider=memory", NULL}},
    {"rocksdb/changelog",
     {"provider=rocksdb", "rocksdb.changelog_checkpointing=true", NULL}},
    {"rocksdb/snapshot",
     {"provider=rocksdb", "rocksdb.changelog_checkpointing=false", NULL}},
};
const size_t ss_test_n_providers =
    sizeof(ss_test_providers) / sizeof(ss_test_providers[0]);

enum { PROBE_UNKNOWN = 0, PROBE_OK, PROBE_NOT_BUILT };

#define MAX_FILTERS 32

typedef struct runner {
    const char *filters[MAX_FILTERS];
    size_t n_filters;
    const char *provider_filter;
    int verbose;
    int list;
    int keep;
    unsigned passed;
    unsigned failed;
    unsigned skipped;
    int probe[64];
    char probe_msg[64][256];
} runner;

/* ------------------------------------------------------------ output */

static void
print_escaped(FILE *f, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i, n = len > 64 ? 64 : len;

    if (!data && len > 0) {
        fprintf(f, "(NULL, len %zu)", len);
        return;
    }
    fputc('"', f);
    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
    fputc('"', f);
    if (n < len)
        fprintf(f, "... (len %zu)", len);
    else
        fprintf(f, " (len %zu)", len);
}

static void
fail_header(ss_test *t, const char *file, int line)
{
    fprintf(stdout, "%s:%d: FAIL %s::%s [%s]\n", file, line, t->module, t->name,
            t->provider ? t->provider->name : "-");
}

static void
fail_footer(ss_test *t, const char *err)
{
    fprintf(stdout, "  ss_error_last: \"%s\"\n", err);
    if (t->context[0])
        fprintf(stdout, "  context: %s\n", t->context);
    fflush(stdout);
}

_Noreturn void
ss_test__fail(ss_test *t, const char *file, int line, const char *expr,
              const char *fmt, ...)
{
    char err[1024];
    va_list ap;

    snprintf(err, sizeof(err), "%s", ss_error_last());
    fail_header(t, file, line);
    if (expr)
        fprintf(stdout, "  check failed: %s\n", expr);
    if (fmt) {
        fputs("  ", stdout);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
    }
    fail_footer(t, err);
    t->failed = 1;
    longjmp(t->jmp, 1);
}

void
ss_test__rc(ss_test *t, const char *file, int line, const char *expr, int got,
            int want1, int want2, const char *needle)
{
    char err[1024];
    const char *why = NULL;

    snprintf(err, sizeof(err), "%s", ss_error_last());
    if (got != want1 && got != want2)
        why = "wrong status";
    else if (needle && got < 0 && err[0] == '\0')
        why = "no ss_error_last() message for a failure";
    else if (needle && got < 0 && needle[0] && !strstr(err, needle))
        why = "ss_error_last() does not name what failed";
    if (!why)
        return;
    fail_header(t, file, line);
    fprintf(stdout,
            "  check failed: %s\n  %s: got %d (%s), expected %d "
            "(%s)",
            expr, why, got, ss_strerror(got), want1, ss_strerror(want1));
    if (want2 != want1)
        fprintf(stdout, " or %d (%s)", want2, ss_strerror(want2));
    fputc('\n', stdout);
    if (needle && needle[0])
        fprintf(stdout, "  message should contain: \"%s\"\n", needle);
    fail_footer(t, err);
    t->failed = 1;
    longjmp(t->jmp, 1);
}

void
ss_test__slice(ss_test *t, const char *file, int line, const char *got_expr,
               const char *want_expr, ss_slice got, ss_slice want)
{
    char err[1024];

    if (got.len == want.len &&
        (got.len == 0 ||
         (got.data && want.data && memcmp(got.data, want.data, got.len) == 0)))
        return;
    snprintf(err, sizeof(err), "%s", ss_error_last());
    fail_header(t, file, line);
    fprintf(stdout, "  check failed: %s == %s\n  got:      ", got_expr,
            want_expr);
    print_escaped(stdout, got.data, got.len);
    fputs("\n  expected: ", stdout);
    print_escaped(stdout, want.data, want.len);
    fputc('\n', stdout);
    fail_footer(t, err);
    t->failed = 1;
    longjmp(t->jmp, 1);
}

void
ss_test__u64(ss_test *t, const char *file, int line, const char *got_expr,
             const char *want_expr, uint64_t got, uint64_t want)
{
    char err[1024];

    if (got == want)
        return;
    snprintf(err, sizeof(err), "%s", ss_error_last());
    fail_header(t, file, line);
    fprintf(stdout, "  check failed: %s == %s\n  got %llu, expected %llu\n",
            got_expr, want_expr, (unsigned long long)got,
            (unsigned long long)want);
    fail_footer(t, err);
    t->failed = 1;
    longjmp(t->jmp, 1);
}

void
ss_test_context(ss_test *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->context, sizeof(t->context), fmt, ap);
    va_end(ap);
}

_Noreturn void
ss_test_skip(ss_test *t, const char *fmt, ...)
{
    va_list ap;

    fprintf(stdout, "skip %s::%s [%s]: ", t->module, t->name,
            t->provider ? t->provider->name : "-");
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    t->skipped = 1;
    longjmp(t->jmp, 1);
}

/* ------------------------------------------------------------ helpers */

int
ss_test_writes_metas(const ss_test *t)
{
    size_t i;

    for (i = 0; t->provider && t->provider->options[i]; i++)
        if (strcmp(t->provider->options[i],
                   "rocksdb.changelog_checkpointing=false") == 0)
            return 1;
    return 0;
}

const char *
ss_test_commit_ext(const ss_test *t)
{
    return ss_test_writes_metas(t) ? ".meta" : ".delta";
}

ss_slice
ss_test_slice(const void *data, size_t len)
{
    ss_slice s;

    s.data = data;
    s.len = len;
    return s;
}

static int
option_key_eq(const char *a, const char *b)
{
    size_t la = strcspn(a, "="), lb = strcspn(b, "=");

    return la == lb && memcmp(a, b, la) == 0;
}

static int
try_open_v(ss_provider **out, ss_test *t, const char *dir, va_list ap)
{
    const char *opts[SS_TEST_MAX_OPTIONS + 32];
    const char *extra[32];
    size_t n = 0, n_extra = 0, i, j;
    const char *o;
    int rc, replaced;

    while ((o = va_arg(ap, const char *)) != NULL) {
        if (n_extra == 32)
            ss_test__fail(t, __FILE__, __LINE__, NULL,
                          "ss_test_open: too many options");
        extra[n_extra++] = o;
    }
    for (i = 0; t->provider && t->provider->options[i]; i++) {
        replaced = 0;
        for (j = 0; j < n_extra; j++)
            if (option_key_eq(t->provider->options[i], extra[j]))
                replaced = 1;
        if (!replaced)
            opts[n++] = t->provider->options[i];
    }
    for (j = 0; j < n_extra; j++)
        opts[n++] = extra[j];

    *out = NULL;
    rc = ss_provider_open(out, dir, opts, n);
    if (rc == 0) {
        if (t->n_open == SS_TEST_MAX_OPEN)
            ss_test__fail(t, __FILE__, __LINE__, NULL,
                          "more than %d providers open in one test",
                          SS_TEST_MAX_OPEN);
        t->open[t->n_open++] = *out;
    } else if (rc == SS_EINVAL && strstr(ss_error_last(), "not built")) {
        ss_test_skip(t, "%s", ss_error_last());
    }
    return rc;
}

int
ss_test__try_open(ss_provider **out, ss_test *t, ...)
{
    va_list ap;
    int rc;

    va_start(ap, t);
    rc = try_open_v(out, t, t->dir, ap);
    va_end(ap);
    return rc;
}

ss_provider *
ss_test__open_at(const char *file, int line, ss_test *t, const char *dir, ...)
{
    ss_provider *p;
    va_list ap;
    int rc;

    va_start(ap, dir);
    rc = try_open_v(&p, t, dir, ap);
    va_end(ap);
    if (rc != 0)
        ss_test__rc(t, file, line, "ss_test_open_at(t, dir, ...)", rc, 0, 0,
                    NULL);
    return p;
}

ss_provider *
ss_test__open(const char *file, int line, ss_test *t, ...)
{
    ss_provider *p;
    va_list ap;
    int rc;

    va_start(ap, t);
    rc = try_open_v(&p, t, t->dir, ap);
    va_end(ap);
    if (rc != 0)
        ss_test__rc(t, file, line, "ss_test_open(t, ...)", rc, 0, 0, NULL);
    return p;
}

void
ss_test_close(ss_test *t, ss_provider *p)
{
    size_t i;

    for (i = 0; i < t->n_open; i++) {
        if (t->open[i] == p) {
            memmove(&t->open[i], &t->open[i + 1],
                    (t->n_open - i - 1) * sizeof(t->open[0]));
            t->n_open--;
            break;
        }
    }
    ss_provider_close(p);
}

ss_store *
ss_test__load(const char *file, int line, ss_test *t, ss_provider *p,
              uint64_t version, int readonly)
{
    ss_store *s = NULL;
    int rc = readonly ? ss_provider_load_readonly(&s, p, version)
                      : ss_provider_load(&s, p, version);

    if (rc != 0)
        ss_test__fail(t, file, line, NULL,
                      "%s(version %llu) returned %d "
                      "(%s)",
                      readonly ? "ss_provider_load_readonly"
                               : "ss_provider_load",
                      (unsigned long long)version, rc, ss_strerror(rc));
    if (!s)
        ss_test__fail(t, file, line, NULL, "load returned 0 and NULL");
    return s;
}

const char *
ss_test_subdir(ss_test *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s/sub%u", t->dir, t->subdirs++);
    if (mkdir(buf, 0700) != 0)
        ss_test__fail(t, __FILE__, __LINE__, NULL, "mkdir %s: %s", buf,
                      strerror(errno));
    return buf;
}

unsigned char *
ss_test_read_file(ss_test *t, const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;

    if (!f)
        ss_test__fail(t, __FILE__, __LINE__, NULL, "open %s: %s", path,
                      strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc((size_t)size + 1);
    if (!buf)
        goto fail;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto fail;
    fclose(f);
    *len_out = (size_t)size;
    return buf;
fail:
    free(buf);
    fclose(f);
    ss_test__fail(t, __FILE__, __LINE__, NULL, "read %s failed", path);
}

void
ss_test_write_file(ss_test *t, const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f)
        ss_test__fail(t, __FILE__, __LINE__, NULL, "create %s: %s", path,
                      strerror(errno));
    if ((len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        ss_test__fail(t, __FILE__, __LINE__, NULL, "write %s failed", path);
}

int
ss_test_file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* ------------------------------------------------------------- runner */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stdout, "warning: cannot remove %s: %s\n", path,
                strerror(errno));
    return 0;
}

static void
rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
make_tmpdir(char *buf, size_t len, const char *module, const char *name)
{
    const char *base = getenv("TMPDIR");

    if (!base || !base[0])
        base = "/tmp";
    snprintf(buf, len, "%s/ss-%s-%s-XXXXXX", base, module, name);
    return mkdtemp(buf) ? 0 : -1;
}

static const ss_test_case *
find_hook(const ss_test_case *cases, const char *module, unsigned kind)
{
    for (; cases->module; cases++)
        if (cases->kind == kind && strcmp(cases->module, module) == 0)
            return cases;
    return NULL;
}

static int
selected(const runner *r, const ss_test_case *c)
{
    char full[256];
    size_t i;

    if (c->kind == SS_TEST_KIND_INITIALIZE || c->kind == SS_TEST_KIND_CLEANUP)
        return 0;
    if (r->n_filters == 0)
        return 1;
    snprintf(full, sizeof(full), "%s::%s", c->module, c->name);
    for (i = 0; i < r->n_filters; i++)
        if (strncmp(full, r->filters[i], strlen(r->filters[i])) == 0)
            return 1;
    return 0;
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Is provider config i built into the library?  Decided once per binary
 * by opening it with its "provider=" option alone, so a provider that is
 * not built is reported as such even if the library does not know that
 * provider's own option keys either.
 */
static int
probe_provider(runner *r, size_t i)
{
    char dir[SS_TEST_PATH_MAX];
    const ss_test_provider *pc = &ss_test_providers[i];
    const char *opts[SS_TEST_MAX_OPTIONS];
    ss_provider *p = NULL;
    size_t n = 0, j;
    int rc;

    if (r->probe[i] != PROBE_UNKNOWN)
        return r->probe[i];
    r->probe[i] = PROBE_OK;
    for (j = 0; pc->options[j]; j++)
        if (option_key_eq(pc->options[j], "provider="))
            opts[n++] = pc->options[j];
    if (make_tmpdir(dir, sizeof(dir), "probe", "provider") != 0)
        return r->probe[i];
    rc = ss_provider_open(&p, dir, opts, n);
    if (rc == SS_EINVAL && strstr(ss_error_last(), "not built")) {
        r->probe[i] = PROBE_NOT_BUILT;
        snprintf(r->probe_msg[i], sizeof(r->probe_msg[i]), "%s",
                 ss_error_last());
        fprintf(stdout, "skip provider %s: %s\n", pc->name, r->probe_msg[i]);
    }
    ss_provider_close(p);
    rm_rf(dir);
    return r->probe[i];
}

static void
run_one(runner *r, const ss_test_case *cases, const ss_test_case *c,
        const ss_test_provider *pc)
{
    const ss_test_case *volatile init =
        find_hook(cases, c->module, SS_TEST_KIND_INITIALIZE);
    const ss_test_case *volatile cleanup =
        find_hook(cases, c->module, SS_TEST_KIND_CLEANUP);
    ss_test *t = calloc(1, sizeof(*t));
    double start = now_ms();
    size_t i;

    if (!t) {
        fprintf(stdout, "out of memory\n");
        exit(2);
    }
    t->module = c->module;
    t->name = c->name;
    t->provider = pc;
    t->verbose = r->verbose;
    if (make_tmpdir(t->dir, sizeof(t->dir), c->module, c->name) != 0) {
        fprintf(stdout, "FAIL %s::%s [%s]: mkdtemp %s: %s\n", c->module,
                c->name, pc->name, t->dir, strerror(errno));
        r->failed++;
        free(t);
        return;
    }
    ss_error_clear();
    if (setjmp(t->jmp) == 0) {
        if (init)
            init->fn(t);
        c->fn(t);
    }
    if (cleanup) {
        if (setjmp(t->jmp) == 0)
            cleanup->fn(t);
    }
    for (i = t->n_open; i > 0; i--)
        ss_provider_close(t->open[i - 1]);
    t->n_open = 0;

    if (t->failed) {
        r->failed++;
        fprintf(stdout, "FAIL %s::%s [%s] (%.0f ms); files kept in %s\n",
                c->module, c->name, pc->name, now_ms() - start, t->dir);
    } else {
        if (t->skipped)
            r->skipped++;
        else
            r->passed++;
        if (r->verbose && !t->skipped)
            fprintf(stdout, "ok   %s::%s [%s] (%.0f ms)\n", c->module, c->name,
                    pc->name, now_ms() - start);
        if (!r->keep)
            rm_rf(t->dir);
    }
    fflush(stdout);
    free(t);
}

static void
usage(const char *argv0)
{
    fprintf(stdout,
            "usage: %s [-v] [-l] [-s module::case]... "
            "[-p provider]\n",
            argv0);
}

int
ss_test_main(int argc, char **argv, const ss_test_case *cases)
{
    static runner r;
    const ss_test_case *c;
    unsigned matched = 0;
    size_t i;
    int a;
    const char *keep = getenv("SS_TEST_KEEP");
    const char *checks = getenv("SS_TEST_HANDLE_CHECKS");

    _Static_assert(sizeof(ss_test_providers) / sizeof(ss_test_providers[0]) <=
                       64,
                   "probe table too small");
    setvbuf(stdout, NULL, _IOLBF, 0);
    r.keep = keep && keep[0] && strcmp(keep, "0") != 0;
    if (checks && checks[0] && strcmp(checks, "0") != 0) {
        if (ss_handle_checks(1) < 0) {
            fprintf(stdout, "ss_handle_checks(1): %s\n", ss_error_last());
            return 2;
        }
        fprintf(stdout, "checked handles on (SS_TEST_HANDLE_CHECKS)\n");
    }
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-v") == 0) {
            r.verbose = 1;
        } else if (strcmp(argv[a], "-l") == 0) {
            r.list = 1;
        } else if (strncmp(argv[a], "-s", 2) == 0) {
            const char *f = argv[a][2] ? argv[a] + 2 : argv[++a];

            if (!f || r.n_filters == MAX_FILTERS) {
                usage(argv[0]);
                return 2;
            }
            r.filters[r.n_filters++] = f;
        } else if (strncmp(argv[a], "-p", 2) == 0) {
            r.provider_filter = argv[a][2] ? argv[a] + 2 : argv[++a];
            if (!r.provider_filter) {
                usage(argv[0]);
                return 2;
            }
        } else {
            usage(argv[0]);
            return 2;
        }
    }

    for (c = cases; c->module; c++) {
        if (!selected(&r, c))
            continue;
        matched++;
        if (r.list) {
            fprintf(stdout, "%s::%s%s\n", c->module, c->name,
                    c->kind == SS_TEST_KIND_ONCE ? " (once)" : "");
            continue;
        }
        for (i = 0; i < ss_test_n_providers; i++) {
            const ss_test_provider *pc = &ss_test_providers[i];

            if (r.provider_filter && strncmp(pc->name, r.provider_filter,
                                             strlen(r.provider_filter)) != 0)
                continue;
            if (probe_provider(&r, i) == PROBE_NOT_BUILT) {
                r.skipped++;
                if (r.verbose)
                    fprintf(stdout, "skip %s::%s [%s]: not built\n", c->module,
                            c->name, pc->name);
                continue;
            }
            run_one(&r, cases, c, pc);
            if (c->kind == SS_TEST_KIND_ONCE)
                break;
        }
    }
    if (r.list)
        return 0;
    if (matched == 0) {
        fprintf(stdout, "no test matches the filter\n");
        fprintf(stdout, "0 passed, 1 failed\n");
        return 1;
    }
    if (r.skipped)
        fprintf(stdout, "(%u skipped)\n", r.skipped);
    fprintf(stdout, "%u passed, %u failed\n", r.passed, r.failed);
    return r.failed ? 1 : 0;
}
