/*
 * frame.h -- the one file format of every checkpoint file.
 *
 * Byte layout (all integers little-endian; docs/format.md mirrors this):
 *
 *   HEADER
 *     0   8  magic 89 53 53 54 0D 0A 1A 0A  ("\x89SST\r\n\x1a\n")
 *     8   2  format version (3; readers accept 2 and 3, writers write 3)
 *    10   1  kind: 1 = delta, 2 = snapshot, 3 = meta (format/meta.h),
 *            4 = store identity, 5 = writer epoch (providers/writer.h)
 *    11   1  codec: 0 = none, 1 = lz4, 2 = zstd
 *    12   4  H = header length in bytes, including this table and its CRC
 *    16   8  store version the file belongs to (0 for kinds 4 and 5)
 *    24  16  store id: the store this file belongs to (fixed when the
 *            store was created; a reader refuses a file of another store)
 *    40   8  writer epoch of the process that wrote the file (0: none)
 *    48   8  file nonce: random, distinct for every file written, so a
 *            rewritten version is told from the one it replaced
 *    56   4  N = number of column families
 *    60      N entries: u8 flags (bit 0 = ordered, bit 1 = list family:
 *            docs/format.md "Lists", bit 2 = dropped: see FAMILIES), u8 name
 *            length L (1..255), L name bytes.  Entry i is the file-local
 *            family id i; entries are sorted by name, so (id, key) order
 *            is (name, key) order in every file.
 *   H-4   4  CRC-32C of bytes [0, H-4)
 *
 *   BLOCKS, each:
 *     0   4  raw length R (bytes of records before compression)
 *     4   4  stored length S (bytes that follow); S == R means stored
 *            uncompressed (the writer stores raw whenever the codec does
 *            not make the block strictly smaller)
 *     8   4  number of records in the block
 *    12   4  CRC-32C of bytes 0..11 of this block header and the S bytes
 *    16   S  payload
 *   END MARKER: a block header with R = S = count = 0 (and its CRC)
 *
 *   TRAILER
 *     0   8  total number of records
 *     8   4  CRC-32C of every byte of the file before this field
 *
 * Records (inside the raw bytes of a block; never split across blocks):
 *     u8 op (1 = put, 2 = remove, 3 = family drop), u8 family id, varint
 *     key length (1..65535; 0 for op 3), [varint value length, put
 *     only], key, [value].
 *   Within a file records are sorted by (family id, key), each key once;
 *   a family's op 3 record (empty key) comes before its other records.
 *   Snapshot files hold puts only.  Ops 4 and 5 are unused (lists are
 *   puts in two families: docs/format.md "Lists").
 *
 * FAMILIES (format version 3).  The table of every version-3 file of
 * version V is exhaustive: the families that exist at V are exactly its
 * entries without bit 2 (a snapshot's and a meta's entries never have
 * it).  A delta also lists each family its batch dropped and did not
 * create again, with bit 2 set, and holds one op 3 record for every
 * family the batch dropped (created again or not): every key the family
 * had before the batch is gone, and its later records in the file are
 * the keys of the family created again.  A reader also treats a family
 * that existed at V-1 and is absent from V's delta as dropped.  Version 2
 * tables are not exhaustive: a version-2 file's families are added to
 * the set (version 2 had no drops), and version 0 has no families but
 * those the provider declares (statestore.h, ss_provider_cf).
 */
#ifndef SS_FORMAT_FRAME_H
#define SS_FORMAT_FRAME_H

#include "checkpoint/storage.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdint.h>

#define SS_FORMAT_VERSION 3u
#define SS_FORMAT_VERSION_MIN 2u /* oldest version readers accept */
#define SS_FRAME_FIXED_HEADER 60u
#define SS_FRAME_MAGIC "\x89SST\r\n\x1a\n"
#define SS_FRAME_BLOCK_HEADER 16u
#define SS_FRAME_TRAILER 12u
#define SS_MAX_CFS 256u

enum {
    SS_FILE_DELTA = 1,
    SS_FILE_SNAPSHOT = 2,
    SS_FILE_META = 3,
    SS_FILE_IDENTITY = 4,
    SS_FILE_WRITER = 5
};
enum { SS_CODEC_NONE = 0, SS_CODEC_LZ4 = 1, SS_CODEC_ZSTD = 2 };
enum { SS_OP_PUT = 1, SS_OP_REMOVE = 2, SS_OP_CF_DROP = 3 };
/* Family-table flag bit 2 (FAMILIES above); bit 0 is SS_CF_ORDERED. */
#define SS_CF_FILE_DROPPED 4u

/* A set of provider family ids (bit i = family i). */
typedef struct ss_cf_set {
    uint64_t w[SS_MAX_CFS / 64];
} ss_cf_set;

static inline bool
ss_cf_set_has(const ss_cf_set *s, unsigned cf)
{
    return cf < SS_MAX_CFS && (s->w[cf / 64] >> (cf % 64)) & 1u;
}

static inline void
ss_cf_set_add(ss_cf_set *s, unsigned cf)
{
    s->w[cf / 64] |= UINT64_C(1) << (cf % 64);
}

static inline void
ss_cf_set_del(ss_cf_set *s, unsigned cf)
{
    s->w[cf / 64] &= ~(UINT64_C(1) << (cf % 64));
}

static inline void
ss_cf_set_union(ss_cf_set *s, const ss_cf_set *t)
{
    unsigned i;

    for (i = 0; i < SS_MAX_CFS / 64; i++)
        s->w[i] |= t->w[i];
}

typedef struct ss_cf_entry {
    char name[256];
    unsigned flags;
} ss_cf_entry;

typedef struct ss_file_header {
    unsigned format; /* read: the file's format version (2 or 3) */
    unsigned kind;
    unsigned codec;
    uint64_t version;
    unsigned n_cf;
    ss_cf_entry *cf; /* n_cf entries, sorted by name */
    /* Read from the file by the reader; the writer takes them from its
     * storage (store_id, writer_epoch) and makes a fresh nonce. */
    unsigned char store_id[SS_STORE_ID_LEN];
    uint64_t writer_epoch;
    uint64_t nonce;
} ss_file_header;

typedef struct ss_record {
    unsigned op;
    unsigned cf; /* file-local family id */
    const unsigned char *key;
    size_t klen;
    const unsigned char *value;
    size_t vlen;
} ss_record;

typedef struct ss_frame_writer {
    ss_storage *st;
    ss_storage_writer *w;
    char name[128];
    unsigned codec;
    int level;
    size_t block_size;
    ss_buf raw;
    ss_buf out;
    uint32_t block_records;
    uint64_t total_records;
    uint32_t crc;
    uint64_t bytes;
    uint64_t nonce;     /* the file nonce written into the header */
    uint64_t encode_ns; /* compressing and framing */
    uint64_t write_ns;  /* handing bytes to storage */
} ss_frame_writer;

typedef struct ss_frame_reader {
    ss_storage *st;
    ss_storage_reader *r;
    char path[512];
    uint64_t size;
    uint64_t consumed;
    uint32_t crc;
    ss_file_header header;
    ss_buf stored;
    ss_buf raw;
    size_t pos;
    uint32_t block_left;
    uint64_t total_records;
    int done;
} ss_frame_reader;

/* Start file `name`; the header (with its family table) is written now. */
int ss_frame_writer_open(ss_frame_writer *fw, ss_storage *st, const char *name,
                         const ss_file_header *h, int level, size_t block_size);
/* Append one record; flushes a block when it reaches block_size. */
int ss_frame_writer_add(ss_frame_writer *fw, unsigned op, unsigned cf,
                        const void *key, size_t klen, const void *value,
                        size_t vlen);
/* Write the last block, end marker and trailer (not yet visible). */
int ss_frame_writer_finish(ss_frame_writer *fw);
/* Make the file durable and visible. */
int ss_frame_writer_commit(ss_frame_writer *fw);
/* The same, only if no file of that name exists (SS_EEXISTS). */
int ss_frame_writer_commit_new(ss_frame_writer *fw);
/* Drop the file; safe after any failure and after commit.  */
void ss_frame_writer_abort(ss_frame_writer *fw);

/* Open `name`, checking its header against the expected kind and store
 * version, and (when the storage knows its store id) that the file
 * belongs to this store.  SS_ENOTFOUND if absent, SS_ECORRUPT /
 * SS_EVERSION naming the file otherwise. */
int ss_frame_reader_open(ss_frame_reader *fr, ss_storage *st, const char *name,
                         unsigned kind, uint64_t version);
/* Next record (borrowed until the next call); SS_EDONE after the trailer
 * has been verified. */
int ss_frame_reader_next(ss_frame_reader *fr, ss_record *rec);
void ss_frame_reader_close(ss_frame_reader *fr);

const char *ss_codec_name(unsigned codec);
/* A store id as 32 hex digits (buf of at least 33 bytes). */
char *ss_store_id_hex(char *buf, const unsigned char id[SS_STORE_ID_LEN]);
const char *ss_file_kind_name(unsigned kind);

#endif
