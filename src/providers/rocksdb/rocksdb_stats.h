/*
 * rocksdb_stats.h -- counts of RocksDB calls whose number tests bound
 * (tests/conformance/provider_regressions.c), since a test must never
 * assert on time.  Process-wide; without RocksDB headers.
 */
#ifndef SS_PROVIDERS_ROCKSDB_STATS_H
#define SS_PROVIDERS_ROCKSDB_STATS_H

#include <stdint.h>

/* Column families created one at a time (rocksdb_create_column_family)
 * by every rocksdb provider of the process so far.  Each such call
 * rewrites RocksDB's OPTIONS file with every family, so n of them cost
 * O(n^2); families known when an instance opens are created by the open
 * itself and not counted. */
uint64_t ss_rdb__cf_creates(void);

#endif
