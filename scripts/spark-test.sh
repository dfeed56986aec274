#!/usr/bin/env bash
# Build statestore-spark (libstatestore_jni + the Maven project in spark/)
# and run its suites: Spark's own StateStoreSuiteBase against both
# statestore providers, and statestore-spark's own tests.
#   bash scripts/spark-test.sh                 every suite
#   SUITES=<fully qualified class,...> bash scripts/spark-test.sh
#   SKIP_TESTS=1 bash scripts/spark-test.sh    build only
# Maven keeps its downloads in ~/.m2 (MAVEN_REPO=<dir> to move it); the
# first run fetches Spark 4.2.0 and its dependencies (about 400 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
dir=${BUILD_DIR:-build-jni}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSS_ENABLE_WERROR=ON \
  -DSS_WITH_ROCKSDB=ON -DSS_WITH_JNI=ON -DSS_BUILD_TESTS=OFF \
  -DSS_BUILD_CLI=OFF -DSS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target statestore_jni
# Only JNI_OnLoad and ss_* may leave the library: Spark's JVM also holds
# rocksdbjni's RocksDB symbols.
extra=$(nm -D --defined-only "$dir/src/jni/libstatestore_jni.so" |
        awk '{print $3}' | grep -v -e '^ss_' -e '^JNI_OnLoad$' || true)
if [ -n "$extra" ]; then
  echo "libstatestore_jni exports more than JNI_OnLoad and ss_*: $extra" >&2
  exit 1
fi
mvn_args=(-B -q -f spark/pom.xml "-Dstatestore.native.dir=$PWD/$dir/src/jni")
[ -n "${MAVEN_REPO:-}" ] && mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO")
[ -n "${SUITES:-}" ] && mvn_args+=("-Dsuites=$SUITES")
[ "${SKIP_TESTS:-0}" = 1 ] && mvn_args+=(-DskipTests)
mvn "${mvn_args[@]}" package
echo "statestore-spark: $(ls spark/target/statestore-spark-*.jar)"
