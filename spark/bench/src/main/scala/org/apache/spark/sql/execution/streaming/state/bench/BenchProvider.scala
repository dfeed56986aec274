package org.apache.spark.sql.execution.streaming.state.bench

import java.util.UUID

import org.apache.hadoop.conf.Configuration

import org.apache.spark.sql.execution.streaming.runtime.StreamExecution
import org.apache.spark.sql.execution.streaming.state.{NoPrefixKeyStateEncoderSpec, StateStoreConf, StateStoreId, StateStoreProvider}
import org.apache.spark.sql.internal.SQLConf

/**
 * One of the five providers compared: a StateStoreProvider class and the
 * SQL confs that select its mode.  Every other setting is Spark's (or
 * statestore's) default, the same for all five.
 */
final case class BenchProvider(name: String, label: String, className: String,
    confs: Map[String, String]) {

  /**
   * A new, initialised provider instance for partition 0 of operator
   * `operatorId` at `dir` (the same dir and id reach a version an earlier
   * instance wrote).  `extra` confs apply on top of the provider's own.
   */
  def create(dir: String, operatorId: Long, extra: Map[String, String]): StateStoreProvider = {
    val sqlConf = new SQLConf()
    (extra ++ confs).foreach { case (k, v) => sqlConf.setConfString(k, v) }
    val hadoopConf = new Configuration()
    // Spark's providers report to the coordinator under the query's run id.
    hadoopConf.set(StreamExecution.RUN_ID_KEY, UUID.randomUUID().toString)
    val provider = StateStoreProvider.create(className)
    provider.init(StateStoreId(dir, operatorId, 0), BenchRows.keySchema, BenchRows.valueSchema,
      NoPrefixKeyStateEncoderSpec(BenchRows.keySchema), useColumnFamilies = false,
      new StateStoreConf(sqlConf), hadoopConf)
    provider
  }
}

object BenchProvider {
  private val pkg = "org.apache.spark.sql.execution.streaming.state"
  val ProviderClassConf = "spark.sql.streaming.stateStore.providerClass"
  val ChangelogConf = "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"
  val StatestoreBackendConf = "spark.sql.streaming.stateStore.statestore.provider"
  val StatestoreClass = s"$pkg.StatestoreStateStoreProvider"

  val Hdfs: BenchProvider = BenchProvider("hdfs", "HDFSBackedStateStoreProvider",
    s"$pkg.HDFSBackedStateStoreProvider", Map.empty)
  val RocksDb: BenchProvider = BenchProvider("rocksdb", "RocksDBStateStoreProvider, changelog off",
    s"$pkg.RocksDBStateStoreProvider", Map(ChangelogConf -> "false"))
  val RocksDbChangelog: BenchProvider = BenchProvider("rocksdb_changelog",
    "RocksDBStateStoreProvider, changelog on", s"$pkg.RocksDBStateStoreProvider",
    Map(ChangelogConf -> "true"))
  val StatestoreMemory: BenchProvider = BenchProvider("statestore_memory",
    "StatestoreStateStoreProvider, memory", StatestoreClass, Map(StatestoreBackendConf -> "memory"))
  /** statestore's rocksdb at its default, changelog checkpointing off (SST files per commit). */
  val StatestoreRocksDb: BenchProvider = BenchProvider("statestore_rocksdb",
    "StatestoreStateStoreProvider, rocksdb", StatestoreClass,
    Map(StatestoreBackendConf -> "rocksdb"))

  val all: Seq[BenchProvider] = Seq(Hdfs, RocksDb, RocksDbChangelog, StatestoreMemory,
    StatestoreRocksDb)

  /** Every conf some provider sets: a query for one provider unsets the others'. */
  val allConfKeys: Set[String] = all.flatMap(_.confs.keys).toSet

  def named(name: String): BenchProvider = all.find(_.name == name).getOrElse {
    throw new IllegalArgumentException(s"no provider named '$name'")
  }
}
