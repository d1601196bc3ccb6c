// The router's benchmarks, each beside its peer in the same run (see tools/bench.mjs):
// (1) LPM lookups on a full Internet table (901,899 IPv4 prefixes from ../shared/data/routes, next
//     hops from a hash of the prefix; a generated table of the same shape when that is absent) for
//     1M random destinations: gnet's Lpm.lookupBatch vs DPDK's DIR-24-8 tables (rte_fib DIR24_8 and,
//     in a full run, rte_lpm), built here against libdpdk-dev (bench/rte-lpm-peer.c). Goal >= 0.8x DPDK.
// (2) The LPM kernel (kernels/lpm.cu) on the emulated device and, when usable, a GPU (goal on H100:
//     >= 2 G lookups/s), same table and destinations.
// (3) The router NF's cpu-mode handler alone (Forwarder.routeBatch: validate, LPM, TTL, MAC
//     rewrite) over in-memory batches of 64 B frames, beside a no-op handler, with DPDK's lookup
//     cost as context: what one core gives the NF once the manager is out of the way (< 60 ns/pkt).
// (4) The router NF end to end: 64 B frames from a generator port through `router` (cpu mode, one
//     instance) to a null port, full table, vs nflib's no-op NF on the same ports. Goal >= 15 Mpps.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { GpuDevice, KernelArgs, buildHostKernel, gpuInfo } from '@gnet/manager-native';
import { Action, Manager } from '@gnet/nflib';
import { Forwarder, Lpm, lpmPtxPath, parseRouterConfig, parseRoutes, routerSection } from '@gnet/nf-router';

const quick = process.env.BENCH_QUICK === '1';
const reps = quick ? 3 : 7;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'gnet-router-bench-'));
const print = (group, row) => console.log(`BENCH ${JSON.stringify({ group, ...row })}`);
const gbps = (mpps) => (mpps * 64 * 8) / 1e3; // 64 B frames
const NHOPS = 64;

// --- The table: the shared snapshot, or a generated one with its prefix-length mix.
// BENCH_ROUTES names the snapshot where ../shared is absent (tools/gpu-check.sh carries it in .gpu/).
const shared =
  [process.env.BENCH_ROUTES, here('../../../../shared/data/routes/internet-prefixes.txt.gz'), '/work/shared/data/routes/internet-prefixes.txt.gz'].find((f) => f && existsSync(f)) ?? '';
let routeText;
let tableNote;
const hopOf = (net, len) => (Math.imul((net ^ (len << 27)) >>> 0, 2654435761) >>> 0) % NHOPS;
if (existsSync(shared)) {
  const lines = [];
  for (const line of gunzipSync(readFileSync(shared)).toString('utf8').split('\n')) {
    if (!line || line.includes(':')) continue;
    const [p, l] = line.split('/');
    const net = p.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    lines.push(`${line} ${hopOf(net, Number(l))}`);
  }
  routeText = lines.join('\n') + '\n';
  tableNote = `${lines.length} IPv4 prefixes of ../shared/data/routes/internet-prefixes.txt.gz, next hop = hash(prefix) % ${NHOPS}`;
} else {
  const mix = [[24, 0.6], [22, 0.12], [23, 0.1], [21, 0.06], [20, 0.05], [16, 0.03], [19, 0.03], [32, 0.001], [28, 0.001]];
  let x = 7;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lines = [];
  for (let i = 0; i < 900_000; i++) {
    let r = rnd();
    let len = 24;
    for (const [l, w] of mix) if ((r -= w) < 0) { len = l; break; }
    const net = (Math.floor(rnd() * 2 ** 32) & (len === 32 ? -1 : ~((1 << (32 - len)) - 1))) >>> 0;
    lines.push(`${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len} ${hopOf(net, len)}`);
  }
  routeText = lines.join('\n') + '\n';
  tableNote = `generated table (../shared/data absent): 900000 prefixes, next hop = hash % ${NHOPS}`;
}
const routesFile = join(work, 'routes.txt');
writeFileSync(routesFile, routeText);

let t0 = performance.now();
const parsed = parseRoutes(routeText, { source: routesFile });
const lpm = new Lpm();
for (const r of parsed.routes) lpm.add(r.network, r.length, r.nexthop);
const loadMs = performance.now() - t0;

// 1M random destinations (the same for every implementation).
const N = 1 << 20;
const addrs = new Uint32Array(N);
let s = 12345;
for (let i = 0; i < N; i++) addrs[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
const addrFile = join(work, 'addrs.bin');
writeFileSync(addrFile, new Uint8Array(addrs.buffer));
const out = new Int32Array(N);
const answerSum = (hops) => hops.reduce((a, h) => (h >= 0 ? a + h + 1 : a), 0);

function gnetRate() {
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    lpm.lookupBatch(addrs, out, N);
    best = Math.max(best, N / ((performance.now() - t) / 1e3) / 1e6);
  }
  return best;
}
const gnetSum = (lpm.lookupBatch(addrs, out, N), answerSum(out));

// --- DPDK peer, built here.
const G1 = `router LPM lookups: full table, ${N} random destinations, one core`;
let peer;
let peerWhy;
try {
  const cflags = execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
  peer = join(work, 'rte-lpm-peer');
  execFileSync('cc', ['-O3', '-march=native', '-o', peer, here('rte-lpm-peer.c'), ...cflags], { stdio: 'pipe' });
} catch (err) {
  peer = undefined;
  peerWhy = `DPDK peer not built (needs cc and libdpdk-dev with pkg-config): ${String(err.message).split('\n')[0]}`;
}
function runPeer(kind) {
  const r = spawnSync(peer, ['--no-huge', '-m', '1024', '--no-pci', '-l', '0', '--log-level=lib.eal:error', '--', kind, routesFile, addrFile, String(reps)], { encoding: 'utf8', timeout: 900_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) throw new Error(`rte-lpm-peer ${kind} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(line);
}

// Interleave gnet and the peer, so both see the same (shared, noisy) machine.
let gnet = gnetRate();
const fib = peer ? runPeer('fib') : undefined;
gnet = Math.max(gnet, gnetRate());
const lpmPeer = peer && !quick ? runPeer('lpm') : undefined;
if (lpmPeer) gnet = Math.max(gnet, gnetRate());
let single = 0;
for (let r = 0; r < reps; r++) {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < N; i++) x += lpm.lookup(addrs[i]);
  if (x === 0.5) console.log('');
  single = Math.max(single, N / ((performance.now() - t) / 1e3) / 1e6);
}
const ratio = (p) => (p ? gnet / p : null);
const lpmBest = lpmPeer ? Math.max(lpmPeer.bulkMlps, lpmPeer.x4Mlps) : 0;
const agree = (p) => (p.sum === gnetSum ? 'answers agree with gnet' : `ANSWERS DIFFER (sum ${p.sum} vs gnet ${gnetSum})`);
const vs = [
  lpmBest ? `${ratio(lpmBest).toFixed(2)}x DPDK rte_lpm's best (goal >= 0.8x: ${ratio(lpmBest) >= 0.8 ? 'met' : 'not met'})` : '',
  fib ? `${ratio(fib.bulkMlps).toFixed(2)}x DPDK rte_fib DIR24_8` : '',
].filter(Boolean);
print(G1, {
  case: 'lookupBatch',
  impl: 'gnet cpu',
  mpps: gnet,
  gbps: null,
  latencyUs: null,
  mlookups: gnet,
  loadMs,
  xRteLpm: lpmBest ? ratio(lpmBest) : null,
  xRteFib: fib ? ratio(fib.bulkMlps) : null,
  notes: `Lpm.lookupBatch, best of ${reps}; table load ${(loadMs / 1e3).toFixed(2)} s (parse + add); ${tableNote}; ${vs.length ? vs.join('; ') : peerWhy}`,
});
print(G1, { case: 'lookup (one call per address)', impl: 'gnet cpu', mpps: single, gbps: null, latencyUs: null, mlookups: single, notes: `Lpm.lookup in a loop, best of ${reps}` });
if (fib) {
  print(G1, { case: 'lookupBatch', impl: 'DPDK rte_fib DIR24_8 (4 B entries)', mpps: fib.bulkMlps, gbps: null, latencyUs: null, mlookups: fib.bulkMlps, loadMs: fib.loadMs, notes: `rte_fib_lookup_bulk over all ${N} (DPDK picks its vector lookup where the CPU has one), best of ${reps}; ${agree(fib)}; --no-huge` });
} else print(G1, { case: 'lookupBatch', impl: 'DPDK rte_fib DIR24_8 (4 B entries)', notes: peerWhy });
if (lpmPeer) {
  print(G1, { case: 'lookupBatch', impl: 'DPDK rte_lpm', mpps: lpmPeer.bulkMlps, gbps: null, latencyUs: null, mlookups: lpmPeer.bulkMlps, loadMs: lpmPeer.loadMs, notes: `rte_lpm_lookup_bulk in bursts of 64, best of ${reps}; ${agree(lpmPeer)}; --no-huge` });
  print(G1, { case: 'lookupx4', impl: 'DPDK rte_lpm', mpps: lpmPeer.x4Mlps, gbps: null, latencyUs: null, mlookups: lpmPeer.x4Mlps, notes: 'rte_lpm_lookupx4 (SSE, as l3fwd)' });
  print(G1, { case: 'lookup (one call per address)', impl: 'DPDK rte_lpm', mpps: lpmPeer.singleMlps, gbps: null, latencyUs: null, mlookups: lpmPeer.singleMlps, notes: 'rte_lpm_lookup in a loop' });
} else {
  print(G1, { case: 'lookupBatch', impl: 'DPDK rte_lpm', notes: peer ? 'not run with BENCH_QUICK=1: rte_lpm_add is linear in the routes of its length, so the full table takes minutes (about 6 here) to load' : peerWhy });
}

// --- (2) The kernel on the emulated device and a GPU.
const G2 = `router LPM kernel (lpm.cu): full table, ${N} random destinations`;
function kernelRun(mode) {
  const dev = GpuDevice.open({ mode });
  try {
    const mod = dev.loadModule(lpmPtxPath());
    const d24 = dev.malloc(lpm.tbl24.byteLength);
    const d8 = dev.malloc(lpm.tbl8.byteLength);
    const dA = dev.malloc(N * 4);
    const dH = dev.malloc(N * 4);
    dev.memcpyHtoD(d24, lpm.tbl24, 0, lpm.tbl24.byteLength);
    dev.memcpyHtoD(d8, lpm.tbl8, 0, lpm.tbl8.byteLength);
    dev.memcpyHtoD(dA, addrs, 0, N * 4);
    const args = new KernelArgs().ptr(d24).ptr(d8).ptr(dA).ptr(dH).u32(N);
    const shape = { grid: Math.ceil(N / 256), block: 256 };
    let kernelBest = 0;
    let withCopies = 0;
    // The copies go from and to pinned memory, as the NF's buffers do (pageable memory is staged).
    const pinnedAddrs = new Uint32Array(dev.hostAlloc(N * 4).buffer);
    pinnedAddrs.set(addrs);
    const hops = new Int32Array(dev.hostAlloc(N * 4).buffer);
    for (let r = 0; r < reps; r++) {
      let t = performance.now();
      dev.launch(mod, 'gnet_lpm_lookup', shape, args);
      kernelBest = Math.max(kernelBest, N / ((performance.now() - t) / 1e3) / 1e6);
      t = performance.now();
      dev.memcpyHtoD(dA, pinnedAddrs, 0, N * 4);
      dev.launch(mod, 'gnet_lpm_lookup', shape, args);
      dev.memcpyDtoH(hops, 0, dH, N * 4);
      withCopies = Math.max(withCopies, N / ((performance.now() - t) / 1e3) / 1e6);
    }
    return { kernelBest, withCopies, sum: answerSum(hops), name: dev.name };
  } finally {
    dev.close();
  }
}
let noEmu;
try {
  buildHostKernel(here('../kernels/lpm.cu'));
} catch (err) {
  noEmu = err.message;
}
if (noEmu) print(G2, { case: 'batch of 1M', impl: 'gnet emulated device', notes: `not run: ${noEmu}` });
else {
  const e = kernelRun('emulated');
  print(G2, { case: 'batch of 1M', impl: 'gnet emulated device', mpps: e.kernelBest, gbps: null, latencyUs: null, mlookups: e.kernelBest, mlookupsWithCopies: e.withCopies, notes: `${e.name}; launch only (best of ${reps}); with HtoD + DtoH (pinned): ${e.withCopies.toFixed(1)} M/s; ${e.sum === gnetSum ? 'answers agree with the CPU' : 'ANSWERS DIFFER'}` });
}
const gi = gpuInfo();
if (!gi.available) print(G2, { case: 'batch of 1M', impl: 'gnet gpu', notes: `not run: no usable GPU (${gi.reason})` });
else {
  const g = kernelRun('gpu');
  print(G2, { case: 'batch of 1M', impl: 'gnet gpu', mpps: g.kernelBest, gbps: null, latencyUs: null, mlookups: g.kernelBest, mlookupsWithCopies: g.withCopies, notes: `${g.name}; synchronous launch incl. its overhead (best of ${reps}); with HtoD + DtoH (pinned): ${g.withCopies.toFixed(1)} M/s; goal >= 2000 M/s on H100: ${g.kernelBest >= 2000 ? 'met' : 'not met'}; ${g.sum === gnetSum ? 'answers agree with the CPU' : 'ANSWERS DIFFER'}` });
}

// --- The router config of (3) and (4): the full table plus a default route, 64 next hops on port 1.
const cfgPath = join(work, 'router.json');
writeFileSync(routesFile, routeText + '0.0.0.0/0 0\n'); // every generated destination has a route
writeFileSync(
  cfgPath,
  JSON.stringify({
    router: {
      routes: 'routes.txt',
      ports: { 1: { mac: '02:00:00:00:00:01' } },
      nexthops: Object.fromEntries(Array.from({ length: NHOPS }, (_, i) => [i, { port: 1, mac: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}` }])),
    },
  }),
);
const routerCfg = JSON.parse(readFileSync(cfgPath, 'utf8')).router;

// --- (3) The handler alone: what the cpu hook runs per batch, without the manager and its rings.
const G3 = 'router NF handler alone, 64 B, cpu mode, one core';
const FRAMES = 65536; // as many as the flows of (4), each to its own random destination
const BURST = 64;
const frames = new Uint8Array(FRAMES * 64);
const fv = new DataView(frames.buffer);
for (let f = 0, x = 777; f < FRAMES; f++) {
  const o = f * 64;
  frames.set([0x02, 0, 0, 0, 0, 0xa0, 0x02, 0, 0, 0, 0, 0xb0, 0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0x40, 0, 255, 17], o);
  fv.setUint32(o + 26, 0x0a000001 + (f & 0xff));
  fv.setUint32(o + 30, (x = (Math.imul(x, 1664525) + 1013904223) >>> 0));
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += fv.getUint16(o + k);
  sum = (sum & 0xffff) + (sum >>> 16);
  fv.setUint16(o + 24, ~((sum & 0xffff) + (sum >>> 16)) & 0xffff);
}
const pristine = frames.slice();
// A batch over plain memory with PacketBatch's fields.
const batch = {
  count: BURST,
  data: frames,
  view: fv,
  offsets: new Uint32Array(BURST),
  lengths: new Uint32Array(BURST).fill(64),
  capacity: 64,
  action: new Uint8Array(BURST),
  destination: new Uint16Array(BURST),
  port: new Uint16Array(BURST),
  flowHash: new Uint32Array(BURST),
  slots: new Uint32Array(BURST),
};
const fwd = new Forwarder(parseRouterConfig(routerSection(routerCfg, cfgPath)));
const handlers = { noop: () => {}, router: (b) => fwd.routeBatch(b) };
/** ns per packet of one pass over all frames, batch by batch, as the NF runtime hands them over. */
function handlerPass(handler) {
  const t = performance.now();
  for (let f = 0; f < FRAMES; f += BURST) {
    for (let i = 0; i < BURST; i++) batch.offsets[i] = (f + i) * 64;
    batch.action.fill(Action.NEXT);
    handler(batch);
  }
  return ((performance.now() - t) * 1e6) / FRAMES;
}
const handlerNs = { noop: [], router: [] };
let ttlLeft = 254;
for (let r = 0; r < (quick ? 21 : 61); r++) {
  if (ttlLeft === 0) {
    frames.set(pristine); // every pass decrements each TTL: restore them outside the timed passes
    ttlLeft = 254;
  }
  for (const k of ['noop', 'router']) handlerNs[k].push(handlerPass(handlers[k]));
  ttlLeft--;
}
const median = (v) => v.slice().sort((a, b) => a - b)[v.length >> 1];
const [forwarded] = fwd.counters;
const ns = { noop: Math.min(...handlerNs.noop), router: Math.min(...handlerNs.router) };
print(G3, { case: 'batches of 64 in memory', impl: 'no-op handler (peer)', mpps: 1e3 / ns.noop, gbps: null, latencyUs: null, nsPerPacket: ns.noop, notes: `the same batch loop with an empty handler; best of ${handlerNs.noop.length} passes over ${FRAMES} frames` });
print(G3, {
  case: 'batches of 64 in memory',
  impl: 'gnet router handler (cpu hook: Forwarder.routeBatch)',
  mpps: 1e3 / ns.router,
  gbps: gbps(1e3 / ns.router),
  latencyUs: null,
  nsPerPacket: ns.router,
  notes: `validate IPv4 + checksum, LPM, TTL - 1 + checksum update, Ethernet rewrite, action OUT/port; ${ns.router.toFixed(1)} ns/pkt best, ${median(handlerNs.router).toFixed(1)} median of ${handlerNs.router.length} passes over ${FRAMES} frames to random destinations (full table + default route); goal < 60 ns/pkt: ${ns.router < 60 ? 'met' : 'not met'}; ${forwarded === FRAMES * handlerNs.router.length ? 'every frame forwarded' : `ONLY ${forwarded} of ${FRAMES * handlerNs.router.length} FORWARDED`}`,
});
// Context: DPDK's bulk lookup alone (no packet work) in this run, from (1).
const ctx = lpmPeer ? ['DPDK rte_lpm_lookup_bulk', lpmPeer.bulkMlps] : fib ? ['DPDK rte_fib_lookup_bulk', fib.bulkMlps] : undefined;
if (ctx) print(G3, { case: 'lookups alone (context)', impl: ctx[0], mpps: ctx[1], gbps: null, latencyUs: null, nsPerPacket: 1e3 / ctx[1], notes: `from the lookup rows above: 1M random destinations, full table, no packet work${lpmPeer ? '' : ' (rte_lpm is not run in a quick run)'}` });

// --- (4) The router NF end to end.
const G4 = 'router NF end to end, 64 B, cpu mode, one instance';
const packets = quick ? 1_000_000 : 4_000_000;
const routerModule = fileURLToPath(import.meta.resolve('@gnet/nf-router/nf'));
async function e2e(module, config, configSource) {
  const m = await Manager.create({
    ports: [
      { spec: `gen:count=${packets},size=64,flows=65536,dst=0.0.0.0/0`, role: 'rx' },
      { spec: 'null', role: 'tx' },
    ],
    nfs: [{ tag: 'router', module, serviceId: 1, config, nfArgs: [] }],
    configSource,
  });
  let start = 0n;
  let tx0 = 0;
  let nf0;
  const timer = setInterval(() => {
    if (start !== 0n) return;
    const tx = m.accounting().transmitted;
    if (tx > 0) {
      start = process.hrtime.bigint();
      tx0 = tx;
      nf0 = m.snapshot().nfs[0];
    }
  }, 1);
  try {
    await m.run({ untilDrained: true });
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const a = m.accounting();
    const nf1 = m.snapshot().nfs[0];
    // The NF thread's own rate: packets per second of its busy time (loop and handler, idle excluded).
    const nfMpps = (nf1.rxPackets - nf0.rxPackets) / (nf1.busyUs - nf0.busyUs);
    return { mpps: (a.transmitted - tx0) / secs / 1e6, nfMpps, pct: (100 * a.transmitted) / packets };
  } finally {
    clearInterval(timer);
    await m.close();
  }
}
let nf = { mpps: 0 };
let noop = { mpps: 0 };
let touch = { mpps: 0 };
for (let r = 0; r < (quick ? 1 : 2); r++) {
  const n1 = await e2e(here('noop-nf.mjs'), {}, undefined);
  if (n1.mpps > noop.mpps) noop = n1;
  const t1 = await e2e(here('touch-nf.mjs'), {}, undefined);
  if (t1.mpps > touch.mpps) touch = t1;
  const r1 = await e2e(routerModule, { ...routerCfg, mode: 'cpu', workers: 1 }, cfgPath);
  if (r1.mpps > nf.mpps) nf = r1;
}
print(G4, { case: 'gen -> NF -> null', impl: 'nflib no-op NF (peer)', mpps: noop.mpps, gbps: gbps(noop.mpps), latencyUs: null, nfMpps: noop.nfMpps, notes: `bench/noop-nf.mjs: the manager and ring cost alone; ${packets} pkts; ${noop.pct.toFixed(1)}% forwarded` });
print(G4, {
  case: 'gen -> NF -> null',
  impl: 'nflib NF writing 1 byte per packet (context)',
  mpps: touch.mpps,
  gbps: gbps(touch.mpps),
  latencyUs: null,
  nfMpps: touch.nfMpps,
  notes: `bench/touch-nf.mjs: the no-op peer plus each packet's first cache line going to the NF's core and back (the manager's next write into the recycled slot takes it back), which any NF that rewrites headers pays; ${packets} pkts; ${touch.pct.toFixed(1)}% forwarded`,
});
print(G4, {
  case: 'gen -> NF -> null',
  impl: 'gnet router, cpu mode',
  mpps: nf.mpps,
  gbps: gbps(nf.mpps),
  latencyUs: null,
  nfMpps: nf.nfMpps,
  notes: `full table + default route, 65536 flows to random destinations; validate, LPM, TTL, MAC rewrite; Mpps: wall clock, manager thread + NF worker (goal >= 15 Mpps: ${nf.mpps >= 15 ? 'met' : 'not met'}); nfMpps: per second of the NF thread's busy time; ${packets} pkts; ${nf.pct.toFixed(1)}% forwarded`,
});
rmSync(work, { recursive: true, force: true });
