package org.apache.spark.sql.execution.streaming.state.bench

/**
 * Sizes and repetitions of one run.  Full mode is the measurement; quick
 * mode (--quick) checks that every case runs, in about two minutes, with
 * fewer repetitions and smaller load and query cases (its figures are
 * noisier; the op cases keep their 10k rows, which are cheap).
 */
final case class BenchConfig(
    quick: Boolean,
    /** Rows in the store of the put/delete/evict cases, and rows each touches. */
    opRows: Int,
    opWarmups: Int,
    opReps: Int,
    /** Rows of the version a fresh provider loads, written in `loadCommits` commits. */
    loadRows: Int,
    loadCommits: Int,
    loadWarmups: Int,
    loadReps: Int,
    /** Distinct keys of the streaming query, over `queryBatches` batches. */
    queryKeys: Int,
    queryBatches: Int,
    queryReps: Int,
    queryPartitions: Int,
    /** Which parts run: ops, load, query. */
    parts: Set[String],
    /** Which providers run (by BenchProvider.name). */
    providers: Seq[String]) {

  def runs(part: String): Boolean = parts.contains(part)
}

object BenchConfig {
  val Parts: Set[String] = Set("ops", "load", "query")

  val Full: BenchConfig = BenchConfig(
    quick = false, opRows = 10000, opWarmups = 3, opReps = 10,
    loadRows = 1000000, loadCommits = 10, loadWarmups = 1, loadReps = 5,
    queryKeys = 1000000, queryBatches = 10, queryReps = 5, queryPartitions = 4,
    parts = Parts, providers = BenchProvider.all.map(_.name))

  val Quick: BenchConfig = Full.copy(
    quick = true, opWarmups = 1, opReps = 2,
    loadRows = 100000, loadWarmups = 0, loadReps = 2,
    queryKeys = 200000, queryBatches = 5, queryReps = 1)

  val usage: String =
    """usage: spark-bench [--quick] [--only ops,load,query] [--providers p1,p2,...]
      |                   [--reps N] [--query-reps N]
      |providers: hdfs rocksdb rocksdb_changelog statestore_memory statestore_rocksdb""".stripMargin

  def parse(args: Array[String]): BenchConfig = {
    var cfg = if (args.contains("--quick")) Quick else Full
    var rest = args.toList.filter(_ != "--quick")
    def intArg(flag: String, v: String): Int = v.toIntOption.filter(_ > 0).getOrElse {
      throw new IllegalArgumentException(s"$flag wants a positive number, got '$v'\n$usage")
    }
    while (rest.nonEmpty) {
      rest match {
        case "--only" :: v :: tail =>
          val parts = v.split(',').map(_.trim).toSet
          val unknown = parts -- Parts
          require(unknown.isEmpty, s"--only: unknown part(s) ${unknown.mkString(", ")}\n$usage")
          cfg = cfg.copy(parts = parts)
          rest = tail
        case "--providers" :: v :: tail =>
          val names = v.split(',').map(_.trim).toSeq
          val unknown = names.filterNot(n => BenchProvider.all.exists(_.name == n))
          require(unknown.isEmpty, s"--providers: unknown ${unknown.mkString(", ")}\n$usage")
          cfg = cfg.copy(providers = names)
          rest = tail
        case "--reps" :: v :: tail =>
          val n = intArg("--reps", v)
          cfg = cfg.copy(opReps = n, loadReps = n)
          rest = tail
        case "--query-reps" :: v :: tail =>
          cfg = cfg.copy(queryReps = intArg("--query-reps", v))
          rest = tail
        case other :: _ =>
          throw new IllegalArgumentException(s"unknown argument '$other'\n$usage")
        case Nil =>
      }
    }
    cfg
  }
}
