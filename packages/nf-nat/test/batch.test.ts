// processBatch (the NF's path: keys first, the table lines fetched together, then the short path for
// established flows, native where the addon translates it) against process() one packet at a time:
// on random mixed traffic both engines must leave identical bytes, actions, counters and tables,
// whatever the batch holds (new flows repeated within a batch, expiry between batches, TCP state
// changes, ICMP echo and errors, hairpinning, filtering, drops, a table too small for the load).
import { describe, expect, it } from 'vitest';
import { Action, PacketBatch } from '@gnet/nflib';
import { NAT_COUNTERS, NatEngine, parseNatConfig } from '../src/index.js';
import { badChecksums, eth, fields, ipPacket, type L4 } from './frames.js';

const EXT = ['203.0.113.1', '203.0.113.2'];
const SLOT = 256;
const BURST = 32;

const HITS = NAT_COUNTERS.indexOf('device_hits');

/**
 * `device`: each batch also gets what gpu mode gives processBatch: the keys `keyOf` made and a
 * device lookup's slot per packet (from the table as the batch starts; one in five a wrong slot),
 * which must change nothing but the `device_hits` count, at most one per hinted packet.
 */
function compare(section: Record<string, unknown>, seed: number, device = false, nativeProbe = true, nativeForward = true): number {
  const cfg = parseNatConfig({ external: EXT, maxFlows: 48, timeouts: { udp: 120 }, ...section });
  const one = new NatEngine(cfg, { nativeProbe: false });
  const many = new NatEngine(cfg, { nativeProbe, nativeForward });
  expect(many.nativeLookup).toBe(nativeProbe); // the addon is built wherever the tests run
  const bytes = new Uint8Array(BURST * SLOT);
  const view = new DataView(bytes.buffer);
  const batch = new PacketBatch({ bytes, view, slotSize: SLOT } as unknown as ConstructorParameters<typeof PacketBatch>[0], BURST);
  let x = seed;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  // Translated outbound frames seen so far: replies, ICMP errors and hairpin traffic are made from them.
  const seen: Uint8Array[] = [];
  const frame = (): { f: Uint8Array; port: number } => {
    const kind = rnd(12);
    const host = `10.0.0.${1 + rnd(6)}`;
    const remote = `198.51.100.${1 + rnd(4)}`;
    const proto = (['udp', 'tcp', 'icmp'] as const)[rnd(3)];
    const flags = [0x02, 0x10, 0x12, 0x11, 0x04][rnd(5)];
    const sport = 1000 + rnd(6);
    const dport = [53, 80][rnd(2)];
    // Some frames come to the broadcast address (nothing is learned from those).
    const to = (mac: number[]) => (rnd(4) === 0 ? [255, 255, 255, 255, 255, 255] : mac);
    if (kind < 5 || seen.length === 0) return { f: eth(ipPacket(host, remote, { proto, sport, dport, flags, type: 8, id: sport, noUdpChecksum: rnd(3) === 0 }), to([2, 0, 0, 0, 0, 1])), port: 0 };
    const o = fields(seen[rnd(seen.length)]);
    const l4 = (p: L4['proto'], a: number, b: number, fl: number): L4 => ({ proto: p, sport: a, dport: b, flags: fl, type: 0, id: b });
    if (kind < 9) {
      const p = o.proto === 6 ? 'tcp' : o.proto === 17 ? 'udp' : 'icmp';
      // A reply, or an unsolicited packet to the same external endpoint from another remote.
      const from = kind < 8 ? o.dst : `192.0.2.${1 + rnd(3)}`;
      return { f: eth(ipPacket(from, o.src, l4(p, o.dport, o.sport, flags)), to([2, 0, 0, 0, 0, 2]), [2, 0, 0, 0, 0, 0x99]), port: 1 };
    }
    if (kind === 9) {
      const quoted = seen[rnd(seen.length)].slice(14, 14 + 20 + 8 + rnd(20));
      return { f: eth(ipPacket('192.0.2.254', o.src, { proto: 'icmp', type: 3, code: 3, payload: quoted }), [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 0x99]), port: 1 };
    }
    if (kind === 10) return { f: eth(ipPacket(host, o.src, { proto: 'udp', sport, dport: o.sport })), port: 0 }; // hairpin
    const bad = eth(ipPacket(host, remote, { proto: 'udp', sport, dport }, rnd(2) === 0 ? 1 : 64));
    if (rnd(2) === 0) bad[14 + 6] = 0x20; // a fragment
    return { f: bad, port: 0 };
  };
  let now = 1000;
  let sent = 0;
  let hinted = 0;
  const keys = new Uint32Array(4 * BURST);
  const hints = new Int32Array(BURST);
  for (let b = 0; b < 120; b++) {
    if (rnd(10) === 0) now += 50 + rnd(200); // sometimes long enough for sessions to expire
    one.tick(now);
    many.tick(now);
    const n = 1 + rnd(BURST);
    const frames: { f: Uint8Array; port: number }[] = [];
    for (let i = 0; i < n; i++) frames.push(i > 0 && rnd(4) === 0 ? frames[rnd(i)] : frame()); // repeats within the batch
    const expected: { out: number; f: Uint8Array }[] = [];
    for (const { f, port } of frames) {
      const copy = new Uint8Array(f);
      expected.push({ out: one.process(new DataView(copy.buffer), copy, 0, copy.length, port), f: copy });
    }
    batch.count = n;
    for (let i = 0; i < n; i++) {
      bytes.set(frames[i].f, i * SLOT);
      batch.offsets[i] = i * SLOT;
      batch.lengths[i] = frames[i].f.length;
      batch.port[i] = frames[i].port;
      batch.action[i] = Action.NEXT;
    }
    if (!device) many.processBatch(batch);
    else {
      for (let i = 0; i < n; i++) {
        many.keyOf(view, bytes, i * SLOT, frames[i].f.length, frames[i].port, keys, 4 * i);
        const slot = keys[4 * i + 3] === 0 ? -1 : many.table.find(keys[4 * i], keys[4 * i + 1], keys[4 * i + 2], keys[4 * i + 3]);
        hints[i] = rnd(5) === 0 ? rnd(many.table.capacity) : slot;
        if (hints[i] >= 0) hinted++;
      }
      many.processBatch(batch, hints, keys);
    }
    for (let i = 0; i < n; i++) {
      const got = bytes.slice(i * SLOT, i * SLOT + frames[i].f.length);
      expect(batch.action[i]).toBe(expected[i].out < 0 ? Action.DROP : Action.OUT);
      if (expected[i].out < 0) continue;
      expect(batch.destination[i]).toBe(expected[i].out);
      expect(got).toEqual(expected[i].f);
      expect(badChecksums(got)).toEqual([]);
      sent++;
      if (frames[i].port === 0 && got[14 + 12] === 203) seen.push(got);
    }
    const counters = Array.from(many.counters);
    if (device) {
      expect(counters[HITS]).toBeLessThanOrEqual(hinted);
      counters[HITS] = 0;
    }
    expect(counters).toEqual(Array.from(one.counters));
    expect([many.sessions, many.mappings]).toEqual([one.sessions, one.mappings]);
  }
  expect(Array.from(many.table.slots)).toEqual(Array.from(one.table.slots));
  // Ports classify: most packets of established sessions took the native short path (FlowProbe.forward).
  const native = nativeProbe && nativeForward && section.classify !== 'address';
  expect(many.nativeShortPath).toBe(native);
  if (native && !device) expect(many.nativeForwarded).toBeGreaterThan(sent / 10);
  else expect(many.nativeForwarded).toBe(0);
  return sent;
}

describe('processBatch', () => {
  for (const [name, section] of [
    ['endpoint-independent filtering', {}],
    ['address-dependent filtering, classified by address', { filtering: 'address-dependent', classify: 'address', insideSubnets: ['10.0.0.0/24'] }],
    ['static forward, known MACs', { forwards: [{ proto: 'udp', external: `${EXT[0]}:5000`, internal: '10.0.0.9:5000' }], mac: { inside: '02:00:00:00:00:01', outside: '02:00:00:00:00:02', outsideGateway: '02:00:00:00:00:99' } }],
    // TTL decremented, inside subnets (half the hosts outside them), a pool of two separate addresses
    // and a configured inside host: what the native short path reads from its parameters.
    [
      'TTL decremented, inside subnets, a scattered pool, a configured inside host',
      { decrementTtl: true, insideSubnets: ['10.0.0.0/30', '10.0.0.6/32'], external: ['203.0.113.1', '203.0.113.9'], mac: { inside: '02:00:00:00:00:01', insideHost: '02:00:00:00:00:07' } },
    ],
  ] as const) {
    it(`translates exactly as process() does, packet by packet (${name})`, () => {
      for (const seed of [1, 2, 3]) {
        expect(compare(section, seed)).toBeGreaterThan(200);
      }
    });
    it(`without the native probe (the JavaScript lookup pass), translates the same (${name})`, () => {
      for (const seed of [7, 8, 9]) {
        expect(compare(section, seed, false, false)).toBeGreaterThan(200);
      }
    });
    it(`with the native lookup but the short path in JavaScript, translates the same (${name})`, () => {
      for (const seed of [10, 11]) {
        expect(compare(section, seed, false, true, false)).toBeGreaterThan(200);
      }
    });
    it(`with gpu mode's keys and device slots, right or wrong, translates the same (${name})`, () => {
      for (const seed of [4, 5, 6]) {
        expect(compare(section, seed, true)).toBeGreaterThan(200);
      }
    });
  }
});

describe('processBatch and learned MACs', () => {
  it('an established flow still learns the NAT\'s own MACs from the first unicast frames (after broadcast ones)', () => {
    const nat = new NatEngine(parseNatConfig({ external: EXT, maxFlows: 64 }));
    const bytes = new Uint8Array(SLOT);
    const batch = new PacketBatch({ bytes, view: new DataView(bytes.buffer), slotSize: SLOT } as unknown as ConstructorParameters<typeof PacketBatch>[0], 1);
    const send = (f: Uint8Array, port: number): Uint8Array => {
      bytes.set(f);
      batch.count = 1;
      batch.offsets[0] = 0;
      batch.lengths[0] = f.length;
      batch.port[0] = port;
      nat.processBatch(batch);
      expect(batch.action[0]).toBe(Action.OUT);
      return bytes.slice(0, f.length);
    };
    const bcast = [255, 255, 255, 255, 255, 255];
    const out = (dst: number[]) => send(eth(ipPacket('10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000, dport: 53 }), dst), 0);
    const back = (dst: number[]) => send(eth(ipPacket('198.51.100.7', EXT[0], { proto: 'udp', sport: 53, dport: 4000 }), dst, [2, 0, 0, 0, 0, 0x99]), 1);
    out(bcast); // sets the flow up; learns nothing
    back(bcast); // learns the gateway only
    out([2, 0, 0, 0, 0, 1]); // established: our inside MAC is learned from it
    expect(fields(back([2, 0, 0, 0, 0, 2])).ethSrc).toEqual([2, 0, 0, 0, 0, 1]); // and our outside MAC from this one
    expect(fields(out([2, 0, 0, 0, 0, 1])).ethSrc).toEqual([2, 0, 0, 0, 0, 2]);
  });
});

describe('device hints', () => {
  it('a hinted packet that leaves the short path (a FIN of an established session) counts one device hit, not two', () => {
    const nat = new NatEngine(parseNatConfig({ external: EXT, maxFlows: 16 }));
    nat.tick(1000);
    const run = (f: Uint8Array, port: number, hint = -1): number => {
      const bytes = new Uint8Array(SLOT);
      bytes.set(f);
      const batch = new PacketBatch({ bytes, view: new DataView(bytes.buffer), slotSize: SLOT } as unknown as ConstructorParameters<typeof PacketBatch>[0], 1);
      batch.count = 1;
      batch.lengths[0] = f.length;
      batch.port[0] = port;
      const keys = new Uint32Array(4);
      nat.keyOf(batch.view, bytes, 0, f.length, port, keys, 0);
      const slot = hint === -2 ? nat.table.find(keys[0], keys[1], keys[2], keys[3]) : hint;
      nat.processBatch(batch, Int32Array.of(slot), keys);
      expect(batch.action[0]).toBe(Action.OUT);
      return fields(bytes.subarray(0, f.length)).sport;
    };
    const tcp = (flags: number) => ({ proto: 'tcp' as const, sport: 40000, dport: 80, flags, type: 0, id: 0 });
    const ext = run(eth(ipPacket('10.0.0.1', '198.51.100.1', tcp(0x02)), [2, 0, 0, 0, 0, 1]), 0);
    run(eth(ipPacket('198.51.100.1', EXT[0], { ...tcp(0x12), sport: 80, dport: ext }), [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 0x99]), 1);
    run(eth(ipPacket('10.0.0.1', '198.51.100.1', tcp(0x10)), [2, 0, 0, 0, 0, 1]), 0, -2);
    const before = nat.counters[HITS];
    expect(before).toBe(1);
    run(eth(ipPacket('10.0.0.1', '198.51.100.1', tcp(0x11)), [2, 0, 0, 0, 0, 1]), 0, -2);
    expect(nat.counters[HITS]).toBe(before + 1);
  });
});

describe('the native short path and packet order', () => {
  it('an ICMP error before a packet of its session in one batch leaves the table as packet order does', () => {
    // The session's IN slot is stale and its OUT slot live (no sweep refreshes it): the error (first
    // in the batch, left to TypeScript) reads the OUT slot's time, which the outbound packet (second,
    // translated natively before it) refreshes. Both orders must leave the same table, word for word.
    const cfg = parseNatConfig({ external: EXT, maxFlows: 16, sweepPerBatch: 0, timeouts: { udp: 120 }, mac: { inside: '02:00:00:00:00:01', outside: '02:00:00:00:00:02', outsideGateway: '02:00:00:00:00:99' } });
    const one = new NatEngine(cfg, { nativeProbe: false });
    const many = new NatEngine(cfg);
    expect(many.nativeShortPath).toBe(true);
    const outFrame = () => eth(ipPacket('10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000, dport: 53 }), [2, 0, 0, 0, 0, 1]);
    const bytes = new Uint8Array(2 * SLOT);
    const batch = new PacketBatch({ bytes, view: new DataView(bytes.buffer), slotSize: SLOT } as unknown as ConstructorParameters<typeof PacketBatch>[0], 2);
    const both = (now: number, frames: { f: Uint8Array; port: number }[]): Uint8Array[] => {
      one.tick(now);
      many.tick(now);
      const expected = frames.map(({ f, port }) => {
        const copy = new Uint8Array(f);
        expect(one.process(new DataView(copy.buffer), copy, 0, copy.length, port)).toBeGreaterThanOrEqual(0);
        return copy;
      });
      batch.count = frames.length;
      frames.forEach(({ f, port }, i) => {
        bytes.set(f, i * SLOT);
        batch.offsets[i] = i * SLOT;
        batch.lengths[i] = f.length;
        batch.port[i] = port;
      });
      many.processBatch(batch);
      frames.forEach(({ f }, i) => expect(bytes.slice(i * SLOT, i * SLOT + f.length)).toEqual(expected[i]));
      expect(Array.from(many.table.slots)).toEqual(Array.from(one.table.slots));
      return expected;
    };
    const [translated] = both(1000, [{ f: outFrame(), port: 0 }]); // the session, both slots at 1000
    both(1100, [{ f: outFrame(), port: 0 }]); // OUT at 1100, IN still 1000
    const quote = translated.slice(14, 14 + 28);
    const error = eth(ipPacket('192.0.2.254', EXT[0], { proto: 'icmp', type: 3, code: 3, payload: quote }), [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 0x99]);
    const before = many.nativeForwarded;
    both(1150, [{ f: error, port: 1 }, { f: outFrame(), port: 0 }]); // IN stale (1000 + 120 < 1150), OUT live
    expect(many.nativeForwarded).toBe(before + 1); // the outbound packet took the native path
  });
});
