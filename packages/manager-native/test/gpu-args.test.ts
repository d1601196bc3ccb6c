import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RequestBatch, dim3 } from '../src/gpu/batch.js';
import { GpuError, CudaError, KernelArgs, hostKernelEntries, ptxKernelParams, ticketReached, toGpuError } from '../src/index.js';

const root = join(__dirname, '..', '..', '..');

/** The layout as [type, offset, size] triples. */
const triples = (a: KernelArgs) => [...a.layout()].reduce<number[][]>((acc, v, i) => (i % 3 ? acc[acc.length - 1].push(v) : acc.push([v]), acc), []);

describe('KernelArgs: CUDA parameter-buffer layout', () => {
  it('places each argument at the next offset aligned for its type', () => {
    const a = new KernelArgs().u8(1).u32(2).ptr(0x1234_5678_9abc).u16(3).f64(1.5).f32(2.5).i64(-2n);
    // u8 @0, u32 @4, ptr @8, u16 @16, f64 @24, f32 @32, i64 @40
    expect(triples(a)).toEqual([
      [1, 0, 1],
      [5, 4, 4],
      [11, 8, 8],
      [3, 16, 2],
      [10, 24, 8],
      [9, 32, 4],
      [8, 40, 8],
    ]);
    expect(a.count).toBe(7);
    expect(a.byteLength).toBe(48);
    const v = new DataView(a.values().buffer);
    expect(v.getUint8(0)).toBe(1);
    expect(v.getUint32(4, true)).toBe(2);
    expect(v.getBigUint64(8, true)).toBe(0x1234_5678_9abcn);
    expect(v.getUint16(16, true)).toBe(3);
    expect(v.getFloat64(24, true)).toBe(1.5);
    expect(v.getFloat32(32, true)).toBe(2.5);
    expect(v.getBigInt64(40, true)).toBe(-2n);
  });

  it('aligns a struct to its stated alignment and copies its bytes', () => {
    const s = new Uint32Array([1, 2, 3, 4]);
    const a = new KernelArgs().u32(9).bytes(s, 16).u8(7);
    expect(triples(a)).toEqual([
      [5, 0, 4],
      [12, 16, 16],
      [1, 32, 1],
    ]);
    expect([...new Uint32Array(a.values().buffer, 16, 4)]).toEqual([1, 2, 3, 4]);
    expect(() => new KernelArgs().bytes(s, 3)).toThrow(/align/);
  });

  it('grows past its initial capacity without losing values, and reset() reuses it', () => {
    const a = new KernelArgs();
    for (let i = 0; i < 40; i++) a.ptr(i * 256);
    expect(a.count).toBe(40);
    const v = new DataView(a.values().buffer);
    for (let i = 0; i < 40; i++) expect(v.getUint32(i * 8, true)).toBe(i * 256);
    a.reset().u32(5);
    expect(a.count).toBe(1);
    expect(triples(a)).toEqual([[5, 0, 4]]);
  });

  it('rejects values that are not device pointers', () => {
    expect(() => new KernelArgs().ptr(-1)).toThrow(RangeError);
    expect(() => new KernelArgs().ptr(2 ** 53)).toThrow(RangeError);
    expect(() => new KernelArgs().ptr(1.5)).toThrow(RangeError);
  });
});

describe('PTX parameter layouts', () => {
  it('reads the shipped LPM kernel: four pointers and a u32', () => {
    const ptx = readFileSync(join(root, 'packages/nf-router/kernels/lpm.ptx'), 'utf8');
    const params = ptxKernelParams(ptx).get('gnet_lpm_lookup');
    expect(params?.map((p) => [p.size, p.align])).toEqual([
      [8, 8],
      [8, 8],
      [8, 8],
      [8, 8],
      [4, 4],
    ]);
  });

  it('reads pointer attributes, struct params, small types and parameterless entries', () => {
    const ptx = `
.visible .entry k1(
	.param .u64 .ptr .global .align 4 k1_param_0,
	.param .align 16 .b8 k1_param_1[32],
	.param .u8 k1_param_2,
	.param .f64 k1_param_3
)
{ ret; }
.visible .entry k2()
{ ret; }`;
    const m = ptxKernelParams(ptx);
    expect(m.get('k1')).toEqual([
      { size: 8, align: 8, type: 'u64' },
      { size: 32, align: 16, type: 'b8' },
      { size: 1, align: 1, type: 'u8' },
      { size: 8, align: 8, type: 'f64' },
    ]);
    expect(m.get('k2')).toEqual([]);
  });

  it('refuses a parameter it cannot read', () => {
    expect(() => ptxKernelParams('.entry k(.param .weird p)')).toThrow(/cannot read parameter/);
  });
});

describe('host kernel entries', () => {
  it('finds the extern "C" __global__ kernels of a source, ignoring comments', () => {
    const src = `// __global__ void commented(int x)
extern "C" __global__ void a(int* p) {}
/* extern "C" __global__ void b() {} */
extern "C" __global__ void __launch_bounds__(256) c(const uint32_t* __restrict__ q, uint32_t n) {}
static __device__ int helper(int x) { return x; }`;
    expect(hostKernelEntries(src)).toEqual(['a', 'c']);
    expect(hostKernelEntries(readFileSync(join(root, 'packages/nf-router/kernels/lpm.cu'), 'utf8'))).toEqual(['gnet_lpm_lookup']);
  });

  it('requires kernels to be extern "C", so entry names match on both devices', () => {
    expect(() => hostKernelEntries('__global__ void k(int* p) {}')).toThrow(/extern "C"/);
  });
});

describe('request batch encoding', () => {
  it('encodes every request type with its operands and copies launch arguments at queue time', () => {
    const b = new RequestBatch();
    const host = new Uint8Array(16);
    const sab = new SharedArrayBuffer(8);
    const args = new KernelArgs().ptr(4096).u32(7);
    b.htod(4096, host, 4, 8);
    b.dtoh(sab, 0, 4096, 8);
    b.memset(8192, 0xab, 64);
    b.launch(3, [10, 2], { x: 256 }, 128, args);
    args.reset().u32(99); // refilled right away: the queued launch keeps its own copy
    b.record(5);
    expect(b.count).toBe(5);
    expect([...b.words.subarray(0, b.length)]).toEqual([
      1, 4096, 0, 4, 8,
      2, 1, 0, 4096, 8,
      3, 8192, 0xab, 64,
      4, 3, 10, 2, 1, 256, 1, 1, 128, 2, 0, 12, 3, 0, 6,
      5, 5,
    ]);
    expect(b.refs[0]).toBe(host);
    expect(b.refs[1]).toBeInstanceOf(Uint8Array); // the SharedArrayBuffer, viewed for Node-API
    const values = new DataView((b.refs[2] as Uint8Array).buffer);
    expect(values.getUint32(0, true)).toBe(4096);
    expect(values.getUint32(8, true)).toBe(7);
    expect([...(b.refs[3] as Uint32Array).subarray(0, 6)]).toEqual([11, 0, 8, 5, 8, 4]);
    b.clear();
    expect(b.count).toBe(0);
    expect(b.length).toBe(0);
    expect(b.refs).toEqual([]);
  });

  it('puts each launch of a batch at a 16-byte boundary of one argument arena', () => {
    const b = new RequestBatch();
    b.launch(1, 1, 1, 0, new KernelArgs().u8(1));
    b.launch(1, 1, 1, 0, new KernelArgs().u32(2).u32(3));
    const w = [...b.words.subarray(0, b.length)];
    expect([w[10], w[11], w[13], w[14]]).toEqual([0, 1, 0, 3]);
    expect([w[15 + 10], w[15 + 11], w[15 + 13], w[15 + 14]]).toEqual([16, 8, 3, 6]);
    expect(b.refs.length).toBe(2);
  });

  it('normalises grid and block dimensions', () => {
    expect(dim3(5)).toEqual([5, 1, 1]);
    expect(dim3([2, 3])).toEqual([2, 3, 1]);
    expect(dim3({ x: 4, z: 2 })).toEqual([4, 1, 2]);
  });
});

describe('tickets and errors', () => {
  it('compares tickets as serial numbers across the 2^32 wrap', () => {
    expect(ticketReached(5, 5)).toBe(true);
    expect(ticketReached(4, 5)).toBe(false);
    expect(ticketReached(6, 5)).toBe(true);
    // done has wrapped past 2^31 into negative Int32 words; tickets are compared by distance.
    expect(ticketReached(-2147483647, 2147483647)).toBe(true);
    expect(ticketReached(2147483647, -2147483647)).toBe(false);
    expect(ticketReached(1, -1)).toBe(true);
  });

  it('types native errors: CUDA failures keep the call, the result and its name', () => {
    const cuda = toGpuError(Object.assign(new Error('cuMemAlloc_v2 failed'), { code: 'CUDA_ERROR_OUT_OF_MEMORY', call: 'cuMemAlloc_v2', result: 2 }));
    expect(cuda).toBeInstanceOf(CudaError);
    expect(cuda).toBeInstanceOf(GpuError);
    expect(cuda).toMatchObject({ name: 'CudaError', code: 'CUDA_ERROR_OUT_OF_MEMORY', call: 'cuMemAlloc_v2', result: 2 });
    const gnet = toGpuError(Object.assign(new Error('freed'), { code: 'GNET_USE_AFTER_FREE' }));
    expect(gnet).toBeInstanceOf(GpuError);
    expect(gnet).not.toBeInstanceOf(CudaError);
    const plain = new TypeError('x');
    expect(toGpuError(plain)).toBe(plain);
  });
});
