// Chains of 1, 2 and 4 no-op NFs (embedded mode: manager + one worker_thread per NF) on generated
// 64 B traffic, beside DPDK testpmd forwarding between two null PMDs on one core (the peer: a C
// packet mover with no NF at all). Prints BENCH lines; see tools/bench.mjs.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Manager } from '@gnet/nflib';

const quick = process.env.BENCH_QUICK === '1';
const packets = quick ? 300_000 : 3_000_000;
const noop = fileURLToPath(new URL('../examples/noop-nf.mjs', import.meta.url));
const print = (row) => console.log(`BENCH ${JSON.stringify({ group: 'nflib chain of no-op NFs, 64 B, embedded mode', ...row })}`);

async function chain(k) {
  const nfs = Array.from({ length: k }, (_, i) => ({ tag: `noop${i + 1}`, module: noop, serviceId: i + 1 }));
  const m = await Manager.create({
    ports: [
      { spec: `gen:count=${packets},size=64,flows=1024`, role: 'rx' },
      { spec: 'gen:count=1', role: 'tx' },
    ],
    nfs,
    burst: 64,
  });
  const t0 = process.hrtime.bigint();
  await m.run({ untilDrained: true });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const a = m.accounting();
  const snap = m.snapshot();
  await m.close();
  const rxDrops = snap.ports[0].drops.rx_pipe_full ?? 0;
  return { mpps: a.transmitted / s / 1e6, lossPct: (100 * (packets - a.transmitted)) / packets, rxDrops };
}

const results = [];
for (const k of [0, 1, 2, 4]) {
  const r = await chain(k);
  results.push(r);
  const base = results[0].mpps;
  print({
    case: k === 0 ? 'wire (no NF)' : `${k} NF${k > 1 ? 's' : ''}`,
    impl: 'gnet',
    mpps: r.mpps,
    gbps: (r.mpps * 64 * 8) / 1e3,
    latencyUs: null,
    perHopNs: k === 0 ? null : ((1 / r.mpps - 1 / base) * 1e3) / k,
    notes: `${packets} pkts offered at generator speed; ${r.lossPct.toFixed(1)}% not forwarded (NIC pipe full)`,
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
