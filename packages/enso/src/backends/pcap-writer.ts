/**
 * Writer of classic libpcap files (little-endian, Ethernet), buffered in one reusable buffer.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import {
  LINKTYPE_ETHERNET,
  MAX_PACKET_BYTES,
  PCAP_FILE_HEADER_BYTES,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_RECORD_HEADER_BYTES,
} from './pcap-format.js';

/** Options for {@link PcapWriter}. */
export interface PcapWriterOptions {
  /**
   * Write the nanosecond-timestamp variant (magic 0xa1b23c4d). Default false: microseconds, which
   * every tool reads; sub-microsecond digits are then dropped.
   */
  nanosecond?: boolean;
  /** Snapshot length in the header; longer frames are truncated to it and counted. Default 262144. */
  snaplen?: number;
  /** Bytes buffered before a write (default 4 MiB; at least one record of `snaplen`). */
  bufferSize?: number;
}

/**
 * Appends Ethernet frames to a new pcap file. The file header is written at open; records are copied
 * into a buffer that `flush()` (or a full buffer, or `close()`) writes with `fs.writeSync`.
 * Nothing is allocated per frame.
 */
export class PcapWriter {
  /** The file being written. */
  readonly path: string;
  /** True when timestamps are written in nanoseconds. */
  readonly nanosecond: boolean;
  /** The header's snapshot length. */
  readonly snaplen: number;
  /** Frames accepted by `write` (including those later lost to a failed write). */
  packets = 0;
  /** Captured bytes of those frames. */
  bytes = 0;
  /** Frames longer than `snaplen`, written truncated. */
  truncated = 0;
  /** Frames lost because a write to the file failed. */
  lost = 0;
  private fd: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private pending = 0; // records in buf
  private srcBuf: Uint8Array | null = null; // the caller's last buffer and a view over it
  private srcView: DataView | null = null;

  /**
   * Creates (or truncates) `path` and writes the pcap file header. Throws an Error naming the path
   * when the file cannot be created or an option is out of range.
   */
  constructor(path: string, options: PcapWriterOptions = {}) {
    const snaplen = options.snaplen ?? MAX_PACKET_BYTES;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_PACKET_BYTES) {
      throw new Error(`pcap: snaplen must be an integer 1..${MAX_PACKET_BYTES}, got ${snaplen}`);
    }
    const minBuffer = PCAP_RECORD_HEADER_BYTES + snaplen;
    const size = Math.max(options.bufferSize ?? 4 << 20, minBuffer);
    if (!Number.isInteger(size)) throw new Error(`pcap: bufferSize must be an integer, got ${size}`);
    const nanosecond = options.nanosecond ?? false;
    if (typeof nanosecond !== 'boolean') throw new Error(`pcap: nanosecond must be true or false, got ${String(nanosecond)}`);
    this.path = path;
    this.nanosecond = nanosecond;
    this.snaplen = snaplen;
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new Error(`pcap: cannot create ${path}: ${(e as Error).message}`, { cause: e });
    }
    const v = this.view;
    v.setUint32(0, this.nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, true);
    v.setUint16(4, 2, true); // version 2.4
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.used = PCAP_FILE_HEADER_BYTES;
    try {
      this.flush();
    } catch (e) {
      closeSync(this.fd);
      this.fd = -1;
      throw e;
    }
  }

  /** True until `close()`. */
  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /**
   * Appends one frame, `buf[offset, offset + length)`, stamped `tsSec` seconds + `tsNsec`
   * nanoseconds since the epoch (`tsSec` < 0 means now). Frames over `snaplen` are cut to it (the
   * record keeps the original length). Throws when the writer is closed, the range lies outside
   * `buf`, or a buffer flush fails (the buffered frames are then counted in `lost`).
   */
  write(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): void {
    if (this.fd < 0) throw new Error(`pcap: ${this.path} is closed`);
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new RangeError(`pcap: frame [${offset}, ${offset + length}) is outside a ${buf.length}-byte buffer`);
    }
    const captured = length > this.snaplen ? this.snaplen : length;
    if (this.used + PCAP_RECORD_HEADER_BYTES + captured > this.buf.length) this.flush();
    if (tsSec < 0) {
      const ms = performance.timeOrigin + performance.now();
      tsSec = Math.floor(ms / 1000);
      tsNsec = Math.floor((ms - tsSec * 1000) * 1e6);
    }
    const v = this.view;
    const at = this.used;
    v.setUint32(at, tsSec, true);
    v.setUint32(at + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(at + 8, captured, true);
    v.setUint32(at + 12, length, true);
    this.copyIn(buf, offset, at + PCAP_RECORD_HEADER_BYTES, captured);
    this.used = at + PCAP_RECORD_HEADER_BYTES + captured;
    this.pending++;
    this.packets++;
    this.bytes += captured;
    if (captured < length) this.truncated++;
  }

  /**
   * Writes the buffered records to the file. On a write error the buffered records are dropped,
   * counted in `lost`, and an Error naming the file is thrown.
   */
  flush(): void {
    if (this.used === 0 || this.fd < 0) return;
    const total = this.used;
    const records = this.pending;
    this.used = 0;
    this.pending = 0;
    try {
      for (let done = 0; done < total; ) done += writeSync(this.fd, this.buf, done, total - done);
    } catch (e) {
      this.lost += records;
      throw new Error(`pcap: write to ${this.path} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Flushes and closes the file; safe to call twice. Throws when the final flush fails. */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  // Copies 4 bytes at a time through DataViews (unaligned is fine): no view object per frame, which
  // `set(subarray())` would allocate. The DataView over the caller's buffer is reused while the
  // caller keeps passing the same buffer, as the NIC does.
  private copyIn(src: Uint8Array, from: number, to: number, n: number): void {
    let sv = this.srcView;
    if (src !== this.srcBuf || sv === null) {
      sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      this.srcBuf = src;
      this.srcView = sv;
    }
    const dv = this.view;
    let i = 0;
    for (const n4 = n - 3; i < n4; i += 4) dv.setInt32(to + i, sv.getInt32(from + i, true), true);
    const dst = this.buf;
    for (; i < n; i++) dst[to + i] = src[from + i];
  }
}
