/*
 * ss_jni.c -- the JNI glue under statestore-spark (spark/).
 *
 * One Java class, StatestoreNative, declares static native methods; they
 * are bound here with RegisterNatives from JNI_OnLoad, so the library
 * exports only JNI_OnLoad and the ss_* API (jni.map) and
 * cannot clash with the RocksDB symbols rocksdbjni brings into Spark.
 *
 * Handles cross as jlong.  JNI_OnLoad turns on checked handles
 * (statestore.h convention 9), so a handle the JVM side kept past its
 * free or its provider's close gives SS_EINVAL and a Java exception, not
 * a crash of the executor.  The JVM side serialises the calls on one
 * provider (convention 4); this file keeps no state of its own.
 *
 * Every failure throws StatestoreException(code, message) with
 * ss_error_last()'s message.  A call that throws returns a dummy value
 * the Java side never sees.
 */
#include <jni.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statestore.h"

#define SS_JNI_CLASS                                                           \
    "org/apache/spark/sql/execution/streaming/state/StatestoreNative"
#define SS_JNI_EXC                                                             \
    "org/apache/spark/sql/execution/streaming/state/StatestoreException"

/* Keys and values up to this size are copied to the stack; larger ones
 * to the heap. */
#define STACK_BYTES 512

static jclass exc_class;
static jmethodID exc_ctor;
static jclass bytes_class; /* byte[] */

static void
throw_code(JNIEnv *env, int code, const char *what)
{
    char msg[1024];
    jstring jmsg;
    jthrowable t;
    const char *last = ss_error_last();

    if ((*env)->ExceptionCheck(env))
        return;
    if (last && *last)
        snprintf(msg, sizeof msg, "%s", last);
    else
        snprintf(msg, sizeof msg, "%s: %s", what, ss_strerror(code));
    jmsg = (*env)->NewStringUTF(env, msg);
    if (!jmsg)
        return; /* OutOfMemoryError pending */
    t = (jthrowable)(*env)->NewObject(env, exc_class, exc_ctor, (jint)code,
                                      jmsg);
    if (t)
        (*env)->Throw(env, t);
}

/* A Java byte[] copied into native memory for one call. */
typedef struct jbytes {
    char stack[STACK_BYTES];
    char *data;
    size_t len;
} jbytes;

static int
jbytes_get(JNIEnv *env, jbytes *b, jbyteArray a, const char *what)
{
    jsize n;

    b->data = b->stack;
    b->len = 0;
    if (!a) {
        ss_error_clear();
        throw_code(env, SS_EINVAL, what);
        return -1;
    }
    n = (*env)->GetArrayLength(env, a);
    if (n > STACK_BYTES && !(b->data = malloc((size_t)n))) {
        throw_code(env, SS_ENOMEM, what);
        return -1;
    }
    (*env)->GetByteArrayRegion(env, a, 0, n, (jbyte *)b->data);
    b->len = (size_t)n;
    return 0;
}

static void
jbytes_free(jbytes *b)
{
    if (b->data != b->stack)
        free(b->data);
}

static ss_slice
jbytes_slice(const jbytes *b)
{
    ss_slice s = {b->data, b->len};
    return s;
}

static jbyteArray
new_bytes(JNIEnv *env, ss_slice s)
{
    jbyteArray a = (*env)->NewByteArray(env, (jsize)s.len);

    if (a && s.len)
        (*env)->SetByteArrayRegion(env, a, 0, (jsize)s.len,
                                   (const jbyte *)s.data);
    return a;
}

#define P(h) ((ss_provider *)(intptr_t)(h))
#define S(h) ((ss_store *)(intptr_t)(h))
#define I(h) ((ss_iter *)(intptr_t)(h))
#define H(ptr) ((jlong)(intptr_t)(ptr))

/* ------------------------------------------------------------- provider */

static jlong JNICALL
j_open(JNIEnv *env, jclass cls, jstring jloc, jobjectArray jopts)
{
    const char *loc;
    const char **opts = NULL;
    jstring *strs = NULL;
    jsize n = jopts ? (*env)->GetArrayLength(env, jopts) : 0, i, got = 0;
    ss_provider *p = NULL;
    int rc = SS_ENOMEM;

    (void)cls;
    if (!jloc) {
        ss_error_clear();
        throw_code(env, SS_EINVAL, "open: location is null");
        return 0;
    }
    if (!(loc = (*env)->GetStringUTFChars(env, jloc, NULL)))
        return 0;
    if (n && (!(opts = calloc((size_t)n, sizeof *opts)) ||
              !(strs = calloc((size_t)n, sizeof *strs))))
        goto out;
    for (; got < n; got++) {
        strs[got] = (jstring)(*env)->GetObjectArrayElement(env, jopts, got);
        if (!strs[got] ||
            !(opts[got] = (*env)->GetStringUTFChars(env, strs[got], NULL)))
            goto out;
    }
    rc = ss_provider_open(&p, loc, opts, (size_t)n);
out:
    for (i = 0; i < got; i++)
        (*env)->ReleaseStringUTFChars(env, strs[i], opts[i]);
    free(opts);
    free(strs);
    (*env)->ReleaseStringUTFChars(env, jloc, loc);
    if (rc < 0) {
        throw_code(env, rc, "ss_provider_open");
        return 0;
    }
    return H(p);
}

static void JNICALL
j_close(JNIEnv *env, jclass cls, jlong p)
{
    (void)env;
    (void)cls;
    ss_provider_close(P(p));
}

static jint JNICALL
j_cf(JNIEnv *env, jclass cls, jlong p, jstring jname, jint flags)
{
    const char *name;
    unsigned id = 0;
    int rc;

    (void)cls;
    if (!jname || !(name = (*env)->GetStringUTFChars(env, jname, NULL))) {
        throw_code(env, SS_EINVAL, "ss_provider_cf: name is null");
        return 0;
    }
    rc = ss_provider_cf(&id, P(p), name, (unsigned)flags);
    (*env)->ReleaseStringUTFChars(env, jname, name);
    if (rc < 0)
        throw_code(env, rc, "ss_provider_cf");
    return (jint)id;
}

/* mode: 0 writable, 1 read-only from files, 2 read view. */
static jlong JNICALL
j_load(JNIEnv *env, jclass cls, jlong p, jlong version, jint mode)
{
    ss_store *s = NULL;
    int rc;

    (void)cls;
    if (version < 0) {
        ss_error_clear();
        throw_code(env, SS_EINVAL, "load: negative version");
        return 0;
    }
    rc = mode == 0   ? ss_provider_load(&s, P(p), (uint64_t)version)
         : mode == 1 ? ss_provider_load_readonly(&s, P(p), (uint64_t)version)
                     : ss_provider_load_view(&s, P(p), (uint64_t)version);
    if (rc < 0) {
        throw_code(env, rc, "ss_provider_load");
        return 0;
    }
    return H(s);
}

static jlong JNICALL
j_latest(JNIEnv *env, jclass cls, jlong p)
{
    uint64_t v = 0;
    int rc = ss_provider_latest(&v, P(p));

    (void)cls;
    if (rc < 0)
        throw_code(env, rc, "ss_provider_latest");
    return (jlong)v;
}

/* force: ss_provider_snapshot (a snapshot whatever min_deltas_for_snapshot
 * says), else ss_provider_maintenance. */
static void JNICALL
j_maintenance(JNIEnv *env, jclass cls, jlong p, jboolean force)
{
    int rc = force ? ss_provider_snapshot(P(p)) : ss_provider_maintenance(P(p));

    (void)cls;
    if (rc < 0)
        throw_code(env, rc, "ss_provider_maintenance");
}

/* The ss_metrics fields after `version`, in struct order (all uint64_t);
 * StatestoreNative.METRIC_NAMES lists them in the same order. */
#define N_METRICS                                                              \
    ((sizeof(ss_metrics) - offsetof(ss_metrics, num_keys)) / sizeof(uint64_t))

static jlongArray JNICALL
j_metrics(JNIEnv *env, jclass cls, jlong p)
{
    ss_metrics m;
    jlong vals[N_METRICS];
    const char *base;
    jlongArray a;
    size_t i;
    int rc;

    (void)cls;
    memset(&m, 0, sizeof m);
    m.version = SS_METRICS_VERSION;
    if ((rc = ss_provider_metrics(&m, P(p))) < 0) {
        throw_code(env, rc, "ss_provider_metrics");
        return NULL;
    }
    base = (const char *)&m.num_keys;
    for (i = 0; i < N_METRICS; i++) {
        uint64_t v;
        memcpy(&v, base + i * sizeof v, sizeof v);
        vals[i] = (jlong)v;
    }
    if (!(a = (*env)->NewLongArray(env, (jsize)N_METRICS)))
        return NULL;
    (*env)->SetLongArrayRegion(env, a, 0, (jsize)N_METRICS, vals);
    return a;
}

/* ---------------------------------------------------------------- store */

static jbyteArray JNICALL
j_get(JNIEnv *env, jclass cls, jlong s, jint cf, jbyteArray jkey)
{
    jbytes k;
    ss_slice v;
    jbyteArray out = NULL;
    int rc;

    (void)cls;
    if (jbytes_get(env, &k, jkey, "ss_store_get: key is null") < 0)
        return NULL;
    rc = ss_store_get(&v, S(s), (unsigned)cf, jbytes_slice(&k));
    jbytes_free(&k);
    if (rc == SS_ENOTFOUND)
        return NULL;
    if (rc < 0)
        throw_code(env, rc, "ss_store_get");
    else
        out = new_bytes(env, v);
    return out;
}

/* The calls taking a store, a family and two byte strings (key and
 * value, or range bounds). */
typedef int (*store_two_fn)(ss_store *, unsigned, ss_slice, ss_slice);

static void
store_two(JNIEnv *env, jlong s, jint cf, jbyteArray ja, jbyteArray jb,
          store_two_fn fn, const char *what)
{
    jbytes a, b;
    int rc;

    if (jbytes_get(env, &a, ja, what) < 0)
        return;
    if (jbytes_get(env, &b, jb, what) < 0) {
        jbytes_free(&a);
        return;
    }
    rc = fn(S(s), (unsigned)cf, jbytes_slice(&a), jbytes_slice(&b));
    jbytes_free(&a);
    jbytes_free(&b);
    if (rc < 0)
        throw_code(env, rc, what);
}

static void JNICALL
j_put(JNIEnv *env, jclass cls, jlong s, jint cf, jbyteArray jkey,
      jbyteArray jval)
{
    (void)cls;
    store_two(env, s, cf, jkey, jval, ss_store_put,
              "ss_store_put: null key or value");
}

static void JNICALL
j_append(JNIEnv *env, jclass cls, jlong s, jint cf, jbyteArray jkey,
         jbyteArray jval)
{
    (void)cls;
    store_two(env, s, cf, jkey, jval, ss_store_append,
              "ss_store_append: null key or value");
}

static void JNICALL
j_remove_range(JNIEnv *env, jclass cls, jlong s, jint cf, jbyteArray jstart,
               jbyteArray jend)
{
    (void)cls;
    store_two(env, s, cf, jstart, jend, ss_store_remove_range,
              "ss_store_remove_range: null bound");
}

static void JNICALL
j_remove(JNIEnv *env, jclass cls, jlong s, jint cf, jbyteArray jkey)
{
    jbytes k;
    int rc;

    (void)cls;
    if (jbytes_get(env, &k, jkey, "ss_store_remove: key is null") < 0)
        return;
    rc = ss_store_remove(S(s), (unsigned)cf, jbytes_slice(&k));
    jbytes_free(&k);
    if (rc < 0)
        throw_code(env, rc, "ss_store_remove");
}

static void JNICALL
j_put_list(JNIEnv *env, jclass cls, jlong s, jint cf, jbyteArray jkey,
           jobjectArray jvals)
{
    jbytes k;
    jsize n, i, got = 0;
    jbyteArray *arrs = NULL;
    jbyte **elems = NULL;
    ss_slice *vals = NULL;
    int rc = SS_ENOMEM;

    (void)cls;
    if (!jvals) {
        ss_error_clear();
        throw_code(env, SS_EINVAL, "ss_store_put_list: values are null");
        return;
    }
    if (jbytes_get(env, &k, jkey, "ss_store_put_list: key is null") < 0)
        return;
    n = (*env)->GetArrayLength(env, jvals);
    if (n && (!(arrs = calloc((size_t)n, sizeof *arrs)) ||
              !(elems = calloc((size_t)n, sizeof *elems)) ||
              !(vals = calloc((size_t)n, sizeof *vals))))
        goto out;
    for (; got < n; got++) {
        arrs[got] = (jbyteArray)(*env)->GetObjectArrayElement(env, jvals, got);
        if (!arrs[got]) {
            ss_error_clear();
            rc = SS_EINVAL;
            goto out;
        }
        if (!(elems[got] = (*env)->GetByteArrayElements(env, arrs[got], NULL)))
            goto out;
        vals[got].data = elems[got];
        vals[got].len = (size_t)(*env)->GetArrayLength(env, arrs[got]);
    }
    rc = ss_store_put_list(S(s), (unsigned)cf, jbytes_slice(&k), vals,
                           (size_t)n);
out:
    for (i = 0; i < got; i++)
        (*env)->ReleaseByteArrayElements(env, arrs[i], elems[i], JNI_ABORT);
    free(arrs);
    free(elems);
    free(vals);
    jbytes_free(&k);
    if (rc < 0)
        throw_code(env, rc, "ss_store_put_list");
}

static jlong JNICALL
j_commit(JNIEnv *env, jclass cls, jlong s)
{
    uint64_t v = 0;
    int rc = ss_store_commit(&v, S(s));

    (void)cls;
    if (rc < 0)
        throw_code(env, rc, "ss_store_commit");
    return (jlong)v;
}

static void JNICALL
j_abort(JNIEnv *env, jclass cls, jlong s)
{
    int rc = ss_store_abort(S(s));

    (void)cls;
    if (rc < 0)
        throw_code(env, rc, "ss_store_abort");
}

static void JNICALL
j_free(JNIEnv *env, jclass cls, jlong s)
{
    (void)env;
    (void)cls;
    ss_store_free(S(s));
}

static jint JNICALL
j_cf_create(JNIEnv *env, jclass cls, jlong s, jstring jname, jint flags)
{
    const char *name;
    unsigned id = 0;
    int rc;

    (void)cls;
    if (!jname || !(name = (*env)->GetStringUTFChars(env, jname, NULL))) {
        throw_code(env, SS_EINVAL, "ss_store_cf_create: name is null");
        return 0;
    }
    rc = ss_store_cf_create(&id, S(s), name, (unsigned)flags);
    (*env)->ReleaseStringUTFChars(env, jname, name);
    if (rc < 0)
        throw_code(env, rc, "ss_store_cf_create");
    return (jint)id;
}

static void JNICALL
j_cf_drop(JNIEnv *env, jclass cls, jlong s, jint cf)
{
    int rc = ss_store_cf_drop(S(s), (unsigned)cf);

    (void)cls;
    if (rc < 0)
        throw_code(env, rc, "ss_store_cf_drop");
}

/* The store's families as alternating names and "id:flags" strings. */
static jobjectArray JNICALL
j_cf_list(JNIEnv *env, jclass cls, jlong s)
{
    ss_cf_info *infos = NULL;
    jobjectArray out = NULL;
    int n, i;

    (void)cls;
    if ((n = ss_store_cf_list(NULL, 0, S(s))) < 0) {
        throw_code(env, n, "ss_store_cf_list");
        return NULL;
    }
    if (n && !(infos = calloc((size_t)n, sizeof *infos))) {
        throw_code(env, SS_ENOMEM, "ss_store_cf_list");
        return NULL;
    }
    if ((n = ss_store_cf_list(infos, (size_t)n, S(s))) < 0) {
        throw_code(env, n, "ss_store_cf_list");
        goto out;
    }
    out = (*env)->NewObjectArray(
        env, 2 * n, (*env)->FindClass(env, "java/lang/String"), NULL);
    for (i = 0; out && i < n; i++) {
        char idf[32];
        jstring a = (*env)->NewStringUTF(env, infos[i].name), b;
        snprintf(idf, sizeof idf, "%u:%u", infos[i].id, infos[i].flags);
        b = (*env)->NewStringUTF(env, idf);
        if (!a || !b) {
            out = NULL;
            break;
        }
        (*env)->SetObjectArrayElement(env, out, 2 * i, a);
        (*env)->SetObjectArrayElement(env, out, 2 * i + 1, b);
        (*env)->DeleteLocalRef(env, a);
        (*env)->DeleteLocalRef(env, b);
    }
out:
    free(infos);
    return out;
}

/* ------------------------------------------------------------ iterators */

/* kind: 0 all keys, 1 prefix (a = prefix), 2 range [a, b), 3 list of
 * key a. */
static jlong JNICALL
j_iter(JNIEnv *env, jclass cls, jlong s, jint cf, jint kind, jbyteArray ja,
       jbyteArray jb)
{
    jbytes a = {{0}, NULL, 0}, b = {{0}, NULL, 0};
    ss_iter *it = NULL;
    int rc;

    (void)cls;
    a.data = a.stack;
    b.data = b.stack;
    if (kind != 0 && ja && jbytes_get(env, &a, ja, "ss_store_iter") < 0)
        return 0;
    if (kind == 2 && jb && jbytes_get(env, &b, jb, "ss_store_iter") < 0) {
        jbytes_free(&a);
        return 0;
    }
    switch (kind) {
    case 0: rc = ss_store_iter(&it, S(s), (unsigned)cf); break;
    case 1:
        rc = ss_store_prefix_scan(&it, S(s), (unsigned)cf, jbytes_slice(&a));
        break;
    case 2:
        rc = ss_store_range_scan(&it, S(s), (unsigned)cf, jbytes_slice(&a),
                                 jbytes_slice(&b));
        break;
    default:
        rc = ss_store_list_iter(&it, S(s), (unsigned)cf, jbytes_slice(&a));
        break;
    }
    jbytes_free(&a);
    jbytes_free(&b);
    if (rc < 0) {
        throw_code(env, rc, "ss_store_iter");
        return 0;
    }
    return H(it);
}

/* The next {key, value}, or null when the iterator is done. */
static jobjectArray JNICALL
j_next(JNIEnv *env, jclass cls, jlong it)
{
    ss_slice k, v;
    jobjectArray out;
    jbyteArray jk, jv;
    int rc = ss_iter_next(I(it), &k, &v);

    (void)cls;
    if (rc == SS_EDONE)
        return NULL;
    if (rc < 0) {
        throw_code(env, rc, "ss_iter_next");
        return NULL;
    }
    if (!(out = (*env)->NewObjectArray(env, 2, bytes_class, NULL)) ||
        !(jk = new_bytes(env, k)) || !(jv = new_bytes(env, v)))
        return NULL;
    (*env)->SetObjectArrayElement(env, out, 0, jk);
    (*env)->SetObjectArrayElement(env, out, 1, jv);
    (*env)->DeleteLocalRef(env, jk);
    (*env)->DeleteLocalRef(env, jv);
    return out;
}

static void JNICALL
j_iter_free(JNIEnv *env, jclass cls, jlong it)
{
    (void)env;
    (void)cls;
    ss_iter_free(I(it));
}

/* ---------------------------------------------------------------- setup */

static const JNINativeMethod methods[] = {
    {"open", "(Ljava/lang/String;[Ljava/lang/String;)J", (void *)j_open},
    {"close", "(J)V", (void *)j_close},
    {"cf", "(JLjava/lang/String;I)I", (void *)j_cf},
    {"load", "(JJI)J", (void *)j_load},
    {"latest", "(J)J", (void *)j_latest},
    {"maintenance", "(JZ)V", (void *)j_maintenance},
    {"metrics", "(J)[J", (void *)j_metrics},
    {"get", "(JI[B)[B", (void *)j_get},
    {"put", "(JI[B[B)V", (void *)j_put},
    {"remove", "(JI[B)V", (void *)j_remove},
    {"removeRange", "(JI[B[B)V", (void *)j_remove_range},
    {"append", "(JI[B[B)V", (void *)j_append},
    {"putList", "(JI[B[[B)V", (void *)j_put_list},
    {"commit", "(J)J", (void *)j_commit},
    {"abort", "(J)V", (void *)j_abort},
    {"free", "(J)V", (void *)j_free},
    {"cfCreate", "(JLjava/lang/String;I)I", (void *)j_cf_create},
    {"cfDrop", "(JI)V", (void *)j_cf_drop},
    {"cfList", "(J)[Ljava/lang/String;", (void *)j_cf_list},
    {"iter", "(JII[B[B)J", (void *)j_iter},
    {"next", "(J)[[B", (void *)j_next},
    {"iterFree", "(J)V", (void *)j_iter_free},
};

static jclass
global_class(JNIEnv *env, const char *name)
{
    jclass local = (*env)->FindClass(env, name), g;

    if (!local)
        return NULL;
    g = (jclass)(*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    return g;
}

SS_EXTERN jint JNICALL
JNI_OnLoad(JavaVM *vm, void *reserved)
{
    JNIEnv *env;
    jclass cls;

    (void)reserved;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    /* Checked handles before the first provider (convention 9). */
    if (ss_handle_checks(1) < 0)
        return JNI_ERR;
    if (!(exc_class = global_class(env, SS_JNI_EXC)) ||
        !(exc_ctor = (*env)->GetMethodID(env, exc_class, "<init>",
                                         "(ILjava/lang/String;)V")) ||
        !(bytes_class = global_class(env, "[B")) ||
        !(cls = (*env)->FindClass(env, SS_JNI_CLASS)))
        return JNI_ERR;
    if ((*env)->RegisterNatives(
            env, cls, methods, (jint)(sizeof methods / sizeof methods[0])) != 0)
        return JNI_ERR;
    (*env)->DeleteLocalRef(env, cls);
    return JNI_VERSION_1_8;
}
