/*
 * provider.c -- provider registry and the column-family table.
 */
#include "providers/provider.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

const ss_provider_ops *
ss_provider__find(const char *name)
{
    if (strcmp(name, "memory") == 0)
        return &ss_memory_provider_ops;
#ifdef SS_WITH_ROCKSDB
    if (strcmp(name, "rocksdb") == 0)
        return &ss_rocksdb_provider_ops;
#endif
    return NULL;
}

static const char *
flags_name(unsigned flags)
{
    static const char *const names[] = {"unordered", "ordered",
                                        "an unordered list family",
                                        "an ordered list family"};

    return names[flags & (SS_CF_ORDERED | SS_CF_LIST)];
}

int
ss_cf_table_declare(unsigned *out, ss_cf_table *t, const char *name,
                    unsigned flags)
{
    size_t n = strlen(name);
    unsigned i;

    if (n == 0 || n > 255)
        return ss_error_set(SS_EINVAL,
                            "column family name must be 1..255 "
                            "bytes (got %zu)",
                            n);
    if (flags & ~(SS_CF_ORDERED | SS_CF_LIST))
        return ss_error_set(SS_EINVAL,
                            "column family '%s': unknown flags "
                            "0x%x",
                            name, flags);
    for (i = 0; i < t->count; i++) {
        if (strcmp(t->cf[i].name, name) != 0)
            continue;
        if (t->cf[i].flags != flags)
            return ss_error_set(SS_EINVAL,
                                "column family '%s' exists as "
                                "%s, declared %s",
                                name, flags_name(t->cf[i].flags),
                                flags_name(flags));
        *out = i;
        return 0;
    }
    if (t->count == SS_MAX_CFS)
        return ss_error_set(SS_ELIMIT,
                            "column family '%s': at most %u "
                            "families",
                            name, SS_MAX_CFS);
    memcpy(t->cf[t->count].name, name, n + 1);
    t->cf[t->count].flags = flags;
    *out = t->count++;
    return 0;
}

int
ss_cf_table_file_header(ss_file_header *h, unsigned rank[SS_MAX_CFS],
                        const ss_cf_table *t, const ss_cf_set *live,
                        const ss_cf_set *dropped)
{
    unsigned order[SS_MAX_CFS], i, j, x, n = 0;

    h->cf = calloc(t->count ? t->count : 1, sizeof(ss_cf_entry));
    if (!h->cf)
        return ss_error_set(SS_ENOMEM, "out of memory");
    /* Sorting by name makes (file id, key) order equal (name, key)
     * order, so files written by processes that declared families in
     * different orders still merge.  Insertion sort: at most 256 names,
     * and no global comparator state (partitions run on threads). */
    for (i = 0; i < t->count; i++) {
        rank[i] = 0;
        if (live && !ss_cf_set_has(live, i) &&
            !(dropped && ss_cf_set_has(dropped, i)))
            continue;
        x = i;
        for (j = n;
             j > 0 && strcmp(t->cf[order[j - 1]].name, t->cf[x].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = x;
        n++;
    }
    h->n_cf = n;
    for (i = 0; i < n; i++) {
        h->cf[i] = t->cf[order[i]];
        if (live && !ss_cf_set_has(live, order[i]))
            h->cf[i].flags |= SS_CF_FILE_DROPPED;
        rank[order[i]] = i;
    }
    return 0;
}

void
ss_cf_set_after_file(ss_cf_set *set, ss_cf_set *gone,
                     const unsigned *local_to_cf, const ss_file_header *h)
{
    ss_cf_set in;
    unsigned i;

    memset(&in, 0, sizeof(in));
    for (i = 0; i < h->n_cf; i++)
        if (!(h->cf[i].flags & SS_CF_FILE_DROPPED))
            ss_cf_set_add(&in, local_to_cf[i]);
    /* Version 2 tables list what the writer had declared, and version 2
     * had no drops: they only add.  Version 3 tables are exhaustive. */
    if (h->format < 3 && h->kind == SS_FILE_DELTA) {
        ss_cf_set_union(set, &in);
        return;
    }
    if (h->kind == SS_FILE_DELTA)
        for (i = 0; i < SS_MAX_CFS / 64; i++)
            gone->w[i] |= set->w[i] & ~in.w[i];
    *set = in;
}
