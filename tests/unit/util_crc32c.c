/*
 * util_crc32c.c -- CRC-32C against published check values, and
 * incremental use equal to one pass (crc32c.c invariant).
 */
#include "harness.h"
#include "util/crc32c.h"

#include <string.h>

static void
test_crc32c__check_values(ss_test *t)
{
    unsigned char zeros[32], ones[32], inc[32];
    int i;

    /* RFC 3720 (iSCSI) appendix B.4 test vectors. */
    memset(zeros, 0, sizeof(zeros));
    memset(ones, 0xff, sizeof(ones));
    for (i = 0; i < 32; i++)
        inc[i] = (unsigned char)i;
    SS_CHECK(ss_crc32c(0, "123456789", 9) == 0xE3069283u);
    SS_CHECK(ss_crc32c(0, zeros, 32) == 0x8A9136AAu);
    SS_CHECK(ss_crc32c(0, ones, 32) == 0x62A8AB43u);
    SS_CHECK(ss_crc32c(0, inc, 32) == 0x46DD794Eu);
    SS_CHECK(ss_crc32c(0, "", 0) == 0);
}

static void
test_crc32c__incremental_equals_one_pass(ss_test *t)
{
    unsigned char buf[1000];
    uint32_t whole, part;
    size_t i, cut;

    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    whole = ss_crc32c(0, buf, sizeof(buf));
    for (cut = 0; cut <= sizeof(buf); cut += 37) {
        part = ss_crc32c(ss_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut);
        SS_CHECK(part == whole);
    }
    buf[500] ^= 1;
    SS_CHECK(ss_crc32c(0, buf, sizeof(buf)) != whole);
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(crc32c, check_values),
    SS_TEST_ONCE(crc32c, incremental_equals_one_pass),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
