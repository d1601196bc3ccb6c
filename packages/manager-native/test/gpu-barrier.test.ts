import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuDevice, KernelArgs, buildHostKernel, hostCompiler, kernelIncludeDir, ptxEntries, type GpuModule } from '../src/index.js';
import { rng } from './lpm-fixture.js';

// Block semantics of the emulated device: shared memory, a real __syncthreads() between a block's
// threads (fibers), its reducing forms, and atomics across blocks that run in parallel.
const cu = join(__dirname, 'kernels', 'barrier.cu');
const cxx = hostCompiler();
const hasNvcc = spawnSync(process.env.NVCC ?? 'nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
if (!cxx) console.log('skipped barrier tests: no host C++ compiler (install g++ or set CXX)');
if (!hasNvcc) console.log('skipped the PTX check of the test kernels: nvcc not found (install the CUDA toolkit)');

describe.skipIf(!cxx)('emulated blocks: shared memory, barriers, atomics', () => {
  let dir: string;
  let dev: GpuDevice;
  let mod: GpuModule;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gnet-barrier-'));
    const built = buildHostKernel(cu, { out: join(dir, 'barrier.host.so') });
    expect(built.entries).toEqual(['gnet_test_block_sum', 'gnet_test_rotate', 'gnet_test_atomics', 'gnet_test_early_exit']);
    dev = GpuDevice.open({ mode: 'emulated' });
    mod = dev.loadModule(built.soPath);
  });
  afterAll(() => {
    dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a shared-memory tree sum needs every round to see the last: block sums and the atomic total are exact', () => {
    const n = 50_000;
    const block = 256;
    const grid = Math.ceil(n / block);
    const next = rng(11);
    const input = new Uint32Array(n).map(() => next() % 1000);
    const dIn = dev.malloc(n * 4);
    const dSums = dev.malloc(grid * 4);
    const dTotal = dev.malloc(8);
    dev.memcpyHtoD(dIn, input, 0, n * 4);
    dev.memset(dTotal, 0, 8);
    dev.launch(mod, 'gnet_test_block_sum', { grid, block }, new KernelArgs().ptr(dIn).u32(n).ptr(dSums).ptr(dTotal));
    const sums = new Uint32Array(grid);
    const total = new BigUint64Array(1);
    dev.memcpyDtoH(sums, 0, dSums, grid * 4);
    dev.memcpyDtoH(total, 0, dTotal, 8);
    for (let b = 0; b < grid; b++) {
      let want = 0;
      for (let i = b * block; i < Math.min(n, (b + 1) * block); i++) want += input[i];
      expect(sums[b], `block ${b}`).toBe(want);
    }
    expect(total[0]).toBe(BigInt(input.reduce((a, v) => a + v, 0)));
    for (const p of [dIn, dSums, dTotal]) dev.free(p);
  });

  it('2-D blocks pass values through dynamic shared memory; __syncthreads_count/_and/_or reduce over the block', () => {
    const bx = 16;
    const by = 8;
    const threads = bx * by;
    const blocks = 40;
    const m = threads * blocks;
    const input = new Int32Array(m).map((_, i) => (i * 7) % 13);
    // Block 1 all odd, block 2 all even: the and/or forms see both extremes.
    input.fill(1, threads, 2 * threads);
    input.fill(2, 2 * threads, 3 * threads);
    const [dIn, dOut, dCounts, dFlags] = [m * 4, m * 4, blocks * 4, blocks * 4].map((b) => dev.malloc(b));
    dev.memcpyHtoD(dIn, input, 0, m * 4);
    const s = dev.stream(1);
    const out = new Int32Array(m);
    const counts = new Int32Array(blocks);
    const flags = new Int32Array(blocks);
    s.launch(mod, 'gnet_test_rotate', { grid: blocks, block: [bx, by], sharedMem: threads * 4 }, new KernelArgs().ptr(dIn).ptr(dOut).ptr(dCounts).ptr(dFlags))
      .dtoh(out, 0, dOut, m * 4)
      .dtoh(counts, 0, dCounts, blocks * 4)
      .dtoh(flags, 0, dFlags, blocks * 4)
      .synchronize();
    for (let b = 0; b < blocks; b++) {
      let odd = 0;
      for (let t = 0; t < threads; t++) {
        expect(out[b * threads + t]).toBe(input[b * threads + ((t + 1) % threads)]);
        odd += input[b * threads + t] & 1;
      }
      expect(counts[b]).toBe(odd);
      expect(flags[b]).toBe(((odd > 0 ? 1 : 0) << 1) | (odd === threads ? 1 : 0));
    }
    expect(flags[1]).toBe(3);
    expect(flags[2]).toBe(0);
    for (const p of [dIn, dOut, dCounts, dFlags]) dev.free(p);
  });

  it('threads that return before the barrier count as arrived', () => {
    const active = 100;
    const blocks = 30;
    const input = new Int32Array(active * blocks).map((_, i) => i * 3);
    const dIn = dev.malloc(input.byteLength);
    const dOut = dev.malloc(input.byteLength);
    dev.memcpyHtoD(dIn, input, 0, input.byteLength);
    dev.launch(mod, 'gnet_test_early_exit', { grid: blocks, block: 128 }, new KernelArgs().ptr(dIn).ptr(dOut).u32(active));
    const out = new Int32Array(input.length);
    dev.memcpyDtoH(out, 0, dOut, out.byteLength);
    for (let b = 0; b < blocks; b++)
      for (let t = 0; t < active; t++) expect(out[b * active + t]).toBe(input[b * active + ((t + 1) % active)]);
    dev.free(dIn);
    dev.free(dOut);
  });

  it('32-bit atomics are exact across blocks running on several threads', () => {
    const n = 100_000;
    const dC = dev.malloc(6 * 4);
    const dClaims = dev.malloc(8 * 4);
    dev.memcpyHtoD(dC, new Int32Array([0, -1, 0x7fffffff, 0, 0, 0]), 0, 24);
    dev.memset(dClaims, 0, 32);
    dev.launch(mod, 'gnet_test_atomics', { grid: Math.ceil(n / 128), block: 128 }, new KernelArgs().ptr(dC).ptr(dClaims).u32(n));
    const c = new Int32Array(6);
    const claims = new Uint32Array(8);
    dev.memcpyDtoH(c, 0, dC, 24);
    dev.memcpyDtoH(claims, 0, dClaims, 32);
    let xor = 0;
    for (let i = 0; i < n; i++) xor ^= i;
    expect([...c]).toEqual([n, n - 1, 0, 8, xor, 7]);
    claims.forEach((v, slot) => {
      expect(v).toBeGreaterThan(0);
      expect((v - 1) % 8).toBe(slot); // the winner's i + 1, and i % 8 is the slot
    });
    dev.free(dC);
    dev.free(dClaims);
  });

  it.skipIf(!hasNvcc)('the same source compiles to PTX that ptxas accepts for sm_80 and sm_90', () => {
    const ptx = join(dir, 'barrier.ptx');
    execFileSync(process.env.NVCC ?? 'nvcc', ['-ptx', '-arch=compute_80', '-std=c++17', '-I', kernelIncludeDir, '-o', ptx, cu]);
    for (const arch of ['sm_80', 'sm_90']) execFileSync('ptxas', [`-arch=${arch}`, '-o', join(dir, `${arch}.cubin`), ptx]);
    expect(ptxEntries(readFileSync(ptx, 'utf8'))).toEqual(['gnet_test_block_sum', 'gnet_test_rotate', 'gnet_test_atomics', 'gnet_test_early_exit']);
  });
});
