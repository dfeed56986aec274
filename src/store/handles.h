/*
 * handles.h -- what the front hands out for a provider, store or
 * iterator, and how each entry point gets its object back (statestore.h
 * convention 9).
 *
 * Every object of store.c registers when it is made and releases when it
 * is freed; the value it gets back is what the caller holds.  Every
 * public entry point turns the caller's value back into the object with
 * one SS_DECODE_* call before anything else:
 *
 *     if ((rc = SS_DECODE_STORE(s, "ss_store_get")) < 0)
 *         return rc;
 *
 * Unchecked (the default) the value is the object's address and decoding
 * is one predictable branch.  Checked, it is a token looked up in the
 * table of handles.c; a stale or foreign one returns SS_EINVAL with a
 * message naming `fn`, and `s` is set to NULL.  NULL decodes to NULL in
 * both modes, so the entry point's own NULL check still names it.
 * Internal helpers take decoded objects: decode once, at the entry point.
 */
#ifndef SS_STORE_HANDLES_H
#define SS_STORE_HANDLES_H

#include "statestore.h"

#include <stdatomic.h>
#include <stdint.h>

enum { SS_HANDLE_PROVIDER = 1, SS_HANDLE_STORE = 2, SS_HANDLE_ITER = 3 };

/* Bit 63: checked mode; bits 0..62: handles registered and not released
 * (both modes), so that ss_handle_checks can refuse to switch while any
 * exist.  One word, so a switch and a registration never interleave. */
extern _Atomic uint64_t ss_handle__state;
#define SS_HANDLE__CHECKED (UINT64_C(1) << 63)

#if defined(__GNUC__)
#define SS_HANDLE__LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define SS_HANDLE__LIKELY(x) (x)
#endif

/* Is checked mode on?  Fixed while any handle exists. */
static inline int
ss_handle__checked(void)
{
    return (atomic_load_explicit(&ss_handle__state, memory_order_relaxed) &
            SS_HANDLE__CHECKED) != 0;
}

/* Register `obj` of `type`; *out is the value to hand the caller (obj
 * itself, or a token).  SS_ENOMEM when the table cannot grow. */
int ss_handle__register(void **out, unsigned type, void *obj);
/* Release what ss_handle__register returned; a token goes stale. */
void ss_handle__release(void *handle);
/* Checked mode's lookup (the slow path of ss_handle__decode). */
int ss_handle__lookup(void **obj_out, const void *handle, unsigned type,
                      const char *fn);

static inline int
ss_handle__decode(void **obj_out, const void *handle, unsigned type,
                  const char *fn)
{
    *obj_out = (void *)handle;
    if (SS_HANDLE__LIKELY(!ss_handle__checked()))
        return 0;
    return ss_handle__lookup(obj_out, handle, type, fn);
}

static inline int
ss_handle__provider(ss_provider **p, const char *fn)
{
    void *obj;
    int rc = ss_handle__decode(&obj, *p, SS_HANDLE_PROVIDER, fn);

    *p = obj;
    return rc;
}

static inline int
ss_handle__store(ss_store **s, const char *fn)
{
    void *obj;
    int rc = ss_handle__decode(&obj, *s, SS_HANDLE_STORE, fn);

    *s = obj;
    return rc;
}

static inline int
ss_handle__iter(ss_iter **it, const char *fn)
{
    void *obj;
    int rc = ss_handle__decode(&obj, *it, SS_HANDLE_ITER, fn);

    *it = obj;
    return rc;
}

/* Replace the caller's handle variable by its object; 0 or SS_EINVAL. */
#define SS_DECODE_PROVIDER(p, fn) ss_handle__provider(&(p), (fn))
#define SS_DECODE_STORE(s, fn) ss_handle__store(&(s), (fn))
#define SS_DECODE_ITER(it, fn) ss_handle__iter(&(it), (fn))

#endif
