package org.apache.spark.sql.execution.streaming.state.bench

import java.io.File
import java.nio.file.{Files, Paths}
import java.time.ZonedDateTime

import org.apache.spark.sql.SparkSession
import org.apache.spark.util.Utils

/**
 * Spark's state store providers (HDFSBackedStateStoreProvider,
 * RocksDBStateStoreProvider with changelog checkpointing off and on) and
 * StatestoreStateStoreProvider (memory, rocksdb) in one JVM: the store
 * cases of Spark's StateStoreBasicOperationsBenchmark, a fresh load of a
 * large version, and a streaming query.  See spark/bench/README.md;
 * run with scripts/spark-bench.sh [--quick].
 */
object SparkStateStoreBench {
  def main(args: Array[String]): Unit = {
    val cfg = try BenchConfig.parse(args) catch {
      case e: IllegalArgumentException =>
        System.err.println(e.getMessage)
        sys.exit(2)
    }
    val providers = cfg.providers.map(BenchProvider.named)
    providers.foreach(p => Utils.classForName(p.className)) // fails naming a missing class
    val started = System.nanoTime()
    println(s"spark-bench ${if (cfg.quick) "--quick" else "(full)"}, ${ZonedDateTime.now()}, " +
      s"Spark ${org.apache.spark.SPARK_VERSION}, Java ${System.getProperty("java.version")}, " +
      s"${Runtime.getRuntime.availableProcessors()} cores, max heap " +
      s"${Runtime.getRuntime.maxMemory() >> 20} MiB, load average ${loadAverage()}")
    println(s"providers: ${providers.map(_.name).mkString(", ")}")

    val spark = SparkSession.builder()
      .master("local[2]")
      .appName("statestore-spark-bench")
      .config("spark.ui.enabled", "false")
      .config("spark.sql.shuffle.partitions", cfg.queryPartitions.toString)
      .getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    QueryBench.SessionConfs.foreach { case (k, v) => spark.conf.set(k, v) }
    val dirs = new BenchDirs(new File(System.getProperty("java.io.tmpdir")))
    val out = new BenchOut
    val report = new Report(out)
    try {
      if (cfg.runs("ops")) report.ops(new OpsBench(cfg, providers, dirs).run())
      if (cfg.runs("load")) {
        val load = new LoadBench(cfg, providers, dirs)
        report.load(load.caseName, cfg.loadRows, load.run())
      }
      if (cfg.runs("query")) report.query(new QueryBench(spark, cfg, providers, dirs).run())
      out.printAll()
      println(f"\nspark-bench took ${(System.nanoTime() - started) / 1e9}%.0f s " +
        s"(load average now ${loadAverage()})")
    } finally {
      spark.stop()
      dirs.deleteAll()
    }
  }

  private def loadAverage(): String =
    try Files.readString(Paths.get("/proc/loadavg")).split(' ').take(3).mkString(" ")
    catch { case _: Exception => "unknown" }
}
