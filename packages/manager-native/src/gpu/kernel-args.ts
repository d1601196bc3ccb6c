/**
 * Kernel arguments built with typed setters instead of raw byte offsets. The encoding is CUDA's
 * parameter buffer: each argument at the next offset aligned for its type (a pointer or 64-bit value
 * at 8, a 32-bit one at 4, a struct at its stated alignment), which is also what `cuLaunchKernel`'s
 * `kernelParams` and the emulated device's host entry read. The native side checks the count and
 * every size and alignment against the kernel's parameters before a launch.
 *
 * @module
 */
import type { DevicePtr } from './types.js';

/** Type codes of the argument layout, shared with src/native/gpu_proxy.h (ArgType). */
const T = { u8: 1, i8: 2, u16: 3, i16: 4, u32: 5, i32: 6, u64: 7, i64: 8, f32: 9, f64: 10, ptr: 11, bytes: 12 } as const;

const TWO32 = 2 ** 32;

/**
 * Arguments of one kernel launch, in the kernel's parameter order.
 *
 * @example
 * ```ts
 * const args = new KernelArgs().ptr(tbl24).ptr(tbl8).ptr(addrs).ptr(nexthops).u32(n);
 * device.launch(module, 'gnet_lpm_lookup', { grid: Math.ceil(n / 256), block: 256 }, args);
 * args.reset().ptr(tbl24) // ... reuse the object for the next batch
 * ```
 */
export class KernelArgs {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private desc = new Uint32Array(3 * 8);
  private descView: Uint32Array | undefined;
  private used = 0;
  private n = 0;

  /** Number of arguments so far. */
  get count(): number {
    return this.n;
  }

  /** Bytes of the parameter buffer so far. */
  get byteLength(): number {
    return this.used;
  }

  /** Empties the list so the object can be reused for the next launch (no allocation). */
  reset(): this {
    this.used = 0;
    this.n = 0;
    return this;
  }

  /** A device pointer (or 0 for NULL): 8 bytes. It must point into a live allocation. */
  ptr(p: DevicePtr): this {
    if (!Number.isSafeInteger(p) || p < 0) throw new RangeError(`ptr: ${p} is not a device pointer`);
    const at = this.slot(T.ptr, 8, 8);
    this.view.setUint32(at, p % TWO32, true);
    this.view.setUint32(at + 4, Math.floor(p / TWO32), true);
    return this;
  }

  /** An unsigned 8-bit value. */
  u8(v: number): this {
    const at = this.slot(T.u8, 1, 1);
    this.view.setUint8(at, v);
    return this;
  }

  /** A signed 8-bit value. */
  i8(v: number): this {
    const at = this.slot(T.i8, 1, 1);
    this.view.setInt8(at, v);
    return this;
  }

  /** An unsigned 16-bit value. */
  u16(v: number): this {
    const at = this.slot(T.u16, 2, 2);
    this.view.setUint16(at, v, true);
    return this;
  }

  /** A signed 16-bit value. */
  i16(v: number): this {
    const at = this.slot(T.i16, 2, 2);
    this.view.setInt16(at, v, true);
    return this;
  }

  /** An unsigned 32-bit value (`uint32_t`, `unsigned`). */
  u32(v: number): this {
    const at = this.slot(T.u32, 4, 4);
    this.view.setUint32(at, v, true);
    return this;
  }

  /** A signed 32-bit value (`int32_t`, `int`). */
  i32(v: number): this {
    const at = this.slot(T.i32, 4, 4);
    this.view.setInt32(at, v, true);
    return this;
  }

  /** An unsigned 64-bit value; a number must be a safe integer. */
  u64(v: bigint | number): this {
    const at = this.slot(T.u64, 8, 8);
    this.view.setBigUint64(at, typeof v === 'bigint' ? v : BigInt(v), true);
    return this;
  }

  /** A signed 64-bit value; a number must be a safe integer. */
  i64(v: bigint | number): this {
    const at = this.slot(T.i64, 8, 8);
    this.view.setBigInt64(at, typeof v === 'bigint' ? v : BigInt(v), true);
    return this;
  }

  /** A `float`. */
  f32(v: number): this {
    const at = this.slot(T.f32, 4, 4);
    this.view.setFloat32(at, v, true);
    return this;
  }

  /** A `double`. */
  f64(v: number): this {
    const at = this.slot(T.f64, 8, 8);
    this.view.setFloat64(at, v, true);
    return this;
  }

  /**
   * A struct passed by value: its bytes as laid out in C, and its alignment (`alignof`, a power of two
   * up to 16; e.g. 16 for a `uint4`).
   */
  bytes(data: ArrayBufferView, align: number): this {
    if (!(align >= 1 && align <= 16 && (align & (align - 1)) === 0)) throw new RangeError('align must be 1, 2, 4, 8 or 16');
    const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const at = this.slot(T.bytes, src.byteLength, align);
    this.buf.set(src, at);
    return this;
  }

  /** @internal The parameter buffer (its first {@link KernelArgs.byteLength} bytes are used). */
  values(): Uint8Array {
    return this.buf;
  }

  /** @internal Per argument: type code, offset and size, as the native launch reads them. */
  layout(): Uint32Array {
    const len = 3 * this.n;
    if (this.descView === undefined || this.descView.length !== len || this.descView.buffer !== this.desc.buffer)
      this.descView = this.desc.subarray(0, len);
    return this.descView;
  }

  // Reserves the next aligned slot; it may grow (replace) buf and view, so callers write after it.
  private slot(type: number, size: number, align: number): number {
    const at = (this.used + align - 1) & ~(align - 1);
    if (at + size > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, at + size));
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    if (3 * (this.n + 1) > this.desc.length) {
      const bigger = new Uint32Array(this.desc.length * 2);
      bigger.set(this.desc);
      this.desc = bigger;
    }
    this.desc[3 * this.n] = type;
    this.desc[3 * this.n + 1] = at;
    this.desc[3 * this.n + 2] = size;
    this.n++;
    this.used = at + size;
    return at;
  }
}
