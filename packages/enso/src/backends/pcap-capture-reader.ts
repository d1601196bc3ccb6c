/**
 * The cursor both capture readers share: `next()` steps to the next packet and exposes it as
 * (data, offset, length) into the read window plus its timestamp, with no object per packet.
 *
 * @module
 */
import { ChunkedFile, DEFAULT_CHUNK_BYTES } from './pcap-chunked-file.js';

/** Options for opening a capture for reading. */
export interface CaptureReaderOptions {
  /**
   * Bytes in the reusable read window (default 1 MiB, at least 64). A record larger than the window
   * grows it once, up to the largest legal record.
   */
  chunkSize?: number;
}

/**
 * A streaming reader of one capture file. After `next()` returns true, the current packet is
 * `data[offset, offset + length)`, captured at `tsSec` + `tsNsec`; those bytes stay valid only until
 * the following `next()`, `rewind()` or `close()`.
 *
 * Malformed input never throws from `next()`: a bad record is counted in `errors` (with a
 * description in `lastError`) and either skipped or, where the file cannot be resynchronised, ends
 * the stream. Only opening (unreadable file, unknown format, non-Ethernet link type) throws.
 */
export abstract class CaptureReader {
  /** The file being read. */
  readonly path: string;
  /** `pcap` or `pcapng`. */
  abstract readonly format: 'pcap' | 'pcapng';
  /** The read window holding the current packet (may be replaced when it grows). */
  data: Uint8Array;
  /** Offset of the current packet in `data`. */
  offset = 0;
  /** Captured bytes of the current packet. */
  length = 0;
  /** Length of the packet on the wire (larger than `length` when the capture truncated it). */
  originalLength = 0;
  /** Timestamp of the current packet: whole seconds since the Unix epoch. */
  tsSec = 0;
  /** Timestamp of the current packet: nanoseconds within the second (0..999_999_999). */
  tsNsec = 0;
  /** Packets returned by `next()` since open. */
  packets = 0;
  /** Captured bytes of those packets. */
  bytes = 0;
  /** Packets whose captured length is shorter than their original length (delivered as captured). */
  truncated = 0;
  /** Malformed records or blocks skipped, plus a truncated or garbage tail. */
  errors = 0;
  /** What the most recent error was, with its file offset; null while there has been none. */
  lastError: string | null = null;
  /** True once the stream has ended (end of file, an unrecoverable error, or `close()`). */
  done = false;
  /**
   * The read window over the file, shared by the subclasses' parsers.
   *
   * @internal
   */
  protected readonly file: ChunkedFile;

  /** Opens `path`; subclasses parse the file header and throw when it is not theirs to read. */
  protected constructor(path: string, options: CaptureReaderOptions, maxRecordBytes: number) {
    this.path = path;
    this.file = new ChunkedFile(path, options.chunkSize ?? DEFAULT_CHUNK_BYTES, maxRecordBytes);
    this.data = this.file.buf;
  }

  /** Steps to the next packet; returns false at the end of the stream. Never throws on bad input. */
  abstract next(): boolean;

  /** Starts reading again from the first packet (counters keep accumulating). */
  abstract rewind(): void;

  /**
   * Called before `next()` or `rewind()` moves or overwrites bytes of packets it returned before
   * (the read window refills), so a consumer still referring to them can copy them first.
   */
  set beforeMove(fn: (() => void) | null) {
    this.file.beforeMove = fn;
  }

  /** Closes the file; `next()` returns false afterwards. Safe to call twice. */
  close(): void {
    this.file.close();
    this.done = true;
  }

  /** Records an error at the current file offset; `fatal` ends the stream. */
  protected fail(message: string, fatal: boolean): void {
    this.errors++;
    this.lastError = `${this.path} at byte ${this.file.offset}: ${message}`;
    if (fatal) this.done = true;
  }

  /** Publishes the packet at `data[offset, offset + length)` as the current one and counts it. */
  protected emit(offset: number, length: number, originalLength: number): void {
    this.data = this.file.buf;
    this.offset = offset;
    this.length = length;
    if (originalLength < length) originalLength = length;
    this.originalLength = originalLength;
    if (originalLength > length) this.truncated++;
    this.packets++;
    this.bytes += length;
  }
}
