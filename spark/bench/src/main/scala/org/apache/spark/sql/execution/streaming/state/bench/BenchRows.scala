package org.apache.spark.sql.execution.streaming.state.bench

import org.apache.spark.sql.catalyst.expressions.{GenericInternalRow, UnsafeProjection, UnsafeRow}
import org.apache.spark.sql.types.{IntegerType, StructField, StructType, TimestampType}

/**
 * The rows of the store cases: key (key1 int, key2 timestamp), value
 * (value int), the schema of Spark's StateStoreBasicOperationsBenchmark.
 * Row i has key1 = scramble(i), key2 = i ms (in micros), value i: keys of
 * different i never collide (scramble is a bijection of Int), and their
 * hash and byte order is unrelated to i, as in a stream.
 */
object BenchRows {
  val keySchema: StructType = StructType(Seq(
    StructField("key1", IntegerType, nullable = true),
    StructField("key2", TimestampType, nullable = true)))
  val valueSchema: StructType = StructType(Seq(StructField("value", IntegerType, nullable = true)))

  private val keyProjection = UnsafeProjection.create(keySchema)
  private val valueProjection = UnsafeProjection.create(valueSchema)

  /** An odd multiplier: multiplication by it is a bijection on 32-bit ints. */
  def scramble(i: Int): Int = i * 0x9E3779B1

  def timestampMicros(i: Int): Long = i * 1000L

  def key(i: Int): UnsafeRow = {
    val k = new GenericInternalRow(2)
    k.setInt(0, scramble(i))
    k.setLong(1, timestampMicros(i))
    keyProjection(k).copy()
  }

  def value(i: Int): UnsafeRow = {
    val v = new GenericInternalRow(1)
    v.setInt(0, i)
    valueProjection(v).copy()
  }

  /** Rows i for i in `indexes`, in that order. */
  def rows(indexes: Seq[Int]): IndexedSeq[(UnsafeRow, UnsafeRow)] =
    indexes.map(i => (key(i), value(i))).toIndexedSeq
}
