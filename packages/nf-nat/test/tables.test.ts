// The flow table (open addressing, backward-shift deletion) against a Map, the port allocator, and
// config validation with file/line/field errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@gnet/nflib';
import { createFlowProbe } from '@gnet/manager-native';
import { CHUNK_SLOTS, FlowTable, NatEngine, PortAllocator, SLOT_WORDS, parseNatConfig } from '../src/index.js';

describe('FlowTable', () => {
  it('agrees with a Map over 60k random inserts and removes, clusters included', () => {
    const t = new FlowTable(1 << 14);
    const value = (slot: number) => (slot < 0 ? undefined : t.slots[slot * SLOT_WORDS + 4]);
    const ref = new Map<string, number>();
    let x = 7;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x % n;
    };
    const keys: number[][] = [];
    for (let i = 0; i < 12000; i++) keys.push([rnd(50), rnd(3), rnd(1 << 20), 1 + rnd(5)]);
    for (let step = 0; step < 60000; step++) {
      const k = keys[rnd(keys.length)];
      const id = k.join(',');
      if (rnd(3) === 0) {
        expect(t.remove(k[0], k[1], k[2], k[3])).toBe(ref.delete(id));
      } else if (ref.size < 12000) {
        const slot = t.insert(k[0], k[1], k[2], k[3]);
        expect(slot).toBeGreaterThanOrEqual(0);
        // A key already there keeps its value words; a new one starts at zero.
        expect(t.slots[slot * SLOT_WORDS + 4]).toBe(ref.has(id) ? ref.get(id) : 0);
        t.slots[slot * SLOT_WORDS + 4] = step;
        t.slots[slot * SLOT_WORDS + 3] |= 0x70000; // flags are not key
        ref.set(id, step);
      }
      if (step % 997 === 0) {
        for (const kk of keys.slice(0, 200)) expect(value(t.find(kk[0], kk[1], kk[2], kk[3]))).toBe(ref.get(kk.join(',')));
      }
    }
    expect(t.size).toBe(ref.size);
    for (const [id, v] of ref) {
      const k = id.split(',').map(Number);
      const slot = t.find(k[0], k[1], k[2], k[3]);
      expect(value(slot)).toBe(v);
      expect(t.slotHolds(slot, k[0], k[1], k[2], k[3])).toBe(true);
    }
  });

  it("the native FlowProbe (processBatch's lookup) gives FlowTable's home and slot for every key, present or not", () => {
    // A small table (wrapping clusters) and a bigger one, filled to 7/8 and then thinned by removes
    // (backward shifts), with flags in the owner's bits and key words above 2^31.
    for (const [keys, fill] of [
      [40, 56],
      [1 << 13, 12000],
    ] as const) {
      const t = new FlowTable(keys);
      let x = keys;
      const rnd = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
      const all: number[][] = [];
      for (let i = 0; i < fill; i++) {
        const k = [rnd(), rnd() & 3, rnd(), 0x101 + (rnd() % 5) * 0x100 + (rnd() & 0x1f)];
        all.push(k);
        const slot = t.insert(k[0], k[1], k[2], k[3]);
        if (slot >= 0) t.slots[slot * SLOT_WORDS + 3] |= (rnd() & 0x7f) << 16;
      }
      for (let i = 0; i < fill; i += 3) t.remove(all[i][0], all[i][1], all[i][2], all[i][3]);
      const B = 64;
      const q = new Uint32Array(4 * B);
      const homes = new Int32Array(B);
      const found = new Int32Array(B);
      const probe = createFlowProbe({ slots: t.slots, keys: q, homes, found });
      for (let at = 0; at < all.length; at += B) {
        const n = Math.min(B, all.length - at);
        for (let i = 0; i < n; i++) q.set(i % 7 === 6 ? [1, 2, 3, 0] : all[at + i], 4 * i); // some with no key
        let hits = 0;
        for (let i = 0; i < n; i++) {
          const [k0, k1, k2, k3] = q.subarray(4 * i, 4 * i + 4);
          const slot = k3 === 0 ? -1 : t.find(k0, k1, k2, k3);
          if (slot >= 0) hits++;
        }
        expect(probe.probe(n, t.capacity, at % t.capacity, 16)).toBe(hits);
        for (let i = 0; i < n; i++) {
          const [k0, k1, k2, k3] = q.subarray(4 * i, 4 * i + 4);
          expect(homes[i]).toBe(k3 === 0 ? -1 : t.home(k0, k1, k2, k3));
          expect(found[i]).toBe(k3 === 0 ? -1 : t.find(k0, k1, k2, k3));
        }
      }
      expect(() => probe.probe(B + 1, t.capacity, 0, 0)).toThrow(RangeError);
      expect(() => probe.probe(1, t.capacity + 2, 0, 0)).toThrow(RangeError);
      expect(() => probe.probe(1, t.capacity - 1, 0, 0)).toThrow(RangeError);
    }
    expect(() => createFlowProbe({ slots: new Uint32Array(8) as unknown as Int32Array, keys: new Uint32Array(4), homes: new Int32Array(1), found: new Int32Array(1) })).toThrow(/slots must be a Int32Array/);
  });

  it('keys and addresses above 2^31 match however they are passed (u32 or i32)', () => {
    const t = new FlowTable(100);
    const slot = t.insert(0xcb007101, 0xc6336407, 0xfde80035, 0x111);
    expect(t.find(0xcb007101 | 0, 0xc6336407 | 0, 0xfde80035 | 0, 0x111)).toBe(slot);
    expect(t.find(0xcb007101, 0xc6336407, 0xfde80035, 0x111)).toBe(slot);
    expect(t.slotHolds(slot, 0xcb007101, 0xc6336407, 0xfde80035, 0x111)).toBe(true);
  });

  it('sizes itself for a design load, refuses inserts beyond 7/8 occupancy and tracks dirty chunks for the device copy', () => {
    expect(new FlowTable(7000).capacity).toBe(14000);
    const t = new FlowTable(1);
    expect(t.capacity).toBe(64);
    let n = 0;
    while (t.insert(n, 0, 0, 1) >= 0) n++;
    expect(n).toBe(56);
    expect(t.dirtyCount).toBe(1);
    expect(t.takeDirty()).toBe(1);
    expect(t.dirtyCount).toBe(0);
    const big = new FlowTable(CHUNK_SLOTS * 4);
    for (let i = 0; i < 100; i++) big.insert(i, 1, 2, 3);
    expect(big.dirtyCount).toBeGreaterThan(1);
  });
});

describe('PortAllocator', () => {
  it('preserves a free port, keeps parity, stays in range, reserves and releases', () => {
    const p = new PortAllocator(1024, 1031);
    expect(p.allocate(1025, true, true)).toBe(1025);
    expect(p.allocate(1025, true, true) % 2).toBe(1);
    expect(p.allocate(80, true, true) % 2).toBe(0);
    expect(p.reserve(1030)).toBe(true);
    expect(p.reserve(1030)).toBe(false);
    const got = new Set<number>();
    for (;;) {
      const q = p.allocate(2000, false, false);
      if (q < 0) break;
      got.add(q);
    }
    expect(p.free).toBe(0);
    for (const q of got) expect(q >= 1024 && q <= 1031).toBe(true);
    p.release(1027);
    expect(p.allocate(9, true, false)).toBe(1027);
  });
});

describe('config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gnet-nat-cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function problem(nat: object): ConfigError {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ nat }, null, 2));
    try {
      parseNatConfig(nat, file);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('no error');
  }

  it('has RFC defaults: ports 1024-65535, EIM/EIF, TCP 7440 s / 240 s, UDP 300 s, ICMP 60 s', () => {
    const c = parseNatConfig({ external: ['203.0.113.0/30'] });
    expect(c).toMatchObject({ insidePort: 0, outsidePort: 1, portMin: 1024, portMax: 65535, filtering: 'endpoint-independent', portPreservation: true, parityPreservation: true, maxFlows: 1 << 20 });
    expect(c.timeouts).toEqual({ tcpEstablished: 7440, tcpTransitory: 240, udp: 300, icmp: 60 });
    expect(c.external).toHaveLength(4);
  });

  it('reports file, line and field', () => {
    const e = problem({ external: ['203.0.113.1'], timeouts: { udp: 'long' } });
    expect(e.field).toBe('nat.timeouts.udp');
    expect(e.line).toBe(7);
    expect(e.message).toMatch(/c\.json:7:\d+: nat\.timeouts\.udp: must be an integer/);
    expect(problem({ external: ['203.0.113.300'] }).field).toBe('nat.external[0]');
    expect(problem({ external: ['203.0.113.1'], forwards: [{ proto: 'tcp', external: '198.51.100.1:80', internal: '10.0.0.2:80' }] }).field).toBe('nat.forwards[0].external');
    expect(problem({ external: ['203.0.113.1'], filtering: 'symmetric' }).field).toBe('nat.filtering');
    expect(problem({ external: ['203.0.113.1'], portRange: [5000, 10] }).field).toBe('nat.portRange');
    expect(problem({ external: ['203.0.113.1'], bogus: 1 }).field).toBe('nat.bogus');
    expect(problem({ external: ['203.0.113.1'], timeouts: { tcpEstablished: 3600 } }).message).toMatch(/between 7440/);
    expect(problem({}).field).toBe('nat.external');
  });

  it('memory per flow is reported and bounded', () => {
    const nat = new NatEngine(parseNatConfig({ external: ['203.0.113.1'], maxFlows: 1 << 16 }));
    // Four 32-byte slots per flow (session OUT/IN, mapping MAPI/MAPE) at the 0.5 design load.
    expect(nat.bytesPerFlow).toBeGreaterThan(250);
    expect(nat.bytesPerFlow).toBeLessThan(260);
  });
});
