package org.apache.spark.sql.execution.streaming.state;

/**
 * The native calls of libstatestore_jni (src/jni/ss_jni.c), one per
 * statestore.h function.  Handles are opaque longs (checked handles:
 * a stale one throws, never crashes).  Every failure throws
 * {@link StatestoreException}.  Callers serialise the calls on one
 * provider's handles (statestore.h convention 4); StatestoreLoader.load()
 * must have run first.
 */
final class StatestoreNative {
  private StatestoreNative() {}

  static final int CF_ORDERED = 1;
  static final int CF_LIST = 2;

  static final int LOAD_WRITE = 0;
  static final int LOAD_READONLY = 1;
  static final int LOAD_VIEW = 2;

  static final int ITER_ALL = 0;
  static final int ITER_PREFIX = 1;
  static final int ITER_RANGE = 2;
  static final int ITER_LIST = 3;

  /** Names of the figures {@link #metrics} returns, in its order (the
   *  fields of ss_metrics after its version). */
  static final String[] METRIC_NAMES = {
    "num_keys", "memory_bytes", "memory_limit_bytes", "versions_in_memory",
    "bytes_written", "files_written", "files_deleted", "snapshots_written",
    "loads_from_memory", "loads_from_files", "commit_total_ns",
    "commit_collect_ns", "commit_encode_ns", "commit_write_ns",
    "commit_sync_ns", "commit_records", "commit_bytes", "load_ns",
    "last_snapshot_version", "maintenance_errors", "commit_flush_ns",
    "commit_checkpoint_ns", "commit_upload_ns", "commit_metadata_ns",
    "objects_uploaded", "objects_reused", "objects_deleted",
    "memtable_bytes", "block_cache_bytes", "sst_bytes"
  };

  static native long open(String location, String[] options);
  static native void close(long provider);
  static native int cf(long provider, String name, int flags);
  static native long load(long provider, long version, int mode);
  static native long latest(long provider);
  /** force: a snapshot of the newest version now (ss_provider_snapshot). */
  static native void maintenance(long provider, boolean force);
  static native long[] metrics(long provider);

  /** The value, or null when the key is absent. */
  static native byte[] get(long store, int cf, byte[] key);
  static native void put(long store, int cf, byte[] key, byte[] value);
  static native void remove(long store, int cf, byte[] key);
  static native void removeRange(long store, int cf, byte[] start, byte[] end);
  static native void append(long store, int cf, byte[] key, byte[] value);
  static native void putList(long store, int cf, byte[] key, byte[][] values);
  static native long commit(long store);
  static native void abort(long store);
  static native void free(long store);
  static native int cfCreate(long store, String name, int flags);
  static native void cfDrop(long store, int cf);
  /** Alternating family names and "id:flags". */
  static native String[] cfList(long store);

  static native long iter(long store, int cf, int kind, byte[] a, byte[] b);
  /** {key, value}, or null when done. */
  static native byte[][] next(long iter);
  static native void iterFree(long iter);
}
