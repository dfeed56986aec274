/*
 * writer.c -- store identity and writer epochs (writer.h).
 */
#include "providers/writer.h"

#include "format/frame.h"
#include "util/error.h"
#include "util/random.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Write an empty frame of `kind` and `version` (no records, or the
 * given string records in family "writer") only if absent. */
static int
write_small_frame(ss_storage *st, const char *name, unsigned kind,
                  uint64_t version, const char *const *kv, size_t n_kv)
{
    ss_cf_entry cf = {"writer", 0};
    ss_file_header h = {.kind = kind,
                        .codec = SS_CODEC_NONE,
                        .version = version,
                        .n_cf = n_kv ? 1 : 0,
                        .cf = &cf};
    ss_frame_writer fw;
    size_t i;
    int rc;

    if ((rc = ss_frame_writer_open(&fw, st, name, &h, 0, 4096)) < 0)
        return rc;
    for (i = 0; rc == 0 && i + 1 < n_kv; i += 2)
        rc = ss_frame_writer_add(&fw, SS_OP_PUT, 0, kv[i], strlen(kv[i]),
                                 kv[i + 1], strlen(kv[i + 1]));
    if (rc == 0)
        rc = ss_frame_writer_finish(&fw);
    if (rc == 0)
        rc = ss_frame_writer_commit_new(&fw);
    ss_frame_writer_abort(&fw);
    return rc;
}

static int
read_identity(ss_storage *st)
{
    ss_frame_reader fr;
    ss_record rec;
    int rc;

    st->has_store_id = false;
    if ((rc = ss_frame_reader_open(&fr, st, SS_IDENTITY_NAME, SS_FILE_IDENTITY,
                                   0)) < 0)
        return rc;
    /* Read to the end: the trailer checks the whole file. */
    while ((rc = ss_frame_reader_next(&fr, &rec)) == 0)
        ;
    if (rc == SS_EDONE) {
        memcpy(st->store_id, fr.header.store_id, SS_STORE_ID_LEN);
        st->has_store_id = true;
        rc = 0;
    }
    ss_frame_reader_close(&fr);
    return rc;
}

int
ss_identity_load(ss_storage *st, const ss_namelist *names, bool has_versions)
{
    size_t i;
    int rc;

    for (i = 0; i < names->count; i++)
        if (strcmp(names->names[i], SS_IDENTITY_NAME) == 0)
            return read_identity(st);
    if (has_versions)
        return ss_error_set(SS_ECORRUPT,
                            "%s: holds checkpoint files but no %s (the "
                            "store's identity): it was deleted, or the "
                            "files were written by a statestore older than "
                            "format version 2",
                            st->location, SS_IDENTITY_NAME);
    ss_random_bytes(st->store_id, SS_STORE_ID_LEN);
    st->has_store_id = false;
    rc = write_small_frame(st, SS_IDENTITY_NAME, SS_FILE_IDENTITY, 0, NULL, 0);
    if (rc == 0) {
        st->has_store_id = true;
        return 0;
    }
    if (rc != SS_EEXISTS)
        return ss_error_wrap(rc, "%s: creating the store identity",
                             st->location);
    /* Another process created the store at the same moment: its id
     * is the store's. */
    return read_identity(st);
}

int
ss_writer_parse(uint64_t *epoch_out, const char *name)
{
    const char *p;
    uint64_t e = 0;

    if (strncmp(name, SS_WRITER_PREFIX, strlen(SS_WRITER_PREFIX)) != 0)
        return 0;
    p = name + strlen(SS_WRITER_PREFIX);
    if (*p < '1' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9') {
        if (e > (UINT64_MAX - 9) / 10)
            return 0;
        e = e * 10 + (uint64_t)(*p++ - '0');
    }
    if (*p)
        return 0;
    *epoch_out = e;
    return 1;
}

uint64_t
ss_writer_max_epoch(const ss_namelist *names)
{
    uint64_t max = 0, e;
    size_t i;

    for (i = 0; i < names->count; i++)
        if (ss_writer_parse(&e, names->names[i]) && e > max)
            max = e;
    return max;
}

#define ACQUIRE_ATTEMPTS 16

int
ss_writer_acquire(uint64_t *out, ss_storage *st, uint64_t max_listed)
{
    char name[64], host[256], pid[32], since[32];
    const char *kv[6];
    struct timespec ts;
    unsigned attempt;
    uint64_t e;
    int rc = 0;

    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(since, sizeof(since), "%" PRIu64,
             (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
    kv[0] = "host";
    kv[1] = host;
    kv[2] = "pid";
    kv[3] = pid;
    kv[4] = "since_ms";
    kv[5] = since;
    for (attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
        e = max_listed + attempt;
        snprintf(name, sizeof(name), SS_WRITER_PREFIX "%" PRIu64, e);
        /* The epoch is in the header of the epoch file itself. */
        st->writer_epoch = e;
        rc = write_small_frame(st, name, SS_FILE_WRITER, e, kv, 6);
        if (rc == 0) {
            *out = e;
            return 0;
        }
        st->writer_epoch = 0;
        if (rc != SS_EEXISTS)
            return ss_error_wrap(rc, "%s: taking writer epoch %" PRIu64,
                                 st->location, e);
    }
    return ss_error_set(SS_EFENCED,
                        "%s: could not take a writer epoch: %u other "
                        "writers took epochs %" PRIu64 "..%" PRIu64
                        " at the same time",
                        st->location, ACQUIRE_ATTEMPTS, max_listed + 1,
                        max_listed + ACQUIRE_ATTEMPTS);
}

void
ss_writer_describe(char *buf, size_t len, ss_storage *st, uint64_t epoch)
{
    char name[64], host[64] = "?", pid[64] = "?", since[64] = "?";
    ss_frame_reader fr;
    ss_record rec;
    time_t secs;
    struct tm tm;
    size_t n;
    char *dst;

    snprintf(name, sizeof(name), SS_WRITER_PREFIX "%" PRIu64, epoch);
    if (ss_frame_reader_open(&fr, st, name, SS_FILE_WRITER, epoch) < 0) {
        snprintf(buf, len, "writer epoch %" PRIu64 " (%s unreadable)", epoch,
                 name);
        return;
    }
    while (ss_frame_reader_next(&fr, &rec) == 0) {
        dst = rec.klen == 4 && memcmp(rec.key, "host", 4) == 0       ? host
              : rec.klen == 3 && memcmp(rec.key, "pid", 3) == 0      ? pid
              : rec.klen == 8 && memcmp(rec.key, "since_ms", 8) == 0 ? since
                                                                     : NULL;
        if (!dst)
            continue;
        n = rec.vlen < 63 ? rec.vlen : 63;
        memcpy(dst, rec.value, n);
        dst[n] = '\0';
    }
    ss_frame_reader_close(&fr);
    if (strcmp(since, "?") != 0) {
        secs = (time_t)(strtoull(since, NULL, 10) / 1000);
        gmtime_r(&secs, &tm);
        strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    snprintf(buf, len, "writer epoch %" PRIu64 ": pid %s on host %s since %s",
             epoch, pid, host, since);
}

int
ss_writer_fenced_error(ss_storage *st, uint64_t mine, uint64_t newer)
{
    char other[512];

    ss_writer_describe(other, sizeof(other), st, newer);
    return ss_error_set(SS_EFENCED,
                        "%s: this writer (epoch %" PRIu64 ") was fenced: "
                        "another writer took over the store (%s); reopen "
                        "the provider to write again",
                        st->location, mine, other);
}
