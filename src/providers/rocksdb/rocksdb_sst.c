/*
 * rocksdb_sst.c -- SST snapshot checkpoints of the rocksdb provider
 * (rocksdb.changelog_checkpointing=false, the default).
 *
 * Commit: the batch is applied, memtables are flushed, a RocksDB
 * checkpoint (hard links) is taken, every SST file of it that the
 * checkpoint location does not hold yet is uploaded as an object
 * "sst-<instance uid>-<file>", and <V>.meta (format/meta.h) lists every
 * file with its size and CRC-32C, small files inline.  Load: download
 * the files a meta lists into an empty directory (checking each size and
 * CRC) and open them.
 *
 * Invariant 1: objects are uploaded and durable before the meta that
 * lists them is published, all under the delta log's upload_lock, so
 * garbage collection never takes an object a published or publishing
 * meta needs.
 * Invariant 2: an instance's object map lists only files whose object
 * is durable in the checkpoint; a file is reused only through it, and
 * SST files never change once written.
 */
#include "providers/rocksdb/rocksdb_int.h"

#include "util/clock.h"
#include "util/crc32c.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1u << 20)

static bool
is_sst(const char *name)
{
    size_t n = strlen(name);

    return n > 4 && strcmp(name + n - 4, ".sst") == 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const rdb_object *)a)->name, ((const rdb_object *)b)->name);
}

static const rdb_object *
find_object(const rdb_inst *in, const char *name)
{
    rdb_object key;

    if (!in->n_objects)
        return NULL;
    snprintf(key.name, sizeof(key.name), "%s", name);
    return bsearch(&key, in->objects, in->n_objects, sizeof(rdb_object),
                   by_name);
}

/* ------------------------------------------------------------ download */

static int
download_object(const char *path, ss_storage *st, const ss_meta_file *f,
                uint64_t version)
{
    ss_storage_reader *r = NULL;
    unsigned char *buf = malloc(COPY_CHUNK);
    uint64_t size = 0, total = 0;
    uint32_t crc = 0;
    size_t got;
    int fd = -1, rc;

    if (!buf)
        return ss_error_set(SS_ENOMEM, "out of memory downloading %s",
                            f->object);
    if ((rc = st->reader_open(&r, &size, st, f->object)) < 0) {
        if (rc == SS_ENOTFOUND)
            rc = ss_error_set(SS_ECORRUPT,
                              "%s/%s is missing: %" PRIu64 ".meta lists "
                              "it as %s",
                              st->location, f->object, version, f->name);
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc =
            ss_error_set(SS_EIO, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        if ((rc = st->reader_read(&got, r, buf, COPY_CHUNK)) < 0)
            goto out;
        if (got == 0)
            break;
        crc = ss_crc32c(crc, buf, got);
        total += got;
        if (write(fd, buf, got) != (ssize_t)got) {
            rc = ss_error_set(SS_EIO, "cannot write %s: %s", path,
                              strerror(errno));
            goto out;
        }
    }
    if (total != f->size || crc != f->crc)
        rc = ss_error_set(SS_ECORRUPT,
                          "%s/%s: corrupt object: %" PRIu64
                          " bytes with CRC %08x, but %" PRIu64
                          ".meta lists %" PRIu64 " bytes with CRC %08x",
                          st->location, f->object, total, crc, version, f->size,
                          f->crc);
out:
    if (fd >= 0)
        close(fd);
    if (r)
        st->reader_close(r);
    free(buf);
    return rc;
}

static int
write_inline(const char *path, const ss_meta_file *f)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = 0;

    if (fd < 0)
        return ss_error_set(SS_EIO, "cannot create %s: %s", path,
                            strerror(errno));
    if (f->size && write(fd, f->data, f->size) != (ssize_t)f->size)
        rc = ss_error_set(SS_EIO, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Fetch every file of `m` into in->dir; remember the objects. */
static int
download(rdb_inst *in, rdb_prov *p, const ss_meta *m)
{
    char path[800];
    size_t i;
    rdb_object *o;
    int rc;

    in->objects = calloc(m->n_files + 1, sizeof(rdb_object));
    if (!in->objects)
        return ss_error_set(SS_ENOMEM, "out of memory loading %s",
                            p->log.storage->location);
    for (i = 0; i < m->n_files; i++) {
        const ss_meta_file *f = &m->files[i];

        snprintf(path, sizeof(path), "%s/%s", in->dir, f->name);
        rc = f->object[0]
                 ? download_object(path, p->log.storage, f, m->header.version)
                 : write_inline(path, f);
        if (rc < 0)
            return rc;
        if (f->object[0]) {
            o = &in->objects[in->n_objects++];
            snprintf(o->name, sizeof(o->name), "%s", f->name);
            snprintf(o->object, sizeof(o->object), "%s", f->object);
            o->size = f->size;
            o->crc = f->crc;
        }
    }
    if (in->n_objects > 1)
        qsort(in->objects, in->n_objects, sizeof(rdb_object), by_name);
    return 0;
}

/* The flags the meta gives family `name`, or -1 if its table lacks it:
 * a family the instance held but its version does not (a batch dropped
 * it, leaving tombstones; format/frame.h FAMILIES). */
static int
meta_flags(const ss_meta *m, const char *name)
{
    unsigned i;

    for (i = 0; i < m->header.n_cf; i++)
        if (strcmp(m->header.cf[i].name, name) == 0)
            return (int)(m->header.cf[i].flags & (SS_CF_ORDERED | SS_CF_LIST));
    return -1;
}

/* Open the downloaded directory with the families it holds (those
 * written; rocksdb.c invariant 8), all in the one open: their MANIFEST
 * records make that linear in families. */
static int
open_downloaded(rdb_inst *in, rdb_prov *p, const ss_meta *m)
{
    rocksdb_column_family_handle_t *h[SS_MAX_CFS];
    const rocksdb_options_t *o[SS_MAX_CFS];
    unsigned ids[SS_MAX_CFS];
    char **names, *err = NULL;
    size_t n = 0, i;
    int rc = 0;

    names = rocksdb_list_column_families(p->opts, in->dir, &n, &err);
    if (err)
        return ss_rdb__fail(err, "list column families", in->dir);
    if (n > SS_MAX_CFS) {
        rc = ss_error_set(SS_ECORRUPT,
                          "%s: %zu column families, more than the %u "
                          "a store can have",
                          in->dir, n, SS_MAX_CFS);
        goto out;
    }
    for (i = 0; i < n; i++) {
        int flags = meta_flags(m, names[i]);

        ids[i] = SS_MAX_CFS; /* not in the version: dropped below */
        if (flags >= 0 && (rc = ss_cf_table_declare(&ids[i], p->cfs, names[i],
                                                    (unsigned)flags)) < 0)
            goto out;
        o[i] = p->opts;
        h[i] = NULL;
    }
    in->db = rocksdb_open_column_families(
        p->opts, in->dir, (int)n, (const char *const *)names, o, h, &err);
    if (err) {
        in->db = NULL;
        rc = ss_rdb__fail(err, "open", in->dir);
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (ids[i] < SS_MAX_CFS) {
            in->cf[ids[i]] = h[i];
            continue;
        }
        /* So that creating the name again starts empty and afresh. */
        rocksdb_drop_column_family(in->db, h[i], &err);
        rocksdb_column_family_handle_destroy(h[i]);
        if (err && rc == 0)
            rc = ss_rdb__fail(err, "drop column family", names[i]);
        else
            rocksdb_free(err);
        err = NULL;
    }
out:
    rocksdb_list_column_families_destroy(names, n);
    return rc;
}

int
ss_rdb__open_meta(rdb_inst *in, uint64_t *keys_out, ss_cf_set *cfs_out,
                  rdb_prov *p, uint64_t version)
{
    ss_meta m;
    unsigned i, id;
    int rc;

    if ((rc = ss_meta_read(&m, p->log.storage, version)) < 0)
        return rc;
    /* Families the meta names but RocksDB never created (declared,
     * never written) keep their flags. */
    memset(cfs_out, 0, sizeof(*cfs_out));
    for (i = 0; i < m.header.n_cf; i++) {
        if ((rc = ss_cf_table_declare(&id, p->cfs, m.header.cf[i].name,
                                      m.header.cf[i].flags &
                                          (SS_CF_ORDERED | SS_CF_LIST))) < 0)
            goto out;
        ss_cf_set_add(cfs_out, id); /* a meta's table is its version's */
    }
    if (mkdir(in->dir, 0755) < 0) {
        rc = ss_error_set(SS_EIO, "cannot create %s: %s", in->dir,
                          strerror(errno));
        goto out;
    }
    if ((rc = download(in, p, &m)) < 0 || (rc = open_downloaded(in, p, &m)) < 0)
        goto out;
    *keys_out = m.num_keys;
out:
    ss_meta_free(&m);
    return rc;
}

/* -------------------------------------------------------------- upload */

/* Copy local file `path` into object `object`, computing size and CRC. */
static int
upload_file(uint64_t *size_out, uint32_t *crc_out, ss_storage *st,
            const char *path, const char *object)
{
    ss_storage_writer *w = NULL;
    unsigned char *buf = malloc(COPY_CHUNK);
    uint64_t size = 0;
    uint32_t crc = 0;
    ssize_t got;
    int fd, rc;

    if (!buf)
        return ss_error_set(SS_ENOMEM, "out of memory uploading %s", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = ss_error_set(SS_EIO, "cannot open %s: %s", path, strerror(errno));
        free(buf);
        return rc;
    }
    if ((rc = st->writer_open(&w, st, object)) < 0)
        goto out;
    while ((got = read(fd, buf, COPY_CHUNK)) > 0) {
        crc = ss_crc32c(crc, buf, (size_t)got);
        size += (uint64_t)got;
        if ((rc = st->writer_write(w, buf, (size_t)got)) < 0)
            goto out;
    }
    if (got < 0) {
        rc = ss_error_set(SS_EIO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    rc = st->writer_commit(w);
    w = NULL;
    *size_out = size;
    *crc_out = crc;
out:
    if (w)
        st->writer_abort(w);
    close(fd);
    free(buf);
    return rc;
}

static int
read_small_file(ss_meta_file *f, const char *path)
{
    FILE *fp = fopen(path, "rb");
    struct stat sb;
    int rc = 0;

    if (!fp || fstat(fileno(fp), &sb) < 0) {
        rc = ss_error_set(SS_EIO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    f->size = (uint64_t)sb.st_size;
    if (f->size > SS_MAX_VALUE_LEN / 2) {
        rc = ss_error_set(SS_ELIMIT,
                          "%s: %" PRIu64 " bytes is too large to "
                          "inline in a meta file",
                          path, f->size);
        goto out;
    }
    f->data = malloc(f->size ? f->size : 1);
    if (!f->data) {
        rc = ss_error_set(SS_ENOMEM, "out of memory reading %s", path);
        goto out;
    }
    if (f->size && fread(f->data, 1, f->size, fp) != f->size) {
        rc = ss_error_set(SS_EIO, "short read of %s", path);
        goto out;
    }
    f->crc = ss_crc32c(0, f->data, f->size);
out:
    if (fp)
        fclose(fp);
    return rc;
}

/* One file of the checkpoint: reuse its object, upload it, or inline. */
static int
add_checkpoint_file(ss_meta_file *f, rdb_object *objs, size_t *n_objs,
                    rdb_sst_times *t, rdb_inst *in, rdb_prov *p,
                    const char *dir, const char *name)
{
    const rdb_object *known;
    rdb_object *o;
    char path[1024];
    int rc;

    memset(f, 0, sizeof(*f));
    /* Object names add a prefix and uid: keep room for them. */
    if (strlen(name) + 40 >= sizeof(f->name))
        return ss_error_set(SS_ELIMIT, "%s: file name %.*s... too long", dir,
                            40, name);
    memcpy(f->name, name, strlen(name) + 1);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, f->name) >=
        sizeof(path))
        return ss_error_set(SS_ELIMIT, "path too long under %s", dir);
    if (!is_sst(name))
        return read_small_file(f, path);
    o = &objs[(*n_objs)++];
    if ((known = find_object(in, name)) != NULL) {
        *o = *known;
        t->reused++;
    } else {
        snprintf(o->name, sizeof(o->name), "%s", name);
        snprintf(o->object, sizeof(o->object),
                 SS_META_OBJECT_PREFIX "%016" PRIx64 "-%s", in->uid, name);
        if ((rc = upload_file(&o->size, &o->crc, p->log.storage, path,
                              o->object)) < 0)
            return rc;
        t->uploaded++;
        t->uploaded_bytes += o->size;
    }
    snprintf(f->object, sizeof(f->object), "%s", o->object);
    f->size = o->size;
    f->crc = o->crc;
    return 0;
}

static int
flush_all(rdb_inst *in, rdb_prov *p)
{
    char *err = NULL;
    unsigned i;

    for (i = 0; i < SS_MAX_CFS; i++) {
        if (!in->cf[i])
            continue;
        rocksdb_flush_cf(in->db, p->fo, in->cf[i], &err);
        if (err)
            return ss_rdb__fail(err, "flush", in->dir);
    }
    return 0;
}

static int
take_checkpoint(rdb_inst *in, const char *dir)
{
    rocksdb_checkpoint_t *cp;
    char *err = NULL;

    ss_rdb__remove_tree(dir);
    cp = rocksdb_checkpoint_object_create(in->db, &err);
    if (err)
        return ss_rdb__fail(err, "checkpoint", in->dir);
    /* Memtables are already flushed; 0 makes RocksDB flush any left. */
    rocksdb_checkpoint_create(cp, dir, 0, &err);
    rocksdb_checkpoint_object_destroy(cp);
    if (err)
        return ss_rdb__fail(err, "checkpoint", dir);
    return 0;
}

/* List the checkpoint directory into m->files, uploading as needed; on
 * success in's object map becomes the checkpoint's SSTs. */
static int
gather_files(ss_meta *m, rdb_sst_times *t, rdb_inst *in, rdb_prov *p,
             const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    rdb_object *objs = NULL;
    size_t n_objs = 0, cap = 0;
    ss_meta_file *grown;
    void *g2;
    int rc = 0;

    if (!d)
        return ss_error_set(SS_EIO, "cannot list %s: %s", dir, strerror(errno));
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (m->n_files == cap) {
            cap = cap ? cap * 2 : 32;
            grown = realloc(m->files, cap * sizeof(*grown));
            g2 = realloc(objs, cap * sizeof(rdb_object));
            if (grown)
                m->files = grown;
            if (g2)
                objs = g2;
            if (!grown || !g2) {
                rc = ss_error_set(SS_ENOMEM, "out of memory listing %s", dir);
                break;
            }
        }
        rc = add_checkpoint_file(&m->files[m->n_files], objs, &n_objs, t, in, p,
                                 dir, e->d_name);
        m->n_files++; /* counted even on failure: ss_meta_free frees it */
    }
    closedir(d);
    if (rc < 0) {
        free(objs);
        return rc;
    }
    if (n_objs > 1)
        qsort(objs, n_objs, sizeof(rdb_object), by_name);
    free(in->objects);
    in->objects = objs;
    in->n_objects = n_objs;
    return 0;
}

int
ss_rdb__sst_commit(rdb_sst_times *t, rdb_inst *in, rdb_prov *p, uint64_t base,
                   uint64_t next, uint64_t keys, const ss_cf_set *cfs)
{
    ss_frame_writer fw;
    ss_meta m;
    unsigned rank[SS_MAX_CFS];
    char dir[600];
    uint64_t t0 = ss_now_ns(), t1;
    int rc;

    memset(&fw, 0, sizeof(fw));
    memset(&m, 0, sizeof(m));
    memset(t, 0, sizeof(*t));
    snprintf(dir, sizeof(dir), "%s/checkpoint", p->work_dir);
    if ((rc = flush_all(in, p)) < 0)
        return rc;
    t1 = ss_now_ns();
    t->flush_ns = t1 - t0;
    if ((rc = take_checkpoint(in, dir)) < 0)
        return rc;
    t0 = ss_now_ns();
    t->checkpoint_ns = t0 - t1;
    pthread_mutex_lock(&p->log.upload_lock);
    if ((rc = gather_files(&m, t, in, p, dir)) < 0)
        goto out;
    t1 = ss_now_ns();
    t->upload_ns = t1 - t0;
    /* Untracked counts (rocksdb.track_num_keys=false) are RocksDB's
     * estimate, taken after the flush, and say so: a loader wanting
     * exact counts recounts (rocksdb.c, invariant 4). */
    m.num_keys = p->config->rocksdb_track_num_keys
                     ? keys
                     : ss_rdb__estimate_keys(in) | RDB_KEYS_ESTIMATED;
    m.header.kind = SS_FILE_META;
    m.header.codec = p->config->codec;
    m.header.version = next;
    if ((rc = ss_cf_table_file_header(&m.header, rank, p->cfs, cfs, NULL)) < 0)
        goto out;
    m.header.kind = SS_FILE_META;
    m.header.version = next;
    if ((rc = ss_meta_write(&fw, p->log.storage, &m,
                            p->config->compression_level,
                            p->config->block_size)) < 0 ||
        (rc = ss_dlog_publish(&p->log, &fw, base, next)) < 0)
        goto out;
    t->meta_bytes = fw.bytes;
    t->metadata_ns = ss_now_ns() - t1;
out:
    pthread_mutex_unlock(&p->log.upload_lock);
    ss_frame_writer_abort(&fw);
    ss_meta_free(&m);
    ss_rdb__remove_tree(dir);
    return rc;
}
