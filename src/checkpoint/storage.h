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
 * Invariant 3: writer_commit_new makes the object visible only if no
 * object of that name exists, atomically: of two writers of one name,
 * across processes and machines, exactly one succeeds (S3's
 * If-None-Match: *; link(2) on a filesystem).  It is what fences writers
 * where locks do not hold (delta_log.h).
 * Invariant 4: lock/unlock exclude each other across processes that
 * share the location, where the backend can (an flock'ed file on a
 * filesystem).  A backend without locks returns 0 and sets *out to NULL;
 * correctness then rests on invariant 3 alone.
 */
#ifndef SS_CHECKPOINT_STORAGE_H
#define SS_CHECKPOINT_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SS_STORAGE_VERSION 2u

typedef struct ss_storage ss_storage;
typedef struct ss_storage_writer ss_storage_writer;
typedef struct ss_storage_reader ss_storage_reader;
typedef struct ss_storage_lock ss_storage_lock;

/* Bytes of a store id (format/frame.h writes it into every file). */
#define SS_STORE_ID_LEN 16u

typedef struct ss_namelist {
    char **names;
    size_t count;
} ss_namelist;

struct ss_storage {
    unsigned version;
    /* Human-readable location, used in every error message. */
    const char *location;
    /* The identity of the store whose files live here, once known
     * (providers/identity.c): the frame writer stamps it and the writer
     * epoch into every file, the frame reader refuses a file with
     * another id.  All zero with has_store_id false: not checked. */
    unsigned char store_id[SS_STORE_ID_LEN];
    bool has_store_id;
    uint64_t writer_epoch;

    /* Start writing object `name` (replacing it at commit if present). */
    int (*writer_open)(ss_storage_writer **out, ss_storage *st,
                       const char *name);
    int (*writer_write)(ss_storage_writer *w, const void *data, size_t len);
    /* Make the object durable and visible; frees w either way. */
    int (*writer_commit)(ss_storage_writer *w);
    /* The same, only if `name` does not exist yet (invariant 3):
     * SS_EEXISTS, and no trace, if it does; frees w either way. */
    int (*writer_commit_new)(ss_storage_writer *w);
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

    /* Take the location's inter-process lock, waiting for it
     * (invariant 4); release it.  unlock accepts NULL. */
    int (*lock)(ss_storage_lock **out, ss_storage *st);
    void (*unlock)(ss_storage_lock *l);

    void (*free)(ss_storage *st);
};

/* Open the storage for `location` (a filesystem path for now). */
int ss_storage_open(ss_storage **out, const char *location);

/* Write a whole object in one call (open, write, commit). */
int ss_storage_put(ss_storage *st, const char *name, const void *data,
                   size_t len);

/* The same through writer_commit_new: SS_EEXISTS if `name` exists. */
int ss_storage_put_new(ss_storage *st, const char *name, const void *data,
                       size_t len);

void ss_namelist_free(ss_namelist *l);

/* The local filesystem backend (local_fs.c). */
int ss_local_fs_open(ss_storage **out, const char *dir);

#endif
