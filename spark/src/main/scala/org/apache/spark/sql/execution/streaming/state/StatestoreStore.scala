package org.apache.spark.sql.execution.streaming.state

import scala.collection.mutable

import org.apache.spark.sql.catalyst.expressions.UnsafeRow
import org.apache.spark.sql.errors.QueryExecutionErrors
import org.apache.spark.sql.types.StructType

/**
 * One loaded version: a writable store (getStore) or a read view
 * (getReadStore; its writes are refused by the library).  Keys go
 * through their family's StatestoreKeyCodec; values are UnsafeRow bytes.
 * Every native call holds the provider's lock (see the provider).
 */
private[state] class StatestoreStore(
    provider: StatestoreStateStoreProvider,
    handle: Long,
    override val version: Long,
    val writable: Boolean,
    forceSnapshot: Boolean) extends StateStore {
  import StatestoreStore._

  @volatile private var state: Int = Updating
  @volatile private var forcedSnapshots = 0L
  /** Spark family name -> statestore family id, for this version. */
  private val ids = mutable.HashMap[String, Int]()
  refreshFamilies()

  override def id: StateStoreId = provider.stateStoreId

  // --------------------------------------------------------------- reads

  override def get(key: UnsafeRow, colFamilyName: String): UnsafeRow = {
    val fam = family(colFamilyName, "get")
    val bytes = native("get") {
      StatestoreNative.get(handle, cfId(colFamilyName, "get"), fam.codec.encode(key))
    }
    if (bytes == null) null else valueRow(fam, bytes)
  }

  override def multiGet(keys: Array[UnsafeRow], colFamilyName: String): Iterator[UnsafeRow] =
    keys.iterator.map(k => get(k, colFamilyName))

  override def valuesIterator(key: UnsafeRow, colFamilyName: String): Iterator[UnsafeRow] = {
    val fam = multiFamily(colFamilyName, "valuesIterator")
    scan(colFamilyName, StatestoreNative.ITER_LIST, fam.codec.encode(key), null, "valuesIterator")
      .map(_.value)
  }

  override def iterator(colFamilyName: String): StateStoreIterator[UnsafeRowPair] = {
    val fam = family(colFamilyName, "iterator")
    if (fam.multiValue) {
      throw StateStoreErrors.unsupportedOperationException(
        s"iterator over family '$colFamilyName', which holds several values per key " +
          "(use iteratorWithMultiValues)", StatestoreStateStoreProvider.ProviderName)
    }
    scan(colFamilyName, StatestoreNative.ITER_ALL, null, null, "iterator")
  }

  override def prefixScan(
      prefixKey: UnsafeRow, colFamilyName: String): StateStoreIterator[UnsafeRowPair] = {
    val fam = family(colFamilyName, "prefixScan")
    if (!fam.codec.supportsPrefixScan || fam.multiValue) {
      throw StateStoreErrors.unsupportedOperationException(
        s"prefixScan on family '$colFamilyName' (it needs a PrefixKeyScan key encoding and " +
          "one value per key)", StatestoreStateStoreProvider.ProviderName)
    }
    scan(colFamilyName, StatestoreNative.ITER_PREFIX, fam.codec.encodePrefix(prefixKey), null,
      "prefixScan")
  }

  override def rangeScan(
      startKey: Option[UnsafeRow],
      endKey: Option[UnsafeRow],
      colFamilyName: String): StateStoreIterator[UnsafeRowPair] = {
    val fam = family(colFamilyName, "rangeScan")
    if (!fam.codec.supportsRangeScan || fam.multiValue) {
      throw StateStoreErrors.unsupportedOperationException(
        s"rangeScan on family '$colFamilyName' (it needs a RangeKeyScan key encoding and " +
          "one value per key)", StatestoreStateStoreProvider.ProviderName)
    }
    scan(colFamilyName, StatestoreNative.ITER_RANGE,
      startKey.map(fam.codec.encodeRangeBound).getOrElse(Array.emptyByteArray),
      endKey.map(fam.codec.encodeRangeBound).getOrElse(Array.emptyByteArray), "rangeScan")
  }

  override def prefixScanWithMultiValues(
      prefixKey: UnsafeRow, colFamilyName: String): StateStoreIterator[UnsafeRowPair] = {
    val fam = multiFamily(colFamilyName, "prefixScanWithMultiValues")
    if (!fam.codec.supportsPrefixScan) {
      throw StateStoreErrors.unsupportedOperationException(
        s"prefixScanWithMultiValues on family '$colFamilyName' (no PrefixKeyScan encoding)",
        StatestoreStateStoreProvider.ProviderName)
    }
    expandValues(scan(colFamilyName, StatestoreNative.ITER_PREFIX,
      fam.codec.encodePrefix(prefixKey), null, "prefixScanWithMultiValues"), colFamilyName)
  }

  override def iteratorWithMultiValues(
      colFamilyName: String): StateStoreIterator[UnsafeRowPair] = {
    multiFamily(colFamilyName, "iteratorWithMultiValues")
    expandValues(scan(colFamilyName, StatestoreNative.ITER_ALL, null, null,
      "iteratorWithMultiValues"), colFamilyName)
  }

  override def allColumnFamilyNames: Set[String] = native("allColumnFamilyNames") {
    refreshFamiliesLocked()
    ids.keySet.toSet
  }

  // -------------------------------------------------------------- writes

  override def put(key: UnsafeRow, value: UnsafeRow, colFamilyName: String): Unit = {
    require(value != null, "Cannot put a null value")
    val fam = family(colFamilyName, "put")
    if (fam.multiValue) {
      throw StateStoreErrors.unsupportedOperationException(
        s"put into family '$colFamilyName', which holds several values per key (use putList " +
          "or merge)", StatestoreStateStoreProvider.ProviderName)
    }
    checkWritable("put")
    native("put") {
      StatestoreNative.put(handle, cfId(colFamilyName, "put"), fam.codec.encode(key),
        StatestoreKeyCodec.rowBytes(value))
    }
  }

  override def remove(key: UnsafeRow, colFamilyName: String): Unit = {
    val fam = family(colFamilyName, "remove")
    checkWritable("remove")
    native("remove") {
      StatestoreNative.remove(handle, cfId(colFamilyName, "remove"), fam.codec.encode(key))
    }
  }

  override def deleteRange(beginKey: UnsafeRow, endKey: UnsafeRow, colFamilyName: String): Unit = {
    val fam = family(colFamilyName, "deleteRange")
    if (!fam.codec.supportsRangeScan || fam.multiValue) {
      throw StateStoreErrors.unsupportedOperationException(
        s"deleteRange on family '$colFamilyName' (it needs a RangeKeyScan key encoding)",
        StatestoreStateStoreProvider.ProviderName)
    }
    checkWritable("deleteRange")
    native("deleteRange") {
      StatestoreNative.removeRange(handle, cfId(colFamilyName, "deleteRange"),
        fam.codec.encodeRangeBound(beginKey), fam.codec.encodeRangeBound(endKey))
    }
  }

  override def merge(key: UnsafeRow, value: UnsafeRow, colFamilyName: String): Unit = {
    require(value != null, "Cannot merge a null value")
    val fam = multiFamily(colFamilyName, "merge")
    checkWritable("merge")
    native("merge") {
      StatestoreNative.append(handle, cfId(colFamilyName, "merge"), fam.codec.encode(key),
        StatestoreKeyCodec.rowBytes(value))
    }
  }

  override def mergeList(key: UnsafeRow, values: Array[UnsafeRow], colFamilyName: String): Unit = {
    require(values != null && !values.contains(null), "Cannot merge a null value")
    val fam = multiFamily(colFamilyName, "mergeList")
    checkWritable("mergeList")
    val k = fam.codec.encode(key)
    native("mergeList") {
      val cf = cfId(colFamilyName, "mergeList")
      values.foreach(v => StatestoreNative.append(handle, cf, k, StatestoreKeyCodec.rowBytes(v)))
    }
  }

  override def putList(key: UnsafeRow, values: Array[UnsafeRow], colFamilyName: String): Unit = {
    require(values != null && !values.contains(null), "Cannot put a null value")
    val fam = multiFamily(colFamilyName, "putList")
    checkWritable("putList")
    native("putList") {
      StatestoreNative.putList(handle, cfId(colFamilyName, "putList"), fam.codec.encode(key),
        values.map(StatestoreKeyCodec.rowBytes))
    }
  }

  override def createColFamilyIfAbsent(
      colFamilyName: String,
      keySchema: StructType,
      valueSchema: StructType,
      keyStateEncoderSpec: KeyStateEncoderSpec,
      useMultipleValuesPerKey: Boolean = false,
      isInternal: Boolean = false): Unit = {
    if (!provider.usesColumnFamilies) {
      throw StateStoreErrors.multipleColumnFamiliesNotSupported(
        StatestoreStateStoreProvider.ProviderName)
    }
    checkFamilyName(colFamilyName, "createColFamilyIfAbsent")
    checkWritable("createColFamilyIfAbsent")
    val fam = StatestoreFamily(colFamilyName, StatestoreKeyCodec(keyStateEncoderSpec),
      valueSchema.length, useMultipleValuesPerKey)
    native("createColFamilyIfAbsent") {
      val id = StatestoreNative.cfCreate(handle, provider.nativeName(colFamilyName), fam.flags)
      provider.families.put(colFamilyName, fam)
      ids(colFamilyName) = id
    }
  }

  override def removeColFamilyIfExists(colFamilyName: String): Boolean = {
    if (!provider.usesColumnFamilies) {
      throw StateStoreErrors.multipleColumnFamiliesNotSupported(
        StatestoreStateStoreProvider.ProviderName)
    }
    checkFamilyName(colFamilyName, "removeColFamilyIfExists")
    checkWritable("removeColFamilyIfExists")
    native("removeColFamilyIfExists") {
      ids.get(colFamilyName) match {
        case Some(id) =>
          StatestoreNative.cfDrop(handle, id)
          ids -= colFamilyName
          true
        case None => false
      }
    }
  }

  override def commit(): Long = {
    try {
      checkWritable("commit")
      val before = if (forceSnapshot) provider.nativeMetrics()("snapshots_written") else 0L
      val v = native("commit") {
        val nv = StatestoreNative.commit(handle)
        state = Committed
        provider.committed(this)
        nv
      }
      provider.reportCommit(v)
      if (forceSnapshot) {
        provider.snapshotNow()
        // A version the rocksdb provider committed in SST mode is a whole
        // checkpoint (<V>.meta) already: that is the snapshot.
        val wrote = provider.nativeMetrics()("snapshots_written") - before
        forcedSnapshots = if (wrote > 0 || provider.isFullCheckpoint(v)) 1L else 0L
      }
      v
    } catch {
      case e: Throwable =>
        throw QueryExecutionErrors.failedToCommitStateFileError(this.toString, e)
    }
  }

  /** Aborts the batch, or frees a committed store's reading state: the task is done with it. */
  override def abort(): Unit = finish(Aborted)

  /** Done with a read store. */
  override def release(): Unit = finish(Released)

  private def finish(to: Int): Unit = provider.withLock {
    releaseUpgraded()
    if (state != Closed && state != Superseded && handle != 0L && !freed) {
      if (state == Updating && writable) {
        try StatestoreNative.abort(handle) catch { case _: StatestoreException => }
      }
      StatestoreNative.free(handle)
      freed = true
      provider.forget(this)
    }
    if (state == Updating || state == Committed) state = to
  }

  @volatile private var freed = false

  /** The read store this write store was upgraded from, freed with it. */
  @volatile private var upgradedFrom: StatestoreStore = _

  private[state] def adoptReadStore(read: StatestoreStore): Unit = upgradedFrom = read

  private def releaseUpgraded(): Unit = {
    val r = upgradedFrom
    upgradedFrom = null
    if (r != null) r.release()
  }

  /** Free a committed store whose reads a new writable load ends (provider holds the lock). */
  private[state] def releaseNative(): Unit = {
    releaseUpgraded()
    if (!freed) {
      StatestoreNative.free(handle)
      freed = true
    }
    provider.forget(this)
  }

  /** A newer getStore on the provider took over (the provider holds the lock). */
  private[state] def supersede(): Unit = {
    if (!freed) {
      StatestoreNative.free(handle)
      freed = true
    }
    if (state == Updating) state = Superseded
  }

  /** The provider closed and freed everything natively (it holds the lock). */
  private[state] def markClosed(): Unit = {
    freed = true
    if (state == Updating) state = Closed
  }

  override def metrics: StateStoreMetrics = {
    val m = provider.nativeMetrics()
    val custom: Map[StateStoreCustomMetric, Long] =
      StatestoreStateStoreProvider.CustomMetrics.mapping.map { case (metric, field, div) =>
        metric -> m(field) / div
      }.toMap + (StatestoreStateStoreProvider.CustomMetrics.forceSnapshot -> forcedSnapshots)
    // The shared RocksDB block cache is process-wide: leave it out, since
    // Spark sums memoryUsedBytes over partitions.
    StateStoreMetrics(m("num_keys"), math.max(0L, m("memory_bytes") - m("block_cache_bytes")),
      custom)
  }

  override def getStateStoreCheckpointInfo(): StateStoreCheckpointInfo =
    StateStoreCheckpointInfo(id.partitionId, version + 1, None, None)

  override def hasCommitted: Boolean = state == Committed

  override def toString: String =
    s"StatestoreStateStore[id=(op=${id.operatorId},part=${id.partitionId}),version=$version," +
      s"${if (writable) "writable" else "read"},${stateName(state)}]"

  // ------------------------------------------------------------- helpers

  private def family(name: String, op: String): StatestoreFamily = {
    if (!provider.usesColumnFamilies && name != StateStore.DEFAULT_COL_FAMILY_NAME) {
      throw StateStoreErrors.multipleColumnFamiliesNotSupported(
        StatestoreStateStoreProvider.ProviderName)
    }
    provider.familyOf(name)
  }

  private def multiFamily(name: String, op: String): StatestoreFamily = {
    val fam = family(name, op)
    if (!fam.multiValue) {
      throw StateStoreErrors.unsupportedOperationException(
        s"$op on family '$name', which was not declared with multiple values per key",
        StatestoreStateStoreProvider.ProviderName)
    }
    fam
  }

  private def cfId(name: String, op: String): Int = ids.getOrElse(name, {
    throw StateStoreErrors.unsupportedOperationOnMissingColumnFamily(op, name)
  })

  private def checkFamilyName(name: String, op: String): Unit = {
    if (name == null || name.isEmpty || name.trim.isEmpty) {
      throw StateStoreErrors.cannotUseColumnFamilyWithInvalidName(op, String.valueOf(name))
    }
    if (name == StateStore.DEFAULT_COL_FAMILY_NAME) {
      throw StateStoreErrors.cannotUseColumnFamilyWithInvalidName(op, name)
    }
  }

  private def checkWritable(op: String): Unit = state match {
    case Updating if writable => ()
    case Updating => throw new UnsupportedOperationException(s"$op on a read store ($this)")
    case Superseded => throw new IllegalStateException(s"statestore: $op on $this: a newer " +
      "getStore of the same partition (a retried task) took over; this attempt is aborted")
    case Closed => throw new IllegalStateException(s"statestore: $op on $this: the provider " +
      "was closed (unloaded by Spark's maintenance), or reopened because another writer " +
      "took over the partition")
    case _ => throw new IllegalStateException(s"Cannot $op after already committed or aborted " +
      s"($this)")
  }

  /** A native call under the provider's lock, refused once the store is freed. */
  private def native[T](op: String)(body: => T): T = provider.withLock {
    if (freed) {
      throw new IllegalStateException(s"statestore: $op on $this: the store was " +
        (state match {
          case Superseded => "aborted by a newer getStore of the same partition (a retried task)"
          case Closed => "freed when its provider was closed"
          case _ => "released or aborted"
        }))
    }
    body
  }

  private def refreshFamilies(): Unit = provider.withLock(refreshFamiliesLocked())

  private def refreshFamiliesLocked(): Unit = {
    val list = StatestoreNative.cfList(handle)
    ids.clear()
    var i = 0
    while (i < list.length) {
      provider.sparkName(list(i)).foreach { n =>
        ids(n) = list(i + 1).takeWhile(_ != ':').toInt
      }
      i += 2
    }
  }

  private def valueRow(fam: StatestoreFamily, bytes: Array[Byte]): UnsafeRow =
    StatestoreKeyCodec.rowOf(fam.valueFields, bytes, 0)

  private def scan(
      cfName: String, kind: Int, a: Array[Byte], b: Array[Byte],
      op: String): StateStoreIterator[UnsafeRowPair] = {
    val fam = provider.familyOf(cfName)
    val it = native(op)(StatestoreNative.iter(handle, cfId(cfName, op), kind, a, b))
    var done = false
    var pending: Array[Array[Byte]] = null
    def close(): Unit = if (!done) {
      done = true
      provider.withLock(StatestoreNative.iterFree(it))
    }
    val iter = new Iterator[UnsafeRowPair] {
      override def hasNext: Boolean = {
        if (!done && pending == null) {
          pending = native(op)(StatestoreNative.next(it))
          if (pending == null) close()
        }
        pending != null
      }
      override def next(): UnsafeRowPair = {
        if (!hasNext) throw new NoSuchElementException(s"$op: no more entries")
        val kv = pending
        pending = null
        new UnsafeRowPair(fam.codec.decode(kv(0)), valueRow(fam, kv(1)))
      }
    }
    new StateStoreIterator(iter, () => close())
  }

  /** Each key of `keys` once per value of its list. */
  private def expandValues(
      keys: StateStoreIterator[UnsafeRowPair], cfName: String): StateStoreIterator[UnsafeRowPair] = {
    val iter = keys.flatMap { kp =>
      val k = kp.key
      valuesIterator(k, cfName).map(v => new UnsafeRowPair(k, v))
    }
    new StateStoreIterator(iter, () => keys.close())
  }
}

private[state] object StatestoreStore {
  val Updating = 0
  val Committed = 1
  val Aborted = 2
  val Released = 3
  val Superseded = 4
  val Closed = 5

  def stateName(s: Int): String = s match {
    case Updating => "updating"
    case Committed => "committed"
    case Aborted => "aborted"
    case Released => "released"
    case Superseded => "superseded"
    case _ => "closed"
  }
}
