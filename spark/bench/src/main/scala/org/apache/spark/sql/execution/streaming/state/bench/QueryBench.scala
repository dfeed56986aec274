package org.apache.spark.sql.execution.streaming.state.bench

import java.io.File
import java.security.MessageDigest

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.sql.{Encoder, Encoders, SparkSession}
import org.apache.spark.sql.execution.streaming.runtime.MemoryStream
import org.apache.spark.sql.execution.streaming.state.StateStore
import org.apache.spark.sql.functions._
import org.apache.spark.sql.streaming.StreamingQueryProgress

/**
 * A streaming query per provider: event ids deduplicated within a
 * watermark, then counted per 10 s event-time window and group, in
 * append mode, over generated micro-batches (the same for every provider).
 *
 * Batch b brings the `perBatch` new ids b*perBatch until (b+1)*perBatch
 * (event time StartSeconds + b*10 s plus a step per id, group id % Groups) and re-sends
 * a tenth of batch b-1's ids with their original event time (batch 0
 * re-sends its own): queryKeys distinct ids in all, which dedup must
 * drop.  With a 20 s watermark the dedup state holds about three
 * batches' ids and each window closes two batches after its own.  The
 * rows are generated inside the query (one MemoryStream row per slice of
 * a batch, exploded), so the driver ships no data.
 *
 * Each run checks the output against what it must be: every closed
 * window counts exactly perBatch ids, and their sum; and the runs of
 * every provider must give the same rows (a digest of the sorted rows).
 */
final class QueryBench(spark: SparkSession, cfg: BenchConfig, providers: Seq[BenchProvider],
    dirs: BenchDirs) {
  import QueryBench._

  private val perBatch = cfg.queryKeys / cfg.queryBatches
  private val resent = perBatch / ResendEvery
  private val rowsPerBatch = perBatch + resent
  require(perBatch % Groups == 0 && perBatch % ResendEvery == 0 && rowsPerBatch % Slices == 0,
    s"queryKeys / queryBatches = $perBatch must be a multiple of $Groups and $ResendEvery, " +
      s"with $perBatch + a tenth a multiple of $Slices")
  private var queries = 0

  def run(): Seq[QueryResult] = {
    println(s"\n== streaming query: dropDuplicatesWithinWatermark + 10 s windowed count, " +
      s"${cfg.queryKeys} distinct keys in ${cfg.queryBatches} batches of $rowsPerBatch rows, " +
      s"${cfg.queryPartitions} shuffle partitions, ${cfg.queryReps} repetition(s) ==")
    // Spark's planning and code generation warm up once, on the first provider, untimed.
    runOnce(providers.head, batches = 2, warmUp = true)
    val runs = providers.map(_ -> ArrayBuffer[QueryRun]()).toMap
    for (rep <- 0 until cfg.queryReps; j <- providers.indices) {
      val p = providers((j + rep) % providers.size)
      runs(p) += runOnce(p, cfg.queryBatches, warmUp = false)
    }
    val results = providers.map(p => QueryResult(p, runs(p).toSeq))
    printResults(results)
    results
  }

  private def runOnce(p: BenchProvider, batches: Int, warmUp: Boolean): QueryRun = {
    queries += 1
    val name = s"bench_${p.name}_$queries"
    val dir = dirs.newDir(s"query-${p.name}")
    val checkpoint = new File(dir, "checkpoint")
    val stateDir = new File(checkpoint, "state")
    spark.conf.set(BenchProvider.ProviderClassConf, p.className)
    BenchProvider.allConfKeys.foreach { k =>
      p.confs.get(k) match {
        case Some(v) => spark.conf.set(k, v)
        case None => spark.conf.unset(k)
      }
    }
    implicit val longs: Encoder[Long] = Encoders.scalaLong
    val source = MemoryStream[Long](spark, Slices)
    val query = events(source.toDF())
      .withWatermark("ts", s"$WatermarkSeconds seconds")
      .dropDuplicatesWithinWatermark("id")
      .groupBy(window(col("ts"), s"$WindowSeconds seconds"), col("g"))
      .agg(count(lit(1)).as("n"), sum(col("id")).as("id_sum"))
      .writeStream
      .format("memory")
      .queryName(name)
      .outputMode("append")
      .option("checkpointLocation", checkpoint.getPath)
      .start()

    System.gc()
    val hwmReset = ProcMemory.resetPeak()
    val sampler = new ProcMemory.Sampler(50)
    val growth = ArrayBuffer[Long]()
    var size = BenchDirs.size(stateDir)
    try {
      for (b <- 0 until batches) {
        source.addData((0 until Slices).map(s => (b * Slices + s).toLong))
        query.processAllAvailable()
        val now = BenchDirs.size(stateDir)
        growth += now - size
        size = now
      }
    } finally query.stop()
    val sampledKb = sampler.stop()
    val hwmKb = ProcMemory.kb("VmHWM")
    val progress = query.recentProgress.filter(_.numInputRows > 0).toSeq
    if (progress.size != batches) {
      throw new IllegalStateException(s"query on ${p.name}: ${progress.size} progress reports " +
        s"with input for $batches batches")
    }
    val output = spark.table(name).collect().map { r =>
      OutRow(r.getStruct(0).getTimestamp(0).getTime, r.getLong(1), r.getLong(2), r.getLong(3))
    }.toSeq
    spark.catalog.dropTempView(name)
    // The providers of this query are done: close them now, not at a later
    // maintenance, so the next provider's memory is its own.
    StateStore.stop()
    val digest = check(p, output, batches)
    val run = QueryRun(progress, rowsPerBatch, growth.toSeq, if (hwmReset) hwmKb else -1L, sampledKb,
      output.size, digest)
    if (sys.env.contains("BENCH_DEBUG")) progress.foreach(x => println(x.prettyJson))
    if (warmUp) println(f"  (warm-up on ${p.label}: ${run.rowsPerSecond}%.0f rows/s)")
    run
  }

  /** The generated rows of each MemoryStream row s (slice s % Slices of batch s / Slices). */
  private def events(slices: org.apache.spark.sql.DataFrame): org.apache.spark.sql.DataFrame = {
    val perSlice = rowsPerBatch / Slices
    val stepMicros = WindowSeconds * 1000000L / perBatch
    slices
      .select(explode(sequence(col("value") * perSlice, col("value") * perSlice + (perSlice - 1)))
        .as("j"))
      .select((col("j") / rowsPerBatch).cast("long").as("b"), (col("j") % rowsPerBatch).as("i"))
      .select(
        when(col("i") < perBatch, col("b")).otherwise(greatest(col("b") - 1, lit(0L))).as("src_b"),
        when(col("i") < perBatch, col("i")).otherwise((col("i") - perBatch) * ResendEvery)
          .as("src_i"))
      .select(
        (col("src_b") * perBatch + col("src_i")).as("id"),
        timestamp_micros(lit(StartSeconds * 1000000L) +
          col("src_b") * (WindowSeconds * 1000000L) + col("src_i") * stepMicros).as("ts"))
      .withColumn("g", col("id") % Groups)
  }

  /** Checks the closed windows; the digest of the sorted rows. */
  private def check(p: BenchProvider, output: Seq[OutRow], batches: Int): String = {
    // Batch b's newest event is just below (b+1)*10 s, so its watermark
    // is just below (b-1)*10 s, and the next batch closes windows up to
    // b-3: after the last batch, windows 0 .. batches-5 are out.
    val windows = output.groupBy(_.windowStartMs)
    val expectedWindows = math.max(0, batches - 4)
    if (windows.size != expectedWindows) {
      throw new IllegalStateException(s"query on ${p.name}: ${windows.size} windows closed " +
        s"after $batches batches, expected $expectedWindows")
    }
    windows.foreach { case (startMs, rows) =>
      val b = (startMs / 1000 - StartSeconds) / WindowSeconds
      val ids = rows.map(_.n).sum
      val idSum = rows.map(_.idSum).sum
      val expectedSum = b * perBatch * perBatch + perBatch.toLong * (perBatch - 1) / 2
      if (rows.size != Groups || ids != perBatch || idSum != expectedSum) {
        throw new IllegalStateException(s"query on ${p.name}: window of batch $b has " +
          s"${rows.size} groups, $ids ids summing to $idSum; expected $Groups groups, " +
          s"$perBatch ids summing to $expectedSum")
      }
    }
    val md = MessageDigest.getInstance("SHA-256")
    output.sortBy(r => (r.windowStartMs, r.g)).foreach(r => md.update(r.toString.getBytes))
    md.digest().take(8).map("%02x".format(_)).mkString
  }

  private def printResults(results: Seq[QueryResult]): Unit = {
    println(f"  ${"provider"}%-40s ${"rows/s"}%-28s ${"batch p50 ms"}%-13s ${"p99 ms"}%-8s " +
      f"${"state op ms/batch"}%-18s ${"ckpt KiB/batch"}%-15s ${"peak RSS MiB"}%-20s " +
      f"${"state MiB"}%-18s output")
    results.foreach { r =>
      println(f"  ${r.provider.label}%-40s ${r.rowsPerSecond.show("%.0f")}%-28s " +
        f"${r.batchMs(50)}%-13.0f ${r.batchMs(99)}%-8.0f ${r.stateOpMsPerBatch}%-18.0f " +
        f"${r.checkpointBytesPerBatch / 1024}%-15.0f ${r.peakRssMb.show("%.0f")}%-20s " +
        f"${r.stateMemoryMb.show("%.1f")}%-18s " +
        s"${r.runs.head.outputRows} rows, ${r.digests.mkString(",")}")
    }
    val same = results.flatMap(_.digests).distinct.size == 1
    println(s"  results identical across providers: ${if (same) "yes" else "NO"}")
    if (results.exists(_.runs.exists(_.hwmKb < 0))) {
      println("  (VmHWM could not be reset: peak RSS is the largest sampled VmRSS)")
    }
  }
}

object QueryBench {
  val Groups = 10000
  val Slices = 2
  val ResendEvery = 10
  val WindowSeconds = 10
  val WatermarkSeconds = 20
  /** Event time of the first id: after the epoch, so that no row sits on the initial watermark 0. */
  val StartSeconds = 1000000L

  /** The session's settings for the query runs (besides the provider's). */
  val SessionConfs: Map[String, String] = Map(
    // A batch per addData: no extra batches that only move the watermark.
    "spark.sql.streaming.noDataMicroBatches.enabled" -> "false",
    "spark.sql.streaming.numRecentProgressUpdates" -> "10000",
    // Spark's background maintenance (snapshots, cleanup) runs during each
    // query, as it would in a long one, instead of its default every 60 s.
    "spark.sql.streaming.stateStore.maintenanceInterval" -> "5s")

  final case class OutRow(windowStartMs: Long, g: Long, n: Long, idSum: Long)

  final case class QueryRun(progress: Seq[StreamingQueryProgress], rowsPerBatch: Long,
      checkpointGrowth: Seq[Long], hwmKb: Long, sampledKb: Long, outputRows: Int,
      digest: String) {
    def batchMs: Seq[Double] = progress.map { p =>
      val ms = p.durationMs.get("triggerExecution")
      if (ms == null) {
        throw new IllegalStateException(s"batch ${p.batchId}: no triggerExecution duration")
      }
      ms.doubleValue
    }
    /** The generated rows (numInputRows counts the MemoryStream's rows, a few per batch). */
    def inputRows: Long = progress.size.toLong * rowsPerBatch
    def rowsPerSecond: Double = inputRows / (batchMs.sum / 1000)
    /** Summed over operators and partitions (task time, not wall time). */
    def stateOpMs: Seq[Double] = progress.map(_.stateOperators.map { s =>
      (s.allUpdatesTimeMs + s.allRemovalsTimeMs + s.commitTimeMs).toDouble
    }.sum)
    def peakKb: Long = if (hwmKb >= 0) hwmKb else sampledKb
    /** The largest memoryUsedBytes the state operators reported together in one batch. */
    def stateMemoryBytes: Long = progress.map(_.stateOperators.map(_.memoryUsedBytes).sum).max
  }

  final case class QueryResult(provider: BenchProvider, runs: Seq[QueryRun]) {
    def rowsPerSecond: Samples = samples(runs.map(_.rowsPerSecond))
    def peakRssMb: Samples = samples(runs.map(_.peakKb / 1024.0))
    def stateMemoryMb: Samples = samples(runs.map(_.stateMemoryBytes / 1048576.0))
    /** Percentiles over the batches of every run together. */
    def batchMs(p: Double): Double = Samples.percentile(runs.flatMap(_.batchMs), p)
    def stateOpMsPerBatch: Double = Samples.percentile(runs.flatMap(_.stateOpMs), 50)
    def checkpointBytesPerBatch: Double =
      runs.map(_.checkpointGrowth.sum.toDouble).sum / runs.map(_.checkpointGrowth.size).sum
    def digests: Seq[String] = runs.map(_.digest).distinct

    private def samples(xs: Seq[Double]): Samples = {
      val s = new Samples
      xs.foreach(s.add)
      s
    }
  }
}
