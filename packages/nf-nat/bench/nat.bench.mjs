// The NAT on 64 B UDP frames with 1M concurrent flows (2^20 inside endpoints, each its own mapping
// and session), one core:
// (1) the engine alone, as the NF worker runs it (batches of 32, a clock read and a bounded expiry
//     sweep per batch, frames copied into the batch buffer from pristine templates as a NIC would):
//     flow setup rate (every frame creates a session and a mapping), then steady-state Mpps
//     outbound and inbound over the established flows, and bytes of typed arrays per flow;
// (2) the peer: the same translation with a JavaScript Map keyed by the 5-tuple and an object per
//     flow (what the seeds' "netgate" did), on the same frames;
// (3) the whole NF through the manager (`gnet run`'s data path: gen port → nat worker → null),
//     which adds the manager thread and the rings (two threads).
// Prints BENCH lines; BENCH_QUICK=1 for a short run. Run: node --expose-gc packages/nf-nat/bench/nat.bench.mjs
import { Manager } from '@gnet/nflib';
import { NatEngine, parseNatConfig } from '@gnet/nf-nat';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const quick = process.env.BENCH_QUICK === '1';
const FLOWS = 1 << 20;
const BURST = 32;
const SIZE = 64;
const passes = quick ? 2 : 5;
const print = (group, row) => console.log(`BENCH ${JSON.stringify({ group, ...row })}`);
const GROUP = 'nat: 64 B UDP, 1M concurrent flows, one core';

function csum(b, off, len) {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** FLOWS outbound frames: source 10.(i>>12).x.y : 1024 + (i & 4095)... to 198.51.100.(i&63):53. */
function buildFrames() {
  const buf = new Uint8Array(FLOWS * SIZE);
  const v = new DataView(buf.buffer);
  for (let i = 0; i < FLOWS; i++) {
    const o = i * SIZE;
    buf.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0], o);
    buf[o + 14] = 0x45;
    v.setUint16(o + 16, SIZE - 14);
    buf[o + 22] = 64;
    buf[o + 23] = 17;
    v.setUint32(o + 26, (0x0a000000 | (i >>> 4)) >>> 0); // 65536 hosts
    v.setUint32(o + 30, (0xc6336400 | (i & 63)) >>> 0);
    v.setUint16(o + 24, csum(buf, o + 14, 20));
    v.setUint16(o + 34, 10000 + (i & 15)); // 16 ports per host
    v.setUint16(o + 36, 53);
    v.setUint16(o + 38, SIZE - 34);
    v.setUint16(o + 40, 0); // no UDP checksum: the NAT keeps it zero
  }
  return buf;
}

/**
 * Runs the frames through `step(view, data, off, len)` in the order `order`, in batches of 32: the
 * frames are first laid out in arrival order (a NIC ring; untimed), then each batch is copied into a
 * reused buffer of 2 KiB slots (as the manager copies frames into pool slots) and handed to `step`.
 * Returns wall-clock seconds; `lastCpuS` is this thread's CPU time (the machine may be shared).
 */
let lastCpuS = 0;
const ring = new Uint8Array(FLOWS * SIZE);
function runBatches(frames, order, tick, step) {
  for (let i = 0; i < order.length; i++) ring.set(frames.subarray(order[i] * SIZE, order[i] * SIZE + SIZE), i * SIZE);
  const c0 = process.cpuUsage();
  const work = new Uint8Array(BURST * 2048);
  const view = new DataView(work.buffer);
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < order.length; b += BURST) {
    const n = Math.min(BURST, order.length - b);
    for (let k = 0; k < n; k++) work.set(ring.subarray((b + k) * SIZE, (b + k + 1) * SIZE), k * 2048);
    tick();
    for (let k = 0; k < n; k++) step(view, work, k * 2048, SIZE);
  }
  const c = process.cpuUsage(c0);
  lastCpuS = (c.user + c.system) / 1e6;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function shuffled(n, seed) {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

const frames = buildFrames();
const order = shuffled(FLOWS, 1);
const cfg = parseNatConfig({ external: ['203.0.113.0/26'], maxFlows: FLOWS, sweepPerBatch: 64 });
globalThis.gc?.();

// (1) the engine
{
  const nat = new NatEngine(cfg);
  const tick = () => nat.tick(performance.now() / 1000);
  let drops = 0;
  const setupS = runBatches(frames, order, tick, (v, d, o, l) => {
    if (nat.process(v, d, o, l, 0) < 0) drops++;
  });
  if (drops > 0 || nat.sessions !== FLOWS) throw new Error(`setup: ${drops} drops, ${nat.sessions} sessions, counters ${nat.counters.join(',')}`);
  // Replies: each flow's translated frame with addresses and ports swapped.
  const replies = new Uint8Array(frames.length);
  const work = new Uint8Array(SIZE);
  const wv = new DataView(work.buffer);
  for (let i = 0; i < FLOWS; i++) {
    work.set(frames.subarray(i * SIZE, i * SIZE + SIZE));
    nat.process(wv, work, 0, SIZE, 0);
    const r = replies.subarray(i * SIZE, i * SIZE + SIZE);
    r.set(work);
    r.set(work.subarray(30, 34), 26);
    r.set(work.subarray(26, 30), 30);
    r.set(work.subarray(36, 38), 34);
    r.set(work.subarray(34, 36), 36);
  }
  for (const [dir, src, port] of [
    ['outbound', frames, 0],
    ['inbound', replies, 1],
  ]) {
    let best = 0;
    let bestCpu = 0;
    for (let p = 0; p < passes; p++) {
      const o = shuffled(FLOWS, 7 + p);
      let bad = 0;
      const s = runBatches(src, o, tick, (v, d, off, l) => {
        if (nat.process(v, d, off, l, port) < 0) bad++;
      });
      if (bad) throw new Error(`${dir}: ${bad} drops`);
      best = Math.max(best, FLOWS / s / 1e6);
      bestCpu = Math.max(bestCpu, FLOWS / lastCpuS / 1e6);
    }
    print(GROUP, {
      case: `engine, ${dir}, established flows`,
      impl: 'gnet cpu (NatEngine)',
      mpps: +best.toFixed(2),
      gbps: +((best * SIZE * 8) / 1000).toFixed(2),
      mppsPerCpuSecond: +bestCpu.toFixed(2),
      flowSetupPerSec: Math.round(FLOWS / setupS),
      bytesPerFlow: Math.round(nat.bytesPerFlow),
      notes: `typed arrays ${(nat.byteLength / 2 ** 20).toFixed(0)} MiB for ${FLOWS} flows; best of ${passes} passes over the flows in random order; setup ${(FLOWS / setupS / 1e6).toFixed(2)} M new flows/s`,
    });
  }
}
globalThis.gc?.();

// (1b) the same engine with 1024 flows (tables in cache): what the translation code costs.
{
  const nat = new NatEngine(parseNatConfig({ external: ['203.0.113.0/26'], maxFlows: 4096, sweepPerBatch: 64 }));
  const tick = () => nat.tick(performance.now() / 1000);
  const order = new Uint32Array(FLOWS).map((_, i) => i & 1023);
  runBatches(frames, order, tick, (v, d, o, l) => nat.process(v, d, o, l, 0));
  let best = 0;
  let bestCpu = 0;
  for (let p = 0; p < passes; p++) {
    best = Math.max(best, FLOWS / runBatches(frames, order, tick, (v, d, o, l) => nat.process(v, d, o, l, 0)) / 1e6);
    bestCpu = Math.max(bestCpu, FLOWS / lastCpuS / 1e6);
  }
  print(GROUP, {
    case: 'engine, outbound, 1024 established flows (tables in cache)',
    impl: 'gnet cpu (NatEngine)',
    mpps: +best.toFixed(2),
    gbps: +((best * SIZE * 8) / 1000).toFixed(2),
    mppsPerCpuSecond: +bestCpu.toFixed(2),
    notes: 'the translation code without the cache misses of 1M flows',
  });
}
globalThis.gc?.();

// (2) the peer: a Map and an object per flow.
{
  const out = new Map();
  const back = new Map();
  let nextPort = 1024;
  const ext = 0xcb007100;
  const step = (v, d, o) => {
    const src = v.getUint32(o + 26);
    const sport = v.getUint16(o + 34);
    const dst = v.getUint32(o + 30);
    const key = `${src}:${sport}:${dst}:${v.getUint16(o + 36)}`;
    let f = out.get(key);
    if (f === undefined) {
      f = { src, sport, ext: ext | (nextPort & 15), port: 1024 + (nextPort++ % 60000), last: 0 };
      out.set(key, f);
      back.set(`${f.ext}:${f.port}:${dst}`, f);
    }
    f.last = performance.now();
    v.setUint32(o + 26, f.ext);
    v.setUint16(o + 34, f.port);
    v.setUint16(o + 24, 0);
    v.setUint16(o + 24, csum(d, o + 14, 20));
    return 1;
  };
  const setupS = runBatches(frames, order, () => undefined, step);
  let best = 0;
  let bestCpu = 0;
  for (let p = 0; p < passes; p++) {
    best = Math.max(best, FLOWS / runBatches(frames, shuffled(FLOWS, 7 + p), () => undefined, step) / 1e6);
    bestCpu = Math.max(bestCpu, FLOWS / lastCpuS / 1e6);
  }
  print(GROUP, {
    case: 'engine, outbound, established flows',
    impl: 'JS Map + object per flow (seed style)',
    mpps: +best.toFixed(2),
    gbps: +((best * SIZE * 8) / 1000).toFixed(2),
    mppsPerCpuSecond: +bestCpu.toFixed(2),
    flowSetupPerSec: Math.round(FLOWS / setupS),
    bytesPerFlow: Math.round(process.memoryUsage().heapUsed / FLOWS),
    notes: 'no expiry, no filtering, full IP checksum; bytesPerFlow is the whole JS heap / flows',
  });
  out.clear();
  back.clear();
}
globalThis.gc?.();

// (3) through the manager: gen (1M flows) → nat (cpu) → null.
{
  const packets = quick ? 1_000_000 : 4_000_000;
  const nfModule = fileURLToPath(new URL('../dist/nf.js', import.meta.url));
  const m = await Manager.create({
    ports: [
      { spec: `gen:count=${packets},size=64,flows=${FLOWS},src=10.0.0.0/12,sport=1024-65535`, role: 'rx' },
      { spec: 'null', role: 'tx' },
    ],
    nfs: [{ tag: 'nat', module: nfModule, serviceId: 1, config: { external: ['203.0.113.0/26'], maxFlows: FLOWS, mode: 'cpu' }, nfArgs: [] }],
    burst: 32,
  });
  let t0 = 0n;
  let tx0 = 0;
  const timer = setInterval(() => {
    if (t0 !== 0n) return;
    const tx = m.accounting().transmitted;
    if (tx > 0) {
      t0 = process.hrtime.bigint();
      tx0 = tx;
    }
  }, 1);
  await m.run({ untilDrained: true });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  const a = m.accounting();
  await m.close();
  const mpps = (a.transmitted - tx0) / s / 1e6;
  print(GROUP, {
    case: 'gnet run data path: gen (1M flows) → nat → null',
    impl: 'gnet cpu',
    mpps: +mpps.toFixed(2),
    gbps: +((mpps * SIZE * 8) / 1000).toFixed(2),
    notes: `manager thread + NF worker; ${packets} packets, forwarded ${a.transmitted}, first pass over the flows sets them up`,
  });
}
