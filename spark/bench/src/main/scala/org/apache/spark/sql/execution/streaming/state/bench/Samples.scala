package org.apache.spark.sql.execution.streaming.state.bench

import scala.collection.mutable.ArrayBuffer

/** The repetitions of one figure: median and spread min..max. */
final class Samples {
  private val values = ArrayBuffer[Double]()

  def add(v: Double): Unit = values += v
  def isEmpty: Boolean = values.isEmpty
  def count: Int = values.size
  def all: Seq[Double] = values.toSeq

  def median: Double = Samples.percentile(values.toSeq, 50)
  def min: Double = values.min
  def max: Double = values.max

  /** Each value scaled (e.g. ns per call to ns per row). */
  def scaled(f: Double): Samples = {
    val s = new Samples
    values.foreach(v => s.add(v * f))
    s
  }

  /** "median (min..max)" with `fmt` for each. */
  def show(fmt: String): String =
    if (values.isEmpty) "-"
    else s"${fmt.format(median)} (${fmt.format(min)}..${fmt.format(max)})"
}

object Samples {
  /** The nearest-rank percentile, with the mean of the two middle values for an even median. */
  def percentile(xs: Seq[Double], p: Double): Double = {
    require(xs.nonEmpty, "percentile of no values")
    val s = xs.sorted
    if (p == 50 && s.size % 2 == 0) (s(s.size / 2 - 1) + s(s.size / 2)) / 2
    else s(math.min(s.size - 1, math.max(0, math.ceil(p / 100 * s.size).toInt - 1)))
  }
}
