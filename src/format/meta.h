/*
 * meta.h -- <V>.meta: a version checkpointed as RocksDB files.
 *
 * Written by the rocksdb provider in SST snapshot mode.  A meta file is a
 * frame (format/frame.h) of kind 3 whose family table is the store's
 * families, holding puts of family 0 only, sorted by key:
 *
 *   key "f:<local file name>"   one per file of the RocksDB checkpoint:
 *     u8 how (0 = object in the checkpoint location, 1 = inline),
 *     varint size, u32 CRC-32C of the file's bytes (little-endian), then
 *     the object name (how 0, 1..159 bytes) or the file's bytes (how 1)
 *   key "k:num_keys"            varint: live keys of the version (bit
 *                               63 set: an estimate, recounted by a
 *                               loader that keeps exact counts)
 *
 * SST files are immutable, so one object serves every version that lists
 * it; the small files (MANIFEST, CURRENT, OPTIONS, empty WALs) are
 * inlined.  Object names begin with SS_META_OBJECT_PREFIX.
 *
 * Invariant: a meta is published only after every object it lists is
 * durable, so a listed object is always present and whole.
 */
#ifndef SS_FORMAT_META_H
#define SS_FORMAT_META_H

#include "format/frame.h"

#include <stdint.h>

#define SS_META_OBJECT_PREFIX "sst-"
#define SS_META_NAME_MAX 160u

typedef struct ss_meta_file {
    char name[SS_META_NAME_MAX];   /* local name in the RocksDB directory */
    char object[SS_META_NAME_MAX]; /* checkpoint object; "" when inline */
    uint64_t size;
    uint32_t crc;
    unsigned char *data; /* inline bytes (size of them), owned */
} ss_meta_file;

typedef struct ss_meta {
    uint64_t num_keys;
    ss_file_header header; /* kind, version and families (owned cf) */
    ss_meta_file *files;
    size_t n_files;
} ss_meta;

/* Encode `m` (files in any order) as <version>.meta into `fw`, finished
 * but not yet visible: the caller publishes it with the delta log. */
int ss_meta_write(ss_frame_writer *fw, ss_storage *st, const ss_meta *m,
                  int level, size_t block_size);

/* Read and check <version>.meta.  SS_ENOTFOUND if absent; SS_ECORRUPT
 * naming the file for anything malformed. */
int ss_meta_read(ss_meta *out, ss_storage *st, uint64_t version);

void ss_meta_free(ss_meta *m);

#endif
