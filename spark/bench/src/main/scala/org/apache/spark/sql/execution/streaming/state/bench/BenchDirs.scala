package org.apache.spark.sql.execution.streaming.state.bench

import java.io.File
import java.nio.file.{Files, Path}
import java.util.Comparator

/** The run's scratch folders, under one root removed at the end. */
final class BenchDirs(parent: File) {
  val root: Path = Files.createTempDirectory(parent.toPath, "statestore-spark-bench-")
  private var n = 0

  /** A new empty folder named after `label`. */
  def newDir(label: String): File = synchronized {
    n += 1
    val d = root.resolve(s"$n-$label").toFile
    if (!d.mkdirs()) throw new IllegalStateException(s"cannot create bench folder $d")
    d
  }

  def deleteAll(): Unit = BenchDirs.delete(root.toFile)
}

object BenchDirs {
  def delete(f: File): Unit = if (f.exists()) {
    val walk = Files.walk(f.toPath)
    try walk.sorted(Comparator.reverseOrder[Path]()).forEach(p => Files.deleteIfExists(p))
    finally walk.close()
  }

  /** Bytes of the regular files under `f` (0 when it does not exist). */
  def size(f: File): Long = if (!f.exists()) 0L else {
    val walk = Files.walk(f.toPath)
    try walk.filter(p => Files.isRegularFile(p)).mapToLong(p => Files.size(p)).sum()
    finally walk.close()
  }
}
