/*
 * checkpoint_dir.h -- the versions present in a checkpoint folder, for
 * inspect and verify (read from the directory listing).
 */
#ifndef SS_CLI_CHECKPOINT_DIR_H
#define SS_CLI_CHECKPOINT_DIR_H

#include <stdint.h>
#include <stddef.h>

#include "cli.h"

enum { CKPT_DELTA = 0, CKPT_SNAPSHOT = 1, CKPT_META = 2 };

typedef struct ckpt_file {
    uint64_t version;
    int kind; /* CKPT_* */
    uint64_t bytes;
} ckpt_file;

typedef struct ckpt_dir {
    ckpt_file *files; /* sorted by version, then kind */
    size_t n;
    size_t n_metas;
    uint64_t objects, object_bytes; /* sst-* files metas share */
} ckpt_dir;

/* 0, or -1 with a message printed. */
int ckpt_dir_read(ckpt_dir *out, const char *cmd, const char *dir);
const char *ckpt_kind_name(int kind);
/* A folder holding metas is read with provider=rocksdb unless the
 * options name a provider. */
void ckpt_dir_pick_provider(const ckpt_dir *d, cli_opts *opts);
void ckpt_dir_free(ckpt_dir *d);

#endif
