// Chains of 1, 2 and 4 no-op NFs on generated 64 B traffic, in embedded mode (manager + one
// worker_thread per NF, or every NF in one worker_thread: `--chain a+b`, with batches of 256 and of 1024) and in multi-process mode
// (manager here, each NF its own process joined through shared memory), beside DPDK testpmd forwarding between two null PMDs on one core (the
// peer: a C packet mover with no NF at all). For each chain: the rate at generator speed, the
// manager thread's CPU time per packet (what one core of it can move), and the latency packets
// spend in the manager at a fixed 1 Mpps (p50/p99), from which the added latency per hop follows.
// Prints BENCH lines; see tools/bench.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { probeSharedMemory } from '@gnet/manager-native';
import { Manager, MultiProcessManager, SHARED_THREAD_BURST } from '@gnet/nflib';

const quick = process.env.BENCH_QUICK === '1';
// 20M: at 30 Mpps a run of 10M was over in a third of a second, and warm-up set the rate.
const packets = quick ? 2_000_000 : 20_000_000;
const burst = 256;
const noop = fileURLToPath(new URL('../examples/noop-nf.mjs', import.meta.url));
const group = 'nflib chain of no-op NFs, 64 B, embedded and multi-process mode';
const print = (row) => console.log(`BENCH ${JSON.stringify({ group, ...row })}`);
const gen = (extra) => ({ spec: `gen:size=64,flows=1024,${extra}`, role: 'rx' });
const sink = { spec: 'null', role: 'tx' };

/** CPU seconds of this process's main thread (the manager's data path), from /proc. */
function managerCpu() {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Runs `m` until its input is drained; returns the rate, the manager's ns per packet and the
 * latency (from `warmupMs` on, when given).
 */
async function measure(m, offered, warmupMs = 0) {
  const t0 = process.hrtime.bigint();
  const c0 = managerCpu();
  const warm = warmupMs > 0 ? setTimeout(() => m.resetLatency(), warmupMs) : undefined;
  await m.run({ untilDrained: true });
  clearTimeout(warm);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = managerCpu() - c0;
  const a = m.accounting();
  const snap = m.snapshot();
  return {
    mpps: a.transmitted / s / 1e6,
    managerNs: (cpu * 1e9) / a.transmitted,
    lossPct: (100 * (offered - a.transmitted)) / offered,
    latency: snap.latencyUs,
  };
}

function noopNfs(k, thread) {
  return Array.from({ length: k }, (_, i) => ({ tag: `noop${i + 1}`, module: noop, serviceId: i + 1, ...(thread ? { thread } : {}) }));
}

async function embedded(k, input, offered, warmupMs) {
  const m = await Manager.create({ ports: [input, sink], nfs: noopNfs(k), burst });
  try {
    return await measure(m, offered, warmupMs);
  } finally {
    await m.close();
  }
}

/**
 * The chain's NFs all in one worker_thread, taking turns (`gnet run --chain a+b+c`), in batches of
 * `batch`: 256, or `SHARED_THREAD_BURST` (1024), the default when NFs share a thread. A hop costs the
 * manager a ring round trip per batch (about a microsecond here, cache lines the other core wrote),
 * so 4x the batch is a quarter of that per packet; in flight, 16 batches by default either way.
 */
const sharedThread = (batch) => async (k, input, offered, warmupMs) => {
  const m = await Manager.create({ ports: [input, sink], nfs: noopNfs(k, 'chain'), burst: batch });
  try {
    return await measure(m, offered, warmupMs);
  } finally {
    await m.close();
  }
};
const sharedThread256 = sharedThread(burst);
const sharedThreadBig = sharedThread(SHARED_THREAD_BURST);

/** The same chain with the manager in this process and each no-op NF a process of its own. */
async function multiProcess(k, input, offered, warmupMs) {
  const name = `bench-${process.pid}-${k}`;
  const ids = Array.from({ length: k }, (_, i) => i + 1);
  const m = await MultiProcessManager.create({ name, ports: [input, sink], chain: ids.join(','), burst, slots: k, poolSlots: 32768 });
  const kids = ids.map((id) => spawn(process.execPath, [noop, '-r', String(id), '-m', name], { stdio: ['ignore', 'ignore', 'inherit'] }));
  try {
    // The manager takes no packets until every service has joined: time the data path only.
    const deadline = Date.now() + 30_000;
    while (m.nfs.length < k) {
      if (Date.now() > deadline) throw new Error(`only ${m.nfs.length} of ${k} NF processes joined`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return await measure(m, offered, warmupMs);
  } finally {
    await m.close();
    for (const c of kids) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

const cores = availableParallelism();
const latencyPackets = quick ? 600_000 : 2_500_000;
// Latency is recorded after this much of the paced run: the first half second (JIT compilation,
// heap growth) pauses threads for milliseconds, which would set p99 rather than the data path.
const warmupMs = 500;
let base = null; // the wire's latency: what each chain's hops add to
const one = {}; // per impl, the rate through one NF: what each added hop loses from
const cases = [];
for (const [impl, run, ks] of [
  ['gnet', embedded, [0, 1, 2, 4]],
  ['gnet, one thread, burst 256', sharedThread256, [2, 4]],
  ['gnet, one thread (a+b default: burst 1024)', sharedThreadBig, [1, 2, 4]],
  ['gnet multi-process', multiProcess, [1, 2, 4]],
]) {
  if (impl !== 'gnet' && !probeSharedMemory().available) {
    print({ case: 'all', impl, notes: `not run: shared memory unavailable (${probeSharedMemory().reason})` });
    continue;
  }
  for (const k of ks) cases.push({ impl, run, k, full: null, rates: [] });
}
// Full-speed runs in rounds over every case, not case after case: this machine drifts by 30% within
// minutes, and the loss per hop compares rows, so each row's best must come from the same stretch.
const rounds = quick ? 1 : 5;
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const res = await c.run(c.k, gen(`count=${packets}`), packets);
    c.rates.push(res.mpps);
    if (c.full === null || res.mpps > c.full.mpps) c.full = res;
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
/** Loss per added hop from 1 NF at `r1` Mpps to `k` NFs at `rk`, in %. */
const perHop = (rk, r1, k) => 100 * (1 - (rk / r1) ** (1 / (k - 1)));
for (const { impl, run, k, full, rates } of cases) {
  // Latency at a rate every chain sustains: queueing at full speed would measure the queue.
  const paced = await run(k, gen(`count=${latencyPackets},rate=1Mpps`), latencyPackets, warmupMs);
  if (k === 0) base = paced.latency;
  const shared = run === sharedThread256 || run === sharedThreadBig;
  const threads = shared ? 2 : k + 1;
  if (k === 1) one[impl] = { best: full.mpps, rates };
  // One NF is one thread either way: the shared thread's chains compare with embedded mode's (the
  // rows with batches of 1024 with their own 1-NF row).
  const before = one[run === sharedThread256 ? 'gnet' : impl];
  // The loss per hop from the best rounds, and the median of each round's own (rows of a round ran
  // minutes apart at most, so a drifting machine shifts both alike): the goal must hold on both.
  const lossBest = k > 1 && before ? perHop(full.mpps, before.best, k) : null;
  const lossRounds = k > 1 && before ? median(rates.map((x, i) => perHop(x, before.rates[i], k))) : null;
  print({
    case: k === 0 ? 'wire (no NF)' : `${k} NF${k > 1 ? 's' : ''}`,
    impl,
    mpps: full.mpps,
    gbps: (full.mpps * 64 * 8) / 1e3,
    latencyUs: paced.latency.p50,
    p99Us: paced.latency.p99,
    hopUs: k > 0 && base ? (paced.latency.p50 - base.p50) / k : null,
    managerNsPerPkt: full.managerNs,
    notes:
      `best of ${rounds} rounds over all rows (median ${median(rates).toFixed(1)} Mpps); ${packets} pkts at generator speed, ${full.lossPct.toFixed(1)}% not forwarded; burst ${run === sharedThreadBig ? `${SHARED_THREAD_BURST}, ${16 * SHARED_THREAD_BURST} in flight` : burst}; ` +
      `latency: time in the manager (RX burst to TX burst) at 1 Mpps, after a ${warmupMs} ms warm-up${impl === 'gnet' && k === 0 ? '' : ', hopUs = added p50 per NF vs the wire'}; ` +
      `managerNsPerPkt: the manager thread's CPU per packet (${(1e3 / full.managerNs).toFixed(1)} Mpps per manager core)` +
      (k === 1 ? `; goal >= 20 Mpps through one no-op NF: ${full.mpps >= 20 ? 'met' : 'not met'}` : '') +
      (lossBest !== null
        ? `; less per added hop vs 1 NF: ${lossBest.toFixed(1)}% between the best rounds, ${lossRounds.toFixed(1)}% the median of the rounds' own (goal <= 10%: ${lossBest <= 10 && lossRounds <= 10 ? 'met' : 'not met'})`
        : '') +
      (shared && k > 1 ? `; all ${k} NFs in one worker thread, their loops taking turns` : '') +
      (threads > cores ? `; ${threads} threads on ${cores} cores: NFs sleep when idle instead of spinning` : ''),
  });
}

// Peer: testpmd io forwarding between two null vdevs, one forwarding core, no hugepages.
const testpmd = spawnSync(
  'timeout',
  ['-s', 'INT', quick ? '5' : '9', 'dpdk-testpmd', '--no-huge', '-m', '512', '--no-pci', '--vdev', 'net_null0,copy=1', '--vdev', 'net_null1,copy=1', '-l', '0-1',
    '--log-level=lib.eal:error', '--', '--forward-mode=io', '--nb-cores=1', '--stats-period=1', '--total-num-mbufs=8192'],
  { encoding: 'utf8', input: '' },
);
if (testpmd.error || !/Tx-pps/.test(testpmd.stdout ?? '')) {
  print({ case: 'io forward, 2 null ports', impl: 'dpdk-testpmd', notes: `not run: ${testpmd.error?.message ?? 'dpdk-testpmd missing (apt-get install dpdk-dev)'}` });
} else {
  // Stats come per port, one pair per period; a period's total is the sum of the pair.
  const pps = [...testpmd.stdout.matchAll(/Tx-pps:\s+(\d+)/g)].map((m) => Number(m[1]));
  let best = 0;
  for (let i = 0; i + 1 < pps.length; i += 2) best = Math.max(best, pps[i] + pps[i + 1]);
  print({ case: 'io forward, 2 null ports', impl: 'dpdk-testpmd', mpps: best / 1e6, gbps: (best * 64 * 8) / 1e9, notes: 'one forwarding core, copy=1 null PMDs, best 1 s period' });
}
