package org.apache.spark.sql.execution.streaming.state.bench

import scala.util.Random

import org.apache.spark.sql.execution.streaming.state.{StateStore, StateStoreProvider}

/**
 * put / delete / evict on a store of n rows, per provider, modelled on
 * Spark's StateStoreBasicOperationsBenchmark (put at overwrite rates
 * 100/50/10/0 %, delete at non-existing rates 100/50/10/0 %, evict n,
 * n/2, n/10, 0 rows by a full scan).  Spark's times only the calls on
 * an aborted store; each repetition here times the calls, then the
 * commit, so both "ops" and "ops + commit" are reported.
 *
 * A repetition starts from the provider's newest version, which holds
 * exactly the n base rows: getStore(v), calls (timed), commit (timed),
 * then, untimed, a second batch that puts the state back (removes the
 * new rows, puts the removed ones back), commits and runs maintenance
 * as Spark's background thread would.  So every repetition sees the same
 * state and the version chain only moves forward, as in a stream (no
 * reload of an older version).  Each case ends by counting the store's
 * rows, which must be n again.
 */
final class OpsBench(cfg: BenchConfig, providers: Seq[BenchProvider], dirs: BenchDirs) {
  import OpsBench._

  private val n = cfg.opRows
  private val random = new Random(42)
  private val base = BenchRows.rows(0 until n)
  /** Keys no base row has: rows n until 2n are new puts, 2n until 3n non-existing deletes. */
  private val newRows = BenchRows.rows(n until 2 * n)
  private val absentKeys = BenchRows.rows(2 * n until 3 * n).map(_._1)

  def run(): Seq[OpResult] = {
    println(s"\n== put / delete / evict, $n rows, ${cfg.opWarmups} warm-up + ${cfg.opReps} " +
      "repetitions (ns per row: median (min..max)) ==")
    val loaded = providers.map(load)
    try {
      cases.flatMap { c =>
        val results = runCase(c, loaded)
        loaded.foreach(checkBase(c, _))
        printCase(c, results)
        results
      }
    } finally loaded.foreach(_.provider.close())
  }

  private def load(p: BenchProvider): Loaded = {
    val provider = p.create(dirs.newDir(s"ops-${p.name}").getPath, operatorId = 0, StoreCaseConfs)
    val store = provider.getStore(0)
    base.foreach { case (k, v) => store.put(k, v) }
    Loaded(p, provider, store.commit())
  }

  private def runCase(c: OpCase, loaded: Seq[Loaded]): Seq[OpResult] = {
    val ops = loaded.map(_ => new Samples)
    val total = loaded.map(_ => new Samples)
    for (rep <- 0 until cfg.opWarmups + cfg.opReps) {
      // Rotating the order spreads a drift of the machine over all providers.
      for (j <- loaded.indices) {
        val i = (j + rep) % loaded.size
        val (opsNs, totalNs) = repetition(c, loaded(i))
        if (rep >= cfg.opWarmups) {
          ops(i).add(opsNs.toDouble / n)
          total(i).add(totalNs.toDouble / n)
        }
      }
    }
    loaded.indices.map(i => OpResult(c.name, loaded(i).bench, ops(i), total(i)))
  }

  private def repetition(c: OpCase, l: Loaded): (Long, Long) = {
    val store = l.provider.getStore(l.version)
    val t0 = System.nanoTime()
    c.ops(store)
    val t1 = System.nanoTime()
    val v = store.commit()
    val t2 = System.nanoTime()
    val back = l.provider.getStore(v)
    c.restore(back)
    l.version = back.commit()
    l.provider.doMaintenance()
    (t1 - t0, t2 - t0)
  }

  private def checkBase(c: OpCase, l: Loaded): Unit = {
    val store = l.provider.getStore(l.version)
    val rows = try store.iterator().size finally store.abort()
    if (rows != n) {
      throw new IllegalStateException(s"${c.name} on ${l.bench.name}: the store holds $rows " +
        s"rows after the case, not the $n base rows (its restore batches went wrong)")
    }
  }

  private def printCase(c: OpCase, results: Seq[OpResult]): Unit = {
    println(s"\n${c.title}")
    println(f"  ${"provider"}%-40s ${"ops"}%-26s ${"ops + commit"}%-26s")
    results.foreach { r =>
      println(f"  ${r.provider.label}%-40s ${r.ops.show("%.1f")}%-26s ${r.total.show("%.1f")}%-26s")
    }
  }

  private def shuffled[T](xs: Seq[T]): IndexedSeq[T] = random.shuffle(xs).toIndexedSeq

  private def cases: Seq[OpCase] = putCases ++ deleteCases ++ evictCases

  private def putCases: Seq[OpCase] = Rates.map { rate =>
    val overwrites = n * rate / 100
    val existing = shuffled(base).take(overwrites)
    val fresh = newRows.take(n - overwrites)
    val rows = shuffled(existing ++ fresh)
    OpCase(s"put_ow$rate", s"putting $n rows ($overwrites overwrite existing rows, rate $rate %)",
      store => rows.foreach { case (k, v) => store.put(k, v) },
      store => fresh.foreach { case (k, _) => store.remove(k) })
  }

  private def deleteCases: Seq[OpCase] = Rates.map { rate =>
    val absent = n * rate / 100
    val existing = shuffled(base).take(n - absent)
    val keys = shuffled(absentKeys.take(absent) ++ existing.map(_._1))
    OpCase(s"delete_ne$rate",
      s"deleting $n keys from $n rows ($absent do not exist, rate $rate %)",
      store => keys.foreach(k => store.remove(k)),
      store => existing.foreach { case (k, v) => store.put(k, v) })
  }

  private def evictCases: Seq[OpCase] = Seq(n, n / 2, n / 10, 0).map { evicted =>
    // Base row i has timestamp i ms: the rows below i = evicted go.
    val below = BenchRows.timestampMicros(evicted)
    val name = s"evict_${label(evicted)}"
    OpCase(name, s"evicting $evicted of $n rows (a full scan, removing timestamps below " +
      s"$below us)",
      store => evict(store, below, evicted, name),
      store => base.take(evicted).foreach { case (k, v) => store.put(k, v) })
  }

  private def evict(store: StateStore, belowMicros: Long, expected: Int, name: String): Unit = {
    var removed = 0
    store.iterator().foreach { pair =>
      if (pair.key.getLong(1) < belowMicros) {
        store.remove(pair.key)
        removed += 1
      }
    }
    if (removed != expected) {
      throw new IllegalStateException(s"$name on ${store.id}: the scan removed $removed rows, " +
        s"expected $expected")
    }
  }

  private def label(rows: Int): String =
    if (rows >= 1000 && rows % 1000 == 0) s"${rows / 1000}k" else rows.toString
}

object OpsBench {
  val Rates: Seq[Int] = Seq(100, 50, 10, 0)

  /**
   * The same for all five providers: no coordinator reports from this
   * driver-side loop (a query's executors make them; here each would be
   * an RPC setup per commit on the driver, which is no provider's cost).
   */
  val StoreCaseConfs: Map[String, String] = Map(
    "spark.sql.streaming.stateStore.commitValidation.enabled" -> "false",
    "spark.sql.streaming.stateStore.coordinatorReportSnapshotUploadLag" -> "false")

  private final case class OpCase(name: String, title: String, ops: StateStore => Unit,
      restore: StateStore => Unit)

  private final case class Loaded(bench: BenchProvider, provider: StateStoreProvider,
      var version: Long)

  /** One case on one provider, in ns per row. */
  final case class OpResult(caseName: String, provider: BenchProvider, ops: Samples,
      total: Samples)
}
