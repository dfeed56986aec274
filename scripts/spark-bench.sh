#!/usr/bin/env bash
# Spark's state store providers against statestore's, in one JVM
# (spark/bench, see spark/bench/README.md): put / delete / evict, a fresh
# load of a large version, and a streaming query, for HDFSBacked,
# RocksDB (changelog off, on) and StatestoreStateStoreProvider (memory,
# rocksdb); tables, then BENCH lines and the targets' verdicts.
#   bash scripts/spark-bench.sh --quick        about two minutes
#   bash scripts/spark-bench.sh                the full run
#   bash scripts/spark-bench.sh --only ops --providers hdfs,statestore_memory
# Not part of scripts/test.sh or CI: it measures, it does not test.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
# libstatestore_jni and spark/target/classes (no suites run).
SKIP_TESTS=1 bash scripts/spark-test.sh >/dev/null
mvn_args=(-B -q -f spark/bench/pom.xml)
[ -n "${MAVEN_REPO:-}" ] && mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO")
mvn "${mvn_args[@]}" compile
cp=spark/bench/target/bench.classpath
mvn "${mvn_args[@]}" dependency:build-classpath -Dmdep.outputFile="$PWD/$cp" >/dev/null
# Spark's own JVM flags for Java 17 (spark/pom.xml, extraJavaTestArgs).
opens=$(sed -n '/<extraJavaTestArgs>/,/<\/extraJavaTestArgs>/p' spark/pom.xml |
        grep -o -e '--add-opens=[^ <]*' -e '-D[a-z.]*=[a-z]*' -e '-XX:[^ <]*')
# A fixed, pre-touched heap: the JVM's RSS then starts at its full heap,
# and a provider's peak RSS is not the heap that earlier ones touched.
# shellcheck disable=SC2086
exec java ${BENCH_JVM_OPTS:--Xms3g -Xmx3g -XX:+AlwaysPreTouch} $opens \
  -cp "spark/bench/target/classes:spark/target/classes:$(cat "$cp")" \
  -Dstatestore.native.lib="$PWD/${BUILD_DIR:-build-jni}/src/jni/libstatestore_jni.so" \
  org.apache.spark.sql.execution.streaming.state.bench.SparkStateStoreBench "$@"
