// GPU proxy benchmarks. mpps here = million LPM lookups (or request batches) per second.
//
//  - LPM: the router's gnet_lpm_lookup (packages/nf-router/kernels/lpm.cu) over 1M random addresses on
//    a random DIR-24-8 table: on the emulated device (kernel alone, and end to end: HtoD + launch +
//    DtoH as one batch) beside a plain JS loop doing the same lookups (the peer row); and, when a GPU is
//    present, on the GPU (kernel time by events, copy time by events, end to end by the wall clock).
//  - round trip: what one small batch (64-byte HtoD + DtoH) costs through each completion path, the
//    measurement behind running synchronous batches in the caller's thread on an idle emulated stream.
//
//   node packages/manager-native/bench/gpu-proxy.bench.mjs      (after `npm run build`)
//   BENCH_QUICK=1 ...                                             (fewer repetitions)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { GpuDevice, KernelArgs, buildHostKernel, gpuInfo, hostCompiler } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const lpmCu = join(here, '..', '..', 'nf-router', 'kernels', 'lpm.cu');
const lpmPtx = lpmCu.replace(/\.cu$/, '.ptx');
const quick = process.env.BENCH_QUICK === '1';
const reps = quick ? 3 : 7;
const N = 1 << 20;
const onGpu = process.argv.includes('--gpu');

function bench(row) {
  console.log(`BENCH ${JSON.stringify(row)}`);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds of `reps` runs of fn after one warm-up run. */
function timeIt(fn, n = reps) {
  fn();
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(t);
}

// ---- a random DIR-24-8 table (as lpm.cu reads it) and 1M random addresses ------------------------
function xorshift(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}
function randomTable(routes, seed) {
  const next = xorshift(seed);
  const list = [];
  for (let i = 0; i < routes; i++) {
    const len = i % 4 === 0 ? 25 + (next() % 8) : 8 + (next() % 17);
    list.push({ prefix: (next() & ~(0xffffffff >>> len)) >>> 0, len, nh: next() % 4096 });
  }
  list.sort((a, b) => a.len - b.len);
  const tbl24 = new Uint32Array(1 << 24);
  const groups = [];
  for (const r of list) {
    if (r.len <= 24) {
      tbl24.fill((0x80000000 | r.nh) >>> 0, r.prefix >>> 8, (r.prefix >>> 8) + 2 ** (24 - r.len));
      continue;
    }
    const idx = r.prefix >>> 8;
    let e = tbl24[idx];
    if ((e & 0x40000000) === 0) {
      groups.push(new Uint32Array(256).fill(e));
      e = (0xc0000000 | (groups.length - 1)) >>> 0;
      tbl24[idx] = e;
    }
    const lo = r.prefix & 0xff;
    groups[e & 0x3fffffff].fill((0x80000000 | r.nh) >>> 0, lo, lo + 2 ** (32 - r.len));
  }
  const tbl8 = new Uint32Array(Math.max(1, groups.length) * 256);
  groups.forEach((g, i) => tbl8.set(g, i * 256));
  const addrs = new Uint32Array(N);
  for (let i = 0; i < N; i++) addrs[i] = next();
  return { tbl24, tbl8, addrs };
}

function jsLookup(tbl24, tbl8, addrs, out) {
  for (let i = 0; i < addrs.length; i++) {
    const a = addrs[i];
    let e = tbl24[a >>> 8];
    if ((e & 0xc0000000) >>> 0 === 0xc0000000) e = tbl8[((e & 0x3fffffff) << 8) | (a & 0xff)]; // & yields int32
    out[i] = e & 0x80000000 ? e & 0x3fffffff : -1;
  }
}

function checkSame(a, b, what) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: lookup ${i} differs (${a[i]} vs ${b[i]})`);
}

const table = randomTable(20_000, 42);
const expected = new Int32Array(N);
const group = 'gpu-proxy: LPM lookup, 1M random addresses';

function lpmOnDevice(mode) {
  const dev = GpuDevice.open({ mode });
  const mod = dev.loadModule(lpmPtx);
  const { tbl24, tbl8, addrs } = table;
  const d24 = dev.malloc(tbl24.byteLength);
  const d8 = dev.malloc(tbl8.byteLength);
  const dA = dev.malloc(N * 4);
  const dH = dev.malloc(N * 4);
  dev.memcpyHtoD(d24, tbl24, 0, tbl24.byteLength);
  dev.memcpyHtoD(d8, tbl8, 0, tbl8.byteLength);
  const hIn = dev.hostAlloc(N * 4);
  const hOut = dev.hostAlloc(N * 4);
  new Uint32Array(hIn.buffer).set(addrs);
  const args = new KernelArgs().ptr(d24).ptr(d8).ptr(dA).ptr(dH).u32(N);
  const shape = { grid: N / 256, block: 256 };
  const s = dev.stream(1);
  const e2e = () => s.htod(dA, hIn.buffer, 0, N * 4).launch(mod, 'gnet_lpm_lookup', shape, args).dtoh(hOut.buffer, 0, dH, N * 4).synchronize();
  const e2eSec = timeIt(e2e);
  checkSame(new Int32Array(hOut.buffer), expected, `${mode} end to end`);
  const kernelSec = timeIt(() => s.launch(mod, 'gnet_lpm_lookup', shape, args).synchronize());
  const notes = `${dev.name}; 256 threads/block`;
  if (mode === 'emulated') {
    bench({ group, case: 'kernel only', impl: 'gnet emulated', mpps: N / kernelSec / 1e6, threads: dev.emulatorThreads, notes });
    bench({ group, case: 'HtoD + kernel + DtoH, one batch', impl: 'gnet emulated', mpps: N / e2eSec / 1e6, threads: dev.emulatorThreads, notes });
  } else {
    // Device-side times from events around each step of one batch.
    const ev = [0, 1, 2, 3].map(() => dev.createEvent());
    const kernelMs = [];
    const copyMs = [];
    for (let i = 0; i < reps; i++) {
      s.record(ev[0]).htod(dA, hIn.buffer, 0, N * 4).record(ev[1]).launch(mod, 'gnet_lpm_lookup', shape, args).record(ev[2]);
      s.dtoh(hOut.buffer, 0, dH, N * 4).record(ev[3]).synchronize();
      kernelMs.push(dev.elapsedMs(ev[1], ev[2]));
      copyMs.push(dev.elapsedMs(ev[0], ev[1]) + dev.elapsedMs(ev[2], ev[3]));
    }
    const k = median(kernelMs) / 1e3;
    const c = median(copyMs) / 1e3;
    bench({ group, case: 'kernel only (events)', impl: 'gnet gpu', mpps: N / k / 1e6, kernelUs: k * 1e6, notes });
    bench({ group, case: 'HtoD + DtoH copies (events)', impl: 'gnet gpu', mpps: N / c / 1e6, copyUs: c * 1e6, notes: `${notes}; 8 MB pinned` });
    bench({ group, case: 'HtoD + kernel + DtoH, one batch', impl: 'gnet gpu', mpps: N / e2eSec / 1e6, latencyUs: e2eSec * 1e6, notes });
    bench({ group, case: 'kernel only (wall, incl. submit+wait)', impl: 'gnet gpu', mpps: N / kernelSec / 1e6, notes });
  }
  if (mode === 'emulated') roundTrips(dev);
  dev.close();
}

// Per-batch cost of the request path with almost no work: 64 bytes in and out.
function roundTrips(dev) {
  const rt = 'gpu-proxy: request round trip (64-byte HtoD + DtoH batch)';
  const d = dev.malloc(64);
  const src = new Uint8Array(64).fill(1);
  const dst = new Uint8Array(64);
  const s = dev.stream(2);
  const iters = quick ? 2_000 : 20_000;
  const per = (fn) => timeIt(() => { for (let i = 0; i < iters; i++) fn(); }, 3) / iters;
  const queued = per(() => s.wait(s.htod(d, src, 0, 64).dtoh(dst, 0, d, 64).submit()));
  const inline = per(() => s.htod(d, src, 0, 64).dtoh(dst, 0, d, 64).submitSync());
  const direct = per(() => {
    dev.memcpyHtoD(d, src, 0, 64);
    dev.memcpyDtoH(dst, 0, d, 64);
  });
  const note = 'mpps = M batches/s';
  bench({ group: rt, case: 'submit() + wait(): stream executor thread', impl: 'gnet emulated', mpps: 1 / queued / 1e6, latencyUs: queued * 1e6, notes: note });
  bench({ group: rt, case: 'submitSync(): run in the caller when idle', impl: 'gnet emulated', mpps: 1 / inline / 1e6, latencyUs: inline * 1e6, notes: note });
  bench({ group: rt, case: 'two synchronous memcpy calls', impl: 'gnet emulated', mpps: 1 / direct / 1e6, latencyUs: direct * 1e6, notes: note });
  dev.free(d);
}

if (onGpu) {
  jsLookup(table.tbl24, table.tbl8, table.addrs, expected);
  lpmOnDevice('gpu');
} else {
  const jsSec = timeIt(() => jsLookup(table.tbl24, table.tbl8, table.addrs, expected));
  bench({ group, case: 'kernel only', impl: 'plain JS loop (peer)', mpps: N / jsSec / 1e6, threads: 1, notes: 'the same DIR-24-8 lookups in one JS thread' });
  if (hostCompiler()) {
    buildHostKernel(lpmCu);
    lpmOnDevice('emulated');
  } else console.log('emulated rows skipped: no host C++ compiler (g++)');
  const info = gpuInfo();
  if (info.available) {
    // One process serves one device: the GPU rows run in a child process.
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--gpu'], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  } else console.log(`gpu rows skipped: ${info.reason}`);
}
