/*
 * checkpoint_dir.c -- list <version>.delta / <version>.snapshot files.
 */
#include "checkpoint_dir.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
by_version(const void *a, const void *b)
{
    const ckpt_file *x = a, *y = b;

    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    return x->snapshot - y->snapshot;
}

int
ckpt_dir_read(ckpt_dir *out, const char *cmd, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat sb;
    char path[4096], kind[16];
    uint64_t v;
    ckpt_file *grown;
    size_t cap = 0;

    out->files = NULL;
    out->n = 0;
    if (!d) {
        fprintf(stderr, "statestore %s: cannot open %s: %s\n", cmd, dir,
                strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
            sscanf(e->d_name, "%" SCNu64 ".%15s", &v, kind) != 2 ||
            (strcmp(kind, "delta") != 0 && strcmp(kind, "snapshot") != 0))
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            grown = realloc(out->files, cap * sizeof(*grown));
            if (!grown) {
                closedir(d);
                fprintf(stderr, "statestore %s: out of memory\n", cmd);
                return -1;
            }
            out->files = grown;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        out->files[out->n].version = v;
        out->files[out->n].snapshot = kind[0] == 's';
        out->files[out->n].bytes =
            stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        out->n++;
    }
    closedir(d);
    qsort(out->files, out->n, sizeof(ckpt_file), by_version);
    return 0;
}

void
ckpt_dir_free(ckpt_dir *d)
{
    free(d->files);
    d->files = NULL;
    d->n = 0;
}
