#!/usr/bin/env bash
# A small local Structured Streaming query on statestore: the C demo's
# windowed aggregation (1-minute windows per page over the bundled
# clickstream, data/sample/*.jsonl, dedup of event_id, 30 s watermark) in
# Spark local[2], state in StatestoreStateStoreProvider, checkpoint and
# parquet output in ./statestore-spark-demo.  Running it again resumes
# from the checkpoint.
#   bash scripts/spark-demo.sh [--provider memory|rocksdb] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
SKIP_TESTS=1 bash scripts/spark-test.sh >/dev/null
cp=spark/target/demo.classpath
mvn -B -q -f spark/pom.xml dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$PWD/$cp" >/dev/null
# Spark's own JVM flags for Java 17 (spark/pom.xml, extraJavaTestArgs).
opens=$(sed -n '/<extraJavaTestArgs>/,/<\/extraJavaTestArgs>/p' spark/pom.xml |
        grep -o -e '--add-opens=[^ <]*' -e '-D[a-z.]*=[a-z]*' -e '-XX:[^ <]*')
# shellcheck disable=SC2086
exec java $opens -cp "spark/target/test-classes:spark/target/classes:$(cat "$cp")" \
  -Dstatestore.native.lib="$PWD/build-jni/src/jni/libstatestore_jni.so" \
  org.apache.spark.sql.execution.streaming.state.StatestoreDemo "$@"
