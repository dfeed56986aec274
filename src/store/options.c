/*
 * options.c -- the configuration keys (README "Configuration" lists the
 * same table; tests/unit/store_options.c checks each key's bounds).
 */
#include "store/options.h"

#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct num_option {
    const char *key;
    size_t offset;
    uint64_t min, max;
    bool size_suffix;
} num_option;

#define OFF(f) offsetof(ss_config, f)

static const num_option num_options[] = {
    {"min_deltas_for_snapshot", OFF(min_deltas_for_snapshot), 1, 1000000,
     false},
    {"min_versions_to_retain", OFF(min_versions_to_retain), 1, UINT32_MAX,
     false},
    {"max_versions_in_memory", OFF(max_versions_in_memory), 1, 1000, false},
    {"memory_limit_bytes", OFF(memory_limit_bytes), 0, UINT64_MAX, true},
    {"maintenance_interval_ms", OFF(maintenance_interval_ms), 0, 86400000,
     false},
    {"block_size", OFF(block_size), 4096, 64u * 1024 * 1024, true},
    {"rocksdb.memory_budget", OFF(rocksdb_memory_budget), 8u * 1024 * 1024,
     UINT64_MAX, true},
};

void
ss_config_defaults(ss_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->provider, sizeof(c->provider), "memory");
    c->codec = SS_CODEC_LZ4;
    c->compression_level = 1;
    c->min_deltas_for_snapshot = 10;
    c->min_versions_to_retain = 100;
    c->max_versions_in_memory = 2;
    c->memory_limit_bytes = 0;
    c->maintenance_interval_ms = 0;
    c->block_size = 64 * 1024;
    c->rocksdb_changelog = false;
    c->rocksdb_track_num_keys = true;
    c->rocksdb_memory_budget = 256u * 1024 * 1024;
}

static int
parse_bool(bool *out, const char *key, const char *val)
{
    if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
        *out = true;
    else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
        *out = false;
    else
        return ss_error_set(SS_EINVAL, "option '%s': '%s' is not true or false",
                            key, val);
    return 0;
}

static int
parse_u64(uint64_t *out, const char *key, const char *val, bool suffix)
{
    char *end;
    unsigned long long v;
    uint64_t mult = 1;

    if (val[0] < '0' || val[0] > '9')
        return ss_error_set(SS_EINVAL,
                            "option '%s': '%s' is not a "
                            "non-negative number",
                            key, val);
    errno = 0;
    v = strtoull(val, &end, 10);
    if (errno == ERANGE)
        return ss_error_set(SS_EINVAL, "option '%s': '%s' is too large", key,
                            val);
    if (suffix && *end) {
        switch (*end) {
        case 'k':
        case 'K': mult = 1ull << 10; break;
        case 'm':
        case 'M': mult = 1ull << 20; break;
        case 'g':
        case 'G': mult = 1ull << 30; break;
        default: mult = 0; break;
        }
        if (mult && (end[1] == '\0' ||
                     ((end[1] == 'i' || end[1] == 'b' || end[1] == 'B') &&
                      (end[2] == '\0' || (end[2] == 'B' && !end[3])))))
            end += strlen(end);
    }
    if (*end || mult == 0)
        return ss_error_set(SS_EINVAL, "option '%s': '%s' is not a number%s",
                            key, val,
                            suffix ? " (suffixes K, M, G allowed)" : "");
    if (v > UINT64_MAX / mult)
        return ss_error_set(SS_EINVAL, "option '%s': '%s' is too large", key,
                            val);
    *out = v * mult;
    return 0;
}

static int
apply(ss_config *c, const char *key, const char *val)
{
    const num_option *o;
    uint64_t v = 0;
    size_t i;
    int rc;

    if (strcmp(key, "provider") == 0) {
        if (strcmp(val, "memory") != 0 && strcmp(val, "rocksdb") != 0)
            return ss_error_set(SS_EINVAL,
                                "option 'provider': unknown "
                                "provider '%s' (expected memory or rocksdb)",
                                val);
        snprintf(c->provider, sizeof(c->provider), "%s", val);
        return 0;
    }
    if (strcmp(key, "compression") == 0) {
        if (strcmp(val, "lz4") == 0)
            c->codec = SS_CODEC_LZ4;
        else if (strcmp(val, "zstd") == 0)
            c->codec = SS_CODEC_ZSTD;
        else if (strcmp(val, "none") == 0)
            c->codec = SS_CODEC_NONE;
        else
            return ss_error_set(SS_EINVAL,
                                "option 'compression': unknown "
                                "codec '%s' (expected lz4, zstd or none)",
                                val);
        return 0;
    }
    if (strcmp(key, "rocksdb.changelog_checkpointing") == 0)
        return parse_bool(&c->rocksdb_changelog, key, val);
    if (strcmp(key, "rocksdb.track_num_keys") == 0)
        return parse_bool(&c->rocksdb_track_num_keys, key, val);
    if (strcmp(key, "rocksdb.local_dir") == 0) {
        if (strlen(val) >= sizeof(c->rocksdb_local_dir))
            return ss_error_set(SS_EINVAL,
                                "option 'rocksdb.local_dir': path "
                                "longer than %zu bytes",
                                sizeof(c->rocksdb_local_dir) - 1);
        snprintf(c->rocksdb_local_dir, sizeof(c->rocksdb_local_dir), "%s", val);
        return 0;
    }
    if (strcmp(key, "compression_level") == 0) {
        char *end;
        long l = strtol(val, &end, 10);

        if (!val[0] || *end || l < -7 || l > 22)
            return ss_error_set(SS_EINVAL,
                                "option 'compression_level': "
                                "'%s' is not an integer in -7..22",
                                val);
        c->compression_level = (int)l;
        return 0;
    }
    for (i = 0; i < sizeof(num_options) / sizeof(num_options[0]); i++) {
        o = &num_options[i];
        if (strcmp(key, o->key) != 0)
            continue;
        if ((rc = parse_u64(&v, key, val, o->size_suffix)) < 0)
            return rc;
        if (v < o->min || v > o->max)
            return ss_error_set(SS_EINVAL,
                                "option '%s': %" PRIu64 " is out "
                                "of range %" PRIu64 "..%" PRIu64,
                                key, v, o->min, o->max);
        *(uint64_t *)((char *)c + o->offset) = v;
        return 0;
    }
    return ss_error_set(SS_EINVAL,
                        "unknown option '%s' (see README, "
                        "Configuration)",
                        key);
}

int
ss_config_parse(ss_config *c, const char *const *options, size_t n)
{
    char key[128];
    const char *eq;
    size_t i, klen;
    int rc;

    if (n > 0 && !options)
        return ss_error_set(SS_EINVAL,
                            "options is NULL but n_options is "
                            "%zu",
                            n);
    for (i = 0; i < n; i++) {
        if (!options[i])
            return ss_error_set(SS_EINVAL, "option %zu is NULL", i);
        eq = strchr(options[i], '=');
        if (!eq || eq == options[i])
            return ss_error_set(SS_EINVAL, "option '%s' is not key=value",
                                options[i]);
        klen = (size_t)(eq - options[i]);
        if (klen >= sizeof(key))
            return ss_error_set(SS_EINVAL,
                                "option key '%.40s...' is too "
                                "long",
                                options[i]);
        memcpy(key, options[i], klen);
        key[klen] = '\0';
        if ((rc = apply(c, key, eq + 1)) < 0)
            return rc;
    }
    return 0;
}
