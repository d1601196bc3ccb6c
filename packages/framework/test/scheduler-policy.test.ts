// G-NET's scheduler at run time: the policy's decisions from measured and declared models, and the
// manager applying a policy's batch targets to a pipelined NF while traffic flows.
import { fileURLToPath } from 'node:url';
import { Manager, type NfCounters, type StatsSnapshot } from '@gnet/nflib';
import { describe, expect, it } from 'vitest';
import { chainSyncPlan, computeSyncPlan, createSchedulerPolicy, schedule } from '../src/index.js';

function nf(key: string, tag: string, serviceId: number, counters: Record<string, number>): NfCounters {
  return { key, tag, serviceId, instanceId: Number(key.split('/')[1]), rxPackets: 0, txPackets: 0, drops: {}, rxRingOccupancy: 0, txRingOccupancy: 0, state: 'running', counters };
}
function snap(time: number, received: number, nfs: NfCounters[]): StatsSnapshot {
  return { time, received, transmitted: 0, dropped: 0, inFlight: 0, drops: {}, ports: [], nfs };
}

describe('createSchedulerPolicy', () => {
  const fw = (batches: number, packets: number, gpuUs: number) => ({ 'fw.batches': batches, 'fw.packets': packets, 'fw.gpu_us': gpuUs });

  it('ignores cpu-mode NFs (no fw.* counters) and waits for measurements', () => {
    const p = createSchedulerPolicy();
    expect(p.decide(snap(0, 0, [nf('1/0', 'counter', 1, { packets: 5 })]), undefined)).toBeNull();
    expect(p.decide(snap(0, 0, [nf('1/0', 'lpm', 1, fw(0, 0, 0))]), undefined)).toEqual({ instances: {}, info: { waitingForMeasurements: ['lpm'] } });
  });

  it('gives the declared-model bottleneck NF the most SMs (gnet), as schedule() does, and every instance its setting', () => {
    const heavy = { 'model.k1': 2, 'model.b1': 5, 'model.k2': 0.01, 'model.b2': 2 };
    const light = { 'model.k1': 0.2, 'model.b1': 5, 'model.k2': 0.01, 'model.b2': 2 };
    const now = snap(2000, 3_000_000, [nf('1/0', 'fw', 1, { ...fw(10, 1000, 100), ...light }), nf('2/0', 'ipsec', 2, { ...fw(10, 1000, 900), ...heavy }), nf('2/1', 'ipsec', 2, { ...fw(10, 1000, 900), ...heavy })]);
    const prev = snap(1000, 1_000_000, []);
    const d = createSchedulerPolicy({ totalSms: 16, latencyBoundUs: 2000 }).decide(now, prev)!;
    const want = schedule(
      {
        nfs: [
          { name: 'fw', model: { k1: 0.2, b1: 5, k2: 0.01, b2: 2 } },
          { name: 'ipsec', model: { k1: 2, b1: 5, k2: 0.01, b2: 2 } },
        ],
        totalSms: 16,
        latencyBoundUs: 2000,
        offeredMpps: 2,
      },
      'gnet',
    );
    expect(want.nfs[1].sms).toBeGreaterThan(want.nfs[0].sms);
    expect(d.info).toMatchObject({ totalSms: 16, offeredMpps: 2, nfs: { fw: { sms: want.nfs[0].sms, batch: want.nfs[0].batch, model: 'declared' }, ipsec: { sms: want.nfs[1].sms, batch: want.nfs[1].batch } } });
    expect(d.instances['1/0']).toEqual({ batch: want.nfs[0].batch, sms: want.nfs[0].sms });
    // Two instances of ipsec share its SMs.
    expect(d.instances['2/0']).toEqual({ batch: want.nfs[1].batch, sms: Math.floor(want.nfs[1].sms / 2) });
    expect(d.instances['2/1']).toEqual(d.instances['2/0']);
  });

  it('fits a model from measurements when none is declared; fair splits SMs evenly', () => {
    const now = snap(1000, 0, [nf('1/0', 'a', 1, fw(100, 6400, 5000)), nf('2/0', 'b', 2, fw(100, 6400, 20000))]);
    const d = createSchedulerPolicy({ policy: 'fair', totalSms: 8 }).decide(now, undefined)!;
    expect(d.info).toMatchObject({ nfs: { a: { sms: 4, model: 'measured' }, b: { sms: 4, model: 'measured' } } });
    const g = createSchedulerPolicy({ policy: 'gnet', totalSms: 8 }).decide(now, undefined)!;
    const nfs = g.info.nfs as Record<string, { sms: number }>;
    expect(nfs.b.sms).toBeGreaterThan(nfs.a.sms);
  });
});

describe('batch targets applied at run time', () => {
  it('the manager hands a policy\u2019s batch size to a pipelined NF, which never builds a larger batch once asked', async () => {
    const module = fileURLToPath(new URL('./fixtures/target-nf.mjs', import.meta.url));
    const asked: number[] = [];
    const m = await Manager.create({
      ports: [
        { spec: 'gen:count=200000,size=64,flows=64', role: 'rx' },
        { spec: 'null', role: 'tx' },
      ],
      nfs: [{ tag: 'target', module, serviceId: 1, config: { maxBatch: 256 }, nfArgs: [] }],
      burst: 64,
      policyIntervalMs: 0,
      policy: {
        name: 'fixed',
        decide(now) {
          asked.push(now.nfs.length);
          return { instances: { '1/0': { batch: 24, sms: 3 } }, info: { batch: 24 } };
        },
      },
    });
    try {
      await m.run({ untilDrained: true });
      const s = m.snapshot();
      const t = s.nfs.find((n) => n.tag === 'target')!;
      expect(asked.length).toBeGreaterThan(0);
      expect(s.policy).toEqual({ name: 'fixed', info: { batch: 24 } });
      expect(t).toMatchObject({ batchTarget: 24, smShare: 3, rxPackets: 200000 });
      expect(t.counters.targeted).toBeGreaterThan(0);
      expect(t.counters.over_target).toBe(0);
      expect(s.transmitted).toBe(200000);
    } finally {
      await m.close();
    }
  });
});

describe('chainSyncPlan (recomputed from what running NFs published)', () => {
  const fwNf = { name: 'firewall', preReads: ['l4.ports'], gpuReads: ['ip.addrs', 'l4.ports'], gpuWrites: ['meta.verdict'], postReads: ['meta.verdict'] };
  const nids = { name: 'nids', gpuReads: ['payload', 'l4.ports'], gpuWrites: ['meta.alert'], postReads: ['meta.alert'] };
  const ipsec = { name: 'ipsec', gpuReads: ['payload', 'ip.addrs'], gpuWrites: ['payload'], postReads: ['payload'] };
  const bytes = { 'l4.ports': 4, 'ip.addrs': 8, payload: 1024, 'meta.verdict': 1, 'meta.alert': 1 };
  const pub = (key: string, sid: number, access: object, mode = 'gpu', state = 'running') => ({
    ...nf(key, (access as { name: string }).name, sid, {}),
    state,
    meta: { framework: { mode, access, fieldBytes: bytes } },
  });

  it('plans the chain in service order like computeSyncPlan, one entry per service', () => {
    const now = snap(0, 0, [pub('3/0', 3, ipsec), pub('1/0', 1, fwNf), pub('2/0', 2, nids), pub('2/1', 2, nids)]);
    expect(chainSyncPlan(now)).toEqual(computeSyncPlan([fwNf, nids, ipsec], bytes));
    // A field already on the GPU is not sent again: nids and ipsec reuse what firewall sent.
    expect(chainSyncPlan(now)!.nfs[1].htod).toEqual(['payload']);
  });

  it('follows NFs leaving (a stopped NF drops out of the plan) and cpu-mode NFs working on the host', () => {
    const left = chainSyncPlan(snap(0, 0, [pub('1/0', 1, fwNf, 'gpu', 'stopped'), pub('2/0', 2, nids)]))!;
    expect(left.nfs.map((n) => n.name)).toEqual(['nids']);
    expect(left.nfs[0].htod).toEqual(['l4.ports', 'payload']);
    const cpuFirst = chainSyncPlan(snap(0, 0, [pub('1/0', 1, fwNf, 'cpu'), pub('2/0', 2, nids)]))!;
    expect(cpuFirst.nfs[0]).toEqual({ name: 'firewall', htod: [], dtoh: [] });
    expect(chainSyncPlan(snap(0, 0, [nf('1/0', 'plain', 1, {})]))).toBeNull();
  });
});
