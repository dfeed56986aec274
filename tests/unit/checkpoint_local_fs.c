/*
 * checkpoint_local_fs.c -- the local filesystem backend (local_fs.c
 * invariants 1-3): whole objects appear only at commit, aborts leave
 * nothing, temp files are never listed.
 */
#include "checkpoint/storage.h"
#include "harness.h"

#include <stdio.h>
#include <string.h>

static ss_storage *
open_fs(ss_test *t)
{
    ss_storage *st = NULL;

    SS_CHECK_OK(ss_local_fs_open(&st, t->dir));
    return st;
}

static void
test_local_fs__put_read_list_remove(ss_test *t)
{
    ss_storage *st = open_fs(t);
    ss_storage_reader *r;
    ss_namelist names;
    uint64_t size = 0;
    char buf[64];
    size_t got = 0;

    SS_CHECK_OK(ss_storage_put(st, "1.delta", "hello", 5));
    SS_CHECK(st->exists(st, "1.delta") == 1);
    SS_CHECK(st->exists(st, "2.delta") == 0);
    SS_CHECK_OK(st->reader_open(&r, &size, st, "1.delta"));
    SS_CHECK(size == 5);
    SS_CHECK_OK(st->reader_read(&got, r, buf, sizeof(buf)));
    SS_CHECK(got == 5 && memcmp(buf, "hello", 5) == 0);
    st->reader_close(r);
    SS_CHECK_OK(st->list(&names, st));
    SS_CHECK(names.count == 1 && strcmp(names.names[0], "1.delta") == 0);
    ss_namelist_free(&names);
    SS_CHECK_OK(st->remove(st, "1.delta"));
    SS_CHECK_OK(st->remove(st, "1.delta")); /* absent: not an error */
    SS_CHECK_ERR(SS_ENOTFOUND, st->reader_open(&r, &size, st, "1.delta"));
    st->free(st);
}

static void
test_local_fs__uncommitted_object_is_invisible(ss_test *t)
{
    ss_storage *st = open_fs(t);
    ss_storage_writer *w;
    ss_namelist names;

    SS_CHECK_OK(st->writer_open(&w, st, "5.snapshot"));
    SS_CHECK_OK(st->writer_write(w, "partial", 7));
    SS_CHECK(st->exists(st, "5.snapshot") == 0);
    SS_CHECK_OK(st->list(&names, st));
    SS_CHECK(names.count == 0); /* the temp file is not listed */
    ss_namelist_free(&names);
    st->writer_abort(w);
    SS_CHECK(st->exists(st, "5.snapshot") == 0);
    st->free(st);
}

static void
test_local_fs__commit_replaces_whole(ss_test *t)
{
    ss_storage *st = open_fs(t);
    ss_storage_reader *r;
    uint64_t size = 0;
    char buf[16];
    size_t got = 0;

    SS_CHECK_OK(ss_storage_put(st, "3.delta", "old-contents", 12));
    SS_CHECK_OK(ss_storage_put(st, "3.delta", "new", 3));
    SS_CHECK_OK(st->reader_open(&r, &size, st, "3.delta"));
    SS_CHECK_OK(st->reader_read(&got, r, buf, sizeof(buf)));
    SS_CHECK(got == 3 && memcmp(buf, "new", 3) == 0);
    st->reader_close(r);
    st->free(st);
}

static void
test_local_fs__bad_names_refused(ss_test *t)
{
    ss_storage *st = open_fs(t);
    ss_storage_writer *w;

    SS_CHECK_ERR(SS_EINVAL, st->writer_open(&w, st, ".hidden"));
    SS_CHECK_ERR(SS_EINVAL, st->writer_open(&w, st, "a/b"));
    SS_CHECK_ERR(SS_EINVAL, st->writer_open(&w, st, ""));
    st->free(st);
}

static void
test_local_fs__stale_temp_of_dead_writer_removed(ss_test *t)
{
    char path[2048];
    ss_storage *st;
    FILE *f;

    /* pid 2^22+1 is above Linux's default pid_max: never alive. */
    snprintf(path, sizeof(path), "%s/.7.delta.4194305.0.tmp", t->dir);
    f = fopen(path, "w");
    SS_CHECK(f != NULL);
    fputs("junk", f);
    fclose(f);
    st = open_fs(t);
    SS_CHECK(!ss_test_file_exists(path));
    st->free(st);
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(local_fs, put_read_list_remove),
    SS_TEST_ONCE(local_fs, uncommitted_object_is_invisible),
    SS_TEST_ONCE(local_fs, commit_replaces_whole),
    SS_TEST_ONCE(local_fs, bad_names_refused),
    SS_TEST_ONCE(local_fs, stale_temp_of_dead_writer_removed),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
