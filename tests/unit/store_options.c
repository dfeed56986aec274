/*
 * store_options.c -- every configuration key: default, bounds, and an
 * error naming the key for a bad value (options.c).
 */
#include "harness.h"
#include "store/options.h"

#include <string.h>

static int
parse1(ss_config *c, const char *kv)
{
    const char *opts[1];

    opts[0] = kv;
    ss_config_defaults(c);
    return ss_config_parse(c, opts, 1);
}

static void
test_options__defaults(ss_test *t)
{
    ss_config c;

    ss_config_defaults(&c);
    SS_CHECK(strcmp(c.provider, "memory") == 0);
    SS_CHECK(c.codec == SS_CODEC_LZ4);
    SS_CHECK(c.min_deltas_for_snapshot == 10);
    SS_CHECK(c.min_versions_to_retain == 100);
    SS_CHECK(c.max_versions_in_memory == 2);
    SS_CHECK(c.memory_limit_bytes == 0);
    SS_CHECK(c.maintenance_interval_ms == 0);
    SS_CHECK(c.block_size == 65536);
}

static void
test_options__good_values(ss_test *t)
{
    ss_config c;

    SS_CHECK_OK(parse1(&c, "memory_limit_bytes=64M"));
    SS_CHECK(c.memory_limit_bytes == 64ull << 20);
    SS_CHECK_OK(parse1(&c, "memory_limit_bytes=2GiB"));
    SS_CHECK(c.memory_limit_bytes == 2ull << 30);
    SS_CHECK_OK(parse1(&c, "compression=zstd"));
    SS_CHECK(c.codec == SS_CODEC_ZSTD);
    SS_CHECK_OK(parse1(&c, "compression_level=-3"));
    SS_CHECK(c.compression_level == -3);
    SS_CHECK_OK(parse1(&c, "min_deltas_for_snapshot=1"));
    SS_CHECK(c.min_deltas_for_snapshot == 1);
    SS_CHECK_OK(parse1(&c, "block_size=4096"));
    SS_CHECK(c.block_size == 4096);
}

static void
test_options__bad_values_name_the_key(ss_test *t)
{
    static const char *const bad[][2] = {
        {"min_deltas_for_snapshot=0", "min_deltas_for_snapshot"},
        {"min_versions_to_retain=-1", "min_versions_to_retain"},
        {"max_versions_in_memory=abc", "max_versions_in_memory"},
        {"max_versions_in_memory=1001", "max_versions_in_memory"},
        {"memory_limit_bytes=12X", "memory_limit_bytes"},
        {"memory_limit_bytes=99999999999999999999", "memory_limit_bytes"},
        {"compression=snappy", "compression"},
        {"compression_level=99", "compression_level"},
        {"block_size=10", "block_size"},
        {"provider=hdfs", "provider"},
        {"no_such_key=1", "no_such_key"},
        {"=1", "=1"},
        {"justakey", "justakey"},
    };
    ss_config c;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ss_test_context(t, "option %s", bad[i][0]);
        SS_CHECK_ERR_MSG(SS_EINVAL, parse1(&c, bad[i][0]), bad[i][1]);
    }
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(options, defaults),
    SS_TEST_ONCE(options, good_values),
    SS_TEST_ONCE(options, bad_values_name_the_key),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
