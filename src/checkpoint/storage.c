/*
 * storage.c -- backend choice and helpers shared by every backend.
 */
#include "checkpoint/storage.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int
ss_storage_open(ss_storage **out, const char *location)
{
    *out = NULL;
    if (!location || !location[0])
        return ss_error_set(SS_EINVAL, "checkpoint location is empty");
    if (strstr(location, "://"))
        return ss_error_set(SS_EINVAL,
                            "checkpoint location '%s': only "
                            "local filesystem paths are supported",
                            location);
    return ss_local_fs_open(out, location);
}

static int
put_whole(ss_storage *st, const char *name, const void *data, size_t len,
          bool only_new)
{
    ss_storage_writer *w;
    int rc;

    if ((rc = st->writer_open(&w, st, name)) < 0)
        return rc;
    if ((rc = st->writer_write(w, data, len)) < 0) {
        st->writer_abort(w);
        return rc;
    }
    return only_new ? st->writer_commit_new(w) : st->writer_commit(w);
}

int
ss_storage_put(ss_storage *st, const char *name, const void *data, size_t len)
{
    return put_whole(st, name, data, len, false);
}

int
ss_storage_put_new(ss_storage *st, const char *name, const void *data,
                   size_t len)
{
    return put_whole(st, name, data, len, true);
}

void
ss_namelist_free(ss_namelist *l)
{
    size_t i;

    for (i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->count = 0;
}
