import { describe, expect, it } from 'vitest';
import { predictLatency, predictMpps, schedule, type PerfModel } from '../src/index.js';

// Synthetic models (µs): a heavy crypto NF and a light lookup NF.
const ipsec: PerfModel = { k1: 2.0, b1: 8, k2: 0.004, b2: 5 };
const router: PerfModel = { k1: 0.05, b1: 6, k2: 0.002, b2: 5 };
const firewall: PerfModel = { k1: 0.3, b1: 6, k2: 0.002, b2: 5 };
const chain = [
  { name: 'firewall', model: firewall },
  { name: 'ipsec', model: ipsec },
  { name: 'router', model: router },
];
const input = { nfs: chain, totalSms: 132, latencyBoundUs: 1000, offeredMpps: 20 };

describe('GPU scheduler', () => {
  it('models throughput and latency as G-NET does', () => {
    expect(predictMpps(ipsec, 1024, 64)).toBeCloseTo(1024 / Math.max((2 * 1024) / 64 + 8, 0.004 * 1024 + 5));
    expect(predictLatency(router, 512, 1, 10)).toBeCloseTo(51.2 + 0.05 * 512 + 6 + 0.002 * 512 + 5);
  });

  it('gives the slowest NF the most SMs and uses every SM', () => {
    const s = schedule(input, 'gnet');
    const by = Object.fromEntries(s.nfs.map((a) => [a.name, a]));
    expect(by.ipsec.sms).toBeGreaterThan(by.firewall.sms);
    expect(by.firewall.sms).toBeGreaterThan(by.router.sms);
    expect(s.nfs.reduce((n, a) => n + a.sms, 0)).toBe(132);
    expect(s.latencyUs).toBeLessThanOrEqual(1000);
  });

  it('beats FAIR and UNCOORDINATED on chain throughput under the same latency bound', () => {
    const g = schedule(input, 'gnet');
    const f = schedule(input, 'fair');
    const u = schedule(input, 'uncoordinated');
    expect(f.nfs.every((a) => a.sms === 44)).toBe(true);
    expect(g.mpps).toBeGreaterThan(f.mpps);
    expect(g.mpps).toBeGreaterThan(u.mpps);
    expect(f.latencyUs).toBeLessThanOrEqual(1000);
  });

  it('shrinks batches when the latency bound tightens', () => {
    const loose = schedule({ ...input, latencyBoundUs: 2000 });
    const tight = schedule({ ...input, latencyBoundUs: 300 });
    const sum = (s: typeof loose) => s.nfs.reduce((n, a) => n + a.batch, 0);
    expect(sum(tight)).toBeLessThan(sum(loose));
  });

  it('rejects impossible inputs', () => {
    expect(() => schedule({ ...input, totalSms: 2 })).toThrow(RangeError);
    expect(() => schedule({ ...input, latencyBoundUs: 0 })).toThrow(/latency bound/);
    expect(schedule({ ...input, nfs: [] }).nfs).toEqual([]);
  });
});
