/*
 * storage.h -- checkpoint storage: where versions are made durable.
 *
 * A versioned vtable (like git_odb_backend) small enough for an object
 * store to implement: objects are written whole through a writer and
 * become visible atomically at writer_commit, or never; there is no
 * rename or directory in the interface; listing returns every object name
 * (names beginning with '.' are private to the backend and never listed).
 *
 * Invariant 1: after writer_commit returns 0 the object survives a crash
 * and reads back byte for byte.
 * Invariant 2: until writer_commit returns, no reader can see the object
 * or any part of it; writer_abort leaves no trace.
 */
#ifndef SS_CHECKPOINT_STORAGE_H
#define SS_CHECKPOINT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#define SS_STORAGE_VERSION 1u

typedef struct ss_storage ss_storage;
typedef struct ss_storage_writer ss_storage_writer;
typedef struct ss_storage_reader ss_storage_reader;

typedef struct ss_namelist {
    char **names;
    size_t count;
} ss_namelist;

struct ss_storage {
    unsigned version;
    /* Human-readable location, used in every error message. */
    const char *location;

    /* Start writing object `name` (replacing it at commit if present). */
    int (*writer_open)(ss_storage_writer **out, ss_storage *st,
                       const char *name);
    int (*writer_write)(ss_storage_writer *w, const void *data, size_t len);
    /* Make the object durable and visible; frees w either way. */
    int (*writer_commit)(ss_storage_writer *w);
    /* Drop the object; frees w.  Never fails. */
    void (*writer_abort)(ss_storage_writer *w);

    /* Open `name` for reading; SS_ENOTFOUND if absent. */
    int (*reader_open)(ss_storage_reader **out, uint64_t *size_out,
                       ss_storage *st, const char *name);
    /* Read up to len bytes; *got is 0 only at end of object. */
    int (*reader_read)(size_t *got, ss_storage_reader *r, void *buf,
                       size_t len);
    void (*reader_close)(ss_storage_reader *r);

    int (*list)(ss_namelist *out, ss_storage *st);
    /* Delete `name`, durably; deleting an absent object is not an error. */
    int (*remove)(ss_storage *st, const char *name);
    /* 1 if present, 0 if not, negative on error. */
    int (*exists)(ss_storage *st, const char *name);

    void (*free)(ss_storage *st);
};

/* Open the storage for `location` (a filesystem path for now). */
int ss_storage_open(ss_storage **out, const char *location);

/* Write a whole object in one call (open, write, commit). */
int ss_storage_put(ss_storage *st, const char *name, const void *data,
                   size_t len);

void ss_namelist_free(ss_namelist *l);

/* The local filesystem backend (local_fs.c). */
int ss_local_fs_open(ss_storage **out, const char *dir);

#endif
