package org.apache.spark.sql.execution.streaming.state

import java.io.File

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions._
import org.apache.spark.sql.streaming.Trigger
import org.apache.spark.sql.types._

/**
 * scripts/spark-demo.sh's query: the C demo's windowed aggregation, in
 * Spark on statestore.  Over the bundled clickstream (the JSON-lines files
 * of data/sample, one file per micro-batch), drop re-sent event_ids
 * within the watermark, then count clicks and sum/average bytes and
 * latency per one-minute window and page, with a 30 s watermark, in
 * append mode; state in StatestoreStateStoreProvider.
 * Arguments: [--provider memory|rocksdb] [--input DIR] [--dir DIR].
 */
object StatestoreDemo {
  def main(args: Array[String]): Unit = {
    val opts = args.grouped(2).collect { case Array(k, v) => k -> v }.toMap
    val provider = opts.getOrElse("--provider", "memory")
    val input = opts.getOrElse("--input", "data/sample")
    val dir = new File(opts.getOrElse("--dir", "statestore-spark-demo"))
    val spark = SparkSession.builder()
      .master("local[2]")
      .appName("statestore-spark-demo")
      .config("spark.ui.enabled", "false")
      .config("spark.sql.shuffle.partitions", "4")
      .config("spark.sql.streaming.stateStore.providerClass",
        classOf[StatestoreStateStoreProvider].getName)
      .config(StatestoreOptions.prefix + "provider", provider)
      .getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try run(spark, input, dir, provider) finally spark.stop()
  }

  private def run(spark: SparkSession, input: String, dir: File, provider: String): Unit = {
    val schema = new StructType()
      .add("ts", TimestampType).add("event_id", StringType).add("user", StringType)
      .add("page", StringType).add("action", StringType).add("bytes", LongType)
      .add("latency_ms", LongType)
    val clicks = spark.readStream.schema(schema).option("maxFilesPerTrigger", 1)
      .json(s"$input/*.jsonl")
      .where(col("ts").isNotNull && col("page").isNotNull)
    val perWindow = clicks
      .withWatermark("ts", "30 seconds")
      .dropDuplicatesWithinWatermark("event_id")
      .groupBy(window(col("ts"), "1 minute"), col("page"))
      .agg(count(lit(1)).as("clicks"), sum("bytes").as("bytes"),
        avg("latency_ms").as("avg_latency_ms"))
    val output = new File(dir, "output").getPath
    val checkpoint = new File(dir, "checkpoint").getPath
    val query = perWindow.writeStream
      .format("parquet")
      .option("path", output)
      .option("checkpointLocation", checkpoint)
      .outputMode("append")
      .trigger(Trigger.AvailableNow())
      .start()
    query.awaitTermination()
    query.recentProgress.foreach { p =>
      val ops = p.stateOperators.map { s =>
        s"${s.operatorName}: rows ${s.numRowsTotal}, updated ${s.numRowsUpdated}, " +
          s"memory ${s.memoryUsedBytes} B, commit ${s.commitTimeMs} ms"
      }.mkString("; ")
      println(s"batch ${p.batchId}: ${p.numInputRows} rows; $ops")
    }
    val result = spark.read.parquet(output)
    println(s"statestore ($provider): ${result.count()} closed windows in $output; the first:")
    result.orderBy(col("window.start"), col("page")).show(10, truncate = false)
    val stateFiles = new File(checkpoint, "state").listFiles()
    println(s"state checkpoint: $checkpoint/state (statestore files per operator and " +
      s"partition: store.id, writer-<E>, <V>.delta, <V>.snapshot${
        if (provider == "rocksdb") ", <V>.meta, sst-*" else ""})")
    require(stateFiles != null && stateFiles.nonEmpty, "no state folder was written")
  }
}
