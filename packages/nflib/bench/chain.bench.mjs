// Chains of 1, 2 and 4 no-op NFs on generated 64 B traffic, in embedded mode (manager + one
// worker_thread per NF) and in multi-process mode (manager here, each NF its own process joined
// through shared memory), beside DPDK testpmd forwarding between two null PMDs on one core (the
// peer: a C packet mover with no NF at all). Prints BENCH lines; see tools/bench.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { probeSharedMemory } from '@gnet/manager-native';
import { Manager, MultiProcessManager } from '@gnet/nflib';

const quick = process.env.BENCH_QUICK === '1';
const packets = quick ? 300_000 : 3_000_000;
const noop = fileURLToPath(new URL('../examples/noop-nf.mjs', import.meta.url));
const print = (row) => console.log(`BENCH ${JSON.stringify({ group: 'nflib chain of no-op NFs, 64 B, embedded and multi-process mode', ...row })}`);
const ports = [
  { spec: `gen:count=${packets},size=64,flows=1024`, role: 'rx' },
  { spec: 'gen:count=1', role: 'tx' },
];

/** Best of a few runs: on a small shared machine single runs swing with what else is scheduled. */
async function bestOf(run) {
  let best = null;
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    const r = await run();
    if (best === null || r.mpps > best.mpps) best = r;
  }
  return best;
}

async function chain(k) {
  const nfs = Array.from({ length: k }, (_, i) => ({ tag: `noop${i + 1}`, module: noop, serviceId: i + 1 }));
  const m = await Manager.create({ ports, nfs, burst: 64 });
  const t0 = process.hrtime.bigint();
  await m.run({ untilDrained: true });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const a = m.accounting();
  const snap = m.snapshot();
  await m.close();
  const rxDrops = snap.ports[0].drops.rx_pipe_full ?? 0;
  return { mpps: a.transmitted / s / 1e6, lossPct: (100 * (packets - a.transmitted)) / packets, rxDrops };
}

/** The same chain with the manager in this process and each no-op NF a process of its own. */
async function chainMultiProcess(k) {
  const name = `bench-${process.pid}-${k}`;
  const ids = Array.from({ length: k }, (_, i) => i + 1);
  const m = await MultiProcessManager.create({ name, ports, chain: ids.join(','), burst: 64, slots: k, poolSlots: 32768 });
  const kids = ids.map((id) => spawn(process.execPath, [noop, '-r', String(id), '-m', name], { stdio: ['ignore', 'ignore', 'inherit'] }));
  try {
    // The manager takes no packets until every service has joined: time the data path only.
    const deadline = Date.now() + 30_000;
    while (m.nfs.length < k) {
      if (Date.now() > deadline) throw new Error(`only ${m.nfs.length} of ${k} NF processes joined`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const t0 = process.hrtime.bigint();
    await m.run({ untilDrained: true });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const a = m.accounting();
    const rxDrops = m.snapshot().ports[0].drops.rx_pipe_full ?? 0;
    return { mpps: a.transmitted / s / 1e6, lossPct: (100 * (packets - a.transmitted)) / packets, rxDrops };
  } finally {
    await m.close();
    for (const c of kids) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

const results = [];
for (const k of [0, 1, 2, 4]) {
  const r = await bestOf(() => chain(k));
  results.push(r);
  const base = results[0].mpps;
  print({
    case: k === 0 ? 'wire (no NF)' : `${k} NF${k > 1 ? 's' : ''}`,
    impl: 'gnet',
    mpps: r.mpps,
    gbps: (r.mpps * 64 * 8) / 1e3,
    latencyUs: null,
    perHopNs: k === 0 ? null : ((1 / r.mpps - 1 / base) * 1e3) / k,
    notes: `best of 3; ${packets} pkts offered at generator speed; ${r.lossPct.toFixed(1)}% not forwarded (NIC pipe full)`,
  });
}

const shm = probeSharedMemory();
for (const k of [1, 2, 4]) {
  if (!shm.available) {
    print({ case: `${k} NF${k > 1 ? 's' : ''}`, impl: 'gnet multi-process', notes: `not run: shared memory unavailable (${shm.reason})` });
    continue;
  }
  const r = await bestOf(() => chainMultiProcess(k));
  const base = results[0].mpps;
  print({
    case: `${k} NF${k > 1 ? 's' : ''}`,
    impl: 'gnet multi-process',
    mpps: r.mpps,
    gbps: (r.mpps * 64 * 8) / 1e3,
    latencyUs: null,
    perHopNs: ((1 / r.mpps - 1 / base) * 1e3) / k,
    notes: `best of 3; NFs as separate processes over /dev/shm; ${packets} pkts offered at generator speed; ${r.lossPct.toFixed(1)}% not forwarded (NIC pipe full)`,
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
