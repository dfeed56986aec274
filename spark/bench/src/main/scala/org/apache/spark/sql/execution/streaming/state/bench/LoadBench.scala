package org.apache.spark.sql.execution.streaming.state.bench

import java.io.File

/**
 * A fresh getStore of a large version from files, per provider: what an
 * executor pays when a partition's state comes to it (restart, or a task
 * scheduled elsewhere).  The version is written first in `loadCommits`
 * batches, each followed by maintenance (so each provider's snapshots are
 * there as its defaults make them); then each repetition inits a new
 * provider instance on that folder (nothing of the version in memory)
 * and times init and getStore together, reporting getStore alone too.
 * The files are in the OS page cache: this measures the providers'
 * decoding and rebuilding, not the disk.  A repetition checks a few rows
 * of the loaded store.
 */
final class LoadBench(cfg: BenchConfig, providers: Seq[BenchProvider], dirs: BenchDirs) {
  import LoadBench._

  private val n = cfg.loadRows
  val caseName: String = s"load_${if (n % 1000000 == 0) s"${n / 1000000}m" else s"${n / 1000}k"}"

  def run(): Seq[LoadResult] = {
    println(s"\n== fresh getStore of a $n-row version from files, ${cfg.loadWarmups} warm-up + " +
      s"${cfg.loadReps} repetitions (new provider instance each) ==")
    println(f"  ${"provider"}%-40s ${"init + getStore ms"}%-26s ${"getStore ms"}%-26s files")
    providers.map { p =>
      val dir = dirs.newDir(s"load-${p.name}")
      val version = write(p, dir)
      val total = new Samples
      val get = new Samples
      for (rep <- 0 until cfg.loadWarmups + cfg.loadReps) {
        val (totalNs, getNs) = freshLoad(p, dir, version)
        if (rep >= cfg.loadWarmups) {
          total.add(totalNs / 1e6)
          get.add(getNs / 1e6)
        }
      }
      println(f"  ${p.label}%-40s ${total.show("%.1f")}%-26s ${get.show("%.1f")}%-26s " +
        fileKinds(dir))
      LoadResult(p, total, get)
    }
  }

  private def write(p: BenchProvider, dir: File): Long = {
    val provider = p.create(dir.getPath, OperatorId, OpsBench.StoreCaseConfs)
    try {
      val perCommit = n / cfg.loadCommits
      var version = 0L
      for (c <- 0 until cfg.loadCommits) {
        val store = provider.getStore(version)
        val from = c * perCommit
        val until = if (c == cfg.loadCommits - 1) n else from + perCommit
        var i = from
        while (i < until) {
          store.put(BenchRows.key(i), BenchRows.value(i))
          i += 1
        }
        version = store.commit()
        provider.doMaintenance()
      }
      version
    } finally provider.close()
  }

  private def freshLoad(p: BenchProvider, dir: File, version: Long): (Long, Long) = {
    val t0 = System.nanoTime()
    val provider = p.create(dir.getPath, OperatorId, OpsBench.StoreCaseConfs)
    try {
      val t1 = System.nanoTime()
      val store = provider.getStore(version)
      val t2 = System.nanoTime()
      try {
        Seq(0, n / 2, n - 1).foreach { i =>
          val v = store.get(BenchRows.key(i))
          if (v == null || v.getInt(0) != i) {
            throw new IllegalStateException(s"$caseName on ${p.name}: row $i of version $version " +
              s"reads ${if (v == null) "absent" else v.getInt(0).toString}")
          }
        }
      } finally store.abort()
      (t2 - t0, t2 - t1)
    } finally provider.close()
  }

  /** What the partition folder holds, e.g. "10 delta, 1 snapshot" (names end in .kind). */
  private def fileKinds(dir: File): String = {
    val part = new File(dir, s"$OperatorId/0")
    val names = Option(part.listFiles()).map(_.toSeq).getOrElse(Nil).map(_.getName)
    names.groupBy(name => name.lastIndexOf('.') match {
      case -1 => name.takeWhile(c => !c.isDigit && c != '-')
      case i => name.substring(i + 1)
    }).toSeq.sortBy(_._1).map { case (k, v) => s"${v.size} $k" }.mkString(", ")
  }
}

object LoadBench {
  private val OperatorId = 0L

  /** init + getStore, and getStore alone, in ms. */
  final case class LoadResult(provider: BenchProvider, total: Samples, getStore: Samples)
}
