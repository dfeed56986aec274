package org.apache.spark.sql.execution.streaming.state;

/**
 * A failure of libstatestore, with its status code (statestore.h's SS_E*)
 * and its message, which names what failed (file, version, key, option,
 * the other writer).
 */
public class StatestoreException extends RuntimeException {
  public static final int EINVAL = -1;
  public static final int ENOMEM = -2;
  public static final int EIO = -3;
  public static final int ENOTFOUND = -4;
  public static final int EEXISTS = -5;
  public static final int ECORRUPT = -6;
  public static final int EVERSION = -7;
  public static final int ELIMIT = -8;
  public static final int EBUSY = -9;
  public static final int EFATAL = -10;
  public static final int EFENCED = -12;

  private final int code;

  public StatestoreException(int code, String message) {
    super(message);
    this.code = code;
  }

  /** The SS_E* status code (negative). */
  public int code() {
    return code;
  }
}
