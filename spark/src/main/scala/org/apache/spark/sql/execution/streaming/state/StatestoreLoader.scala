package org.apache.spark.sql.execution.streaming.state

import java.io.File
import java.nio.file.{Files, StandardCopyOption}

import org.apache.spark.internal.Logging
import org.apache.spark.util.UninterruptibleThread

/**
 * Loads libstatestore_jni once per JVM.  The library travels in the jar
 * (native/linux-x86_64/); -Dstatestore.native.lib=<path> loads another
 * file instead.  Loading runs in an UninterruptibleThread, as Spark's
 * RocksDBLoader does, because Spark interrupts task threads (SPARK-39847)
 * and an interrupt during System.load leaves the library half-loaded.
 * A JVM can hold a native library in one classloader only, so the jar
 * belongs on the executor classpath (--jars / spark.jars), not in a
 * per-session classloader.
 */
private[state] object StatestoreLoader extends Logging {
  private val resource = "/native/linux-x86_64/libstatestore_jni.so"
  @volatile private var loaded = false
  private var failure: Throwable = _

  def load(): Unit = {
    if (loaded) return
    synchronized {
      if (loaded) return
      if (failure != null) throw failure
      val thread = new UninterruptibleThread("statestore-native-loader") {
        override def run(): Unit = {
          try loadNow() catch { case t: Throwable => failure = t }
        }
      }
      thread.setDaemon(true)
      thread.start()
      thread.join()
      if (failure != null) throw failure
      loaded = true
    }
  }

  private def loadNow(): Unit = {
    val explicit = System.getProperty("statestore.native.lib")
    if (explicit != null && explicit.nonEmpty) {
      System.load(new File(explicit).getAbsolutePath)
      logInfo(s"statestore: loaded native library $explicit")
      return
    }
    val os = System.getProperty("os.name", "")
    val arch = System.getProperty("os.arch", "")
    if (!os.toLowerCase.startsWith("linux") || !(arch == "amd64" || arch == "x86_64")) {
      throw new UnsatisfiedLinkError(s"statestore-spark carries its native library for " +
        s"linux-x86_64 only, this JVM runs on $os/$arch; build libstatestore_jni for it " +
        "(cmake -DSS_WITH_JNI=ON) and pass -Dstatestore.native.lib=<path>")
    }
    val in = getClass.getResourceAsStream(resource)
    if (in == null) {
      throw new UnsatisfiedLinkError(s"statestore-spark: $resource is missing from the jar " +
        "(build it with cmake -DSS_WITH_JNI=ON before mvn package)")
    }
    val tmp = File.createTempFile("libstatestore_jni", ".so")
    tmp.deleteOnExit()
    try Files.copy(in, tmp.toPath, StandardCopyOption.REPLACE_EXISTING) finally in.close()
    System.load(tmp.getAbsolutePath)
    logInfo(s"statestore: loaded native library from $resource")
  }
}
