package org.apache.spark.sql.execution.streaming.state.bench

import java.nio.file.{Files, Paths}

import scala.jdk.CollectionConverters._

/**
 * The JVM process's resident memory, from /proc/self/status: VmHWM is the
 * peak since the last reset (writing 5 to /proc/self/clear_refs resets it
 * to the current RSS, Linux 4.0+), VmRSS the current value.  It is the
 * whole JVM's: heap as far as it has been touched, native memory of
 * RocksDB and statestore, Spark's own.
 */
object ProcMemory {
  private val status = Paths.get("/proc/self/status")

  /** The field's value in kB, or -1 when /proc does not have it. */
  def kb(field: String): Long =
    Files.readAllLines(status).asScala.find(_.startsWith(field + ":"))
      .map(_.split("\\s+")(1).toLong).getOrElse(-1L)

  /** Whether the peak could be reset (else VmHWM is the process's peak so far). */
  def resetPeak(): Boolean =
    try {
      Files.write(Paths.get("/proc/self/clear_refs"), "5".getBytes)
      true
    } catch { case _: Exception => false }

  /** Samples VmRSS every `periodMs` on a daemon thread until stop(); max is the largest seen. */
  final class Sampler(periodMs: Long) {
    @volatile private var running = true
    @volatile var maxKb: Long = kb("VmRSS")
    private val thread = new Thread(() => {
      while (running) {
        maxKb = math.max(maxKb, kb("VmRSS"))
        Thread.sleep(periodMs)
      }
    }, "bench-rss-sampler")
    thread.setDaemon(true)
    thread.start()

    def stop(): Long = {
      running = false
      thread.join()
      maxKb = math.max(maxKb, kb("VmRSS"))
      maxKb
    }
  }
}
