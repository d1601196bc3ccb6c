/**
 * Copies frame bytes between typed arrays without allocating per frame.
 *
 * - Source and destination in the same buffer (e.g. both in one chunk of the DMA arena,
 *   `dma-arena.ts`): `copyWithin` on a cached whole-buffer view, no allocation; up to
 *   {@link WORD_COPY_MAX_BYTES}, where the call costs more than the copy, as below. On a
 *   SharedArrayBuffer V8 copies with relaxed atomics: 8 bytes at a time when source and
 *   destination share their alignment mod 8 (64-byte-aligned frames do; about 13 bytes per ns),
 *   byte by byte otherwise (about 2.5).
 * - Otherwise, a single frame is copied a 32-bit word at a time through views of the source made
 *   once per source buffer and cached (`subarray` + `set` would allocate a view per frame); a run
 *   of several frames totalling at least {@link BULK_COPY_MIN_BYTES} is copied with one `set`
 *   (one view per run, i.e. per batch).
 *
 * @module
 */

/** True on little-endian hosts, where a `DataView` must read words the way an `Int32Array` does. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Runs of at least two frames and this many bytes, between different buffers, use one `set`. */
export const BULK_COPY_MIN_BYTES = 512;

/**
 * Copies up to this many bytes go word by word even within one buffer: a `copyWithin` call costs
 * about as much as copying 200 bytes in a loop.
 */
export const WORD_COPY_MAX_BYTES = 256;

/** Copies frames into word-aligned destinations; caches views of the last buffers seen. */
export class FrameCopier {
  private src: Uint8Array | null = null;
  private src32: Int32Array | null = null;
  private srcView: DataView | null = null;
  private srcWordBase = 0;
  private wholeOf: ArrayBufferLike | null = null;
  private dst: Uint8Array | null = null;
  private sameMemory = false;
  private srcBase = 0;
  private dstBase = 0;
  private whole: Uint8Array | null = null;

  /**
   * Copies `len` bytes from `src[srcOff…]` to `dst8[dstOff…]`. `dst32` is a word view of the same
   * memory as `dst8` (same byte offset) and `dstOff` is a multiple of 4. The two ranges may overlap
   * only when `src` is `dst8` itself. `frames` says how many frames the bytes hold (1 for a single
   * frame). Allocates only when the source buffer differs from the previous call's (views are
   * cached), when a copy over 256 bytes goes to another destination buffer than the previous such
   * copy, or for a bulk run between two different buffers (one view).
   */
  copy(src: Uint8Array, srcOff: number, dst8: Uint8Array, dst32: Int32Array, dstOff: number, len: number, frames = 1): void {
    if (src !== this.src) this.bindSource(src);
    // Within one array the ranges may overlap: copyWithin moves them as memmove does.
    if (len > WORD_COPY_MAX_BYTES || src === dst8) {
      // Reading `.buffer` costs more than copying a small frame, so the pair is classified once.
      if (dst8 !== this.dst) this.bindDestination(dst8);
      if (this.sameMemory) {
        const s = this.srcBase + srcOff;
        (this.whole as Uint8Array).copyWithin(this.dstBase + dstOff, s, s + len);
        return;
      }
      if (frames >= 2 && len >= BULK_COPY_MIN_BYTES) {
        dst8.set(src.subarray(srcOff, srcOff + len), dstOff);
        return;
      }
    }
    const words = len >>> 2;
    let d = dstOff >>> 2;
    const s32 = this.src32;
    if (s32 !== null && (srcOff & 3) === 0) {
      let s = this.srcWordBase + (srcOff >>> 2);
      const end = s + words;
      while (s + 4 <= end) {
        dst32[d] = s32[s];
        dst32[d + 1] = s32[s + 1];
        dst32[d + 2] = s32[s + 2];
        dst32[d + 3] = s32[s + 3];
        s += 4;
        d += 4;
      }
      while (s < end) dst32[d++] = s32[s++];
    } else {
      const view = this.srcView as DataView;
      const end = srcOff + (words << 2);
      for (let s = srcOff; s < end; s += 4) dst32[d++] = view.getInt32(s, LITTLE_ENDIAN);
    }
    for (let i = words << 2; i < len; i++) dst8[dstOff + i] = src[srcOff + i];
  }

  /** Caches views of a new source buffer; the destination is classified again against it. */
  private bindSource(src: Uint8Array): void {
    this.src = src;
    this.dst = null;
    this.srcBase = src.byteOffset;
    this.srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
    if ((src.byteOffset & 3) === 0) {
      // View the underlying buffer up to the end of `src` so any 4-aligned offset maps to a word.
      this.src32 = new Int32Array(src.buffer, 0, (src.byteOffset + src.byteLength) >>> 2);
      this.srcWordBase = src.byteOffset >>> 2;
    } else {
      this.src32 = null;
      this.srcWordBase = 0;
    }
  }

  /** Classifies a new destination: whether it shares the source's memory (then `copyWithin`). */
  private bindDestination(dst8: Uint8Array): void {
    this.dst = dst8;
    const memory = dst8.buffer;
    this.sameMemory = (this.src as Uint8Array).buffer === memory;
    this.dstBase = dst8.byteOffset;
    if (this.sameMemory && memory !== this.wholeOf) {
      this.wholeOf = memory;
      this.whole = new Uint8Array(memory);
    }
  }
}
