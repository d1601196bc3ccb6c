/**
 * Flit-addressed packet memory: the bytes of a pipe (or a port queue) and, beside them, one entry
 * per 64-byte flit of side data about the frame that starts at that flit: its true length and its
 * receive timestamp. Index a side array with `offset >> 6`.
 *
 * The memory is a region of the DMA arena (`dma-arena.ts`, `SharedArrayBuffer`-backed), so a
 * buffer can be handed to a `worker_thread` (pass `shared` and `byteOffset`, rebuild the views with
 * {@link FlitBuffer.attach}) and copies between buffers of one chunk need no allocation
 * ({@link copyFlits}).
 *
 * @module
 */

import { FLIT_SHIFT, FLIT_SIZE } from './constants.js';
import { type DmaChunk, dmaAllocate, dmaChunkOf, dmaRelease, type DmaRegion } from './dma-arena.js';

/** Byte layout of a {@link FlitBuffer} inside its region. */
export interface FlitBufferLayout {
  /** Bytes of frame data (a multiple of 64). */
  readonly dataBytes: number;
  /** Entries in each side array (`dataBytes / 64`). */
  readonly flits: number;
  /** Byte offset (from the region start) of the `Uint16` length array. */
  readonly lensOffset: number;
  /** Byte offset of the `Uint32` timestamp-seconds array. */
  readonly tsSecOffset: number;
  /** Byte offset of the `Uint32` timestamp-nanoseconds array. */
  readonly tsNsecOffset: number;
  /** Total bytes of the region. */
  readonly totalBytes: number;
}

/**
 * Computes where each part of a flit buffer of `dataBytes` bytes lives. Throws a `RangeError` when
 * `dataBytes` is not a positive multiple of 64.
 */
export function flitBufferLayout(dataBytes: number): FlitBufferLayout {
  if (!Number.isInteger(dataBytes) || dataBytes <= 0 || dataBytes % FLIT_SIZE !== 0) {
    throw new RangeError(`flit buffer size must be a positive multiple of ${FLIT_SIZE}, got ${dataBytes}`);
  }
  const flits = dataBytes >> FLIT_SHIFT;
  const lensOffset = dataBytes;
  // Keep the 32-bit arrays 4-byte aligned after the 16-bit one.
  const tsSecOffset = lensOffset + ((flits * 2 + 3) & ~3);
  const tsNsecOffset = tsSecOffset + flits * 4;
  return { dataBytes, flits, lensOffset, tsSecOffset, tsNsecOffset, totalBytes: tsNsecOffset + flits * 4 };
}

/** Frame bytes plus per-flit side arrays, in one region of shared memory. */
export class FlitBuffer {
  /** The arena chunk holding the buffer. */
  readonly chunk: DmaChunk;
  /** Byte offset of the buffer (its data) in `chunk`. */
  readonly byteOffset: number;
  /** Frame bytes; frames start on 64-byte boundaries. */
  readonly data: Uint8Array;
  /** The same bytes as 32-bit words. */
  readonly data32: Int32Array;
  /** The same bytes as a `DataView` (big-endian header reads). */
  readonly view: DataView;
  /** True length of the frame starting at each flit (0: none recorded). */
  readonly lens: Uint16Array;
  /** Timestamp seconds of the frame starting at each flit. */
  readonly tsSec: Uint32Array;
  /** Timestamp nanoseconds of the frame starting at each flit. */
  readonly tsNsec: Uint32Array;
  /** Index of `lens[0]` in `chunk.u16`. */
  readonly lensBase: number;
  /** Index of `tsSec[0]` in `chunk.u32`. */
  readonly tsSecBase: number;
  /** Index of `tsNsec[0]` in `chunk.u32`. */
  readonly tsNsecBase: number;
  private region: DmaRegion | null;

  /**
   * Allocates `dataBytes` (a positive multiple of 64) of frame memory with its side arrays from the
   * DMA arena. Throws a `RangeError` for a bad size.
   */
  constructor(dataBytes: number);
  /**
   * Views a buffer that lives at `byteOffset` of `shared` (for example one made in another
   * thread). Throws a `RangeError` when the layout does not fit.
   *
   * @internal
   */
  constructor(dataBytes: number, shared: SharedArrayBuffer, byteOffset: number);
  constructor(dataBytes: number, shared?: SharedArrayBuffer, byteOffset = 0) {
    const layout = flitBufferLayout(dataBytes);
    if (shared === undefined) {
      this.region = dmaAllocate(layout.totalBytes);
      this.chunk = this.region.chunk;
      this.byteOffset = this.region.offset;
    } else {
      if (byteOffset % FLIT_SIZE !== 0 || byteOffset + layout.totalBytes > shared.byteLength) {
        throw new RangeError(`a ${layout.totalBytes}-byte flit buffer does not fit at ${byteOffset} of ${shared.byteLength} bytes`);
      }
      this.region = null;
      this.chunk = dmaChunkOf(shared);
      this.byteOffset = byteOffset;
    }
    const shm = this.chunk.shared;
    const at = this.byteOffset;
    this.data = new Uint8Array(shm, at, dataBytes);
    this.data32 = new Int32Array(shm, at, dataBytes >> 2);
    this.view = new DataView(shm, at, dataBytes);
    this.lens = new Uint16Array(shm, at + layout.lensOffset, layout.flits);
    this.tsSec = new Uint32Array(shm, at + layout.tsSecOffset, layout.flits);
    this.tsNsec = new Uint32Array(shm, at + layout.tsNsecOffset, layout.flits);
    this.lensBase = (at + layout.lensOffset) >>> 1;
    this.tsSecBase = (at + layout.tsSecOffset) >>> 2;
    this.tsNsecBase = (at + layout.tsNsecOffset) >>> 2;
  }

  /** Views, in this thread, a buffer of `dataBytes` at `byteOffset` of `shared`. */
  static attach(dataBytes: number, shared: SharedArrayBuffer, byteOffset: number): FlitBuffer {
    return new FlitBuffer(dataBytes, shared, byteOffset);
  }

  /** The shared memory holding the buffer (hand it with `byteOffset` to another thread). */
  get shared(): SharedArrayBuffer {
    return this.chunk.shared;
  }

  /** Gives the memory back to the arena; the views must not be used afterwards. Idempotent. */
  release(): void {
    if (this.region === null) return;
    dmaRelease(this.region);
    this.region = null;
  }
}

/**
 * Copies `bytes` of frame data from `src` (starting at a flit-aligned offset) to `dst`, with the
 * matching side-array entries. See {@link copyFlitArrays}.
 */
export function copyFlits(src: FlitBuffer, srcOffset: number, dst: FlitBuffer, dstOffset: number, bytes: number): void {
  copyFlitArrays(src.data, src.lens, src.tsSec, src.tsNsec, srcOffset, dst, dstOffset, bytes);
}

/**
 * Copies `bytes` of frame data from `buf[srcOffset…]` to `dst` at `dstOffset` (both multiples of
 * 64), and the side entries of those flits from `lens` / `tsSec` / `tsNsec` (indexed by flit of
 * `buf`). Each array that lies in `dst`'s arena chunk is copied with `copyWithin` on the chunk's
 * view (no allocation); any other is copied with `set` on a `subarray` view (one allocation).
 */
export function copyFlitArrays(
  buf: Uint8Array,
  lens: Uint16Array,
  tsSec: Uint32Array,
  tsNsec: Uint32Array,
  srcOffset: number,
  dst: FlitBuffer,
  dstOffset: number,
  bytes: number,
): void {
  const flits = bytes >>> FLIT_SHIFT;
  const sf = srcOffset >>> FLIT_SHIFT;
  const df = dstOffset >>> FLIT_SHIFT;
  const c = dst.chunk;
  const shm = c.shared;
  if (buf.buffer === shm) {
    const s = buf.byteOffset + srcOffset;
    c.u8.copyWithin(dst.byteOffset + dstOffset, s, s + bytes);
  } else {
    dst.data.set(buf.subarray(srcOffset, srcOffset + bytes), dstOffset);
  }
  if (lens.buffer === shm) {
    const s = (lens.byteOffset >>> 1) + sf;
    c.u16.copyWithin(dst.lensBase + df, s, s + flits);
  } else {
    dst.lens.set(lens.subarray(sf, sf + flits), df);
  }
  if (tsSec.buffer === shm) {
    const s = (tsSec.byteOffset >>> 2) + sf;
    c.u32.copyWithin(dst.tsSecBase + df, s, s + flits);
  } else {
    dst.tsSec.set(tsSec.subarray(sf, sf + flits), df);
  }
  if (tsNsec.buffer === shm) {
    const s = (tsNsec.byteOffset >>> 2) + sf;
    c.u32.copyWithin(dst.tsNsecBase + df, s, s + flits);
  } else {
    dst.tsNsec.set(tsNsec.subarray(sf, sf + flits), df);
  }
}
