/*
 * harness.h -- the in-house test harness (clar naming, not vendored).
 *
 * A test binary is one or more .c files of tests plus a registration
 * table:
 *
 *     static void
 *     test_store__put_get(ss_test *t)
 *     {
 *         ss_provider *p = ss_test_open(t);
 *         ...
 *         SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, k, v));
 *     }
 *
 *     static const ss_test_case tests[] = {
 *         SS_TEST(store, put_get),         runs once per provider
 *         SS_TEST_ONCE(misc, strerror),    runs once (first provider)
 *         SS_TEST_INITIALIZE(store),       optional per-module hooks,
 *         SS_TEST_CLEANUP(store),          run around every store:: test
 *         SS_TEST_END
 *     };
 *     SS_TEST_MAIN(tests)
 *
 * Command line: `-s module::case` runs only tests whose "module::case"
 * name starts with the argument (may repeat); `-p name` runs only the
 * provider configs whose name starts with it; `-v` prints every test and
 * its time; `-l` lists the tests.  The last line printed is exactly
 * "N passed, N failed"; the exit status is 1 if any test failed.
 *
 * Rules the harness keeps:
 * 1. Every test run (one test case x one provider config) gets its own
 *    temp directory, t->dir, made with mkdtemp under $TMPDIR (or /tmp).
 *    It is removed when the run passes and kept (and printed) when it
 *    fails.  SS_TEST_KEEP=1 keeps every directory.
 * 2. A failed SS_CHECK* prints file:line, the expression, the got and
 *    expected codes, ss_error_last(), the provider config and the test's
 *    context note, then longjmps out of the test; the next test runs.
 * 3. Providers opened through ss_test_open* are closed by the harness
 *    after the run, passed or failed; close one early with ss_test_close.
 *    (Stores and iterators a failed test leaves behind are not tracked.)
 * 4. A provider config whose ss_provider_open fails with SS_EINVAL and a
 *    message containing "not built" is skipped with a message; skips are
 *    neither passes nor failures.
 * 5. SS_TEST_HANDLE_CHECKS=1 runs the whole binary with checked handles
 *    (ss_handle_checks(1), header convention 9).
 */
#ifndef SS_TEST_HARNESS_H
#define SS_TEST_HARNESS_H

#include "statestore.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#define SS_TEST_MAX_OPTIONS 8
#define SS_TEST_MAX_OPEN 16
#define SS_TEST_PATH_MAX 1024

/* One provider configuration the conformance tests run against. */
typedef struct ss_test_provider {
    const char *name;                         /* "memory", ... */
    const char *options[SS_TEST_MAX_OPTIONS]; /* "key=value", NULL-ended */
} ss_test_provider;

typedef struct ss_test ss_test;
typedef void (*ss_test_fn)(ss_test *t);

enum {
    SS_TEST_KIND_PER_PROVIDER = 0,
    SS_TEST_KIND_ONCE = 1,
    SS_TEST_KIND_INITIALIZE = 2,
    SS_TEST_KIND_CLEANUP = 3
};

typedef struct ss_test_case {
    const char *module;
    const char *name;
    ss_test_fn fn;
    unsigned kind;
} ss_test_case;

#define SS_TEST__ENTRY(module, name, fn, kind)                                 \
    {                                                                          \
        module, name, fn, kind                                                 \
    }
#define SS_TEST(module, name)                                                  \
    SS_TEST__ENTRY(#module, #name, test_##module##__##name,                    \
                   SS_TEST_KIND_PER_PROVIDER)
#define SS_TEST_ONCE(module, name)                                             \
    SS_TEST__ENTRY(#module, #name, test_##module##__##name, SS_TEST_KIND_ONCE)
#define SS_TEST_INITIALIZE(module)                                             \
    SS_TEST__ENTRY(#module, "initialize", test_##module##__initialize,         \
                   SS_TEST_KIND_INITIALIZE)
#define SS_TEST_CLEANUP(module)                                                \
    SS_TEST__ENTRY(#module, "cleanup", test_##module##__cleanup,               \
                   SS_TEST_KIND_CLEANUP)
#define SS_TEST_END SS_TEST__ENTRY(NULL, NULL, NULL, 0)

struct ss_test {
    const char *module;
    const char *name;
    const ss_test_provider *provider;
    char dir[SS_TEST_PATH_MAX]; /* this run's temp directory */
    void *payload;              /* free for initialize/cleanup hooks */
    int verbose;

    /* Harness-private below. */
    int failed;
    int skipped;
    jmp_buf jmp;
    char context[512];
    ss_provider *open[SS_TEST_MAX_OPEN];
    size_t n_open;
    unsigned subdirs;
};

/* The provider configs (harness.c); conformance tests loop over them. */
extern const ss_test_provider ss_test_providers[];
extern const size_t ss_test_n_providers;

int ss_test_main(int argc, char **argv, const ss_test_case *cases);

#define SS_TEST_MAIN(cases)                                                    \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        return ss_test_main(argc, argv, cases);                                \
    }

/* ------------------------------------------------------------- checks */

#define SS_CHECK(expr)                                                         \
    do {                                                                       \
        if (!(expr))                                                           \
            ss_test__fail(t, __FILE__, __LINE__, #expr, NULL);                 \
    } while (0)

/* expr must return exactly `code`. */
#define SS_CHECK_RC(code, expr)                                                \
    do {                                                                       \
        int ss_rc_ = (expr);                                                   \
        ss_test__rc(t, __FILE__, __LINE__, #expr, ss_rc_, (code), (code),      \
                    NULL);                                                     \
    } while (0)

#define SS_CHECK_OK(expr) SS_CHECK_RC(0, expr)

/* A negative path: clears the last error first, then requires `code` and
 * a non-empty ss_error_last() (so a stale message cannot satisfy it). */
#define SS_CHECK_ERR(code, expr)                                               \
    do {                                                                       \
        int ss_rc_;                                                            \
        ss_error_clear();                                                      \
        ss_rc_ = (expr);                                                       \
        ss_test__rc(t, __FILE__, __LINE__, #expr, ss_rc_, (code), (code), ""); \
    } while (0)

/* As SS_CHECK_ERR, and the message must contain `needle`. */
#define SS_CHECK_ERR_MSG(code, expr, needle)                                   \
    do {                                                                       \
        int ss_rc_;                                                            \
        ss_error_clear();                                                      \
        ss_rc_ = (expr);                                                       \
        ss_test__rc(t, __FILE__, __LINE__, #expr, ss_rc_, (code), (code),      \
                    (needle));                                                 \
    } while (0)

/* As SS_CHECK_ERR_MSG, accepting either of two codes. */
#define SS_CHECK_ERR2_MSG(code1, code2, expr, needle)                          \
    do {                                                                       \
        int ss_rc_;                                                            \
        ss_error_clear();                                                      \
        ss_rc_ = (expr);                                                       \
        ss_test__rc(t, __FILE__, __LINE__, #expr, ss_rc_, (code1), (code2),    \
                    (needle));                                                 \
    } while (0)

#define SS_CHECK_EQ_SLICE(got, expected)                                       \
    ss_test__slice(t, __FILE__, __LINE__, #got, #expected, (got), (expected))

#define SS_CHECK_EQ_U64(got, expected)                                         \
    ss_test__u64(t, __FILE__, __LINE__, #got, #expected, (got), (expected))

/* Fail with a printf-style message. */
#define SS_FAIL(...) ss_test__fail(t, __FILE__, __LINE__, NULL, __VA_ARGS__)

/* ------------------------------------------------------------ helpers */

/*
 * Open a provider on t->dir with the run's provider options plus the
 * extra "key=value" options given (an extra replaces a provider option of
 * the same key).  Fails the test if it cannot; skips it if the provider
 * is not built.  The harness closes it after the run.
 */
#define ss_test_open(...)                                                      \
    ss_test__open(__FILE__, __LINE__, __VA_ARGS__, (const char *)NULL)
/* The same on another directory. */
#define ss_test_open_at(...)                                                   \
    ss_test__open_at(__FILE__, __LINE__, __VA_ARGS__, (const char *)NULL)
/* The same, but return the code instead of failing (*out NULL then). */
#define ss_test_try_open(...) ss_test__try_open(__VA_ARGS__, (const char *)NULL)

/* Close a provider from ss_test_open* before the run ends. */
void ss_test_close(ss_test *t, ss_provider *p);

/* Load `version` writable / read-only; fails the test if it cannot. */
#define ss_test_load(t, p, version)                                            \
    ss_test__load(__FILE__, __LINE__, (t), (p), (version), 0)
#define ss_test_load_ro(t, p, version)                                         \
    ss_test__load(__FILE__, __LINE__, (t), (p), (version), 1)

/* A fresh empty subdirectory of t->dir (for a second location). */
const char *ss_test_subdir(ss_test *t, char *buf, size_t len);

/* A note printed with any failure (e.g. the model's seed and step). */
void ss_test_context(ss_test *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Skip the rest of this run with a message. */
_Noreturn void ss_test_skip(ss_test *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The checkpoint layout the run's provider config writes: ".meta" per
 * version (rocksdb SST snapshot mode), or ".delta" per version plus
 * maintenance ".snapshot" files (memory, rocksdb changelog mode). */
int ss_test_writes_metas(const ss_test *t);
const char *ss_test_commit_ext(const ss_test *t);

/* Whole-file helpers for tests that poke at checkpoint files. */
unsigned char *ss_test_read_file(ss_test *t, const char *path, size_t *len_out);
void ss_test_write_file(ss_test *t, const char *path, const void *data,
                        size_t len);
int ss_test_file_exists(const char *path);

/* Slice over `len` bytes at `data`. */
ss_slice ss_test_slice(const void *data, size_t len);

/* ----------------------------------------------------------- internal */

_Noreturn void ss_test__fail(ss_test *t, const char *file, int line,
                             const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void ss_test__rc(ss_test *t, const char *file, int line, const char *expr,
                 int got, int want1, int want2, const char *needle);
void ss_test__slice(ss_test *t, const char *file, int line,
                    const char *got_expr, const char *want_expr, ss_slice got,
                    ss_slice want);
void ss_test__u64(ss_test *t, const char *file, int line, const char *got_expr,
                  const char *want_expr, uint64_t got, uint64_t want);
ss_provider *ss_test__open(const char *file, int line, ss_test *t, ...);
ss_provider *ss_test__open_at(const char *file, int line, ss_test *t,
                              const char *dir, ...);
ss_store *ss_test__load(const char *file, int line, ss_test *t, ss_provider *p,
                        uint64_t version, int readonly);
int ss_test__try_open(ss_provider **out, ss_test *t, ...);

#endif
