package org.apache.spark.sql.execution.streaming.state

import java.io.File
import java.sql.Timestamp
import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._
import scala.util.Random

import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.execution.streaming.runtime.MemoryStream
import org.apache.spark.sql.functions._
import org.apache.spark.sql.internal.SQLConf
import org.apache.spark.sql.streaming.{GroupState, GroupStateTimeout, OutputMode, StreamTest}
import org.apache.spark.util.Utils

/**
 * Structured Streaming queries in local[2], each run on the same input
 * with Spark's HDFSBackedStateStoreProvider and with statestore's memory
 * and rocksdb providers: the results must be equal.  Every statestore run
 * also stops half-way and restarts from its checkpoint.  Input: several
 * micro-batches of deterministic pseudo-random events, some late (behind
 * the watermark), some re-sent, so state is written, read back, evicted
 * by the watermark and restored after the restart.
 */
class StatestoreEndToEndSuite extends StreamTest {
  import testImplicits._

  private case class Run(name: String, confs: Map[String, String], restart: Boolean)

  private val runs = Seq(
    Run("hdfs", Map(SQLConf.STATE_STORE_PROVIDER_CLASS.key ->
      classOf[HDFSBackedStateStoreProvider].getName), restart = false),
    Run("statestore memory", statestore("memory"), restart = true),
    Run("statestore rocksdb", statestore("rocksdb"), restart = true))

  private def statestore(provider: String): Map[String, String] = Map(
    SQLConf.STATE_STORE_PROVIDER_CLASS.key -> classOf[StatestoreStateStoreProvider].getName,
    StatestoreOptions.prefix + "provider" -> provider)

  /** Batches of (event second, key, value): 8 batches, time moving on,
   *  about 10% of events late and 5% re-sent from the batch before. */
  private def events(seed: Long, batches: Int = 8, perBatch: Int = 60)
    : Seq[Seq[(Long, String, Int)]] = {
    val rnd = new Random(seed)
    var previous = Seq.empty[(Long, String, Int)]
    (0 until batches).map { b =>
      val now = b * 20L
      val fresh = (0 until perBatch).map { _ =>
        val late = rnd.nextInt(10) == 0
        val t = if (late) math.max(0L, now - 30 - rnd.nextInt(20)) else now + rnd.nextInt(20)
        (t, s"k${rnd.nextInt(12)}", rnd.nextInt(100))
      }
      val resent = previous.filter(_ => rnd.nextInt(20) == 0)
      previous = fresh
      fresh ++ resent
    }
  }

  /**
   * Run `query` over `batches` (one MemoryStream per input) under each
   * run's confs, collecting every micro-batch's output through
   * foreachBatch by batch id (a replayed batch overwrites its own output).
   * Returns the rows in batch order, per run.
   */
  private def runAll(
      mode: OutputMode,
      inputs: Int,
      batches: Seq[Seq[Seq[(Long, String, Int)]]])(
      query: Seq[DataFrame] => DataFrame): Map[String, Seq[Row]] = {
    runs.map { run =>
      val started = System.nanoTime()
      val checkpoint = Utils.createTempDir().getCanonicalPath
      val out = new ConcurrentHashMap[Long, Seq[Row]]()
      withSQLConf((run.confs ++ Map(SQLConf.SHUFFLE_PARTITIONS.key -> "3")).toSeq: _*) {
        val streams = (0 until inputs).map(_ => MemoryStream[(Long, String, Int)])
        def start() = query(streams.map(_.toDF().toDF("t", "key", "value")
            .withColumn("ts", timestamp_seconds(col("t")))))
          .writeStream.outputMode(mode).option("checkpointLocation", checkpoint)
          .foreachBatch { (df: DataFrame, id: Long) =>
            out.put(id, df.collect().toSeq)
            ()
          }.start()
        var q = start()
        val n = batches.head.length
        for (b <- 0 until n) {
          if (run.restart && b == n / 2) {
            q.stop()
            q = start()
          }
          streams.zip(batches).foreach { case (s, bs) => s.addData(bs(b)) }
          q.processAllAvailable()
        }
        q.stop()
      }
      if (run.confs(SQLConf.STATE_STORE_PROVIDER_CLASS.key).contains("Statestore")) {
        assertStatestoreFiles(new File(checkpoint, "state"), run.name)
      }
      // scalastyle:off println
      println(f"e2e: ${run.name}%-20s ${out.size()}%3d batches " +
        f"${(System.nanoTime() - started) / 1e9}%6.1f s")
      // scalastyle:on println
      run.name -> out.asScala.toSeq.sortBy(_._1).flatMap(_._2)
    }.toMap
  }

  /** A silently ignored providerClass must not pass: statestore's files are there. */
  private def assertStatestoreFiles(state: File, name: String): Unit = {
    def walk(f: File): Seq[File] =
      if (f.isDirectory) f.listFiles().toSeq.flatMap(walk) else Seq(f)
    val files = walk(state).map(_.getName)
    assert(files.contains("store.id"), s"$name: no statestore store.id under $state")
    assert(files.exists(_.startsWith("writer-")), s"$name: no writer epoch file under $state")
  }

  private def sameAcrossRuns(results: Map[String, Seq[Row]]): Unit = {
    val expected = results("hdfs")
    assert(expected.nonEmpty, "the query produced nothing: the test would prove nothing")
    results.foreach { case (name, rows) =>
      assert(rows.map(_.toString).sorted === expected.map(_.toString).sorted,
        s"$name differs from Spark's HDFS provider")
    }
  }

  /** Update mode: the last row emitted per group key (first `keyCols` columns). */
  private def lastPerKey(rows: Seq[Row], keyCols: Int): Map[String, String] =
    rows.map(r => r.toSeq.take(keyCols).mkString("|") -> r.toString).toMap

  private val input = Seq(events(seed = 11))

  private def windowed(df: DataFrame): DataFrame =
    df.withWatermark("ts", "10 seconds")
      .groupBy(window(col("ts"), "10 seconds"), col("key"))
      .agg(count(lit(1)).as("n"), sum("value").as("total"))

  test("windowed aggregation with watermark, append mode") {
    sameAcrossRuns(runAll(OutputMode.Append(), 1, input)(dfs => windowed(dfs.head)))
  }

  test("windowed aggregation with watermark, update mode") {
    val results = runAll(OutputMode.Update(), 1, input)(dfs => windowed(dfs.head))
    val expected = lastPerKey(results("hdfs"), 2)
    assert(expected.nonEmpty)
    results.foreach { case (name, rows) =>
      assert(lastPerKey(rows, 2) === expected, s"$name differs from Spark's HDFS provider")
    }
  }

  test("dropDuplicates with a watermark") {
    sameAcrossRuns(runAll(OutputMode.Append(), 1, input) { dfs =>
      dfs.head.withWatermark("ts", "10 seconds").dropDuplicates("key", "ts")
        .select("key", "ts", "value")
    })
  }

  test("dropDuplicatesWithinWatermark") {
    sameAcrossRuns(runAll(OutputMode.Append(), 1, input) { dfs =>
      dfs.head.withWatermark("ts", "10 seconds").dropDuplicatesWithinWatermark("key", "value")
        .select("key", "value")
    })
  }

  test("flatMapGroupsWithState with event-time timeouts") {
    // Every key has events in every batch: two last batches far ahead
    // move the watermark past every key's timeout, so they all fire.
    val ending = Seq(input.head ++ Seq(Seq((1000L, "end", 0)), Seq((1001L, "end", 0))))
    sameAcrossRuns(runAll(OutputMode.Append(), 1, ending) { dfs =>
      // Per key: count events and sum values until 15 s of event time pass
      // without one, then emit the session's figures and drop the state.
      // The event-time column stays in: the watermark is defined on it.
      val ds: Dataset[(String, Long, Int, Timestamp)] = dfs.head.withWatermark("ts", "10 seconds")
        .select(col("key"), col("t"), col("value"), col("ts")).as[(String, Long, Int, Timestamp)]
      ds.groupByKey(_._1).flatMapGroupsWithState(OutputMode.Append(),
        GroupStateTimeout.EventTimeTimeout()) {
        (key: String, rows: Iterator[(String, Long, Int, Timestamp)], state: GroupState[(Long, Long, Long)]) =>
          if (state.hasTimedOut) {
            val (n, total, last) = state.get
            state.remove()
            Iterator((key, n, total, last))
          } else {
            val (n0, t0, l0) = state.getOption.getOrElse((0L, 0L, 0L))
            val rs = rows.toSeq
            val s = (n0 + rs.size, t0 + rs.map(_._3.toLong).sum, math.max(l0, rs.map(_._2).max))
            state.update(s)
            state.setTimeoutTimestamp((s._3 + 15) * 1000)
            Iterator.empty
          }
      }.toDF("key", "n", "total", "last")
    })
  }

  test("stream-stream join with watermarks and a time range, inner and left outer") {
    val two = Seq(events(seed = 21), events(seed = 22))
    for (joinType <- Seq("inner", "leftOuter")) {
      sameAcrossRuns(runAll(OutputMode.Append(), 2, two) { dfs =>
        val left = dfs(0).withWatermark("ts", "10 seconds")
          .select(col("key").as("lkey"), col("ts").as("lts"), col("value").as("lvalue"))
        val right = dfs(1).withWatermark("ts", "10 seconds")
          .select(col("key").as("rkey"), col("ts").as("rts"), col("value").as("rvalue"))
        left.join(right, expr("lkey = rkey AND rts BETWEEN lts - INTERVAL 5 SECONDS AND " +
          "lts + INTERVAL 5 SECONDS"), joinType)
      })
    }
  }

  test("session windows") {
    sameAcrossRuns(runAll(OutputMode.Append(), 1, input) { dfs =>
      dfs.head.withWatermark("ts", "10 seconds")
        .groupBy(session_window(col("ts"), "5 seconds"), col("key"))
        .agg(count(lit(1)).as("n"), sum("value").as("total"))
    })
  }
}
