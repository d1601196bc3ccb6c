/**
 * The `pcap:PATH` port: an RX port streams frames from a pcap or pcapng file, a TX port writes the
 * frames it is given to a new pcap file.
 *
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { CaptureReader, CaptureReaderOptions } from './pcap-capture-reader.js';
import { PCAPNG_SHB } from './pcap-format.js';
import { PcapReader } from './pcap-reader.js';
import { PcapWriter, type PcapWriterOptions } from './pcap-writer.js';
import { PcapngReader } from './pcapng-reader.js';
import type { FlitBuffer } from '../flit-buffer.js';
import type { FrameSink, PortRole, WireBackend, WireStats } from './types.js';

/** Options of a pcap port: read-window size for RX, file format and buffering for TX. */
export interface PcapOptions extends CaptureReaderOptions, PcapWriterOptions {}

/** {@link WireStats} of a pcap port plus the frames it read or wrote truncated. */
export interface PcapWireStats extends WireStats {
  /**
   * RX: records whose captured length is below their original length (delivered as captured).
   * TX: frames longer than the snaplen (written cut to it).
   */
  truncated: number;
}

/**
 * Opens a capture for streaming reads, choosing {@link PcapReader} or {@link PcapngReader} from the
 * file's first four bytes. Throws an Error naming the file when it cannot be read, is neither
 * format, or holds something other than Ethernet.
 */
export function openCaptureReader(path: string, options: CaptureReaderOptions = {}): CaptureReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`pcap: cannot open ${path} for reading: ${(e as Error).message}`, { cause: e });
  }
  const head = new Uint8Array(4);
  let got: number;
  try {
    got = readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (got < 4) throw new Error(`pcap: ${path} is too short to be a capture file (${got} bytes)`);
  const magic = new DataView(head.buffer).getUint32(0, true);
  return magic === PCAPNG_SHB ? new PcapngReader(path, options) : new PcapReader(path, options);
}

/**
 * A pcap port. Role `rx` streams the file's packets to the NIC (`exhausted` at its end); role `tx`
 * writes every frame sent to a new file, flushed on `flush()` and `close()`. Frames are never copied
 * on RX: they are offered straight from the read window.
 */
export class PcapBackend implements WireBackend {
  /** `pcap:PATH`. */
  readonly spec: string;
  /** Always `pcap`. */
  readonly kind = 'pcap';
  /** A file can wait: the NIC reads it only as fast as its pipes drain, so no frame is dropped for speed. */
  readonly lossless = true;
  /** Records stay in the read window until it refills, and the sink settles before that. */
  readonly stableFrames = true;
  /** The direction this port was opened for. */
  readonly role: 'rx' | 'tx';
  /** The reader of an RX port, else null. */
  readonly reader: CaptureReader | null;
  /** The writer of a TX port, else null. */
  readonly writer: PcapWriter | null;
  /** The most recent read or write problem, or null. */
  lastError: string | null = null;
  private rxPackets = 0;
  private rxBytes = 0;
  private rxDropped = 0;
  private rejected = 0; // sends refused: wrong role, closed, or a failed write
  private closed = false;
  /** The sink of the poll in progress (the reader's refill settles it first), else null. */
  private sink: FrameSink | null = null;

  /**
   * Opens `path` for `role`; see {@link createPcapBackend} for what throws.
   */
  constructor(path: string, role: PortRole, options: PcapOptions = {}) {
    if (role === 'rxtx') {
      throw new Error(
        `pcap: port pcap:${path} cannot be opened for rx and tx at once (role 'rxtx'); ` +
          `read and write captures through two pcap ports`,
      );
    }
    if (role !== 'rx' && role !== 'tx') {
      throw new Error(`pcap: unknown role '${String(role)}' for port pcap:${path}; expected 'rx' or 'tx'`);
    }
    this.spec = `pcap:${path}`;
    this.role = role;
    this.reader = role === 'rx' ? openCaptureReader(path, options) : null;
    this.writer = role === 'tx' ? new PcapWriter(path, options) : null;
    if (this.reader !== null) this.reader.beforeMove = () => this.sink?.settle?.();
  }

  /** True once the file has been read to its end (always true for a TX port, which never receives). */
  get exhausted(): boolean {
    return this.reader === null || this.reader.done;
  }

  /**
   * Offers up to `max` packets from the file to `sink`; returns how many were offered (0 at the end
   * of the file). Refused frames are counted in `rxDropped`, malformed records in `errors`.
   */
  poll(sink: FrameSink, max: number): number {
    const r = this.reader;
    if (r === null) return 0;
    let n = 0;
    this.sink = sink;
    while (n < max && r.next()) {
      n++;
      if (sink.push(r.data, r.offset, r.length, r.tsSec, r.tsNsec)) {
        this.rxPackets++;
        this.rxBytes += r.length;
      } else {
        this.rxDropped++;
      }
    }
    this.sink = null;
    if (r.lastError !== null) this.lastError = r.lastError;
    return n;
  }

  /**
   * Appends one frame to the file's write buffer (timestamp `tsSec`/`tsNsec`, or now when `tsSec`
   * is -1). Returns false, counting a TX drop, on an RX port, after close, or when a write fails.
   */
  send(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean {
    const w = this.writer;
    if (w === null || this.closed) {
      this.rejected++;
      return false;
    }
    try {
      w.write(buf, offset, length, tsSec, tsNsec);
      return true;
    } catch (e) {
      this.rejected++;
      this.lastError = (e as Error).message;
      return false;
    }
  }

  /**
   * Appends the `nbFrames` frames laid out in flits in `src[offset, offset + nbBytes)` (the layout
   * of `FlitSink.pushFlits`), each with the length and timestamp at its first flit. Returns how
   * many were queued; the rest (all of them on an RX port or after close, or those after a failed
   * write) are counted in `txDropped`.
   */
  sendFlits(src: FlitBuffer, offset: number, _nbBytes: number, nbFrames: number, _frameBytes: number): number {
    const w = this.writer;
    if (w === null || this.closed) {
      this.rejected += nbFrames;
      return 0;
    }
    const { data, lens, tsSec, tsNsec } = src;
    let n = 0;
    let o = offset;
    try {
      for (; n < nbFrames; n++) {
        const flit = o >> 6;
        const len = lens[flit];
        w.write(data, o, len, tsSec[flit], tsNsec[flit]);
        o += (len + 63) & ~63;
      }
    } catch (e) {
      this.rejected += nbFrames - n;
      this.lastError = (e as Error).message;
    }
    return n;
  }

  /** Writes buffered frames to the file; a failed write is counted in `txDropped` and `lastError`. */
  flush(): void {
    const w = this.writer;
    if (w === null || this.closed) return;
    try {
      w.flush();
    } catch (e) {
      this.lastError = (e as Error).message;
    }
  }

  /**
   * Flushes and closes the file. Rejects with the write error when the final flush fails (the lost
   * frames are counted); a second call resolves at once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reader?.close();
    if (this.writer !== null) {
      try {
        this.writer.close();
      } catch (e) {
        this.lastError = (e as Error).message;
        throw e;
      }
    }
  }

  /** A snapshot of the counters. */
  stats(): PcapWireStats {
    const r = this.reader;
    const w = this.writer;
    return {
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      txPackets: w === null ? 0 : w.packets,
      txBytes: w === null ? 0 : w.bytes,
      rxDropped: this.rxDropped,
      txDropped: this.rejected + (w === null ? 0 : w.lost),
      errors: r === null ? 0 : r.errors,
      truncated: (r === null ? 0 : r.truncated) + (w === null ? 0 : w.truncated),
    };
  }
}

/**
 * Opens the port `pcap:PATH` for `role`: `rx` streams `path` (classic pcap in either byte order with
 * micro- or nanosecond timestamps, or pcapng), `tx` creates `path` as a classic pcap file
 * (microsecond timestamps unless `options.nanosecond`). Throws an Error for role `rxtx`, or naming
 * the file when it cannot be opened, is not a capture, or is not Ethernet.
 */
export function createPcapBackend(path: string, role: PortRole, options: PcapOptions = {}): WireBackend {
  return new PcapBackend(path, role, options);
}
