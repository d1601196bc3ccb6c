// The NAT on 64 B UDP frames with 1M concurrent flows (2^20 inside endpoints, each its own mapping
// and session), one core. Frames lie in memory in arrival order, back to back (an Enso-style NIC
// ring; laid out untimed before each pass), and are translated where they lie:
// (1) the NF's cpu-mode handler alone: what `nf.ts`'s `cpu` hook does per batch (a clock read and a
//     bounded expiry sweep, then `processBatch` over a PacketBatch of 32), the batch's meta filled
//     in as nflib's gather does: flow setup rate (every frame creates a session and a mapping), then
//     steady-state Mpps outbound and inbound over the established flows, and bytes per flow; with
//     the addon's FlowProbe making the keys, looking them up and translating established flows (as
//     the NF runs), with it only looking up (the short path in JavaScript, over batches of 256), and
//     all in JavaScript (no addon); and over batches of 256 (gnet run's default burst: what the NF
//     gets from the manager under load);
// (2) the engine one packet at a time (`NatEngine.process`, no prefetch pass), same frames;
// (3) the engine with 1024 flows (tables in cache): the translation code's own cost;
// (4) the peer: the same translation with a JavaScript Map keyed by the 5-tuple and an object per
//     flow (what the seeds' "netgate" did), on the same frames: outbound, inbound, and 1024 flows;
// (5) the whole NF through the manager (`gnet run`'s data path: gen port → nat worker → null),
//     which adds the manager thread and the rings (two threads).
// Rates are the best of N passes (wall clock, and per CPU-second of this thread: the machine may be
// shared); the median is in the notes. Prints BENCH lines; BENCH_QUICK=1 for a short run.
// Run: node --expose-gc packages/nf-nat/bench/nat.bench.mjs
import { Manager, PacketBatch } from '@gnet/nflib';
import { NatEngine, parseNatConfig } from '@gnet/nf-nat';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const quick = process.env.BENCH_QUICK === '1';
const FLOWS = 1 << 20;
const BURST = 32;
const SIZE = 64;
const passes = quick ? 3 : 7;
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

// The ring the frames are translated in, and one PacketBatch over it (the pool the NF would see).
const ring = new Uint8Array(FLOWS * SIZE);
const ringView = new DataView(ring.buffer);
const batch32 = new PacketBatch({ bytes: ring, view: ringView, slotSize: 2048 }, BURST);
/** The same over batches of gnet run's default burst (256: what the NF gets from the manager at full load). */
const RUN_BURST = 256;
const bigBatch = new PacketBatch({ bytes: ring, view: ringView, slotSize: 2048 }, RUN_BURST);

/** Lays `frames` out in the ring in the order `order` (untimed, as a NIC would have written them). */
function layout(frames, order) {
  for (let i = 0; i < order.length; i++) ring.set(frames.subarray(order[i] * SIZE, order[i] * SIZE + SIZE), i * SIZE);
}

let lastCpuS = 0;
/** Seconds to hand the ring's `n` frames (arrived on `port`) to `handler` in batches of `burst` (32 or 256); `lastCpuS`: this thread's CPU time. */
function runBatches(n, port, handler, burst = BURST) {
  const batch = burst === RUN_BURST ? bigBatch : batch32;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < n; b += burst) {
    const k = Math.min(burst, n - b);
    // nflib's gather: offsets, lengths and ports of the batch's packets, actions reset.
    for (let i = 0; i < k; i++) {
      batch.offsets[i] = (b + i) * SIZE;
      batch.lengths[i] = SIZE;
      batch.port[i] = port;
    }
    batch.action.fill(1, 0, k);
    batch.count = k;
    handler(batch);
  }
  const c = process.cpuUsage(c0);
  lastCpuS = (c.user + c.system) / 1e6;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Drops in the batch just handled (the NAT must translate every frame of these runs). */
let drops = 0;
function countDrops(b) {
  for (let i = 0; i < b.count; i++) if (b.action[i] === 0) drops++;
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** Best-of-`passes` rates over `src` frames in a fresh random order per pass (the same orders for every variant). */
function measure(src, port, handler) {
  const wall = [];
  const cpu = [];
  for (let p = 0; p < passes; p++) {
    layout(src, shuffled(FLOWS, 7 + p));
    drops = 0;
    const s = runBatches(FLOWS, port, handler);
    if (drops) throw new Error(`${drops} drops`);
    wall.push(FLOWS / s / 1e6);
    cpu.push(FLOWS / lastCpuS / 1e6);
  }
  return { best: Math.max(...wall), median: median(wall), bestCpu: Math.max(...cpu), medianCpu: median(cpu) };
}

const frames = buildFrames();
const setupOrder = shuffled(FLOWS, 1);
const cfg = parseNatConfig({ external: ['203.0.113.0/26'], maxFlows: FLOWS, sweepPerBatch: 64 });

/**
 * Each flow's reply: its frame translated by `translate(view, bytes)` (outbound, at offset 0), with
 * addresses and ports swapped.
 */
function buildReplies(translate) {
  const replies = new Uint8Array(frames.length);
  const work = new Uint8Array(SIZE);
  const wv = new DataView(work.buffer);
  for (let i = 0; i < FLOWS; i++) {
    work.set(frames.subarray(i * SIZE, i * SIZE + SIZE));
    translate(wv, work);
    const r = replies.subarray(i * SIZE, i * SIZE + SIZE);
    r.set(work);
    r.set(work.subarray(30, 34), 26);
    r.set(work.subarray(26, 30), 30);
    r.set(work.subarray(36, 38), 34);
    r.set(work.subarray(34, 36), 36);
    r.set([2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 4]); // to the NAT's outside MAC, from the gateway's
  }
  return replies;
}

const row = (name, impl, r, extra) => ({
  case: name,
  impl,
  mpps: +r.best.toFixed(2),
  gbps: +((r.best * SIZE * 8) / 1000).toFixed(2),
  mppsPerCpuSecond: +r.bestCpu.toFixed(2),
  ...extra,
});
const spread = (r) => `best of ${passes} passes over the flows in random order; median ${r.median.toFixed(2)} Mpps (${r.medianCpu.toFixed(2)} per CPU-second)`;

// (1) and (2): the cpu hook over batches (its lookup in the addon's FlowProbe, as the NF runs, and
// in JavaScript, as without the addon), and the engine per packet, each on its own engine.
const IMPLS = {
  handler: 'gnet cpu (nf.ts cpu hook: tick + processBatch)',
  'handler-js': 'gnet cpu, JavaScript lookup (no addon)',
  'handler-256': 'gnet cpu, batches of 256 (gnet run default)',
  'handler-jsfwd': 'gnet cpu, batches of 256, short path in JavaScript (native lookup only)',
  engine: 'gnet cpu (NatEngine.process)',
};
const engines = [];
for (const variant of ['handler', 'handler-jsfwd', 'handler-js', 'engine']) {
  globalThis.gc?.();
  const nat = new NatEngine(cfg, { nativeProbe: variant === 'handler' || variant === 'handler-jsfwd', nativeForward: variant === 'handler' });
  if (variant === 'handler' && !nat.nativeShortPath) console.error('nat bench: the gnet addon did not load (or predates FlowProbe.forward); the handler rows use JavaScript');
  // What nf.ts's cpu hook does with each batch (rt.state.nat is the engine).
  const cpuHook = (b) => {
    nat.tick(performance.now() / 1000);
    nat.processBatch(b);
    countDrops(b);
  };
  const perPacket = (b) => {
    nat.tick(performance.now() / 1000);
    for (let i = 0; i < b.count; i++) if (nat.process(b.view, b.data, b.offsets[i], b.lengths[i], b.port[i]) < 0) drops++;
  };
  const handler = variant === 'engine' ? perPacket : cpuHook;
  layout(frames, setupOrder);
  drops = 0;
  const setupS = runBatches(FLOWS, 0, handler);
  if (drops > 0 || nat.sessions !== FLOWS) throw new Error(`setup: ${drops} drops, ${nat.sessions} sessions, counters ${nat.counters.join(',')}`);
  engines.push({ variant, nat, handler, setupS, burst: variant === 'handler-jsfwd' ? RUN_BURST : BURST, replies: buildReplies((wv, work) => nat.process(wv, work, 0, SIZE, 0)) });
  // The same handler and engine over batches of 256, the size the NF gets from the manager under load.
  if (variant === 'handler') engines.push({ ...engines[0], variant: 'handler-256', burst: RUN_BURST });
}
for (const [dir, port] of [
  ['outbound', 0],
  ['inbound', 1],
]) {
  // The variants' passes alternate (the same random orders for each), so a machine slowing down
  // mid-run does not favour one.
  const runs = engines.map(() => ({ wall: [], cpu: [] }));
  for (let p = 0; p < passes; p++) {
    for (let j = 0; j < engines.length; j++) {
      const e = engines[(j + p) % engines.length];
      layout(dir === 'outbound' ? frames : e.replies, shuffled(FLOWS, 7 + p));
      drops = 0;
      const sec = runBatches(FLOWS, port, e.handler, e.burst);
      if (drops) throw new Error(`${drops} drops`);
      runs[engines.indexOf(e)].wall.push(FLOWS / sec / 1e6);
      runs[engines.indexOf(e)].cpu.push(FLOWS / lastCpuS / 1e6);
    }
  }
  engines.forEach(({ variant, nat, setupS, burst }, j) => {
    const { wall, cpu } = runs[j];
    const r = { best: Math.max(...wall), median: median(wall), bestCpu: Math.max(...cpu), medianCpu: median(cpu) };
    print(
      GROUP,
      row(variant === 'engine' ? `engine per packet, ${dir}, established flows` : `NF cpu handler, ${dir}, established flows`, IMPLS[variant], r, {
        flowSetupPerSec: Math.round(FLOWS / setupS),
        bytesPerFlow: Math.round(nat.bytesPerFlow),
        notes: `batches of ${burst}; ${spread(r)}, alternating with the other variants'; typed arrays ${(nat.byteLength / 2 ** 20).toFixed(0)} MiB for ${FLOWS} flows; setup ${(FLOWS / setupS / 1e6).toFixed(2)} M new flows/s${variant === 'handler' || variant === 'handler-256' ? ' (goal >= 8 Mpps: ' + (r.best >= 8 ? 'met' : 'not met') + ')' : ''}`,
      }),
    );
  });
}
engines.length = 0;
globalThis.gc?.();

// (3) the same engine with 1024 flows (tables in cache): what the translation code costs.
{
  const nat = new NatEngine(parseNatConfig({ external: ['203.0.113.0/26'], maxFlows: 4096, sweepPerBatch: 64 }));
  const handler = (b) => {
    nat.tick(performance.now() / 1000);
    nat.processBatch(b);
    countDrops(b);
  };
  const few = new Uint32Array(FLOWS).map((_, i) => i & 1023);
  const wall = [];
  const cpu = [];
  for (let p = 0; p <= passes; p++) {
    layout(frames, few);
    drops = 0;
    const s = runBatches(FLOWS, 0, handler);
    if (drops) throw new Error(`${drops} drops`);
    if (p === 0) continue; // the first pass sets the flows up
    wall.push(FLOWS / s / 1e6);
    cpu.push(FLOWS / lastCpuS / 1e6);
  }
  const r = { best: Math.max(...wall), median: median(wall), bestCpu: Math.max(...cpu), medianCpu: median(cpu) };
  print(GROUP, row('NF cpu handler, outbound, 1024 established flows (tables in cache)', 'gnet cpu (nf.ts cpu hook: tick + processBatch)', r, { notes: `the translation code without the cache misses of 1M flows; ${spread(r)}` }));
}
globalThis.gc?.();

// (4) the peer: a Map and an object per flow, outbound and inbound (the same cases as gnet's rows).
function mapPeer() {
  const out = new Map();
  const back = new Map();
  let nextPort = 1024;
  const ext = 0xcb007100;
  const outbound = (v, d, o) => {
    const src = v.getUint32(o + 26);
    const sport = v.getUint16(o + 34);
    const dst = v.getUint32(o + 30);
    const key = `${src}:${sport}:${dst}:${v.getUint16(o + 36)}`;
    let f = out.get(key);
    if (f === undefined) {
      f = { src, sport, ext: (ext | (nextPort & 15)) >>> 0, port: 1024 + (nextPort++ % 60000), last: 0 };
      out.set(key, f);
      back.set(`${f.ext}:${f.port}:${dst}`, f);
    }
    f.last = performance.now();
    v.setUint32(o + 26, f.ext);
    v.setUint16(o + 34, f.port);
    v.setUint16(o + 24, 0);
    v.setUint16(o + 24, csum(d, o + 14, 20));
  };
  const inbound = (v, d, o) => {
    const f = back.get(`${v.getUint32(o + 30)}:${v.getUint16(o + 36)}:${v.getUint32(o + 26)}`);
    if (f === undefined) {
      drops++;
      return;
    }
    f.last = performance.now();
    v.setUint32(o + 30, f.src);
    v.setUint16(o + 36, f.sport);
    v.setUint16(o + 24, 0);
    v.setUint16(o + 24, csum(d, o + 14, 20));
  };
  return {
    out: (b) => {
      for (let i = 0; i < b.count; i++) outbound(b.view, b.data, b.offsets[i]);
    },
    in: (b) => {
      for (let i = 0; i < b.count; i++) inbound(b.view, b.data, b.offsets[i]);
    },
    /** Each flow's reply to its translated frame (addresses and ports swapped). */
    replies: () => buildReplies((wv, work) => outbound(wv, work, 0)),
    clear() {
      out.clear();
      back.clear();
    },
  };
}
{
  const peer = mapPeer();
  const IMPL = 'JS Map + object per flow (seed style)';
  layout(frames, setupOrder);
  const setupS = runBatches(FLOWS, 0, peer.out);
  const bytesPerFlow = Math.round(process.memoryUsage().heapUsed / FLOWS);
  const notes = (r) => `no expiry, no filtering, full IP checksum; bytesPerFlow is the whole JS heap / flows; ${spread(r)}`;
  const r = measure(frames, 0, peer.out);
  print(GROUP, row('NF cpu handler, outbound, established flows', IMPL, r, { flowSetupPerSec: Math.round(FLOWS / setupS), bytesPerFlow, notes: notes(r) }));
  const ri = measure(peer.replies(), 1, peer.in);
  print(GROUP, row('NF cpu handler, inbound, established flows', IMPL, ri, { flowSetupPerSec: Math.round(FLOWS / setupS), bytesPerFlow, notes: notes(ri) }));
  peer.clear();
  // The peer with 1024 flows (its maps in cache), as gnet's row (3).
  globalThis.gc?.();
  const small = mapPeer();
  const few = new Uint32Array(FLOWS).map((_, i) => i & 1023);
  const wall = [];
  const cpu = [];
  for (let p = 0; p <= passes; p++) {
    layout(frames, few);
    const sec = runBatches(FLOWS, 0, small.out);
    if (p === 0) continue; // the first pass sets the flows up
    wall.push(FLOWS / sec / 1e6);
    cpu.push(FLOWS / lastCpuS / 1e6);
  }
  const rf = { best: Math.max(...wall), median: median(wall), bestCpu: Math.max(...cpu), medianCpu: median(cpu) };
  print(GROUP, row('NF cpu handler, outbound, 1024 established flows (tables in cache)', IMPL, rf, { notes: `the peer's translation without the cache misses of 1M flows; ${spread(rf)}` }));
  small.clear();
}
globalThis.gc?.();

// (5) through the manager: gen (1M flows) → nat (cpu) → null. The first pass over the flows sets
// them up (timed apart); the rate is that of the passes after it, over established flows. Several
// runs, as the rows above take several passes: this machine drifts by a third within minutes.
/** One run of the NF through the manager: rates over the established flows, and the setup rate. */
async function throughManager(packets) {
  const nfModule = fileURLToPath(new URL('../dist/nf.js', import.meta.url));
  const m = await Manager.create({
    ports: [
      { spec: `gen:count=${packets},size=64,flows=${FLOWS},src=10.0.0.0/12,sport=1024-65535`, role: 'rx' },
      { spec: 'null', role: 'tx' },
    ],
    nfs: [{ tag: 'nat', module: nfModule, serviceId: 1, config: { external: ['203.0.113.0/26'], maxFlows: FLOWS, mode: 'cpu' }, nfArgs: [] }],
  });
  let t0 = 0n;
  let tx0 = 0;
  let nf0;
  let setupS = 0;
  const started = process.hrtime.bigint();
  const timer = setInterval(() => {
    if (t0 !== 0n) return;
    const tx = m.accounting().transmitted;
    if (tx >= FLOWS) {
      t0 = process.hrtime.bigint();
      tx0 = tx;
      nf0 = m.snapshot().nfs[0];
      setupS = Number(t0 - started) / 1e9;
    }
  }, 1);
  await m.run({ untilDrained: true });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  const a = m.accounting();
  const nf1 = m.snapshot().nfs[0];
  await m.close();
  if (a.transmitted !== packets) throw new Error(`gen → nat → null forwarded ${a.transmitted} of ${packets}`);
  // The NF thread's own rate: packets per second of its busy time (loop and handler, idle excluded).
  return { mpps: (a.transmitted - tx0) / s / 1e6, nfMpps: (nf1.rxPackets - nf0.rxPackets) / (nf1.busyUs - nf0.busyUs), setupS };
}
{
  const packets = (quick ? 2 : 5) * FLOWS;
  const runs = quick ? 1 : 3;
  const all = [];
  for (let r = 0; r < runs; r++) {
    globalThis.gc?.();
    all.push(await throughManager(packets));
  }
  const best = all.reduce((a, b) => (b.mpps > a.mpps ? b : a));
  const mid = median(all.map((r) => r.mpps));
  print(GROUP, {
    case: 'gnet run data path: gen (1M flows) → nat → null',
    impl: 'gnet cpu',
    mpps: +best.mpps.toFixed(2),
    gbps: +((best.mpps * SIZE * 8) / 1000).toFixed(2),
    flowSetupPerSec: Math.round(FLOWS / best.setupS),
    nfMpps: +best.nfMpps.toFixed(2),
    notes:
      `manager thread + NF worker, burst 256; best of ${runs} runs of ${packets} packets, all forwarded (median ${mid.toFixed(2)} Mpps; runs ${all.map((r) => r.mpps.toFixed(2)).join(', ')}); ` +
      `Mpps: wall clock over the passes after the first (which set up the ${FLOWS} flows: flowSetupPerSec, manager and start-up included); nfMpps: per second of the NF thread's busy time; ` +
      `goal >= 8 Mpps: ${best.mpps >= 8 && mid >= 8 ? 'met' : best.mpps >= 8 ? 'met by the best run, not by the median' : 'not met'}`,
  });
}
