/**
 * Batch byte moves inside one buffer. V8 copies the bytes of a `SharedArrayBuffer` (the packet pool
 * of an embedded manager) with relaxed atomics: 8 bytes at a time when source and destination have
 * the same alignment mod 8 (about 13 bytes per ns), one byte at a time otherwise (about 2.5), so
 * shifting a 1400-byte payload by 36 bytes with `copyWithin` costs 0.5 µs. {@link moveRanges}
 * moves a whole batch of ranges with `memmove` in one native call (about 20 ns for 512 bytes).
 *
 * @module
 */
import { loadNative } from './loader.js';

type NativeMove = (data: Uint8Array, dst: Uint32Array, src: Uint32Array, len: Uint32Array, count: number) => number;

let native: NativeMove | undefined;

/**
 * For each `i < count`, moves `len[i]` bytes of `data` from `src[i]` to `dst[i]`, as `memmove` does
 * (the two ranges may overlap). A range that does not lie inside `data` is skipped. Returns how many
 * ranges moved.
 * @throws RangeError when `count` exceeds `dst`, `src` or `len`; TypeError for arrays of another
 * element type; Error when the addon predates this call (rebuild it: `npm run build`).
 */
export function moveRanges(data: Uint8Array, dst: Uint32Array, src: Uint32Array, len: Uint32Array, count: number): number {
  if (native === undefined) {
    const fn = (loadNative() as unknown as { moveRanges?: NativeMove }).moveRanges;
    if (typeof fn !== 'function') throw new Error('moveRanges: the loaded gnet addon predates this call; rebuild it (npm run build, or npm rebuild @gnet/manager-native)');
    native = fn;
  }
  if (count > dst.length || count > src.length || count > len.length) throw new RangeError('moveRanges: count exceeds an array');
  return count === 0 ? 0 : native(data, dst, src, len, count);
}
