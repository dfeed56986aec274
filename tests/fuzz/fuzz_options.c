/*
 * fuzz_options.c -- libFuzzer target for option parsing (ss_provider_open's
 * "key=value" strings, src/store/options.c).
 *
 * Input: the options, separated by '\n' (at most 32).  Each run starts
 * from the defaults and parses them all, then once more one at a time.
 * What must hold: no memory error or undefined behaviour; a refusal is
 * SS_EINVAL with a message; an accepted config keeps every number inside
 * its documented bounds; parsing is deterministic.
 */
#include "statestore.h"
#include "store/options.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int rc, const ss_config *c)
{
    if (rc < 0) {
        if (rc != SS_EINVAL || ss_error_last()[0] == '\0') {
            fprintf(stderr, "refusal %d without SS_EINVAL and a message\n", rc);
            abort();
        }
        return;
    }
    if (c->min_deltas_for_snapshot < 1 || c->min_versions_to_retain < 1 ||
        c->max_versions_in_memory < 1 || c->block_size < 4096 ||
        c->codec > SS_CODEC_ZSTD ||
        memchr(c->provider, '\0', sizeof(c->provider)) == NULL ||
        memchr(c->rocksdb_local_dir, '\0', sizeof(c->rocksdb_local_dir)) ==
            NULL) {
        fprintf(stderr, "accepted config out of bounds\n");
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *opts[MAX_OPTS];
    ss_config a, b;
    char *buf, *p, *nl;
    size_t n = 0, i;
    int rc, rc2;

    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (p = buf; n < MAX_OPTS; p = nl + 1) {
        opts[n++] = p;
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
    }
    ss_config_defaults(&a);
    ss_error_clear();
    rc = ss_config_parse(&a, opts, n);
    check(rc, &a);
    /* Deterministic: the same input gives the same answer. */
    ss_config_defaults(&b);
    rc2 = ss_config_parse(&b, opts, n);
    if (rc != rc2 || (rc == 0 && memcmp(&a, &b, sizeof(a)) != 0))
        abort();
    for (i = 0; i < n; i++) {
        ss_config_defaults(&b);
        ss_error_clear();
        check(ss_config_parse(&b, &opts[i], 1), &b);
    }
    free(buf);
    return 0;
}
