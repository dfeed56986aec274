/*
 * writer.h -- who a store belongs to, and who may write it: the store
 * identity (store.id) and writer epochs (writer-<E>), shared by every
 * provider through the delta log.
 *
 * Files (frames, format/frame.h; docs/format.md):
 *   store.id     kind 4, no records: its header's store id is the
 *                store's identity, fixed when the store was created
 *                (created only if absent, so two creators agree).
 *   writer-<E>   kind 5, version E: records "host", "pid", "since_ms"
 *                of the process that took writer epoch E.
 *
 * Invariant 1: every file a store writes carries its store id, and a
 * file with another id is refused on read (frame.c), so a file copied
 * from another store never loads.
 * Invariant 2: epochs are taken by creating writer-<max listed + 1>
 * only if absent; a writer whose epoch is below the highest one listed
 * is fenced (SS_EFENCED), for good: it must reopen to write again.
 */
#ifndef SS_PROVIDERS_WRITER_H
#define SS_PROVIDERS_WRITER_H

#include "checkpoint/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SS_IDENTITY_NAME "store.id"
#define SS_WRITER_PREFIX "writer-"

/* Load the location's store id into st (st->store_id, has_store_id),
 * creating store.id first if the location holds no version files yet.
 * `names` is a listing of the location, `has_versions` whether it holds
 * version files.  SS_ECORRUPT if it does but has no store.id. */
int ss_identity_load(ss_storage *st, const ss_namelist *names,
                     bool has_versions);

/* The highest writer epoch in a listing (0 if none). */
uint64_t ss_writer_max_epoch(const ss_namelist *names);
/* 1 if `name` is writer-<E> (E in *epoch_out), else 0. */
int ss_writer_parse(uint64_t *epoch_out, const char *name);

/* Take a new epoch above `max_listed` (create-if-absent; a lost race
 * moves on to the next number).  Call under the storage lock. */
int ss_writer_acquire(uint64_t *out, ss_storage *st, uint64_t max_listed);

/* "pid N on host H since T" for epoch E (or what is known of it). */
void ss_writer_describe(char *buf, size_t len, ss_storage *st, uint64_t epoch);

/* Set the SS_EFENCED message: `mine` was fenced by `newer`. */
int ss_writer_fenced_error(ss_storage *st, uint64_t mine, uint64_t newer);

#endif
