/*
 * checkpoint_dir.c -- list <version>.delta / .snapshot / .meta files and
 * the sst-* objects metas share.
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
    return x->kind - y->kind;
}

const char *
ckpt_kind_name(int kind)
{
    return kind == CKPT_META       ? "meta"
           : kind == CKPT_SNAPSHOT ? "snapshot"
                                   : "delta";
}

void
ckpt_dir_pick_provider(const ckpt_dir *d, cli_opts *opts)
{
    size_t i;

    if (d->n_metas == 0)
        return;
    for (i = 0; i < opts->n; i++)
        if (strncmp(opts->items[i], "provider=", 9) == 0)
            return;
    cli_opts_add(opts, "provider=rocksdb");
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

    memset(out, 0, sizeof(*out));
    if (!d) {
        fprintf(stderr, "statestore %s: cannot open %s: %s\n", cmd, dir,
                strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (strncmp(e->d_name, "sst-", 4) == 0) {
            out->objects++;
            out->object_bytes +=
                stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
            continue;
        }
        if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
            sscanf(e->d_name, "%" SCNu64 ".%15s", &v, kind) != 2 ||
            (strcmp(kind, "delta") != 0 && strcmp(kind, "snapshot") != 0 &&
             strcmp(kind, "meta") != 0))
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
        out->files[out->n].version = v;
        out->files[out->n].kind = kind[0] == 'm'   ? CKPT_META
                                  : kind[0] == 's' ? CKPT_SNAPSHOT
                                                   : CKPT_DELTA;
        out->n_metas += kind[0] == 'm';
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
