package org.apache.spark.sql.execution.streaming.state.bench

import scala.collection.mutable.ArrayBuffer

/**
 * The machine-readable figures (DESIGN.md "Benchmarks": one
 * `BENCH <name> <value> <unit>` line each), printed together after the
 * tables, and the target verdicts printed before them.
 */
final class BenchOut {
  private val lines = ArrayBuffer[String]()
  private val targets = ArrayBuffer[String]()

  def figure(name: String, value: Double, unit: String): Unit =
    lines += s"BENCH spark.$name ${BenchOut.number(value)} $unit"

  def target(line: String): Unit = targets += line

  def printAll(): Unit = {
    println()
    println("Targets (statestore's time over Spark's; commit included):")
    targets.foreach(t => println(s"  $t"))
    println()
    lines.foreach(println)
  }
}

object BenchOut {
  /** Four significant digits at most, no exponent. */
  def number(v: Double): String = {
    val a = math.abs(v)
    if (v.isNaN || v.isInfinite) v.toString
    else if (a >= 1000) f"$v%.0f"
    else if (a >= 100) f"$v%.1f"
    else if (a >= 10) f"$v%.2f"
    else f"$v%.3f"
  }
}
