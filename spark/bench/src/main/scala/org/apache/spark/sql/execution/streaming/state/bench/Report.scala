package org.apache.spark.sql.execution.streaming.state.bench

import org.apache.spark.sql.execution.streaming.state.bench.BenchProvider._
import org.apache.spark.sql.execution.streaming.state.bench.LoadBench.LoadResult
import org.apache.spark.sql.execution.streaming.state.bench.OpsBench.OpResult
import org.apache.spark.sql.execution.streaming.state.bench.QueryBench.QueryResult

/**
 * The figures and ratios as BENCH lines, and the targets' verdicts.
 * Every ratio is statestore's time over Spark's (below 1: statestore is
 * faster), from medians of the same run.  statestore's rocksdb runs at
 * its default, changelog checkpointing off, so its ratio is against
 * Spark's RocksDB with changelog off (the same setting); the ratio
 * against the faster of Spark's two settings is printed beside it.
 */
final class Report(out: BenchOut) {
  private val MemoryTarget = 0.5
  private val RocksDbTarget = 0.7
  private val QueryTarget = 1.3

  def ops(results: Seq[OpResult]): Unit = {
    val kinds = Seq("ops" -> ((r: OpResult) => r.ops), "ops_commit" -> ((r: OpResult) => r.total))
    val memoryRatios = Seq.newBuilder[(String, Double)]
    val rocksRatios = Seq.newBuilder[(String, Double, Option[Double])]
    results.groupBy(_.caseName).toSeq.sortBy(c => results.indexWhere(_.caseName == c._1))
      .foreach { case (caseName, rs) =>
        kinds.foreach { case (kind, samples) =>
          val medians = rs.map(r => r.provider -> samples(r).median).toMap
          medians.foreach { case (p, v) =>
            out.figure(s"$caseName.$kind.${p.name}.ns_per_row", v, "ns")
          }
          val (m, r, rf) = ratios(s"$caseName.$kind", medians)
          if (kind == "ops_commit") {
            m.foreach(x => memoryRatios += caseName -> x)
            r.foreach(x => rocksRatios += ((caseName, x, rf)))
          }
        }
      }
    verdict(s"memory <= ${MemoryTarget}x HDFS (ops + commit)", memoryRatios.result(), MemoryTarget)
    val rr = rocksRatios.result()
    verdict(s"rocksdb <= ${RocksDbTarget}x Spark's RocksDB, changelog off as statestore's " +
      "(ops + commit)", rr.map(x => x._1 -> x._2), RocksDbTarget)
    verdict(s"rocksdb <= ${RocksDbTarget}x the faster of Spark's RocksDB settings (ops + commit)",
      rr.flatMap(x => x._3.map(x._1 -> _)), RocksDbTarget)
  }

  def load(caseName: String, n: Int, results: Seq[LoadResult]): Unit = {
    val medians = results.map(r => r.provider -> r.total.median * 1e6 / n).toMap
    results.foreach { r =>
      out.figure(s"$caseName.${r.provider.name}.ns_per_row", r.total.median * 1e6 / n, "ns")
      out.figure(s"$caseName.${r.provider.name}.ms", r.total.median, "ms")
    }
    ratios(caseName, medians)
  }

  def query(results: Seq[QueryResult]): Unit = {
    val medians = results.map(r => r.provider -> 1e9 / r.rowsPerSecond.median).toMap
    results.foreach { r =>
      val p = s"query.${r.provider.name}"
      out.figure(s"$p.ns_per_row", 1e9 / r.rowsPerSecond.median, "ns")
      out.figure(s"$p.rows_per_s", r.rowsPerSecond.median, "rows/s")
      out.figure(s"$p.batch_p50_ms", r.batchMs(50), "ms")
      out.figure(s"$p.batch_p99_ms", r.batchMs(99), "ms")
      out.figure(s"$p.state_op_ms_per_batch", r.stateOpMsPerBatch, "ms")
      out.figure(s"$p.checkpoint_bytes_per_batch", r.checkpointBytesPerBatch, "B")
      out.figure(s"$p.peak_rss_mb", r.peakRssMb.median, "MiB")
      out.figure(s"$p.state_memory_mb", r.stateMemoryMb.median, "MiB")
    }
    ratios("query", medians)
    val same = results.flatMap(_.digests).distinct.size == 1
    out.target(s"query results identical across providers: ${if (same) "yes" else "NO"}")
    val spark = results.filterNot(_.provider.className == StatestoreClass)
    if (spark.nonEmpty) {
      val fastest = spark.maxBy(_.rowsPerSecond.median)
      results.filter(_.provider.className == StatestoreClass).foreach { r =>
        val x = r.rowsPerSecond.median / fastest.rowsPerSecond.median
        out.figure(s"query.${r.provider.name}_vs_spark_fastest_rows_per_s", x, "x")
        out.target(f"query >= ${QueryTarget}x the rows/s of Spark's fastest " +
          f"(${fastest.provider.name}): ${r.provider.name} ${BenchOut.number(x)}x " +
          s"${if (x >= QueryTarget) "met" else "NOT met"}")
      }
    }
  }

  /** Prints the two ratios (and the one against Spark's faster RocksDB) where both sides ran. */
  private def ratios(name: String, medians: Map[BenchProvider, Double])
      : (Option[Double], Option[Double], Option[Double]) = {
    def ratio(a: BenchProvider, b: BenchProvider) = for (x <- medians.get(a); y <- medians.get(b))
      yield x / y
    val memory = ratio(StatestoreMemory, Hdfs)
    val rocks = ratio(StatestoreRocksDb, RocksDb)
    val sparkFastest = Seq(RocksDb, RocksDbChangelog).filter(medians.contains)
      .sortBy(medians).headOption
    val rocksFastest = sparkFastest.flatMap(ratio(StatestoreRocksDb, _))
    memory.foreach(out.figure(s"$name.statestore_memory_vs_hdfs", _, "x"))
    rocks.foreach(out.figure(s"$name.statestore_rocksdb_vs_rocksdb", _, "x"))
    rocksFastest.foreach(out.figure(s"$name.statestore_rocksdb_vs_rocksdb_fastest", _, "x"))
    (memory, rocks, rocksFastest)
  }

  private def verdict(what: String, ratios: Seq[(String, Double)], bound: Double): Unit =
    if (ratios.nonEmpty) {
      val met = ratios.filter(_._2 <= bound)
      val worst = ratios.maxBy(_._2)
      out.target(s"$what: met in ${met.size} of ${ratios.size} cases (worst ${worst._1} " +
        s"${BenchOut.number(worst._2)}x): " +
        ratios.map { case (c, r) => s"$c ${BenchOut.number(r)}x" }.mkString(", "))
    }
}
