import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuDevice, KernelArgs, buildHostKernel, cachedHostKernel, hostCompiler, packageRoot, type GpuModule } from '../src/index.js';
import { buildLpm, randomAddresses, randomRoutes, referenceLookup } from './lpm-fixture.js';

const root = join(__dirname, '..', '..', '..');
const lpmCu = join(root, 'packages/nf-router/kernels/lpm.cu');
const lpmPtx = join(root, 'packages/nf-router/kernels/lpm.ptx');
const cxx = hostCompiler();
if (!cxx) console.log('skipped emulated-device tests: no host C++ compiler (install g++ or set CXX)');

/** Runs `code` in a worker that posts one message and exits without closing; resolves to the message. */
function lastWords(code: string): Promise<{ d: number; h: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    let msg: { d: number; h: number } | undefined;
    w.once('message', (m) => (msg = m));
    w.once('error', reject);
    w.once('exit', () => (msg ? resolve(msg) : reject(new Error('worker sent nothing'))));
  });
}

describe.skipIf(!cxx)('emulated device', () => {
  let dev: GpuDevice;
  let lpm: GpuModule;
  let tmp: string;

  beforeAll(() => {
    buildHostKernel(lpmCu); // the kernels target's output; a no-op when it is fresh
    dev = GpuDevice.open({ mode: 'emulated' });
    lpm = dev.loadModule(lpmPtx);
    tmp = mkdtempSync(join(tmpdir(), 'gnet-emu-'));
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('opens, and opening again in the thread returns the same device', () => {
    expect(dev.mode).toBe('emulated');
    expect(dev.reason).toBeUndefined(); // asked for explicitly
    expect(dev.emulatorThreads).toBeGreaterThan(0);
    expect(dev.computeCapability).toBe('emulated');
    expect(GpuDevice.open({ mode: 'auto' })).toBe(dev);
    expect(() => GpuDevice.open({ mode: 'gpu' })).toThrow(expect.objectContaining({ code: 'GNET_MODE_CONFLICT' }));
  });

  it('loads the router module from its .ptx path through the sibling host build', () => {
    expect(lpm.path.endsWith('lpm.host.so')).toBe(true);
    expect(lpm.entries).toEqual(['gnet_lpm_lookup']);
    expect(lpm.kernel('gnet_lpm_lookup').paramCount).toBe(5);
  });

  it('runs gnet_lpm_lookup over 10,000 addresses and matches a plain longest-prefix match', () => {
    const routes = randomRoutes(300, 7);
    const t = buildLpm(routes);
    const n = 10_000;
    const addrs = randomAddresses(routes, n, 8);
    const d24 = dev.malloc(t.tbl24.byteLength);
    const d8 = dev.malloc(t.tbl8.byteLength);
    const dAddrs = dev.malloc(n * 4);
    const dHops = dev.malloc(n * 4);
    dev.memcpyHtoD(d24, t.tbl24, 0, t.tbl24.byteLength);
    dev.memcpyHtoD(d8, t.tbl8, 0, t.tbl8.byteLength);
    dev.memcpyHtoD(dAddrs, addrs, 0, n * 4);
    const args = new KernelArgs().ptr(d24).ptr(d8).ptr(dAddrs).ptr(dHops).u32(n);
    expect(dev.launch(lpm, 'gnet_lpm_lookup', { grid: Math.ceil(n / 256), block: 256 }, args)).toBe(0);
    const hops = new Int32Array(n);
    dev.memcpyDtoH(hops, 0, dHops, n * 4);
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const want = referenceLookup(routes, addrs[i]);
      if (hops[i] !== want) expect.fail(`address ${addrs[i]}: kernel says ${hops[i]}, longest prefix match says ${want}`);
      if (want >= 0) hits++;
    }
    expect(hits).toBeGreaterThan(n / 2 - 100); // half the addresses were drawn inside routes
    for (const p of [d24, d8, dAddrs, dHops]) dev.free(p);
  });

  it('runs a whole batch (HtoD, launch, DtoH) with one submit, completing as one ticket', () => {
    const routes = randomRoutes(50, 3);
    const t = buildLpm(routes);
    const n = 4096;
    const d24 = dev.malloc(t.tbl24.byteLength);
    const d8 = dev.malloc(t.tbl8.byteLength);
    const dAddrs = dev.malloc(n * 4);
    const dHops = dev.malloc(n * 4);
    dev.memcpyHtoD(d24, t.tbl24, 0, t.tbl24.byteLength);
    dev.memcpyHtoD(d8, t.tbl8, 0, t.tbl8.byteLength);
    // Pinned host buffers, as G-NET's workers use: written by JS, read by the device.
    const hIn = dev.hostAlloc(n * 4);
    const hOut = dev.hostAlloc(n * 4);
    const s = dev.stream(1);
    expect(dev.stream(1)).toBe(s);
    const args = new KernelArgs();
    const tickets: number[] = [];
    const inputs: Uint32Array[] = [];
    for (let round = 0; round < 3; round++) {
      const addrs = randomAddresses(routes, n, 100 + round);
      inputs.push(addrs);
      new Uint32Array(hIn.buffer).set(addrs);
      args.reset().ptr(d24).ptr(d8).ptr(dAddrs).ptr(dHops).u32(n);
      s.htod(dAddrs, hIn.buffer, 0, n * 4)
        .launch(lpm, 'gnet_lpm_lookup', { grid: n / 256, block: 256 }, args)
        .dtoh(hOut.buffer, 0, dHops, n * 4);
      expect(s.pending).toBe(3);
      const ticket = s.submit();
      expect(s.pending).toBe(0);
      tickets.push(ticket);
      s.wait(ticket); // the pinned buffers are reused next round
      expect(s.done(ticket)).toBe(true);
      const hops = new Int32Array(hOut.buffer);
      for (let i = 0; i < n; i += 97) expect(hops[i]).toBe(referenceLookup(routes, addrs[i]));
    }
    expect(tickets).toEqual([tickets[0], tickets[0] + 1, tickets[0] + 2]);
    expect(Atomics.load(s.status, 0)).toBe(tickets[2]);
    expect(Atomics.load(s.status, 1)).toBe(tickets[2]);
    for (const p of [d24, d8, dAddrs, dHops, hIn.ptr, hOut.ptr]) dev.free(p);
  });

  it('runs tickets in order, lets done() poll without blocking, and synchronize() drain', () => {
    const bytes = 8 << 20;
    const d = dev.malloc(bytes);
    const big = new Uint8Array(bytes).fill(1);
    const out = new Uint8Array(bytes);
    const s = dev.stream(2);
    const t1 = s.memset(d, 7, bytes).submit();
    const t2 = s.htod(d, big, 0, bytes).submit();
    const t3 = s.dtoh(out, 0, d, bytes).submit();
    expect([t2 - t1, t3 - t2]).toEqual([1, 1]);
    // Each done() is one Atomics.load; order means t1 completes no later than t3.
    let seenT3BeforeT1 = false;
    while (!s.done(t3)) if (s.done(t3) && !s.done(t1)) seenT3BeforeT1 = true;
    expect(seenT3BeforeT1).toBe(false);
    expect(out[0]).toBe(1); // the memset ran before the copy
    expect(out[bytes - 1]).toBe(1);
    s.memset(d, 9, bytes);
    expect(s.pending).toBe(1);
    dev.synchronize(); // submits what is queued and waits for every stream
    expect(s.pending).toBe(0);
    expect(s.done()).toBe(true);
    dev.memcpyDtoH(out, 0, d, 16);
    expect(out[0]).toBe(9);
    dev.free(d);
  });

  it('shares host memory with JS: the ArrayBuffer is the allocation, detached when freed', () => {
    const h = dev.hostAlloc(1024);
    expect(h.buffer.byteLength).toBe(1024);
    expect(new Uint8Array(h.buffer).every((b) => b === 0)).toBe(true);
    const d = dev.malloc(1024);
    new Uint8Array(h.buffer).fill(0x5a);
    dev.memcpyHtoD(d, h.buffer, 0, 1024);
    new Uint8Array(h.buffer).fill(0);
    dev.memcpyDtoH(h.buffer, 0, d, 1024);
    expect(new Uint8Array(h.buffer)[1023]).toBe(0x5a);
    const again = dev.hostBuffer(h.ptr);
    expect(new Uint8Array(again)[0]).toBe(0x5a); // the same memory, another ArrayBuffer
    dev.free(h.ptr);
    expect(h.buffer.byteLength).toBe(0);
    expect(again.byteLength).toBe(0);
    expect(() => dev.memcpyHtoD(d, h.buffer, 0, 16)).toThrow(expect.objectContaining({ code: 'GNET_OUT_OF_RANGE' }));
    dev.free(d);
  });

  it('times work with events (record start / elapsed)', () => {
    const s = dev.stream(4);
    const d = dev.malloc(32 << 20);
    const start = dev.recordStart(s);
    s.memset(d, 1, 32 << 20).submit();
    const ms = dev.elapsed(start, s);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(10_000);
    const a = dev.createEvent();
    const b = dev.createEvent();
    expect(() => dev.elapsedMs(a, b)).toThrow(expect.objectContaining({ code: 'GNET_EVENT_NOT_RECORDED' }));
    s.record(a).memset(d, 2, 1 << 20).record(b).submit();
    expect(dev.elapsedMs(a, b)).toBeGreaterThanOrEqual(0);
    for (const e of [start, a, b]) e.destroy();
    dev.free(d);
  });

  it('launches on every stream of the process at once (launch on all streams)', () => {
    const n = 256;
    const t = buildLpm(randomRoutes(10, 5));
    const d24 = dev.malloc(t.tbl24.byteLength);
    const d8 = dev.malloc(t.tbl8.byteLength);
    const dA = dev.malloc(n * 4);
    const dH = dev.malloc(n * 4);
    dev.memcpyHtoD(d24, t.tbl24, 0, t.tbl24.byteLength);
    dev.memcpyHtoD(d8, t.tbl8, 0, t.tbl8.byteLength);
    dev.memset(dA, 0, n * 4);
    dev.memset(dH, 0xff, n * 4);
    const before = [dev.stream(1), dev.stream(2), dev.stream(4)].map((s) => s.lastTicket);
    const count = dev.launchAll(lpm, 'gnet_lpm_lookup', { grid: 1, block: n }, new KernelArgs().ptr(d24).ptr(d8).ptr(dA).ptr(dH).u32(n));
    expect(count).toBeGreaterThanOrEqual(3);
    dev.synchronize();
    const hops = new Int32Array(n);
    dev.memcpyDtoH(hops, 0, dH, n * 4);
    expect(hops[0]).toBe(t.tbl24[0] & 0x80000000 ? t.tbl24[0] & 0x3fffffff : -1);
    for (const [i, s] of [dev.stream(1), dev.stream(2), dev.stream(4)].entries()) expect(Atomics.load(s.status, 0)).toBeGreaterThan(before[i]);
    for (const p of [d24, d8, dA, dH]) dev.free(p);
  });

  describe('errors', () => {
    it('bad module paths, a missing host build, and an unknown entry say what to do', () => {
      expect(() => dev.loadModule('/nonexistent/k.ptx')).toThrow(expect.objectContaining({ code: 'GNET_MODULE_LOAD' }));
      const ptxOnly = join(tmp, 'only.ptx');
      writeFileSync(ptxOnly, '// nothing\n');
      expect(() => dev.loadModule(ptxOnly)).toThrow(expect.objectContaining({ code: 'GNET_NO_HOST_MODULE', message: expect.stringContaining('gnet-compile-kernels') }));
      const notModule = join(tmp, 'junk.host.so');
      writeFileSync(notModule, 'not an ELF file');
      expect(() => dev.loadModule(notModule)).toThrow(expect.objectContaining({ code: 'GNET_MODULE_LOAD' }));
      expect(() => lpm.kernel('gnet_no_such_kernel')).toThrow(
        expect.objectContaining({ code: 'GNET_UNKNOWN_ENTRY', message: expect.stringContaining('entries: gnet_lpm_lookup') }),
      );
    });

    it('a kernel shipped without its host build (an installed package) is built once into the user cache', () => {
      const pkg = join(tmp, 'installed', 'kernels');
      const cache = join(tmp, 'kcache');
      mkdirSync(pkg, { recursive: true });
      copyFileSync(lpmCu, join(pkg, 'lpm.cu'));
      writeFileSync(join(pkg, 'lpm.ptx'), '// the PTX a GPU would load\n');
      const before = process.env.GNET_KERNEL_CACHE;
      process.env.GNET_KERNEL_CACHE = cache;
      try {
        const mod = dev.loadModule(join(pkg, 'lpm.ptx'));
        expect(mod.entries).toEqual(['gnet_lpm_lookup']);
        expect(mod.path.startsWith(cache)).toBe(true);
        expect(existsSync(join(pkg, 'lpm.host.so'))).toBe(false); // the package folder is not written
        expect(cachedHostKernel(join(pkg, 'lpm.cu'))).toMatchObject({ soPath: mod.path, state: 'fresh' });
      } finally {
        if (before === undefined) delete process.env.GNET_KERNEL_CACHE;
        else process.env.GNET_KERNEL_CACHE = before;
      }
    });

    it('a host build older than its .cu is refused as stale', () => {
      const cu = join(tmp, 'lpm.cu');
      copyFileSync(lpmCu, cu);
      const built = buildHostKernel(cu);
      expect(built.state).toBe('built');
      expect(buildHostKernel(cu).state).toBe('fresh');
      expect(dev.loadModule(join(tmp, 'lpm.ptx')).entries).toEqual(['gnet_lpm_lookup']);
      writeFileSync(cu, readFileSync(cu, 'utf8') + '\n// changed\n');
      expect(() => dev.loadModule(join(tmp, 'lpm.ptx'))).toThrow(expect.objectContaining({ code: 'GNET_STALE_MODULE' }));
    });

    it('a launch with the wrong argument count, size or shape is refused before it runs', () => {
      const d = dev.malloc(1024);
      const cfg = { grid: 1, block: 32 };
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', cfg, new KernelArgs().ptr(d).ptr(d).ptr(d).ptr(d))).toThrow(
        expect.objectContaining({ code: 'GNET_BAD_ARGS', message: expect.stringContaining('takes 5 argument(s), got 4') }),
      );
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', cfg, new KernelArgs().ptr(d).ptr(d).ptr(d).ptr(d).u64(1))).toThrow(
        expect.objectContaining({ code: 'GNET_BAD_ARGS', message: expect.stringContaining('argument 4 of gnet_lpm_lookup is 4 bytes, got u64') }),
      );
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', cfg, new KernelArgs().ptr(d).ptr(d).ptr(d).u32(1).u32(1))).toThrow(
        expect.objectContaining({ code: 'GNET_BAD_ARGS' }),
      );
      const ok = new KernelArgs().ptr(d).ptr(d).ptr(d).ptr(d).u32(0);
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', { grid: 1, block: 2048 }, ok)).toThrow(expect.objectContaining({ code: 'GNET_BAD_LAUNCH' }));
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', { grid: 0, block: 32 }, ok)).toThrow(expect.objectContaining({ code: 'GNET_BAD_LAUNCH' }));
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', { grid: 1, block: 32, sharedMem: 1 << 20 }, ok)).toThrow(
        expect.objectContaining({ code: 'GNET_BAD_LAUNCH' }),
      );
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', cfg, new KernelArgs().ptr(d).ptr(d).ptr(0xdead0000).ptr(d).u32(0))).toThrow(
        expect.objectContaining({ code: 'GNET_BAD_POINTER' }),
      );
      dev.launch(lpm, 'gnet_lpm_lookup', cfg, ok); // n = 0: every thread returns at once
      dev.free(d);
    });

    it('use after free is named as such: copies, kernel pointers, double free', () => {
      const d = dev.malloc(4096);
      const host = new Uint8Array(64);
      dev.free(d);
      const uaf = expect.objectContaining({ code: 'GNET_USE_AFTER_FREE' });
      expect(() => dev.memcpyHtoD(d, host, 0, 64)).toThrow(uaf);
      expect(() => dev.memcpyDtoH(host, 0, d + 128, 64)).toThrow(uaf);
      expect(() => dev.stream(1).memset(d, 0, 64).submit()).toThrow(uaf);
      expect(dev.stream(1).pending).toBe(0); // a refused batch leaves nothing queued
      const args = new KernelArgs().ptr(d).ptr(d).ptr(d).ptr(d).u32(1);
      expect(() => dev.launch(lpm, 'gnet_lpm_lookup', { grid: 1, block: 1 }, args)).toThrow(uaf);
      expect(() => dev.free(d)).toThrow(expect.objectContaining({ code: 'GNET_USE_AFTER_FREE', message: expect.stringContaining('already freed') }));
      expect(() => dev.free(12345)).toThrow(expect.objectContaining({ code: 'GNET_BAD_POINTER' }));
    });

    it('copies are bounded by both the device allocation and the host buffer', () => {
      const d = dev.malloc(100);
      expect(() => dev.memcpyHtoD(d, new Uint8Array(200), 0, 200)).toThrow(
        expect.objectContaining({ code: 'GNET_OUT_OF_RANGE', message: expect.stringContaining('runs past the end') }),
      );
      expect(() => dev.memcpyHtoD(d, new Uint8Array(10), 5, 10)).toThrow(expect.objectContaining({ code: 'GNET_OUT_OF_RANGE' }));
      const h = dev.hostAlloc(64);
      expect(() => dev.memcpyHtoD(h.ptr, new Uint8Array(8), 0, 8)).toThrow(
        expect.objectContaining({ code: 'GNET_BAD_POINTER', message: expect.stringContaining('host memory') }),
      );
      dev.free(h.ptr);
      dev.free(d);
    });

    it('a closed stream refuses work; its client id can open a new one', () => {
      const s = dev.stream(9);
      s.close();
      expect(() => s.memset(0, 0, 0).submit()).toThrow(expect.objectContaining({ code: 'GNET_CLOSED' }));
      const again = dev.stream(9);
      expect(again).not.toBe(s);
      expect(again.lastTicket).toBe(0);
    });
  });

  it('serves worker threads from the same device: shared pointers, their own streams', async () => {
    const d = dev.malloc(1024);
    dev.memset(d, 0x11, 1024);
    const h = dev.hostAlloc(64);
    new Uint8Array(h.buffer).fill(0x22);
    const dist = join(packageRoot, 'dist', 'index.cjs');
    expect(existsSync(dist)).toBe(true);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(${JSON.stringify(dist)});
      const dev = m.GpuDevice.open({ mode: 'auto' });
      const s = dev.stream(77);
      const out = new Uint8Array(1024);
      s.dtoh(out, 0, workerData.d, 1024).submit();
      s.wait();
      const pinned = new Uint8Array(dev.hostBuffer(workerData.h));
      let busy = null;
      try { dev.stream(1); } catch (e) { busy = e.code; }
      s.memset(workerData.d, 0x33, 512).submit();
      s.synchronize();
      parentPort.postMessage({ mode: dev.mode, first: out[0], last: out[1023], pinned: pinned[63], busy });
      dev.close();`;
    const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { d, h: h.ptr } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(result).toEqual({ mode: 'emulated', first: 0x11, last: 0x11, pinned: 0x22, busy: 'GNET_CLIENT_BUSY' });
    const back = new Uint8Array(1024);
    dev.memcpyDtoH(back, 0, d, 1024);
    expect([back[0], back[511], back[512]]).toEqual([0x33, 0x33, 0x11]);
    dev.free(d);
    dev.free(h.ptr);
  });

  it('shares named allocations across threads for the life of the process', async () => {
    const d = dev.sharedMalloc('test.shared.column', 4096);
    const h = dev.sharedHostAlloc('test.shared.epochs', 256);
    const zero = new Uint8Array(4096);
    dev.memcpyDtoH(zero, 0, d, 4096);
    expect(zero.every((b) => b === 0)).toBe(true); // zeroed when made
    expect(dev.sharedMalloc('test.shared.column', 4096)).toBe(d);
    expect(() => dev.sharedMalloc('test.shared.column', 8192)).toThrow(expect.objectContaining({ code: 'GNET_SHARED_SIZE' }));
    expect(() => dev.sharedHostAlloc('test.shared.epochs', 8)).toThrow(expect.objectContaining({ code: 'GNET_SHARED_SIZE' }));
    expect(() => dev.sharedMalloc('', 4)).toThrow(/non-empty string/);
    expect(() => dev.free(d)).toThrow(expect.objectContaining({ code: 'GNET_BAD_POINTER' }));
    const dist = join(packageRoot, 'dist', 'index.cjs');
    // A worker finds both by name, writes them and exits without closing: they stay.
    const code = `
      const { parentPort } = require('node:worker_threads');
      const m = require(${JSON.stringify(dist)});
      const dev = m.GpuDevice.open();
      const d = dev.sharedMalloc('test.shared.column', 4096);
      const h = dev.sharedHostAlloc('test.shared.epochs', 256);
      new Uint32Array(h.buffer)[3] = 77;
      dev.memset(d, 0x44, 4096);
      parentPort.postMessage({ d, h: h.ptr });`;
    const seen = await lastWords(code);
    expect(seen).toEqual({ d, h: h.ptr });
    expect(new Uint32Array(h.buffer)[3]).toBe(77);
    const back = new Uint8Array(4096);
    dev.memcpyDtoH(back, 0, d, 4096);
    expect(back[4095]).toBe(0x44);
  });

  it('a worker that exits without closing releases its streams and allocations', async () => {
    const dist = join(packageRoot, 'dist', 'index.cjs');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const m = require(${JSON.stringify(dist)});
      const dev = m.GpuDevice.open();
      const d = dev.malloc(1 << 20);
      const h = dev.hostAlloc(4096);
      const s = dev.stream(55);
      for (let i = 0; i < 8; i++) s.memset(d, i, 1 << 20).htod(d, h.buffer, 0, 4096).submit(); // left in flight
      parentPort.postMessage({ d, h: h.ptr });`;
    const left = await lastWords(code);
    expect(() => dev.free(left.d)).toThrow(expect.objectContaining({ code: 'GNET_USE_AFTER_FREE' }));
    expect(() => dev.hostBuffer(left.h)).toThrow(expect.objectContaining({ code: 'GNET_USE_AFTER_FREE' }));
    expect(dev.stream(55).lastTicket).toBe(0); // the client id is free again
  });

  it('close() releases the thread\'s allocations; the device can be opened again', () => {
    const d = dev.malloc(64);
    const h = dev.hostAlloc(64);
    dev.close();
    expect(dev.closed).toBe(true);
    expect(h.buffer.byteLength).toBe(0);
    expect(() => dev.malloc(1)).toThrow(expect.objectContaining({ code: 'GNET_CLOSED' }));
    const again = GpuDevice.open();
    expect(again).not.toBe(dev);
    expect(again.mode).toBe('emulated');
    expect(() => again.free(d)).toThrow(expect.objectContaining({ code: 'GNET_USE_AFTER_FREE' }));
    dev = again;
  });
});
