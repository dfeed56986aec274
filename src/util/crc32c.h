/*
 * crc32c.h -- CRC-32C (Castagnoli), the checksum of every checkpoint file.
 */
#ifndef SS_UTIL_CRC32C_H
#define SS_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) over `len` bytes.  ss_crc32c(0, "123456789",
 * 9) == 0xE3069283, the standard check value. */
uint32_t ss_crc32c(uint32_t crc, const void *data, size_t len);

#endif
