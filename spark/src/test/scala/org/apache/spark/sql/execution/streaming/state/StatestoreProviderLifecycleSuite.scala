package org.apache.spark.sql.execution.streaming.state

import java.io.File
import java.util.UUID
import java.util.concurrent.atomic.AtomicBoolean

import org.apache.hadoop.conf.Configuration

import org.apache.spark.{SparkException, SparkFunSuite}
import org.apache.spark.sql.catalyst.expressions.{UnsafeProjection, UnsafeRow}
import org.apache.spark.sql.execution.streaming.runtime.StreamExecution
import org.apache.spark.sql.internal.SQLConf
import org.apache.spark.sql.types._

/**
 * The provider's own contract, as Spark drives it and beyond what
 * StateStoreSuiteBase checks: a retried task while the first attempt's
 * store is open, close() from another thread with an iterator alive,
 * maintenance beside the task thread, misuse as exceptions with
 * statestore's message, options, and the byte order of the scan
 * encodings.  Each runs on both statestore providers.
 */
class StatestoreProviderLifecycleSuite extends SparkFunSuite {
  import StateStoreTestsHelper._

  private def provider(
      nativeProvider: String,
      dir: String = newDir(),
      spec: KeyStateEncoderSpec = NoPrefixKeyStateEncoderSpec(keySchema),
      schema: StructType = keySchema,
      useColumnFamilies: Boolean = false,
      confs: Map[String, String] = Map.empty,
      partition: Int = 0): StatestoreStateStoreProvider = {
    val sqlConf = new SQLConf()
    sqlConf.setConfString(StatestoreOptions.prefix + "provider", nativeProvider)
    confs.foreach { case (k, v) => sqlConf.setConfString(k, v) }
    val hadoopConf = new Configuration()
    hadoopConf.set(StreamExecution.RUN_ID_KEY, UUID.randomUUID().toString)
    val p = new StatestoreStateStoreProvider()
    p.init(StateStoreId(dir, 0, partition), schema, valueSchema, spec, useColumnFamilies,
      new StateStoreConf(sqlConf), hadoopConf)
    p
  }

  private def withProvider[T](p: StatestoreStateStoreProvider)(f: StatestoreStateStoreProvider => T)
    : T = try f(p) finally p.close()

  for (np <- Seq("memory", "rocksdb")) {

    test(s"$np: a retried task's getStore supersedes the attempt still open") {
      withProvider(provider(np)) { p =>
        val first = p.getStore(0)
        put(first, "a", 1, 1)
        val retry = p.getStore(0)
        put(retry, "b", 2, 2)
        assert(retry.commit() === 1)
        val e = intercept[IllegalStateException](put(first, "c", 3, 3))
        assert(e.getMessage.contains("newer getStore"), e.getMessage)
        val c = intercept[SparkException](first.commit())
        assert(c.getMessage.contains("CANNOT_COMMIT"))
        first.abort() // Spark's task-completion listener: must not throw
        val read = p.getReadStore(1)
        assert(rowPairsToDataSet(read.iterator()) === Set(("b", 2) -> 2))
        read.release()
      }
    }

    test(s"$np: another executor's provider fences this one; a later task takes it back") {
      val dir = newDir()
      withProvider(provider(np, dir)) { here =>
        val s0 = here.getStore(0)
        put(s0, "a", 1, 1)
        assert(s0.commit() === 1)
        val zombie = here.getStore(1) // a task still running here...
        put(zombie, "zombie", 0, 0)
        withProvider(provider(np, dir)) { there => // ...while the partition moved
          val s1 = there.getStore(1)
          put(s1, "b", 2, 2)
          assert(s1.commit() === 2)
        }
        val e = intercept[SparkException](zombie.commit())
        assert(e.getCause.getMessage.contains("fenced"), e.getCause.getMessage)
        assert(e.getCause.getMessage.contains("writer epoch"), e.getCause.getMessage)
        zombie.abort()
        // The partition comes back: a new task's getStore works and sees
        // the other executor's version, not the zombie's write.
        val back = here.getStore(2)
        assert(rowPairsToDataSet(back.iterator()) === Set(("a", 1) -> 1, ("b", 2) -> 2))
        put(back, "c", 3, 3)
        assert(back.commit() === 3)
      }
      withProvider(provider(np, dir)) { p =>
        val r = p.getReadStore(3)
        assert(rowPairsToDataSet(r.iterator()) ===
          Set(("a", 1) -> 1, ("b", 2) -> 2, ("c", 3) -> 3))
        r.release()
      }
    }

    test(s"$np: close() from another thread while an iterator lives throws, never crashes") {
      val p = provider(np)
      val store = p.getStore(0)
      (1 to 100).foreach(i => put(store, s"k$i", i, i))
      store.commit()
      val s1 = p.getStore(1)
      val it = s1.iterator()
      (1 to 10).foreach(_ => it.next())
      val closer = new Thread(() => p.close(), "maintenance-like")
      closer.start()
      closer.join()
      val e = intercept[IllegalStateException] {
        while (it.hasNext) it.next()
      }
      assert(e.getMessage.contains("closed"), e.getMessage)
      intercept[IllegalStateException](put(s1, "z", 0, 0))
      s1.abort() // no-op after close
      it.close()
      intercept[IllegalStateException](p.getStore(1))
      p.close() // twice is fine
    }

    test(s"$np: maintenance on another thread beside the task's batches") {
      val dir = newDir()
      // rocksdb in changelog mode, so that maintenance writes snapshots
      // (in SST mode every commit is a whole <V>.meta).
      val confs = Map(SQLConf.STATE_STORE_MIN_DELTAS_FOR_SNAPSHOT.key -> "2",
        SQLConf.MIN_BATCHES_TO_RETAIN.key -> "100") ++
        (if (np == "rocksdb") Map(StatestoreOptions.prefix + "rocksdb.changelog_checkpointing" ->
          "true") else Map.empty)
      withProvider(provider(np, dir, confs = confs)) { p =>
        val stop = new AtomicBoolean(false)
        @volatile var failure: Throwable = null
        val maint = new Thread(() => {
          try while (!stop.get()) p.doMaintenance() catch { case t: Throwable => failure = t }
        }, "maintenance")
        maint.start()
        try {
          for (v <- 0 until 40) {
            val s = p.getStore(v)
            put(s, s"k$v", v, v)
            if (v > 0) remove(s, _ == (s"k${v - 1}", v - 1))
            assert(s.commit() === v + 1)
          }
        } finally {
          stop.set(true)
          maint.join()
        }
        assert(failure === null)
        p.doMaintenance()
        assert(new File(p.stateStoreId.storeCheckpointLocation().toUri.getPath)
          .list().exists(_.endsWith(".snapshot")))
      }
      withProvider(provider(np, dir)) { p =>
        for (v <- 1 to 40) {
          val r = p.getReadStore(v)
          assert(rowPairsToDataSet(r.iterator()) === Set((s"k${v - 1}", v - 1) -> (v - 1)))
          r.release()
        }
      }
    }

    test(s"$np: misuse is an exception naming what failed") {
      withProvider(provider(np)) { p =>
        val s = p.getStore(0)
        put(s, "a", 1, 1)
        s.commit()
        val r = p.getReadStore(1)
        intercept[UnsupportedOperationException](put(r.asInstanceOf[StateStore], "b", 2, 2))
        val n = intercept[IllegalArgumentException] {
          p.getStore(1).put(dataToKeyRow("x", 1), null)
        }
        assert(n.getMessage.contains("Cannot put a null value"))
        val gone = intercept[SparkException](p.getStore(7))
        assert(gone.getMessage.contains("does not exist"), gone.getMessage)
        assert(gone.getCause.getMessage.contains("7"), gone.getCause.getMessage)
        val w = p.getStore(1)
        w.abort()
        intercept[IllegalStateException](get(w, "a", 1))
        val c = intercept[SparkException](w.commit())
        assert(c.getCause.isInstanceOf[IllegalStateException], c.getCause)
        // A family on a provider made without column families.
        intercept[Exception](w.get(dataToKeyRow("a", 1), "other"))
        r.release()
      }
    }

    test(s"$np: options are mapped, unknown ones and remote locations refused") {
      val unknown = intercept[IllegalArgumentException] {
        provider(np, confs = Map(StatestoreOptions.prefix + "no_such_key" -> "1"))
      }
      assert(unknown.getMessage.contains("no_such_key"))
      val badValue = intercept[StatestoreException] {
        provider(np, confs = Map(StatestoreOptions.prefix + "compression" -> "brotli"))
      }
      assert(badValue.getMessage.contains("compression"), badValue.getMessage)
      val remote = intercept[IllegalArgumentException] {
        provider(np, dir = "s3a://bucket/checkpoint")
      }
      assert(remote.getMessage.contains("s3a"))
      val v2 = intercept[Exception] {
        provider(np, confs = Map(SQLConf.STATE_STORE_CHECKPOINT_FORMAT_VERSION.key -> "2"))
      }
      assert(v2.getMessage.contains("checkpointFormatVersion"), v2.getMessage)
      if (np == "memory") {
        withProvider(provider(np, confs = Map(
          StatestoreOptions.prefix + "memory_limit_bytes" -> "64K"))) { p =>
          val s = p.getStore(0)
          val e = intercept[StatestoreException] {
            (1 to 100000).foreach(i => put(s, "k" * 50 + i, i, i))
          }
          assert(e.code === StatestoreException.ELIMIT, e.getMessage)
          s.abort()
        }
      }
    }

    test(s"$np: range scan keys come back in Spark's order, nulls last") {
      val schema = StructType(Seq(StructField("ts", LongType), StructField("d", DoubleType),
        StructField("name", StringType)))
      val proj = UnsafeProjection.create(schema)
      def key(ts: java.lang.Long, d: Double, name: String): UnsafeRow =
        proj.apply(org.apache.spark.sql.catalyst.InternalRow(ts, d,
          org.apache.spark.unsafe.types.UTF8String.fromString(name))).copy()
      val spec = RangeKeyScanStateEncoderSpec(schema, Seq(0, 1))
      val keys = Seq[(java.lang.Long, Double)](
        (null, 0.0), (Long.MinValue, 1.0), (-5L, -2.5), (-5L, -0.5), (-1L, 3.0), (0L, -1.0),
        (0L, 0.0), (0L, 7.25), (3L, Double.NegativeInfinity), (3L, Double.PositiveInfinity),
        (Long.MaxValue, 0.0))
      withProvider(provider(np, spec = spec, schema = schema)) { p =>
        val s = p.getStore(0)
        scala.util.Random.shuffle(keys).zipWithIndex.foreach { case ((ts, d), i) =>
          s.put(key(ts, d, s"n$i"), dataToValueRow(i))
        }
        s.commit()
        val r = p.getReadStore(1)
        val got = r.iterator().map { pair =>
          val k = pair.key
          (if (k.isNullAt(0)) null else java.lang.Long.valueOf(k.getLong(0)), k.getDouble(1))
        }.toList
        assert(got === keys.tail :+ keys.head)
        val from = r.rangeScan(Some(key(-1L, 3.0, "")), Some(key(3L, Double.PositiveInfinity, "")))
          .map(pair => pair.key.getLong(0) -> pair.key.getDouble(1)).toList
        assert(from === List((-1L, 3.0), (0L, -1.0), (0L, 0.0), (0L, 7.25),
          (3L, Double.NegativeInfinity)))
        r.release()
      }
    }

    test(s"$np: families with prefix scans and lists, versioned across reloads") {
      val dir = newDir()
      val prefixSpec = PrefixKeyScanStateEncoderSpec(keySchema, 1)
      withProvider(provider(np, dir, useColumnFamilies = true)) { p =>
        val s = p.getStore(0)
        s.createColFamilyIfAbsent("sessions", keySchema, valueSchema, prefixSpec)
        s.createColFamilyIfAbsent("events", keySchema, valueSchema,
          NoPrefixKeyStateEncoderSpec(keySchema), useMultipleValuesPerKey = true)
        Seq(("u1", 1), ("u1", 2), ("u2", 1)).foreach { case (u, i) =>
          s.put(dataToKeyRow(u, i), dataToValueRow(i * 10), "sessions")
        }
        s.merge(dataToKeyRow("e", 1), dataToValueRow(1), "events")
        s.mergeList(dataToKeyRow("e", 1), Array(dataToValueRow(2), dataToValueRow(3)), "events")
        s.putList(dataToKeyRow("f", 1), Array(dataToValueRow(9)), "events")
        assert(s.allColumnFamilyNames === Set("default", "sessions", "events"))
        s.commit()
      }
      withProvider(provider(np, dir, useColumnFamilies = true)) { p =>
        val s = p.getStore(1)
        s.createColFamilyIfAbsent("sessions", keySchema, valueSchema, prefixSpec)
        s.createColFamilyIfAbsent("events", keySchema, valueSchema,
          NoPrefixKeyStateEncoderSpec(keySchema), useMultipleValuesPerKey = true)
        val u1 = s.prefixScan(dataToPrefixKeyRow("u1"), "sessions").map(rowPairToDataPair).toSet
        assert(u1 === Set(("u1", 1) -> 10, ("u1", 2) -> 20))
        assert(s.valuesIterator(dataToKeyRow("e", 1), "events").map(valueRowToData).toList ===
          List(1, 2, 3))
        assert(s.iteratorWithMultiValues("events").map(rowPairToDataPair).toSet ===
          Set(("e", 1) -> 1, ("e", 1) -> 2, ("e", 1) -> 3, ("f", 1) -> 9))
        intercept[UnsupportedOperationException](s.put(dataToKeyRow("e", 2), dataToValueRow(0),
          "events"))
        assert(s.removeColFamilyIfExists("sessions"))
        assert(!s.removeColFamilyIfExists("sessions"))
        assert(s.commit() === 2)
        val v1 = p.getReadStore(1)
        assert(v1.allColumnFamilyNames.contains("sessions"))
        v1.release()
        val v2 = p.getReadStore(2)
        assert(v2.allColumnFamilyNames === Set("default", "events"))
        v2.release()
      }
    }

    test(s"$np: metrics report keys, memory and the commit breakdown") {
      withProvider(provider(np)) { p =>
        val s = p.getStore(0)
        (1 to 1000).foreach(i => put(s, s"k$i", i, i))
        s.commit()
        val m = s.metrics
        assert(m.numKeys === 1000)
        assert(m.memoryUsedBytes > 0)
        val names = m.customMetrics.keySet.map(_.name)
        assert(names.contains("statestoreCommitTotalMs"))
        assert(p.supportedCustomMetrics.map(_.name).toSet === names)
        assert(m.customMetrics.collectFirst {
          case (k, v) if k.name == "statestoreCommitBytes" => v
        }.get > 0)
      }
    }
  }
}
