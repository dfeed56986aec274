/*
 * checkpoint_dir.h -- the versions present in a checkpoint folder, for
 * inspect and verify (read from the directory listing).
 */
#ifndef SS_CLI_CHECKPOINT_DIR_H
#define SS_CLI_CHECKPOINT_DIR_H

#include <stdint.h>
#include <stddef.h>

typedef struct ckpt_file {
    uint64_t version;
    int snapshot; /* 0 = delta */
    uint64_t bytes;
} ckpt_file;

typedef struct ckpt_dir {
    ckpt_file *files; /* sorted by version, delta before snapshot */
    size_t n;
} ckpt_dir;

/* 0, or -1 with a message printed. */
int ckpt_dir_read(ckpt_dir *out, const char *cmd, const char *dir);
void ckpt_dir_free(ckpt_dir *d);

#endif
