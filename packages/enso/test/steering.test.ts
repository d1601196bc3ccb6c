import { describe, expect, it } from 'vitest';
import { FRAME_IPV4, FRAME_NON_IPV4, FRAME_RUNT, FrameClassifier } from '../src/classify.js';
import { FlowTable } from '../src/flow-table.js';
import { ipv4ToNumber } from '../src/helpers.js';
import { arpFrame, ipv4Frame, ipv6Frame, vlanFrame } from './frames.js';

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const ip = (s: string): number => ipv4ToNumber(s) | 0;

function key(b: Uint8Array): { kind: number; dst: number; src: number; ports: number; proto: number } {
  const c = new FrameClassifier();
  const kind = c.classify(view(b), 0, b.length);
  return { kind, dst: c.keyDstIp, src: c.keySrcIp, ports: c.keyPorts, proto: c.keyProtocol };
}

describe('flow keys (Enso binding semantics)', () => {
  it('TCP SYN: dst IP + dst port only', () => {
    const k = key(ipv4Frame({ protocol: 6, tcpFlags: 0x02, src: '1.2.3.4', sport: 999, dport: 80 }));
    expect(k).toEqual({ kind: FRAME_IPV4, dst: ip('10.0.0.1'), src: 0, ports: 80 << 16, proto: 6 });
  });

  it('other TCP: the full 5-tuple', () => {
    const k = key(ipv4Frame({ protocol: 6, tcpFlags: 0x10, src: '1.2.3.4', sport: 999, dport: 80 }));
    expect(k).toEqual({ kind: FRAME_IPV4, dst: ip('10.0.0.1'), src: ip('1.2.3.4'), ports: (80 << 16) | 999, proto: 6 });
  });

  it('UDP: dst IP + dst port (src ignored)', () => {
    const k = key(ipv4Frame({ protocol: 17, src: '9.9.9.9', sport: 1, dport: 53 }));
    expect(k).toEqual({ kind: FRAME_IPV4, dst: ip('10.0.0.1'), src: 0, ports: 53 << 16, proto: 17 });
  });

  it('other IPv4 protocols: dst IP only', () => {
    const k = key(ipv4Frame({ protocol: 1, src: '9.9.9.9' }));
    expect(k).toEqual({ kind: FRAME_IPV4, dst: ip('10.0.0.1'), src: 0, ports: 0, proto: 0 });
  });

  it('high ports and addresses survive as signed 32-bit keys', () => {
    const k = key(ipv4Frame({ protocol: 6, dst: '250.1.2.3', src: '200.0.0.1', sport: 65535, dport: 65000 }));
    expect(k.dst).toBe(ip('250.1.2.3'));
    expect(k.ports).toBe(((65000 << 16) | 65535) | 0);
  });

  it('a non-first fragment has no ports', () => {
    const k = key(ipv4Frame({ protocol: 17, dport: 53, fragOffset: 100 }));
    expect(k.ports).toBe(0);
  });

  it('ARP, IPv6, VLAN and runts are not IPv4', () => {
    expect(key(arpFrame()).kind).toBe(FRAME_NON_IPV4);
    expect(key(ipv6Frame()).kind).toBe(FRAME_NON_IPV4);
    expect(key(vlanFrame()).kind).toBe(FRAME_NON_IPV4);
    expect(key(new Uint8Array(10)).kind).toBe(FRAME_RUNT);
    const bad = ipv4Frame();
    bad[14] = 0x65; // version 6 in an IPv4 EtherType
    expect(key(bad).kind).toBe(FRAME_NON_IPV4);
    expect(key(ipv4Frame().slice(0, 30)).kind).toBe(FRAME_NON_IPV4);
  });

  it('hashes one flow to one value and different flows apart', () => {
    const c = new FrameClassifier();
    const h = (b: Uint8Array): number => {
      c.classify(view(b), 0, b.length);
      return c.fallbackHash();
    };
    expect(h(ipv4Frame({ sport: 1 }))).toBe(h(ipv4Frame({ sport: 1, size: 200 })));
    const seen = new Set<number>();
    for (let p = 0; p < 64; p++) seen.add(h(ipv4Frame({ sport: 1000 + p })) & 3);
    expect(seen.size).toBe(4);
    expect(h(ipv6Frame(90, 1))).toBe(h(ipv6Frame(120, 1)));
    expect(h(ipv6Frame(90, 1))).not.toBe(h(ipv6Frame(90, 2)));
  });
});

describe('FlowTable', () => {
  it('matches exact keys, replaces on rebind, and removes a pipe', () => {
    const t = new FlowTable(16);
    t.insert(ip('10.0.0.1'), 0, 5000, 0, 17, 3);
    t.insert(ip('10.0.0.2'), 0, 0, 0, 0, 4);
    expect(t.lookup(ip('10.0.0.1'), 0, 5000 << 16, 17)).toBe(3);
    expect(t.lookup(ip('10.0.0.1'), 0, 5001 << 16, 17)).toBe(-1);
    expect(t.lookup(ip('10.0.0.2'), 0, 0, 0)).toBe(4);
    t.insert(ip('10.0.0.1'), 0, 5000, 0, 17, 7);
    expect(t.size).toBe(2);
    expect(t.lookup(ip('10.0.0.1'), 0, 5000 << 16, 17)).toBe(7);
    expect(t.removePipe(7)).toBe(1);
    expect(t.lookup(ip('10.0.0.1'), 0, 5000 << 16, 17)).toBe(-1);
    expect(t.lookup(ip('10.0.0.2'), 0, 0, 0)).toBe(4);
  });

  it('keeps lookups right across probe chains after removals', () => {
    const t = new FlowTable(64);
    for (let i = 0; i < 40; i++) t.insert(i, 0, i, 0, 17, i % 5);
    t.removePipe(2);
    for (let i = 0; i < 40; i++) expect(t.lookup(i, 0, i << 16, 17)).toBe(i % 5 === 2 ? -1 : i % 5);
  });

  it('refuses to grow past 3/4 full with a clear error', () => {
    const t = new FlowTable(16);
    for (let i = 0; i < 12; i++) t.insert(i, 0, 0, 0, 0, 1);
    expect(() => t.insert(99, 0, 0, 0, 0, 1)).toThrow(/flow table full/);
    expect(() => new FlowTable(100)).toThrow(RangeError);
  });
});
