/**
 * A reusable batch of frames laid out back to back at 64-byte-aligned offsets, filled one frame at
 * a time by `send` and handed to native code in one call by `flush`. Copying a frame allocates
 * nothing: `subarray` + `set` would create a view per frame, so bytes move in 32-bit words through
 * views of the source made once per source buffer.
 *
 * @module
 */

/** Rounds `n` up to a multiple of 64 (one flit, as frames lie in Enso pipes). */
export function alignFlit(n: number): number {
  return (n + 63) & ~63;
}

/** True on little-endian hosts, where a `DataView` must read words the way an `Int32Array` does. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Frames staged for one native transmit call: `data[offsets[i], offsets[i] + lengths[i])`, `i < count`. */
export class FrameBatch {
  /** The frame bytes (byteOffset 0, so frame offsets are word aligned). */
  readonly data: Uint8Array;
  /** Where each frame starts in {@link FrameBatch.data}. */
  readonly offsets: Uint32Array;
  /** Each frame's length in bytes. */
  readonly lengths: Uint32Array;
  /** Frames staged so far. */
  count = 0;
  private end = 0;
  private readonly data32: Int32Array;
  // Views of the last source buffer, rebuilt only when a frame comes from another buffer.
  private src: Uint8Array | null = null;
  private src32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private srcView: DataView | null = null;

  /** A batch of up to `capacity` frames and `byteCapacity` bytes (alignment padding included). */
  constructor(capacity: number, byteCapacity: number) {
    this.data = new Uint8Array(alignFlit(byteCapacity));
    this.data32 = new Int32Array(this.data.buffer);
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
  }

  /** True when another frame of `length` bytes fits. */
  fits(length: number): boolean {
    return this.count < this.offsets.length && this.end + length <= this.data.length;
  }

  /** Copies `src[offset, offset + length)` in as the next frame; false (nothing copied) when it does not fit. */
  append(src: Uint8Array, offset: number, length: number): boolean {
    if (!this.fits(length)) return false;
    const at = this.end;
    this.copy(src, offset, at, length);
    this.offsets[this.count] = at;
    this.lengths[this.count] = length;
    this.count++;
    this.end = alignFlit(at + length);
    return true;
  }

  /** Empties the batch. */
  reset(): void {
    this.count = 0;
    this.end = 0;
  }

  private copy(src: Uint8Array, from: number, to: number, length: number): void {
    if (src !== this.src) this.bind(src);
    const d32 = this.data32;
    const words = length >>> 2;
    let d = to >>> 2;
    const stop = d + words;
    const abs = src.byteOffset + from;
    if ((abs & 3) === 0) {
      // Word-aligned source (frames in a 64-byte-aligned ring): four words per step.
      const s32 = this.src32;
      let s = abs >>> 2;
      while (d + 4 <= stop) {
        d32[d] = s32[s];
        d32[d + 1] = s32[s + 1];
        d32[d + 2] = s32[s + 2];
        d32[d + 3] = s32[s + 3];
        d += 4;
        s += 4;
      }
      while (d < stop) d32[d++] = s32[s++];
    } else {
      const view = this.srcView as DataView;
      for (let s = from; d < stop; s += 4) d32[d++] = view.getInt32(s, LITTLE_ENDIAN);
    }
    const dst = this.data;
    for (let i = words << 2; i < length; i++) dst[to + i] = src[from + i];
  }

  private bind(src: Uint8Array): void {
    this.src = src;
    this.srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
    // Over the whole underlying buffer, so any word-aligned absolute offset maps to a word.
    this.src32 = new Int32Array(src.buffer, 0, src.buffer.byteLength >>> 2);
  }
}
