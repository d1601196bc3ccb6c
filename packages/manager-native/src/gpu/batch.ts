/**
 * The wire form of a batch of requests: opcodes and operands in a Float64Array plus the JS buffers
 * they name, so that a whole batch crosses into C++ in one call (src/native/gpu_binding.cc decodes it).
 *
 * @module
 */
import type { KernelArgs } from './kernel-args.js';
import type { NativeBuffer } from './native.js';
import type { Dim3, HostBuffer } from './types.js';

/** Opcodes, shared with src/native/gpu_binding.cc (WireOp). */
const OP_HTOD = 1;
const OP_DTOH = 2;
const OP_MEMSET = 3;
const OP_LAUNCH = 4;
const OP_RECORD = 5;

const sabViews = new WeakMap<SharedArrayBuffer, Uint8Array>();

/** @internal A buffer the binding can read: SharedArrayBuffers (which Node-API cannot take) as a Uint8Array over them. */
export function nativeBuffer(b: HostBuffer): NativeBuffer {
  if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) return b;
  let v = sabViews.get(b);
  if (v === undefined) {
    v = new Uint8Array(b);
    sabViews.set(b, v);
  }
  return v;
}

/** @internal `[x, y, z]` of a {@link Dim3}. */
export function dim3(d: Dim3): [number, number, number] {
  if (typeof d === 'number') return [d, 1, 1];
  if (Array.isArray(d)) return [d[0], d[1] ?? 1, d[2] ?? 1];
  const o = d as { x: number; y?: number; z?: number };
  return [o.x, o.y ?? 1, o.z ?? 1];
}

/** @internal Requests queued for one native submit. */
export class RequestBatch {
  /** Encoded requests; the first `length` words are used. */
  words = new Float64Array(64);
  /** Number of words used. */
  length = 0;
  /** Buffers and argument blocks the words refer to by index. */
  refs: unknown[] = [];
  /** Requests queued. */
  count = 0;
  // Every launch's argument bytes and layouts, appended (refs[valuesRef] and refs[descRef]).
  private values = new Uint8Array(256);
  private valuesUsed = 0;
  private valuesRef = -1;
  private desc = new Uint32Array(64);
  private descUsed = 0;
  private descRef = -1;

  htod(dst: number, src: HostBuffer, offset: number, bytes: number): void {
    this.push5(OP_HTOD, dst, this.ref(nativeBuffer(src)), offset, bytes);
  }

  dtoh(dst: HostBuffer, offset: number, src: number, bytes: number): void {
    this.push5(OP_DTOH, this.ref(nativeBuffer(dst)), offset, src, bytes);
  }

  memset(dst: number, value: number, bytes: number): void {
    this.room(4);
    const w = this.words;
    const i = this.length;
    w[i] = OP_MEMSET;
    w[i + 1] = dst;
    w[i + 2] = value;
    w[i + 3] = bytes;
    this.length = i + 4;
    this.count++;
  }

  launch(kernel: number, grid: Dim3, block: Dim3, sharedMem: number, args: KernelArgs): void {
    // The arguments are copied now, so one KernelArgs can be refilled for the next launch of the batch.
    const valuesOff = this.argBytes(args.values(), args.byteLength);
    const layout = args.layout();
    const descOff = this.argLayout(layout);
    this.room(15);
    const [gx, gy, gz] = dim3(grid);
    const [bx, by, bz] = dim3(block);
    const w = this.words;
    const i = this.length;
    w[i] = OP_LAUNCH;
    w[i + 1] = kernel;
    w[i + 2] = gx;
    w[i + 3] = gy;
    w[i + 4] = gz;
    w[i + 5] = bx;
    w[i + 6] = by;
    w[i + 7] = bz;
    w[i + 8] = sharedMem;
    w[i + 9] = this.valuesRef;
    w[i + 10] = valuesOff;
    w[i + 11] = args.byteLength;
    w[i + 12] = this.descRef;
    w[i + 13] = descOff;
    w[i + 14] = layout.length;
    this.length = i + 15;
    this.count++;
  }

  record(event: number): void {
    this.room(2);
    this.words[this.length] = OP_RECORD;
    this.words[this.length + 1] = event;
    this.length += 2;
    this.count++;
  }

  /** Empties the batch (keeps its storage). */
  clear(): void {
    this.length = 0;
    this.count = 0;
    this.refs.length = 0;
    this.valuesUsed = 0;
    this.valuesRef = -1;
    this.descUsed = 0;
    this.descRef = -1;
  }

  // Appends a launch's parameter bytes at a 16-byte boundary, so offsets inside keep their alignment.
  private argBytes(src: Uint8Array, bytes: number): number {
    const at = (this.valuesUsed + 15) & ~15;
    if (at + bytes > this.values.length) {
      const bigger = new Uint8Array(Math.max(this.values.length * 2, at + bytes));
      bigger.set(this.values.subarray(0, this.valuesUsed));
      this.values = bigger;
      if (this.valuesRef >= 0) this.refs[this.valuesRef] = bigger;
    }
    if (this.valuesRef < 0) this.valuesRef = this.ref(this.values);
    this.values.set(src.subarray(0, bytes), at);
    this.valuesUsed = at + bytes;
    return at;
  }

  private argLayout(src: Uint32Array): number {
    const at = this.descUsed;
    if (at + src.length > this.desc.length) {
      const bigger = new Uint32Array(Math.max(this.desc.length * 2, at + src.length));
      bigger.set(this.desc.subarray(0, this.descUsed));
      this.desc = bigger;
      if (this.descRef >= 0) this.refs[this.descRef] = bigger;
    }
    if (this.descRef < 0) this.descRef = this.ref(this.desc);
    this.desc.set(src, at);
    this.descUsed = at + src.length;
    return at;
  }

  private ref(v: unknown): number {
    this.refs.push(v);
    return this.refs.length - 1;
  }

  private push5(op: number, a: number, b: number, c: number, d: number): void {
    this.room(5);
    const w = this.words;
    const i = this.length;
    w[i] = op;
    w[i + 1] = a;
    w[i + 2] = b;
    w[i + 3] = c;
    w[i + 4] = d;
    this.length = i + 5;
    this.count++;
  }

  private room(n: number): void {
    if (this.length + n <= this.words.length) return;
    const bigger = new Float64Array(Math.max(this.words.length * 2, this.length + n));
    bigger.set(this.words.subarray(0, this.length));
    this.words = bigger;
  }
}
