package org.apache.spark.sql.execution.streaming.state

import java.io.File
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.locks.{ReentrantLock, ReentrantReadWriteLock}

import scala.collection.mutable

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path

import org.apache.spark.internal.Logging
import org.apache.spark.sql.errors.QueryExecutionErrors
import org.apache.spark.sql.types.StructType

/**
 * A Spark state store provider over libstatestore: set
 * spark.sql.streaming.stateStore.providerClass to
 * org.apache.spark.sql.execution.streaming.state.StatestoreStateStoreProvider.
 * One instance is one partition's store location, one ss_provider.
 *
 * Threads.  Spark calls a provider from its task thread (stores,
 * iterators, a task-completion listener's abort) and from maintenance
 * threads (doMaintenance, and close() when it unloads the provider,
 * maybe while a task's iterator is alive).  statestore asks that calls
 * on one provider's handles never overlap (statestore.h convention 4),
 * so every native call but maintenance runs under `lock`.  Maintenance
 * is synchronised inside the library (it is what its own background
 * thread runs) and runs beside the task under the read side of `life`;
 * close() takes its write side, so the provider is never freed under a
 * running maintenance.  The native handles are checked ones (ss_jni.c):
 * a store or iterator used after close() throws, it cannot crash the
 * executor.
 *
 * Stores.  statestore has one writable store per provider.  A getStore
 * while another writable store is still open (a retried task, after its
 * first attempt failed without abort) aborts the older one: the newer
 * attempt wins, and the old one's later calls throw saying so.  Writers
 * in other processes (a zombie executor, a second run) are fenced by the
 * library's writer epochs: a stale commit fails with its message naming
 * the writer that took over.  When Spark later schedules the partition on
 * this provider again (it came back to this executor), getStore reopens
 * the native provider and takes the epoch back: a new task is the
 * driver's decision, only the stores opened before the takeover are
 * refused.
 */
class StatestoreStateStoreProvider extends StateStoreProvider with Logging {
  import StatestoreStateStoreProvider._

  @volatile private var stateStoreId_ : StateStoreId = _
  @volatile private var keySchema: StructType = _
  @volatile private var valueSchema: StructType = _
  @volatile private var storeConf: StateStoreConf = _
  @volatile private var hadoopConf: Configuration = _
  @volatile private var useColumnFamilies: Boolean = false
  @volatile private var location: File = _
  @volatile private var options: Seq[String] = Nil

  private[state] val lock = new ReentrantLock()
  private val life = new ReentrantReadWriteLock()
  /** The native provider; 0 once closed.  Under `lock`. */
  private var handle: Long = 0L
  private var closed = false
  /** The open writable store, if any.  Under `lock`. */
  private var writer: StatestoreStore = _
  /** Every store not yet freed.  Under `lock`. */
  private val stores = mutable.LinkedHashSet[StatestoreStore]()
  /** Families by Spark name, with their key codec (kept across versions). */
  private[state] val families = new ConcurrentHashMap[String, StatestoreFamily]()
  /** Native name of Spark's default family (see init). */
  @volatile private[state] var defaultNativeName: String = DefaultFamily

  override def init(
      stateStoreId: StateStoreId,
      keySchema: StructType,
      valueSchema: StructType,
      keyStateEncoderSpec: KeyStateEncoderSpec,
      useColumnFamilies: Boolean,
      storeConfs: StateStoreConf,
      hadoopConf: Configuration,
      useMultipleValuesPerKey: Boolean = false,
      stateSchemaProvider: Option[StateSchemaProvider] = None): Unit = {
    if (storeConfs.enableStateStoreCheckpointIds) {
      throw StateStoreErrors.stateStoreCheckpointIdsNotSupported(
        s"$ProviderName does not support checkpointFormatVersion > 1 " +
          "(spark.sql.streaming.stateStore.checkpointFormatVersion)")
    }
    this.stateStoreId_ = stateStoreId
    this.keySchema = keySchema
    this.valueSchema = valueSchema
    this.storeConf = storeConfs
    this.hadoopConf = hadoopConf
    this.useColumnFamilies = useColumnFamilies
    this.location = localLocation(stateStoreId.storeCheckpointLocation())
    this.options = StatestoreOptions(storeConfs)

    val default = StatestoreFamily(StateStore.DEFAULT_COL_FAMILY_NAME,
      StatestoreKeyCodec(keyStateEncoderSpec), valueSchema.length, useMultipleValuesPerKey)
    // statestore's own "default" family (id 0) is an unordered plain one;
    // a default that scans in order or holds lists is a declared family.
    defaultNativeName = if (default.flags == 0) DefaultFamily else DeclaredDefaultFamily
    families.put(default.name, default)

    StatestoreLoader.load()
    withLock(openNative())
    logInfo(s"statestore: opened $this at $location with ${options.mkString(" ")}")
  }

  override def stateStoreId: StateStoreId = stateStoreId_

  override def getStore(
      version: Long,
      uniqueId: Option[String] = None,
      forceSnapshotOnCommit: Boolean = false,
      loadEmpty: Boolean = false): StateStore = {
    if (uniqueId.isDefined) {
      throw StateStoreErrors.stateStoreCheckpointIdsNotSupported(
        s"$ProviderName does not support checkpointFormatVersion > 1 but a state store " +
          "checkpoint id was passed in")
    }
    if (loadEmpty) {
      throw StateStoreErrors.unsupportedOperationException("getStore with loadEmpty", ProviderName)
    }
    load(version, StatestoreNative.LOAD_WRITE, forceSnapshotOnCommit)
  }

  override def getReadStore(version: Long, uniqueId: Option[String] = None): ReadStateStore = {
    if (uniqueId.isDefined) {
      throw StateStoreErrors.stateStoreCheckpointIdsNotSupported(
        s"$ProviderName does not support checkpointFormatVersion > 1 but a state store " +
          "checkpoint id was passed in")
    }
    // A read view: served from memory when the provider holds the
    // version, with no copy, whatever the writable store then does.
    load(version, StatestoreNative.LOAD_VIEW, forceSnapshot = false)
  }

  override def upgradeReadStoreToWriteStore(
      readStore: ReadStateStore,
      version: Long,
      uniqueId: Option[String] = None,
      forceSnapshotOnCommit: Boolean = false): StateStore = {
    require(version == readStore.version, s"can only upgrade a read store to a write store " +
      s"of its version: read store version ${readStore.version}, write store version $version")
    // The read store goes on reading (Spark reads it while it writes the
    // new one); the write store frees it when it is done.
    val store = getStore(version, uniqueId, forceSnapshotOnCommit).asInstanceOf[StatestoreStore]
    readStore match {
      case s: StatestoreStore => store.adoptReadStore(s)
      case _ =>
    }
    store
  }

  private def load(version: Long, mode: Int, forceSnapshot: Boolean): StatestoreStore = {
    if (version < 0) {
      throw QueryExecutionErrors.unexpectedStateStoreVersion(version)
    }
    withLock {
      checkOpen("getStore")
      if (mode == StatestoreNative.LOAD_WRITE) {
        // A new writable load ends the reads of committed stores
        // (statestore.h convention 8): free them now rather than at close.
        stores.filter(_.hasCommitted).foreach(_.releaseNative())
      }
      if (mode == StatestoreNative.LOAD_WRITE && writer != null) {
        logWarning(s"statestore: $this: getStore($version) while the writable store of version " +
          s"${writer.version} is open (a retried task): aborting the older one")
        writer.supersede()
        writer = null
      }
      val h = try {
        try StatestoreNative.load(handle, version, mode) catch {
          case e: StatestoreException
              if e.code == StatestoreException.EFENCED && mode == StatestoreNative.LOAD_WRITE =>
            reopenFenced(e)
            StatestoreNative.load(handle, version, mode)
        }
      } catch {
        case e: StatestoreException if e.code == StatestoreException.ENOTFOUND =>
          throw QueryExecutionErrors.failedToReadStreamingStateFileError(
            new Path(location.toURI.toString, s"$version.delta"), e)
        case e: StatestoreException => throw StateStoreErrors.cannotLoadStore(e)
      }
      val store = new StatestoreStore(this, h, version,
        writable = mode == StatestoreNative.LOAD_WRITE, forceSnapshot)
      stores += store
      if (store.writable) writer = store
      store
    }
  }

  /** Open the native provider (under `lock`). */
  private def openNative(): Unit = {
    val h = StatestoreNative.open(location.getPath, options.toArray)
    val default = families.get(StateStore.DEFAULT_COL_FAMILY_NAME)
    if (default.flags != 0) {
      try StatestoreNative.cf(h, DeclaredDefaultFamily, default.flags)
      catch {
        case e: StatestoreException =>
          StatestoreNative.close(h)
          throw e
      }
    }
    handle = h
  }

  /**
   * Another provider (another executor, or a second run) took the
   * partition's writer epoch, and now Spark schedules a task of the
   * partition here again.  Stores this provider still has open belong to
   * earlier tasks: they go stale (a zombie's commit never lands), and a
   * new native provider takes a new epoch for the new task.  Under `lock`.
   */
  private def reopenFenced(e: StatestoreException): Unit = {
    logWarning(s"statestore: $this was fenced (${e.getMessage}); reopening for a new task")
    stores.foreach(_.markClosed())
    stores.clear()
    writer = null
    StatestoreNative.close(handle)
    handle = 0L
    openNative()
  }

  /** Spark 4.2 checks, per batch, that every partition's store committed
   *  (STATE_STORE_COMMIT_VALIDATION_FAILED otherwise): tell its coordinator. */
  private[state] def reportCommit(version: Long): Unit = {
    if (storeConf.commitValidationEnabled) {
      StateStore.reportCommitToCoordinator(version, stateStoreId_, hadoopConf)
    }
  }

  /** A store committed: it is no longer the writable one. */
  private[state] def committed(store: StatestoreStore): Unit = {
    if (writer eq store) writer = null
  }

  /** A store says it is done: it was freed natively. */
  private[state] def forget(store: StatestoreStore): Unit = {
    stores -= store
    if (writer eq store) writer = null
  }

  /** The newest version in the location (the files', not this process's view). */
  def latestVersion: Long = withLock {
    checkOpen("latestVersion")
    StatestoreNative.latest(handle)
  }

  private[state] def nativeMetrics(): Map[String, Long] = withLock {
    checkOpen("metrics")
    StatestoreNative.METRIC_NAMES.zip(StatestoreNative.metrics(handle)).toMap
  }

  /** Whether version `v` is one whole file (a snapshot, or an SST-mode meta). */
  private[state] def isFullCheckpoint(v: Long): Boolean =
    new File(location, s"$v.snapshot").exists() || new File(location, s"$v.meta").exists()

  /** A snapshot of the newest version now (getStore's forceSnapshotOnCommit). */
  private[state] def snapshotNow(): Unit = maintain(force = true)

  override def doMaintenance(): Unit = maintain(force = false)

  /** Beside the task thread, not under `lock` (see the class comment). */
  private def maintain(force: Boolean): Unit = {
    life.readLock().lock()
    try {
      val h = withLock(if (closed) 0L else handle)
      if (h != 0L) StatestoreNative.maintenance(h, force)
    } finally life.readLock().unlock()
  }

  override def close(): Unit = {
    life.writeLock().lock()
    try {
      withLock {
        if (!closed) {
          closed = true
          // Frees every store and iterator of the provider (open stores
          // abort); their handles go stale, so a task still holding one
          // gets an exception, not a crash.
          stores.foreach(_.markClosed())
          stores.clear()
          writer = null
          StatestoreNative.close(handle)
          handle = 0L
          logInfo(s"statestore: closed $this")
        }
      }
    } finally life.writeLock().unlock()
  }

  override def supportedCustomMetrics: Seq[StateStoreCustomMetric] = CustomMetrics.all

  override def toString: String =
    s"StatestoreStateStoreProvider[id=(op=${stateStoreId_.operatorId}," +
      s"part=${stateStoreId_.partitionId}),dir=$location]"

  private[state] def withLock[T](body: => T): T = {
    lock.lock()
    try body finally lock.unlock()
  }

  private[state] def checkOpen(what: String): Unit = {
    if (closed) {
      throw new IllegalStateException(s"statestore: $what on $this after close()")
    }
  }

  private[state] def nativeHandle: Long = handle

  /** For Spark's suite (fileExists reflects on a `baseDir`). */
  private def baseDir: Path = new Path(location.toURI)

  private[state] def familyOf(name: String): StatestoreFamily = {
    val f = families.get(name)
    if (f != null) f
    // A family this instance has not been told about (a fresh provider
    // reading a version another one wrote): read with the key schema.
    else StatestoreFamily(name, new StatestoreKeyCodec.NoPrefixCodec(keySchema.length),
      valueSchema.length, multiValue = false)
  }

  private[state] def usesColumnFamilies: Boolean = useColumnFamilies

  private[state] def nativeName(sparkName: String): String =
    if (sparkName == StateStore.DEFAULT_COL_FAMILY_NAME) defaultNativeName else sparkName

  private[state] def sparkName(nativeName: String): Option[String] = nativeName match {
    case DeclaredDefaultFamily => Some(StateStore.DEFAULT_COL_FAMILY_NAME)
    case DefaultFamily =>
      if (defaultNativeName == DefaultFamily) Some(StateStore.DEFAULT_COL_FAMILY_NAME) else None
    case other => Some(other)
  }
}

object StatestoreStateStoreProvider {
  val ProviderName = "StatestoreStateStoreProvider"
  /** statestore's family 0. */
  private[state] val DefaultFamily = "default"
  /** Spark's default family when it needs ordered keys or lists. */
  private[state] val DeclaredDefaultFamily = "spark:default"

  /** Only local folders: statestore's S3 backend is not wired to s3a: yet. */
  private[state] def localLocation(path: Path): File = {
    val uri = path.toUri
    val scheme = Option(uri.getScheme).getOrElse("file")
    if (scheme != "file") {
      throw new IllegalArgumentException(s"statestore: checkpoint location $path uses scheme " +
        s"'$scheme'; $ProviderName writes to local (file:) locations only in this version")
    }
    new File(uri.getPath)
  }

  private[state] object CustomMetrics {
    private def timing(name: String, desc: String) = StateStoreCustomTimingMetric(name, desc)
    private def size(name: String, desc: String) = StateStoreCustomSizeMetric(name, desc)
    private def sum(name: String, desc: String) = StateStoreCustomSumMetric(name, desc)

    /** A timing in ms from an ss_metrics field in ns. */
    private def ms(name: String, what: String, field: String) =
      (timing(s"statestore${name}Ms", s"statestore: $what"), field, 1000000L)

    /** (Spark metric, ss_metrics field, divisor). */
    val mapping: Seq[(StateStoreCustomMetric, String, Long)] = Seq(
      ms("CommitTotal", "commit, total", "commit_total_ns"),
      ms("CommitCollect", "commit, gather changed keys", "commit_collect_ns"),
      ms("CommitEncode", "commit, encode and compress", "commit_encode_ns"),
      ms("CommitWrite", "commit, write the file", "commit_write_ns"),
      ms("CommitSync", "commit, fsync and rename", "commit_sync_ns"),
      ms("CommitFlush", "commit, RocksDB flush", "commit_flush_ns"),
      ms("CommitCheckpoint", "commit, RocksDB checkpoint", "commit_checkpoint_ns"),
      ms("CommitUpload", "commit, upload SST files", "commit_upload_ns"),
      ms("Load", "last load", "load_ns"),
      (size("statestoreCommitBytes", "statestore: bytes of the last commit's file"),
        "commit_bytes", 1L),
      (sum("statestoreLoadsFromMemory", "statestore: loads served from memory"),
        "loads_from_memory", 1L),
      (sum("statestoreLoadsFromFiles", "statestore: loads rebuilt from files"),
        "loads_from_files", 1L),
      (sum("statestoreSnapshotsWritten", "statestore: snapshot files written"),
        "snapshots_written", 1L))

    val forceSnapshot: StateStoreCustomMetric =
      sum("forceSnapshotCount", "statestore: snapshots forced at commit")

    val all: Seq[StateStoreCustomMetric] = mapping.map(_._1) :+ forceSnapshot
  }
}

/** One column family as Spark declared it. */
private[state] case class StatestoreFamily(
    name: String,
    codec: StatestoreKeyCodec,
    valueFields: Int,
    multiValue: Boolean) {
  def flags: Int =
    (if (codec.ordered) StatestoreNative.CF_ORDERED else 0) |
      (if (multiValue) StatestoreNative.CF_LIST else 0)
}
