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
    if (flags & ~SS_CF_ORDERED)
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
                                name, t->cf[i].flags ? "ordered" : "unordered",
                                flags ? "ordered" : "unordered");
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
                        const ss_cf_table *t)
{
    unsigned order[SS_MAX_CFS], i, j, x;

    h->n_cf = t->count;
    h->cf = calloc(t->count ? t->count : 1, sizeof(ss_cf_entry));
    if (!h->cf)
        return ss_error_set(SS_ENOMEM, "out of memory");
    /* Sorting by name makes (file id, key) order equal (name, key)
     * order, so files written by processes that declared families in
     * different orders still merge.  Insertion sort: at most 256 names,
     * and no global comparator state (partitions run on threads). */
    for (i = 0; i < t->count; i++) {
        x = i;
        for (j = i;
             j > 0 && strcmp(t->cf[order[j - 1]].name, t->cf[x].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    for (i = 0; i < t->count; i++) {
        h->cf[i] = t->cf[order[i]];
        rank[order[i]] = i;
    }
    return 0;
}
