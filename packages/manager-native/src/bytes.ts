/**
 * Batch byte moves inside one buffer, and batch copies between two. V8 copies the bytes of a `SharedArrayBuffer` (the packet pool
 * of an embedded manager) with relaxed atomics: 8 bytes at a time when source and destination have
 * the same alignment mod 8 (about 13 bytes per ns), one byte at a time otherwise (about 2.5), so
 * shifting a 1400-byte payload by 36 bytes with `copyWithin` costs 0.5 µs. {@link moveRanges}
 * moves a whole batch of ranges with `memmove` in one native call (about 20 ns for 512 bytes), and
 * {@link copyRanges} copies them between two buffers (the pool and a GPU's pinned staging buffer).
 *
 * @module
 */
import { loadNative } from './loader.js';

type NativeMove = (data: Uint8Array, dst: Uint32Array, src: Uint32Array, len: Uint32Array, count: number) => number;
type NativeCopy = (to: Uint8Array, dst: Uint32Array, from: Uint8Array, src: Uint32Array, len: Uint32Array, count: number) => number;

let native: NativeMove | undefined;
let nativeCopy: NativeCopy | undefined;

/** The addon's function `name`, or an Error that says to rebuild an addon that predates it. */
function addonCall<F>(name: string): F {
  const fn = (loadNative() as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`${name}: the loaded gnet addon predates this call; rebuild it (npm run build, or npm rebuild @gnet/manager-native)`);
  return fn as F;
}

/**
 * For each `i < count`, moves `len[i]` bytes of `data` from `src[i]` to `dst[i]`, as `memmove` does
 * (the two ranges may overlap). A range that does not lie inside `data` is skipped. Returns how many
 * ranges moved.
 * @throws RangeError when `count` exceeds `dst`, `src` or `len`; TypeError for arrays of another
 * element type; Error when the addon predates this call (rebuild it: `npm run build`).
 */
export function moveRanges(data: Uint8Array, dst: Uint32Array, src: Uint32Array, len: Uint32Array, count: number): number {
  native ??= addonCall<NativeMove>('moveRanges');
  if (count > dst.length || count > src.length || count > len.length) throw new RangeError('moveRanges: count exceeds an array');
  return count === 0 ? 0 : native(data, dst, src, len, count);
}

/**
 * For each `i < count`, copies `len[i]` bytes from `from` at `src[i]` to `to` at `dst[i]` (as
 * `memmove`: `to` and `from` may be the same buffer). A range that does not lie inside its buffer is
 * skipped. Returns how many ranges were copied.
 * @throws RangeError when `count` exceeds `dst`, `src` or `len`; TypeError for arrays of another
 * element type; Error when the addon predates this call (rebuild it: `npm run build`).
 */
export function copyRanges(to: Uint8Array, dst: Uint32Array, from: Uint8Array, src: Uint32Array, len: Uint32Array, count: number): number {
  nativeCopy ??= addonCall<NativeCopy>('copyRanges');
  if (count > dst.length || count > src.length || count > len.length) throw new RangeError('copyRanges: count exceeds an array');
  return count === 0 ? 0 : nativeCopy(to, dst, from, src, len, count);
}
