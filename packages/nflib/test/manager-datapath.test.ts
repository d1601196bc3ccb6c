// The manager's data path with NFs in worker_threads: whole batches moving on, packets parting ways
// (drop, OUT, TONF), a service's instances sharing flows, the in-flight bound, malformed input.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Action, Manager, type ManagerOptions } from '../src/index.js';
import { ipv4Frame, readPcap, writePcap, type Frame } from './pcap-util.js';

const fixtures = join(__dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'gnet-datapath-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Packet `i` of flow `i % flows`: UDP with payload [op, 0, 0, i >> 8, i & 255, ...]. */
function frame(i: number, flows: number, op: number): Uint8Array {
  const payload = new Uint8Array(18);
  payload[0] = op;
  payload[3] = i >> 8;
  payload[4] = i & 0xff;
  return ipv4Frame({ src: 0x0a000000 + (i % flows), sport: 1000 + (i % flows), payload });
}

const seq = (b: Uint8Array) => (b[45] << 8) | b[46];

async function runToEnd(options: ManagerOptions): Promise<{ m: Manager; inFlightMax: number }> {
  const m = await Manager.create(options);
  let inFlightMax = 0;
  const probe = setInterval(() => (inFlightMax = Math.max(inFlightMax, m.accounting().inFlight)), 1);
  await m.run({ untilDrained: true });
  clearInterval(probe);
  await m.close();
  return { m, inFlightMax };
}

describe('manager data path (batch descriptors)', () => {
  it('keeps at most 4096 packets in flight by default, or 16 bursts when the burst is larger', async () => {
    // A slow NF (2 ms per batch) holds what the port may send ahead, so the cap is reached.
    process.env.GNET_TEST_BATCH_DELAY_US = '2000';
    try {
      for (const [burst, cap] of [
        [256, 4096],
        [1024, 16384],
      ]) {
        const { m, inFlightMax } = await runToEnd({
          ports: [
            { spec: `gen:count=${3 * cap},size=64`, role: 'rx' },
            { spec: 'null', role: 'tx' },
          ],
          nfs: [{ tag: 'slow', module: join(fixtures, 'slow-nf.mjs'), serviceId: 1 }],
          burst,
        });
        expect(inFlightMax, `burst ${burst}`).toBeLessThanOrEqual(cap);
        expect(inFlightMax, `burst ${burst}`).toBeGreaterThan(cap / 2); // sampled every ms; with 1024, above the 4096 once the default for any burst
        expect(m.accounting()).toEqual({ received: 3 * cap, transmitted: 3 * cap, dropped: 0, inFlight: 0 });
      }
    } finally {
      delete process.env.GNET_TEST_BATCH_DELAY_US;
    }
  });

  it('moves whole batches along a chain, splits the ones whose packets part ways, and accounts for every packet', async () => {
    // op per packet: mostly NEXT, with drops, OUTs to port 2 and TONFs to service 3 mixed in.
    const frames: Frame[] = [];
    for (let i = 0; i < 3000; i++) frames.push({ sec: 1_700_000_000, usec: i, bytes: frame(i, 32, i % 11 === 1 ? 1 : i % 13 === 2 ? 2 : i % 17 === 3 ? 3 : 0) });
    writePcap(join(dir, 'in.pcap'), frames);
    const out1 = join(dir, 'out1.pcap');
    const out2 = join(dir, 'out2.pcap');
    const { m } = await runToEnd({
      ports: [
        { spec: `pcap:${join(dir, 'in.pcap')}`, role: 'rx' },
        { spec: `pcap:${out1}`, role: 'tx' },
        { spec: `pcap:${out2}`, role: 'tx' },
      ],
      nfs: [
        { tag: 'steer', module: join(fixtures, 'steer-nf.mjs'), serviceId: 1 },
        { tag: 'mark', module: join(fixtures, 'mark-nf.mjs'), serviceId: 2, config: { at: 2, mark: 0xbb } },
        { tag: 'mark3', module: join(fixtures, 'mark-nf.mjs'), serviceId: 3, config: { at: 5, mark: 0xaa } },
      ],
      chain: { services: [1, 2], finalAction: Action.OUT, finalDestination: 1 },
      burst: 64,
    });
    const op = (i: number) => frames[i].bytes[42];
    const want1 = frames.map((_, i) => i).filter((i) => op(i) === 0 || op(i) === 3);
    const want2 = frames.map((_, i) => i).filter((i) => op(i) === 2);
    const dropped = frames.filter((f) => f.bytes[42] === 1).length;
    const got1 = readPcap(out1);
    const got2 = readPcap(out2);
    expect(got1.length).toBe(want1.length);
    expect(got2.length).toBe(want2.length);
    // Every packet of port 1 went through service 2; the TONF ones through service 3 first.
    for (const f of got1) {
      expect(f.bytes[44]).toBe(0xbb);
      expect(f.bytes[47]).toBe(f.bytes[42] === 3 ? 0xaa : 0);
    }
    // OUT skips the rest of the chain.
    for (const f of got2) expect([f.bytes[42], f.bytes[44]]).toEqual([2, 0]);
    // Within a flow, packets that took the same path leave in order.
    for (const got of [got1, got2]) {
      const last = new Map<number, number>();
      for (const f of got) {
        const flow = (f.bytes[29] << 8) | f.bytes[42];
        expect(seq(f.bytes)).toBeGreaterThan(last.get(flow) ?? -1);
        last.set(flow, seq(f.bytes));
      }
    }
    const a = m.accounting();
    expect(a).toEqual({ received: 3000, transmitted: want1.length + want2.length, dropped, inFlight: 0 });
    expect(m.drops.nf).toBe(dropped);
    expect(m.badReturns).toBe(0);
    const snap = m.snapshot();
    expect(snap.nfs.find((n) => n.tag === 'steer')).toMatchObject({ rxPackets: 3000, txPackets: 3000 });
    expect(snap.nfs.find((n) => n.serviceId === 3)).toMatchObject({ rxPackets: frames.filter((f) => f.bytes[42] === 3).length });
  });

  it('spreads a service over its instances by flow, each flow on one instance, and bounds what is in flight', async () => {
    const frames: Frame[] = [];
    for (let i = 0; i < 6000; i++) frames.push({ sec: 1_700_000_000, usec: i, bytes: frame(i, 64, 0) });
    writePcap(join(dir, 'flows.pcap'), frames);
    const out = join(dir, 'flows-out.pcap');
    const { m, inFlightMax } = await runToEnd({
      ports: [
        { spec: `pcap:${join(dir, 'flows.pcap')}`, role: 'rx' },
        { spec: `pcap:${out}`, role: 'tx' },
      ],
      nfs: [{ tag: 'steer', module: join(fixtures, 'steer-nf.mjs'), serviceId: 1 }],
      instances: 3,
      burst: 32,
      maxInFlight: 100,
    });
    const got = readPcap(out);
    expect(got.length).toBe(6000);
    const instanceOf = new Map<number, number>();
    for (const f of got) {
      const flow = f.bytes[29];
      const inst = f.bytes[43];
      expect(instanceOf.get(flow) ?? inst).toBe(inst);
      instanceOf.set(flow, inst);
    }
    // 64 flows land on all three instances.
    expect(new Set(instanceOf.values())).toEqual(new Set([0, 1, 2]));
    expect(m.snapshot().nfs.map((n) => n.rxPackets).reduce((x, y) => x + y, 0)).toBe(6000);
    // The bound is what one more burst may add to a full pipeline: never above 100 + nothing.
    expect(inFlightMax).toBeLessThanOrEqual(100);
    expect(m.accounting()).toEqual({ received: 6000, transmitted: 6000, dropped: 0, inFlight: 0 });
    // Every packet's time in the manager was recorded; resetLatency starts the count again.
    expect(m.snapshot().latencyUs).toMatchObject({ packets: 6000 });
    m.resetLatency();
    expect(m.snapshot().latencyUs).toEqual({ packets: 0, p50: 0, p99: 0, max: 0 });
  });

  it('--nf-queue: an instance that falls behind drops beyond its share (nf_ring_full), and the other keeps every packet', async () => {
    // 100 kpps over 64 flows, shared by two instances; instance 0 spends 5 ms per batch (under 7 kpps).
    const out = join(dir, 'lag-out.pcap');
    const { m } = await runToEnd({
      ports: [
        { spec: 'gen:count=20000,size=64,flows=64,rate=100kpps', role: 'rx' },
        { spec: `pcap:${out}`, role: 'tx' },
      ],
      nfs: [{ tag: 'lag', module: join(fixtures, 'lag-nf.mjs'), serviceId: 1, config: { slowInstance: 0, delayMs: 5 } }],
      instances: 2,
      burst: 32,
      nfQueue: 2048,
    });
    const byInstance = [0, 0];
    for (const f of readPcap(out)) byInstance[f.bytes[43]]++;
    const [slow, fast] = m.snapshot().nfs.sort((x, y) => x.instanceId - y.instanceId);
    // The healthy instance lost nothing; the stalled one's overflow was dropped and counted on it.
    expect(fast.drops).toEqual({});
    expect(byInstance[1]).toBe(fast.rxPackets);
    expect(slow.drops.nf_ring_full).toBeGreaterThan(1000);
    expect(byInstance[0]).toBe(slow.rxPackets);
    const a = m.accounting();
    expect(m.snapshot().drops).toEqual({ nf_ring_full: slow.drops.nf_ring_full });
    expect(a).toEqual({ received: 20000, transmitted: byInstance[0] + byInstance[1], dropped: slow.drops.nf_ring_full, inFlight: 0 });
  });

  it('keeps IPv6 and VLAN-tagged flows on one instance each, spreading them over the instances', async () => {
    // UDP over IPv6 (flow in the source address's last byte, byte 37) and over VLAN-tagged IPv4
    // (flow in the source address, byte 33). steer-nf writes its instance id at byte 43 and reads
    // its op at byte 42: both are zero in these frames.
    const v6 = (flow: number) => {
      const b = new Uint8Array(72);
      b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 18, 17, 64], 0);
      b[22] = 0x20;
      b[37] = flow;
      b.set([(1000 + flow) >> 8, (1000 + flow) & 0xff, 0, 53, 0, 18], 54);
      return b;
    };
    const tagged = (flow: number) => {
      const inner = ipv4Frame({ src: 0x0a000000 + flow, sport: 2000 + flow, payload: new Uint8Array(18) });
      const b = new Uint8Array(inner.length + 4);
      b.set(inner.subarray(0, 12), 0);
      b.set([0x81, 0x00, 0x00, 0x07], 12);
      b.set(inner.subarray(12), 16);
      return b;
    };
    const frames: Frame[] = [];
    for (let i = 0; i < 2000; i++) frames.push({ sec: 1, usec: i, bytes: i & 1 ? v6((i >> 1) % 40) : tagged((i >> 1) % 40) });
    writePcap(join(dir, 'v6.pcap'), frames);
    const out = join(dir, 'v6-out.pcap');
    await runToEnd({
      ports: [
        { spec: `pcap:${join(dir, 'v6.pcap')}`, role: 'rx' },
        { spec: `pcap:${out}`, role: 'tx' },
      ],
      nfs: [{ tag: 'steer', module: join(fixtures, 'steer-nf.mjs'), serviceId: 1 }],
      instances: 3,
    });
    const got = readPcap(out);
    expect(got.length).toBe(2000);
    const instanceOf = new Map<string, number>();
    for (const f of got) {
      const flow = f.bytes[12] === 0x86 ? `6/${f.bytes[37]}` : `4/${f.bytes[33]}`;
      expect(instanceOf.get(flow) ?? f.bytes[43]).toBe(f.bytes[43]);
      instanceOf.set(flow, f.bytes[43]);
    }
    expect(instanceOf.size).toBe(80);
    const used = (family: string) => new Set([...instanceOf].filter(([k]) => k.startsWith(family)).map(([, v]) => v));
    expect(used('6/')).toEqual(new Set([0, 1, 2]));
    expect(used('4/')).toEqual(new Set([0, 1, 2]));
  });

  it("reports an NF under the tag it gives itself, even when its tag message trails its start", async () => {
    writePcap(join(dir, 'few.pcap'), [{ sec: 1, usec: 0, bytes: frame(0, 1, 0) }]);
    const m = await Manager.create({
      ports: [
        { spec: `pcap:${join(dir, 'few.pcap')}`, role: 'rx' },
        { spec: 'null', role: 'tx' },
      ],
      nfs: [{ tag: 'file-name', module: join(fixtures, 'late-hello-nf.mjs'), serviceId: 1 }],
    });
    // Started means running and named: the summary of a run over one packet names it right.
    expect(m.snapshot().nfs.map((n) => n.tag)).toEqual(['late-hello']);
    await m.run({ untilDrained: true });
    await m.close();
    expect(m.accounting().transmitted).toBe(1);
  });

  it('counts runts and frames longer than a pool slot as port drops and forwards the rest', async () => {
    const good = frame(1, 1, 0);
    const frames: Frame[] = [
      { sec: 1, usec: 0, bytes: good },
      { sec: 1, usec: 1, bytes: new Uint8Array(10) },
      { sec: 1, usec: 2, bytes: new Uint8Array(3000) },
      { sec: 1, usec: 3, bytes: good },
    ];
    writePcap(join(dir, 'bad.pcap'), frames);
    const { m } = await runToEnd({
      ports: [
        { spec: `pcap:${join(dir, 'bad.pcap')}`, role: 'rx' },
        { spec: 'null', role: 'tx' },
      ],
    });
    expect(m.accounting()).toEqual({ received: 2, transmitted: 2, dropped: 0, inFlight: 0 });
    expect(m.snapshot().ports[0].drops).toEqual({ rx_invalid: 2 });
  });
});
