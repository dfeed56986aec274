package org.apache.spark.sql.execution.streaming.state

import java.util.Locale

/**
 * The statestore options (README "Configuration") a provider opens with,
 * from Spark's StateStoreConf: its typed fields first, then any
 * `spark.sql.streaming.stateStore.statestore.<key>` (keys are case-
 * insensitive, as RocksDBConf's are), which win.  Only the keys in
 * `passthrough` may be set that way; Spark itself drives maintenance, so
 * maintenance_interval_ms is not one of them.  statestore refuses
 * unknown options, and so does this, naming the key.
 */
private[state] object StatestoreOptions {
  val prefix = "spark.sql.streaming.stateStore.statestore."

  val passthrough: Seq[String] = Seq(
    "provider", "compression", "compression_level", "block_size", "memory_limit_bytes",
    "rocksdb.changelog_checkpointing", "rocksdb.track_num_keys", "rocksdb.local_dir",
    "rocksdb.memory_budget")

  /** statestore's codec for Spark's spark.sql.streaming.stateStore.compression.codec:
   *  zstd and lz4 are both libraries' own; lzf and snappy have no statestore
   *  codec, and lz4 (Spark's default) stands in for them. */
  def codec(sparkCodec: String): String = sparkCodec.toLowerCase(Locale.ROOT) match {
    case "zstd" | "org.apache.spark.io.zstdcompressioncodec" => "zstd"
    case _ => "lz4"
  }

  def apply(conf: StateStoreConf): Seq[String] = {
    val user = (conf.sqlConfs ++ conf.extraOptions).collect {
      case (k, v) if k.toLowerCase(Locale.ROOT).startsWith(prefix.toLowerCase(Locale.ROOT)) =>
        k.substring(prefix.length).toLowerCase(Locale.ROOT) -> v
    }
    user.keys.find(k => !passthrough.contains(k)).foreach { k =>
      throw new IllegalArgumentException(s"statestore: unknown option '$prefix$k'; " +
        s"the keys that may be set are ${passthrough.map(prefix + _).mkString(", ")}")
    }
    val base = Seq(
      "min_deltas_for_snapshot" -> math.max(1, conf.minDeltasForSnapshot).toString,
      "min_versions_to_retain" -> math.max(1, conf.minVersionsToRetain).toString,
      "max_versions_in_memory" -> math.max(1, conf.maxVersionsToRetainInMemory).toString,
      "compression" -> codec(conf.compressionCodec))
    (base.toMap ++ user).toSeq.sortBy(_._1).map { case (k, v) => s"$k=$v" }
  }
}
