package org.apache.spark.sql.execution.streaming.state

import org.apache.spark.sql.catalyst.expressions.{BoundReference, UnsafeProjection, UnsafeRow}
import org.apache.spark.sql.types._
import org.apache.spark.unsafe.Platform

/**
 * How one column family's key rows become statestore key bytes.  Keys
 * must compare equal exactly when their bytes do (UnsafeRow's bytes are
 * canonical for a schema), and for the scan specs the bytes' unsigned
 * order must be the order Spark scans in, so such families are ORDERED
 * in statestore (a tree in the memory provider, RocksDB's order in the
 * rocksdb one):
 *  - NoPrefix: the row's bytes.
 *  - PrefixKeyScan(n): [u32 BE length of the prefix row][prefix row]
 *    [whole key row]; a prefix scan seeks the first two parts.
 *  - RangeKeyScan(ordinals): each ordering column as a marker byte (0x00
 *    negative, 0x01 zero or positive, 0x02 null: nulls last) and its
 *    big-endian value (negative floats and doubles with every bit
 *    flipped), then the whole key row.
 * The whole row rides at the end so decoding is a slice, not a join of
 * projections; the price is the prefix or ordering columns twice.
 */
private[state] sealed trait StatestoreKeyCodec {
  def numFields: Int
  def ordered: Boolean
  def encode(key: UnsafeRow): Array[Byte]
  /** The key row of encoded bytes (a new row over `bytes`). */
  def decode(bytes: Array[Byte]): UnsafeRow
  def supportsPrefixScan: Boolean = false
  def encodePrefix(prefix: UnsafeRow): Array[Byte] =
    throw new UnsupportedOperationException("prefix scan needs a PrefixKeyScan key encoding")
  def supportsRangeScan: Boolean = false
  /** Bytes of the ordering columns alone: a range bound. */
  def encodeRangeBound(key: UnsafeRow): Array[Byte] =
    throw new UnsupportedOperationException("range scan needs a RangeKeyScan key encoding")
}

private[state] object StatestoreKeyCodec {

  def apply(spec: KeyStateEncoderSpec): StatestoreKeyCodec = spec match {
    case NoPrefixKeyStateEncoderSpec(schema) => new NoPrefixCodec(schema.length)
    case PrefixKeyScanStateEncoderSpec(schema, n) => new PrefixCodec(schema, n)
    case RangeKeyScanStateEncoderSpec(schema, ordinals) => new RangeCodec(schema, ordinals)
    case other =>
      throw StateStoreErrors.unsupportedOperationException(
        s"key encoding ${other.getClass.getSimpleName}", "StatestoreStateStoreProvider")
  }

  /** The bytes of an UnsafeRow, without a copy when it spans its array. */
  def rowBytes(row: UnsafeRow): Array[Byte] = row.getBytes

  def rowOf(numFields: Int, bytes: Array[Byte], offset: Int): UnsafeRow = {
    val row = new UnsafeRow(numFields)
    row.pointTo(bytes, Platform.BYTE_ARRAY_OFFSET + offset, bytes.length - offset)
    row
  }

  final class NoPrefixCodec(val numFields: Int) extends StatestoreKeyCodec {
    def ordered: Boolean = false
    def encode(key: UnsafeRow): Array[Byte] = rowBytes(key)
    def decode(bytes: Array[Byte]): UnsafeRow = rowOf(numFields, bytes, 0)
  }

  final class PrefixCodec(schema: StructType, numColsPrefixKey: Int) extends StatestoreKeyCodec {
    val numFields: Int = schema.length
    private val prefixProjection = UnsafeProjection.create(
      schema.fields.take(numColsPrefixKey).zipWithIndex.map { case (f, i) =>
        BoundReference(i, f.dataType, f.nullable)
      }.toSeq)

    def ordered: Boolean = true
    override def supportsPrefixScan: Boolean = true

    def encode(key: UnsafeRow): Array[Byte] = {
      val prefix = prefixProjection(key)
      val out = new Array[Byte](4 + prefix.getSizeInBytes + key.getSizeInBytes)
      putPrefix(out, prefix)
      Platform.copyMemory(key.getBaseObject, key.getBaseOffset, out,
        Platform.BYTE_ARRAY_OFFSET + 4 + prefix.getSizeInBytes, key.getSizeInBytes)
      out
    }

    def decode(bytes: Array[Byte]): UnsafeRow = {
      val prefixLen = ((bytes(0) & 0xff) << 24) | ((bytes(1) & 0xff) << 16) |
        ((bytes(2) & 0xff) << 8) | (bytes(3) & 0xff)
      rowOf(numFields, bytes, 4 + prefixLen)
    }

    override def encodePrefix(prefix: UnsafeRow): Array[Byte] = {
      val out = new Array[Byte](4 + prefix.getSizeInBytes)
      putPrefix(out, prefix)
      out
    }

    private def putPrefix(out: Array[Byte], prefix: UnsafeRow): Unit = {
      val n = prefix.getSizeInBytes
      out(0) = (n >>> 24).toByte
      out(1) = (n >>> 16).toByte
      out(2) = (n >>> 8).toByte
      out(3) = n.toByte
      Platform.copyMemory(prefix.getBaseObject, prefix.getBaseOffset, out,
        Platform.BYTE_ARRAY_OFFSET + 4, n)
    }
  }

  final class RangeCodec(schema: StructType, ordinals: Seq[Int]) extends StatestoreKeyCodec {
    val numFields: Int = schema.length
    private val types: Array[DataType] = ordinals.map(i => schema.fields(i).dataType).toArray
    private val widths: Array[Int] = types.map {
      case ByteType => 1
      case ShortType => 2
      case IntegerType | FloatType | DateType => 4
      case LongType | DoubleType | TimestampType | TimestampNTZType => 8
      case t =>
        throw StateStoreErrors.unsupportedOperationException(
          s"range scan over a ${t.simpleString} column (statestore orders fixed-size " +
            "numeric, date and timestamp columns)", "StatestoreStateStoreProvider")
    }
    private val ordinalArray = ordinals.toArray
    private val boundWidth = widths.map(_ + 1).sum

    def ordered: Boolean = true
    override def supportsRangeScan: Boolean = true

    def encode(key: UnsafeRow): Array[Byte] = {
      val out = new Array[Byte](boundWidth + key.getSizeInBytes)
      putOrdering(out, key)
      Platform.copyMemory(key.getBaseObject, key.getBaseOffset, out,
        Platform.BYTE_ARRAY_OFFSET + boundWidth, key.getSizeInBytes)
      out
    }

    def decode(bytes: Array[Byte]): UnsafeRow = rowOf(numFields, bytes, boundWidth)

    override def encodeRangeBound(key: UnsafeRow): Array[Byte] = {
      val out = new Array[Byte](boundWidth)
      putOrdering(out, key)
      out
    }

    private def putOrdering(out: Array[Byte], key: UnsafeRow): Unit = {
      var pos = 0
      var c = 0
      while (c < ordinalArray.length) {
        val ord = ordinalArray(c)
        val w = widths(c)
        if (key.isNullAt(ord)) {
          out(pos) = 2
        } else {
          var bits: Long = types(c) match {
            case ByteType => key.getByte(ord).toLong
            case ShortType => key.getShort(ord).toLong
            case IntegerType | DateType => key.getInt(ord).toLong
            case FloatType => java.lang.Float.floatToRawIntBits(key.getFloat(ord)).toLong
            case DoubleType => java.lang.Double.doubleToRawLongBits(key.getDouble(ord))
            case _ => key.getLong(ord)
          }
          val negative = bits < 0
          out(pos) = if (negative) 0 else 1
          // Floating point: the sign bit makes negatives sort backwards,
          // so flip every bit of them; integers in two's complement
          // already sort within their sign.
          if (negative && (types(c) == FloatType || types(c) == DoubleType)) bits = ~bits
          var i = 0
          while (i < w) {
            out(pos + 1 + i) = (bits >>> (8 * (w - 1 - i))).toByte
            i += 1
          }
        }
        pos += 1 + w
        c += 1
      }
    }
  }
}
