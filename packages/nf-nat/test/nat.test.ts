// The NAT engine on crafted packets: mapping, filtering, port allocation, TCP/UDP/ICMP, ICMP errors
// (RFC 5508), hairpinning, static forwards, expiry and drop reasons. Every translated packet's
// checksums are verified by a fresh computation (test/frames.ts), not by the code under test.
import { describe, expect, it } from 'vitest';
import { NatCounter, NatEngine, parseNatConfig } from '../src/index.js';
import { badChecksums, eth, fields, ip, ipPacket, type L4 } from './frames.js';

const EXT = '203.0.113.1';

function engine(section: Record<string, unknown> = {}): NatEngine {
  return new NatEngine(parseNatConfig({ external: [EXT], maxFlows: 4096, ...section }));
}

interface Sent {
  out: number;
  f: Uint8Array;
}

/** Runs one frame through the engine (port 0 inside, 1 outside) and checks its checksums when sent. */
function send(nat: NatEngine, frame: Uint8Array, port: number): Sent {
  const buf = new Uint8Array(frame.length + 64);
  buf.set(frame, 32);
  const out = nat.process(new DataView(buf.buffer), buf, 32, frame.length, port);
  const f = buf.slice(32, 32 + frame.length);
  if (out >= 0) expect(badChecksums(f)).toEqual([]);
  return { out, f };
}

const outb = (nat: NatEngine, src: string, dst: string, l4: L4) => send(nat, eth(ipPacket(src, dst, l4)), 0);
const inb = (nat: NatEngine, src: string, dst: string, l4: L4) => send(nat, eth(ipPacket(src, dst, l4), [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 0x99]), 1);

describe('UDP mapping and filtering (RFC 4787)', () => {
  it('translates the source to the external address, preserving the port, and decrements the TTL', () => {
    const nat = engine();
    const r = outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 5000, dport: 53 });
    expect(r.out).toBe(1);
    expect(fields(r.f)).toMatchObject({ src: EXT, sport: 5000, dst: '198.51.100.7', dport: 53, ttl: 63 });
    expect(nat.counters[NatCounter.OUT]).toBe(1);
  });

  it('keeps a zero UDP checksum zero (both ways)', () => {
    const nat = engine();
    const r = outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 5000, noUdpChecksum: true });
    expect(new DataView(r.f.buffer).getUint16(14 + 20 + 6)).toBe(0);
    const back = inb(nat, '198.51.100.7', EXT, { proto: 'udp', sport: 53, dport: 5000, noUdpChecksum: true });
    expect(back.out).toBe(0);
    expect(new DataView(back.f.buffer).getUint16(14 + 20 + 6)).toBe(0);
    expect(fields(back.f)).toMatchObject({ dst: '10.0.0.2', dport: 5000 });
  });

  it('endpoint-independent mapping: one external port for every destination; replies go back', () => {
    const nat = engine();
    const a = outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000, dport: 53 });
    const b = outb(nat, '10.0.0.2', '192.0.2.9', { proto: 'udp', sport: 4000, dport: 1234 });
    expect(fields(a.f).sport).toBe(fields(b.f).sport);
    const r = inb(nat, '192.0.2.9', EXT, { proto: 'udp', sport: 1234, dport: fields(a.f).sport });
    expect(r.out).toBe(0);
    expect(fields(r.f)).toMatchObject({ src: '192.0.2.9', dst: '10.0.0.2', sport: 1234, dport: 4000 });
    expect(fields(r.f).ethDst).toEqual([2, 0, 0, 0, 0, 0x0a]); // the inside host's MAC, learned
    expect(nat.mappings).toBe(1);
    expect(nat.sessions).toBe(2);
  });

  it('endpoint-independent filtering lets any remote in through an existing mapping', () => {
    const nat = engine();
    outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000 });
    expect(inb(nat, '192.0.2.50', EXT, { proto: 'udp', sport: 9, dport: 4000 }).out).toBe(0);
    expect(inb(nat, '192.0.2.50', EXT, { proto: 'udp', sport: 9, dport: 4001 }).out).toBe(-1);
    expect(nat.counters[NatCounter.DROP_NO_MAPPING]).toBe(1);
  });

  it('address-dependent filtering admits only addresses the inside host sent to (any port of them)', () => {
    const nat = engine({ filtering: 'address-dependent' });
    outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000, dport: 53 });
    expect(inb(nat, '198.51.100.7', EXT, { proto: 'udp', sport: 9999, dport: 4000 }).out).toBe(0);
    expect(inb(nat, '192.0.2.50', EXT, { proto: 'udp', sport: 53, dport: 4000 }).out).toBe(-1);
    expect(nat.counters[NatCounter.DROP_FILTERED]).toBe(1);
  });

  it('port allocation: preservation off, parity kept, range honoured, exhaustion drops and counts', () => {
    const nat = engine({ portPreservation: false, portRange: [20000, 20003] });
    const ports = [];
    for (const [i, sp] of [
      [2, 5000],
      [3, 5001],
      [4, 5002],
      [5, 5003],
    ]) {
      const r = outb(nat, `10.0.0.${i}`, '198.51.100.7', { proto: 'udp', sport: sp });
      expect(r.out).toBe(1);
      ports.push(fields(r.f).sport);
    }
    for (let k = 0; k < 4; k++) expect(ports[k] % 2).toBe(k % 2);
    expect(new Set(ports)).toEqual(new Set([20000, 20001, 20002, 20003]));
    expect(outb(nat, '10.0.0.9', '198.51.100.7', { proto: 'udp', sport: 7000 }).out).toBe(-1);
    expect(nat.counters[NatCounter.DROP_POOL_EXHAUSTED]).toBe(1);
  });

  it('a port taken by one host is not preserved for another (distinct external endpoints)', () => {
    const nat = engine();
    const a = outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 6000 });
    const b = outb(nat, '10.0.0.3', '198.51.100.7', { proto: 'udp', sport: 6000 });
    expect(fields(a.f).sport).toBe(6000);
    expect(fields(b.f).sport).not.toBe(6000);
    expect(fields(b.f).sport % 2).toBe(0);
  });

  it('expiry: an idle UDP session times out (sweep), its mapping and port are freed; lazy expiry on lookup', () => {
    const nat = engine({ timeouts: { udp: 120 }, sweepPerBatch: 100000 });
    nat.tick(1000);
    outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000 });
    nat.tick(1100);
    expect(nat.sessions).toBe(1);
    nat.tick(1121);
    expect(nat.sessions).toBe(0);
    expect(nat.mappings).toBe(0);
    expect(nat.counters[NatCounter.SESSIONS_EXPIRED]).toBe(1);
    expect(inb(nat, '198.51.100.7', EXT, { proto: 'udp', sport: 53, dport: 4000 }).out).toBe(-1);
    // Lazy: no sweep at all, the expired session is found and dropped on lookup.
    const lazy = engine({ timeouts: { udp: 120 }, sweepPerBatch: 0 });
    lazy.tick(0);
    outb(lazy, '10.0.0.2', '198.51.100.7', { proto: 'udp', sport: 4000 });
    lazy.tick(500);
    expect(inb(lazy, '198.51.100.7', EXT, { proto: 'udp', sport: 53, dport: 4000 }).out).toBe(-1);
    expect(lazy.sessions).toBe(0);
  });
});

describe('TCP (RFC 5382)', () => {
  const SYN = 0x02;
  const SYNACK = 0x12;
  const ACK = 0x10;
  const FIN = 0x11;

  it('a SYN opens a session; SYN-ACK back makes it established (2 h 4 min); FIN makes it transitory (4 min)', () => {
    const nat = engine({ sweepPerBatch: 0 });
    nat.tick(10);
    const s = outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'tcp', sport: 40000, dport: 80, flags: SYN });
    expect(s.out).toBe(1);
    const expiry = () => nat.sessionExpiry(6, ip('10.0.0.2'), 40000, ip('198.51.100.7'), 80);
    expect(expiry()).toBe(10 + 240);
    const sa = inb(nat, '198.51.100.7', EXT, { proto: 'tcp', sport: 80, dport: fields(s.f).sport, flags: SYNACK });
    expect(sa.out).toBe(0);
    expect(fields(sa.f)).toMatchObject({ dst: '10.0.0.2', dport: 40000 });
    expect(expiry()).toBe(10 + 7440);
    outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'tcp', sport: 40000, dport: 80, flags: ACK });
    expect(expiry()).toBe(10 + 7440);
    outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'tcp', sport: 40000, dport: 80, flags: FIN });
    expect(expiry()).toBe(10 + 240);
  });

  it('drops TCP without a session unless it is a SYN, both ways', () => {
    const nat = engine();
    expect(outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'tcp', sport: 40000, flags: ACK }).out).toBe(-1);
    outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'tcp', sport: 40000, dport: 80, flags: SYN });
    expect(inb(nat, '192.0.2.1', EXT, { proto: 'tcp', sport: 80, dport: 40000, flags: ACK }).out).toBe(-1);
    expect(nat.counters[NatCounter.DROP_TCP_NO_SESSION]).toBe(2);
    // Simultaneous open through the endpoint-independent mapping: an inbound SYN is admitted.
    expect(inb(nat, '192.0.2.1', EXT, { proto: 'tcp', sport: 80, dport: 40000, flags: SYN }).out).toBe(0);
  });

  it('static forward: an outside SYN reaches the internal server, its replies leave from the forward', () => {
    const nat = engine({ forwards: [{ proto: 'tcp', external: `${EXT}:8080`, internal: '10.0.0.5:80' }], mac: { insideHost: '02:00:00:00:00:55' } });
    const r = inb(nat, '198.51.100.7', EXT, { proto: 'tcp', sport: 33333, dport: 8080, flags: SYN });
    expect(r.out).toBe(0);
    expect(fields(r.f)).toMatchObject({ dst: '10.0.0.5', dport: 80, ethDst: [2, 0, 0, 0, 0, 0x55] });
    const back = outb(nat, '10.0.0.5', '198.51.100.7', { proto: 'tcp', sport: 80, dport: 33333, flags: SYNACK });
    expect(fields(back.f)).toMatchObject({ src: EXT, sport: 8080 });
    // The forward's port is never handed out dynamically.
    const other = outb(nat, '10.0.0.6', '198.51.100.7', { proto: 'tcp', sport: 8080, dport: 1, flags: SYN });
    expect(fields(other.f).sport).not.toBe(8080);
  });
});

describe('ICMP (RFC 5508)', () => {
  it('echo: the identifier is translated out and back', () => {
    const nat = engine();
    outb(nat, '10.0.0.3', '198.51.100.7', { proto: 'icmp', type: 8, id: 77 });
    const a = outb(nat, '10.0.0.2', '198.51.100.7', { proto: 'icmp', type: 8, id: 77 });
    expect(fields(a.f).src).toBe(EXT);
    const id = fields(a.f).sport;
    expect(id).not.toBe(77);
    const r = inb(nat, '198.51.100.7', EXT, { proto: 'icmp', type: 0, id });
    expect(fields(r.f)).toMatchObject({ dst: '10.0.0.2', sport: 77 });
    expect(inb(nat, '198.51.100.8', EXT, { proto: 'icmp', type: 8, id }).out).toBe(-1);
    expect(nat.counters[NatCounter.DROP_ICMP_TYPE]).toBe(1);
  });

  /** Quoting the translated outbound packet (as a router outside would), whole or cut to 8 bytes of L4. */
  function errorIn(nat: NatEngine, translated: Uint8Array, type: number, cut: number | undefined): Sent {
    const quoted = translated.slice(14, cut === undefined ? undefined : 14 + 20 + cut);
    return inb(nat, '192.0.2.254', EXT, { proto: 'icmp', type, code: type === 3 ? 3 : 0, payload: quoted });
  }

  for (const [name, l4] of [
    ['UDP', { proto: 'udp', sport: 5353, dport: 53 }],
    ['TCP', { proto: 'tcp', sport: 5353, dport: 80, flags: 0x02 }],
    ['ICMP echo', { proto: 'icmp', type: 8, id: 5353 }],
  ] as const) {
    for (const cut of [undefined, 8]) {
      it(`inbound error quoting ${name} (${cut === undefined ? 'whole packet' : '8 bytes of L4'}): outer and quoted headers translated, every checksum correct`, () => {
        const nat = engine({ portPreservation: false });
        const o = outb(nat, '10.0.0.2', '198.51.100.7', l4 as L4);
        const r = errorIn(nat, o.f, name === 'TCP' ? 11 : 3, cut);
        expect(r.out).toBe(0);
        expect(fields(r.f).dst).toBe('10.0.0.2');
        const q = fields(r.f, 14 + 20 + 8);
        expect(q).toMatchObject({ src: '10.0.0.2', dst: '198.51.100.7', sport: 5353 });
        expect(nat.counters[NatCounter.ICMP_ERROR_IN]).toBe(1);
      });
    }
  }

  it('inbound error about no known flow is dropped and counted', () => {
    const nat = engine();
    const fake = eth(ipPacket(EXT, '198.51.100.7', { proto: 'udp', sport: 1111, dport: 53 }));
    const r = inb(nat, '192.0.2.254', EXT, { proto: 'icmp', type: 3, code: 3, payload: fake.slice(14) });
    expect(r.out).toBe(-1);
    expect(nat.counters[NatCounter.DROP_ICMP_ERROR_NO_FLOW]).toBe(1);
  });

  it('outbound error from an inside host about an inbound packet: quoted destination becomes external', () => {
    const nat = engine({ forwards: [{ proto: 'udp', external: `${EXT}:5000`, internal: '10.0.0.5:5001' }] });
    const i = inb(nat, '198.51.100.7', EXT, { proto: 'udp', sport: 7777, dport: 5000 });
    expect(i.out).toBe(0);
    const r = outb(nat, '10.0.0.5', '198.51.100.7', { proto: 'icmp', type: 3, code: 3, payload: i.f.slice(14) });
    expect(r.out).toBe(1);
    expect(fields(r.f).src).toBe(EXT);
    expect(fields(r.f, 14 + 28)).toMatchObject({ src: '198.51.100.7', dst: EXT, sport: 7777, dport: 5000 });
    expect(nat.counters[NatCounter.ICMP_ERROR_OUT]).toBe(1);
  });
});

describe('hairpinning, drops and a checksum fuzz', () => {
  it('hairpin: an inside host reaches another through its external endpoint, with its own external source', () => {
    const nat = engine({ forwards: [{ proto: 'udp', external: `${EXT}:6000`, internal: '10.0.0.5:6000' }], mac: { insideHost: '02:00:00:00:00:55' } });
    const a = outb(nat, '10.0.0.2', EXT, { proto: 'udp', sport: 4000, dport: 6000 });
    expect(a.out).toBe(0);
    expect(fields(a.f)).toMatchObject({ src: EXT, sport: 4000, dst: '10.0.0.5', dport: 6000 });
    const b = send(nat, eth(ipPacket('10.0.0.5', EXT, { proto: 'udp', sport: 6000, dport: 4000 }), [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 0x55]), 0);
    expect(b.out).toBe(0);
    expect(fields(b.f)).toMatchObject({ src: EXT, sport: 6000, dst: '10.0.0.2', dport: 4000, ethDst: [2, 0, 0, 0, 0, 0x0a] });
    expect(nat.counters[NatCounter.HAIRPIN]).toBe(2);
  });

  it('drops ARP, IPv6, fragments, TTL 1, other protocols, spoofed sources and traffic to non-external addresses, by reason', () => {
    const nat = engine({ insideSubnets: ['10.0.0.0/24'] });
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(send(nat, arp, 0).out).toBe(-1);
    const v6 = new Uint8Array(60);
    v6[12] = 0x86;
    v6[13] = 0xdd;
    expect(send(nat, v6, 0).out).toBe(-1);
    const frag = eth(ipPacket('10.0.0.2', '198.51.100.7', { proto: 'udp' }));
    frag[14 + 6] = 0x20; // MF
    expect(send(nat, frag, 0).out).toBe(-1);
    expect(send(nat, eth(ipPacket('10.0.0.2', '198.51.100.7', { proto: 'udp' }, 1)), 0).out).toBe(-1);
    const gre = eth(ipPacket('10.0.0.2', '198.51.100.7', { proto: 'udp' }));
    gre[14 + 9] = 47;
    expect(send(nat, gre, 0).out).toBe(-1);
    expect(outb(nat, '10.9.0.2', '198.51.100.7', { proto: 'udp' }).out).toBe(-1);
    expect(inb(nat, '198.51.100.7', '10.0.0.2', { proto: 'udp' }).out).toBe(-1);
    expect(send(nat, eth(ipPacket('10.0.0.2', '198.51.100.7', { proto: 'udp' })).subarray(0, 40), 0).out).toBe(-1);
    const c = nat.counters;
    expect([c[NatCounter.DROP_ARP], c[NatCounter.DROP_NON_IPV4], c[NatCounter.DROP_FRAGMENT], c[NatCounter.DROP_TTL], c[NatCounter.DROP_PROTO], c[NatCounter.DROP_NOT_INSIDE], c[NatCounter.DROP_NOT_EXTERNAL], c[NatCounter.DROP_MALFORMED]]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('fuzz: 3000 random packets both ways over a small table; every sent packet has correct checksums and replies map back', () => {
    const nat = engine({ maxFlows: 256, external: [EXT, '203.0.113.2'] });
    let x = 99;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    let sent = 0;
    for (let k = 0; k < 3000; k++) {
      const proto = (['udp', 'tcp', 'icmp'] as const)[rnd(3)];
      const src = `10.0.${rnd(2)}.${1 + rnd(20)}`;
      const dst = `198.51.100.${1 + rnd(5)}`;
      const sport = 1000 + rnd(30);
      const o = outb(nat, src, dst, { proto, sport, dport: 80, flags: 0x02, type: 8, id: sport, noUdpChecksum: rnd(4) === 0 });
      if (o.out < 0) continue;
      sent++;
      const f = fields(o.f);
      const back = inb(nat, dst, f.src, { proto, sport: 80, dport: f.sport, flags: 0x12, type: 0, id: f.sport });
      expect(back.out).toBe(0);
      expect(fields(back.f)).toMatchObject({ dst: src, ...(proto === 'icmp' ? { sport } : { dport: sport }) });
    }
    expect(sent).toBeGreaterThan(100);
    expect(nat.counters[NatCounter.DROP_TABLE_FULL]).toBeGreaterThan(0);
    expect(ip(EXT)).toBe(0xcb007101);
  });
});
