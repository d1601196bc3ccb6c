/**
 * `TxPipe`: Enso's TX pipe. The application allocates a buffer in the pipe, writes frames into it
 * back to back (each starting on a 64-byte boundary), and sends a prefix of it with
 * `sendAndFree`; the space comes back as transmissions complete (`tryExtendBuf`,
 * `Device.processCompletions`).
 *
 * Layout: a ring of `size` bytes followed by an overflow area of the same size, so the buffer
 * returned by `allocateBuf` is always contiguous even when it runs past the end of the ring (its
 * tail lands in the overflow area and stands for the start of the ring). Offsets returned index
 * `pipe.buf`.
 *
 * Frame lengths: the NIC sends the frame at offset `o` with the length in `lens[o >> 6]`, or, when
 * that entry is 0, with the length its IPv4 header announces (Enso-compatible raw writes). Use
 * `writeFrame` (copies and records the length) or `setFrameLength` for non-IPv4 frames. Entries
 * are reset to 0 once their frame is sent.
 *
 * @module
 */

import { FLIT_SHIFT, FLIT_SIZE, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, NO_TIMESTAMP } from './constants.js';
import { copyFlits, FlitBuffer } from './flit-buffer.js';
import { checkRingSize } from './flit-ring.js';
import { FrameCopier } from './frame-copy.js';
import type { MessageBatch } from './message-batch.js';
import { checkFlitBytes, pipeClosed, type PipeHost } from './pipe-host.js';

/** A TX pipe; allocate with `Device.allocateTxPipe`. */
export class TxPipe {
  /** Application data associated with the pipe (Enso's `context()` / `set_context()`). */
  context: unknown = undefined;
  /** Ring size in bytes (the buffer is twice this: ring + overflow area). */
  readonly size: number;
  /** Enso's `kMaxCapacity`: the most bytes that can be allocated at once (`size - 64`). */
  readonly maxCapacity: number;
  /**
   * Frame memory and side arrays.
   *
   * @internal
   */
  readonly buffer: FlitBuffer;
  /** Index of the NIC port the pipe's frames leave on. */
  readonly port: number;
  /**
   * TX pipes reset a frame's side entries once it is sent.
   *
   * @internal
   */
  readonly resetsSideData = true;

  private readonly host: PipeHost;
  private readonly index: number;
  private readonly sourceId: number;
  private readonly copier = new FrameCopier();
  private appBegin = 0;
  private inFlight = 0;
  private completed = 0;
  private open = true;

  /**
   * Pipes are created by `Device.allocateTxPipe`.
   *
   * @internal
   */
  constructor(host: PipeHost, index: number, size: number, port: number) {
    checkRingSize(size, 'TX pipe size');
    this.host = host;
    this.index = index;
    this.size = size;
    this.maxCapacity = size - FLIT_SIZE;
    this.port = port;
    this.buffer = new FlitBuffer(size * 2);
    this.buffer.tsSec.fill(NO_TIMESTAMP);
    this.sourceId = host.nic.registerTxSource(this);
  }

  /** The pipe's id within its device (Enso's `id()`). */
  get id(): number {
    return this.index;
  }

  /** The pipe's memory (ring + overflow area); offsets from {@link allocateBuf} index it. */
  get buf(): Uint8Array {
    return this.buffer.data;
  }

  /** Per-flit frame lengths of {@link buf} (0: take the length from the IPv4 header). */
  get lens(): Uint16Array {
    return this.buffer.lens;
  }

  /**
   * Bytes available from the allocated buffer's start (Enso's `capacity()`). Grows when
   * completions are processed, never shrinks except by {@link sendAndFree}.
   */
  get capacity(): number {
    return this.maxCapacity - this.inFlight;
  }

  /** Bytes sent whose transmission has not been reclaimed yet (Enso's `pending_transmission()`). */
  get pendingTransmission(): number {
    return this.inFlight;
  }

  /**
   * Returns the offset in {@link buf} of the pipe's buffer, first waiting (polling the NIC) until
   * {@link capacity} is at least `targetCapacity` bytes. With the default 0 it never waits.
   * Calling it again before {@link sendAndFree} returns the same offset. Throws a `RangeError` when
   * `targetCapacity` exceeds {@link maxCapacity} (Enso would block forever).
   */
  allocateBuf(targetCapacity = 0): number {
    this.extendBufToTarget(targetCapacity);
    return this.appBegin;
  }

  /**
   * Sends the first `nbBytes` (a multiple of 64, at most {@link capacity}) of the allocated buffer:
   * whole frames, back to back. The bytes must not be touched afterwards; call
   * {@link allocateBuf} for the next buffer, which starts right after them. Without rate limiting
   * the frames are on the port when this returns. Throws a `RangeError` for a bad count.
   */
  sendAndFree(nbBytes: number): void {
    if (!this.open) pipeClosed('TxPipe');
    checkFlitBytes(nbBytes, this.capacity, 'TxPipe.sendAndFree');
    if (nbBytes === 0) return;
    const start = this.appBegin;
    this.appBegin = (start + nbBytes) & (this.size - 1);
    this.inFlight += nbBytes;
    this.host.nic.transmit(this.sourceId, start, nbBytes);
  }

  /**
   * Processes completions (device-wide, as Enso) and returns the new {@link capacity}, at least
   * as large as before; the buffer offset stays the same.
   */
  tryExtendBuf(): number {
    if (!this.open) pipeClosed('TxPipe');
    this.host.processCompletions();
    return this.capacity;
  }

  /**
   * Processes completions until {@link capacity} is at least `targetCapacity` (busy-waiting on a
   * rate-limited NIC) and returns it. Throws a `RangeError` when `targetCapacity` is above
   * {@link maxCapacity}.
   */
  extendBufToTarget(targetCapacity: number): number {
    if (!this.open) pipeClosed('TxPipe');
    if (!(targetCapacity >= 0) || targetCapacity > this.maxCapacity) {
      throw new RangeError(`target capacity ${targetCapacity} is outside 0..${this.maxCapacity} (kMaxCapacity)`);
    }
    while (this.capacity < targetCapacity) {
      const before = this.capacity;
      this.host.processCompletions();
      if (this.capacity === before && !this.host.nic.hasPendingTx) {
        throw new Error(`TxPipe ${this.index}: capacity stuck at ${before} bytes with nothing in flight`);
      }
    }
    return this.capacity;
  }

  /**
   * Copies frame `src[srcOffset, srcOffset + length)` into {@link buf} at `offset` and records its
   * length (and timestamp, for ports that keep one; default: the send time). `offset` must be a
   * multiple of 64 inside the allocated buffer with room for the frame. Returns the bytes the frame
   * occupies (`length` rounded up to 64), i.e. where the next frame goes. Throws a `RangeError` on
   * a bad offset or length. `src` may be received pipe memory, but the two ranges must not overlap
   * (copy within the buffer itself with `buf.data.copyWithin`).
   */
  writeFrame(offset: number, src: Uint8Array, srcOffset: number, length: number, tsSec = -1, tsNsec = 0): number {
    const need = this.checkFrame(offset, length, 'TxPipe.writeFrame');
    if (!Number.isInteger(srcOffset) || srcOffset < 0 || srcOffset + length > src.length) {
      throw new RangeError(`TxPipe.writeFrame: source range ${srcOffset}+${length} is outside the source (${src.length} bytes)`);
    }
    const b = this.buffer;
    this.copier.copy(src, srcOffset, b.data, b.data32, offset, length);
    this.record(offset, length, tsSec, tsNsec);
    return need;
  }

  /**
   * Records the length (and optionally timestamp) of a frame the application wrote at `offset`
   * itself, e.g. a non-IPv4 frame. Same checks as {@link writeFrame}; returns the bytes it
   * occupies.
   */
  setFrameLength(offset: number, length: number, tsSec = -1, tsNsec = 0): number {
    const need = this.checkFrame(offset, length, 'TxPipe.setFrameLength');
    this.record(offset, length, tsSec, tsNsec);
    return need;
  }

  /**
   * Copies the first `nbBytes` of a received batch (default: all its bytes) to `offset` (default:
   * the buffer start) with the frames' lengths and timestamps, as `memcpy` in Enso's echo_copy.
   * Returns the bytes copied. Throws a `RangeError` when they do not fit or exceed the batch.
   */
  copyBatch(batch: MessageBatch, nbBytes = batch.availableBytes, offset = this.appBegin): number {
    checkFlitBytes(nbBytes, batch.availableBytes, 'TxPipe.copyBatch');
    return this.copyFrom(batch.source, batch.start, nbBytes, offset);
  }

  /**
   * Copies `nbBytes` (a multiple of 64) of flit-laid-out frames from `src` at `srcOffset` (a
   * multiple of 64), with their side entries, to `offset` (default: the buffer start): how a
   * generator sends a prepared block of frames. No allocation when `src` lies in the same arena
   * chunk. Returns the bytes copied. Throws a `RangeError` when they do not fit or lie outside
   * `src`.
   */
  copyFrom(src: FlitBuffer, srcOffset: number, nbBytes: number, offset = this.appBegin): number {
    if (!this.open) pipeClosed('TxPipe');
    checkFlitBytes(nbBytes, src.data.length, 'TxPipe.copyFrom');
    if (!Number.isInteger(srcOffset) || (srcOffset & 63) !== 0 || srcOffset < 0 || srcOffset + nbBytes > src.data.length) {
      throw new RangeError(`TxPipe.copyFrom: source bytes ${srcOffset}..${srcOffset + nbBytes} are outside the source`);
    }
    this.checkRegion(offset, nbBytes, 'TxPipe.copyFrom');
    if (nbBytes > 0) copyFlits(src, srcOffset, this.buffer, offset, nbBytes);
    return nbBytes;
  }

  /**
   * The NIC finished sending `bytes` of this pipe's requests.
   *
   * @internal
   */
  onTxComplete(bytes: number): void {
    this.completed += bytes;
    this.host.completions++;
  }

  /**
   * Makes completed bytes available again (called by `Device.processCompletions`).
   *
   * @internal
   */
  reclaim(): void {
    this.inFlight -= this.completed;
    this.completed = 0;
  }

  /**
   * Unregisters from the NIC; later calls throw.
   *
   * @internal
   */
  markClosed(): void {
    if (!this.open) return;
    this.open = false;
    this.host.nic.unregisterTxSource(this.sourceId);
    this.buffer.release();
  }

  private record(offset: number, length: number, tsSec: number, tsNsec: number): void {
    const fi = offset >>> FLIT_SHIFT;
    const b = this.buffer;
    b.lens[fi] = length;
    b.tsSec[fi] = tsSec < 0 ? NO_TIMESTAMP : tsSec;
    b.tsNsec[fi] = tsSec < 0 ? 0 : tsNsec;
  }

  private checkFrame(offset: number, length: number, what: string): number {
    if (!this.open) pipeClosed('TxPipe');
    if (!Number.isInteger(length) || length < MIN_FRAME_LENGTH || length > MAX_FRAME_LENGTH) {
      throw new RangeError(`${what}: frame length ${length} is outside ${MIN_FRAME_LENGTH}..${MAX_FRAME_LENGTH}`);
    }
    const need = (length + 63) & ~63;
    this.checkRegion(offset, need, what);
    return need;
  }

  /** `[offset, offset + bytes)` must lie within the allocated buffer. */
  private checkRegion(offset: number, bytes: number, what: string): void {
    const rel = offset - this.appBegin;
    if (!Number.isInteger(offset) || (offset & 63) !== 0 || rel < 0 || rel + bytes > this.capacity) {
      throw new RangeError(
        `${what}: bytes ${offset}..${offset + bytes} are outside the allocated buffer ${this.appBegin}..${this.appBegin + this.capacity}`,
      );
    }
  }
}
