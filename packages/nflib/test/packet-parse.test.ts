import { describe, expect, it } from 'vitest';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_MAX_EXT_HEADERS,
  PARSE_STATUS_NAMES,
  PacketFlag,
  ParseOption,
  ParseStatus,
  createPacketHeaders,
  ip4Ttl,
  parseBatch,
  parsePacket,
  parseStatusName,
  tcpSeq,
  udpChecksumValid,
  updateIp4Checksum,
} from '../src/packet/index.js';

// Frames built with scapy 2.5.
const V = {
  tcp4: '00112233445566778899aabb08004710004a12344000400648ee0a000001c0a801c8070704010203040030390050deadbeef0102030470182000e5b80000020405b401010402474554202f20485454502f312e310d0a0d0a',
  udp4vlan:
    'ffffffffffff0200000000018100a06408004500002d000100000311f69bac1005040808080814e9003500199cef68656c6c6f20646e732071756572792121',
  icmperr:
    '02fc0000000502fc000000010800450000400001000040015ca90a0909090a0101010b0002250000000045000024000100000111acc50a010101010101019c40829a0010d3ef0000000000000000',
  tcp6: 'ffffffffffff02fc0000000186dd62812345001f062120010db800000000000000000000000120010db800000001000000000000000201bbc3500000000100000002501220009ce800007878787878787878787878',
  udp6hbh:
    '33330000001602fc0000000186dd60000000001a0040fe800000000000000000000000000001ff0200000000000000000000000000163c00050200000100110001040000000003e807d0000a7d0e7979',
  icmp6:
    'ffffffffffff02fc0000000186dd60000000000d3a4020010db800000000000000000000000a20010db800000000000000000000000b80000f4d0009000a70696e6736',
  frag6:
    'ffffffffffff02fc0000000186dd6000000000182c4020010db800000000000000000000000a20010db800000000000000000000000b11000050000000057a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a',
  frag4: '02fc0000000502fc000000010800450000340001200040114aa501020304050607080007000903e89a71717171717171717171717171717171717171717171717171',
  arp: '02fc0000000502fc000000010806000108000604000102fc00000001c000020200000000000000000000',
};

/** A shared "pool": frames placed back to back at 64-byte-aligned offsets, as the NIC lays them out. */
function pool(hexes: string[]): { view: DataView; bytes: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  const offsets = new Uint32Array(hexes.length);
  const lengths = new Uint32Array(hexes.length);
  let at = 64;
  for (let i = 0; i < hexes.length; i++) {
    offsets[i] = at;
    lengths[i] = hexes[i].length / 2;
    at += Math.ceil(lengths[i] / 64) * 64 + 64;
  }
  const bytes = new Uint8Array(at);
  hexes.forEach((h, i) => {
    for (let k = 0; k < h.length / 2; k++) bytes[offsets[i] + k] = parseInt(h.slice(2 * k, 2 * k + 2), 16);
  });
  return { view: new DataView(bytes.buffer), bytes, offsets, lengths };
}

describe('parseBatch on well-formed traffic', () => {
  const names = Object.keys(V) as (keyof typeof V)[];
  const p = pool(names.map((n) => V[n]));
  const m = createPacketHeaders(32);
  const ok = parseBatch(p.view, p.offsets, p.lengths, names.length, m, ParseOption.VERIFY_IP4_CHECKSUM);
  const at = (n: keyof typeof V): number => names.indexOf(n);

  it('parses every frame OK', () => {
    expect(ok).toBe(names.length);
    for (let i = 0; i < names.length; i++) expect(parseStatusName(m.status[i])).toBe('ok');
  });

  it('fills IPv4/TCP meta, options flagged', () => {
    const i = at('tcp4');
    const o = p.offsets[i];
    expect(m.ethType[i]).toBe(ETHERTYPE_IPV4);
    expect(m.l3Offset[i]).toBe(o + 14);
    expect(m.l4Offset[i]).toBe(o + 14 + 28);
    expect(m.l4Length[i]).toBe(74 - 28);
    expect(m.proto[i]).toBe(IPPROTO_TCP);
    expect(m.src[i]).toBe(0x0a000001);
    expect(m.dst[i]).toBe(0xc0a801c8);
    expect(m.sport[i]).toBe(12345);
    expect(m.dport[i]).toBe(80);
    expect(m.flags[i]).toBe(PacketFlag.IP_OPTIONS);
    // Offsets are absolute, ready for the header helpers.
    expect(tcpSeq(p.view, m.l4Offset[i])).toBe(0xdeadbeef);
  });

  it('skips a VLAN tag and fills UDP meta', () => {
    const i = at('udp4vlan');
    expect(m.flags[i]).toBe(PacketFlag.VLAN);
    expect(m.vlanTci[i] & 0xfff).toBe(100);
    expect(m.l3Offset[i]).toBe(p.offsets[i] + 18);
    expect(ip4Ttl(p.view, m.l3Offset[i])).toBe(3);
    expect(m.proto[i]).toBe(IPPROTO_UDP);
    expect([m.sport[i], m.dport[i]]).toEqual([5353, 53]);
    expect(udpChecksumValid(p.view, m.l3Offset[i], m.l4Offset[i], m.l4Length[i])).toBe(true);
  });

  it('gives ICMP no ports', () => {
    const i = at('icmperr');
    expect(m.proto[i]).toBe(IPPROTO_ICMP);
    expect(m.l4Offset[i]).toBe(p.offsets[i] + 34);
    expect([m.sport[i], m.dport[i]]).toEqual([0, 0]);
  });

  it('fills IPv6 addresses as words and walks extension headers', () => {
    const i = at('tcp6');
    expect(m.ethType[i]).toBe(ETHERTYPE_IPV6);
    expect(m.proto[i]).toBe(IPPROTO_TCP);
    expect(m.l4Offset[i]).toBe(p.offsets[i] + 54);
    expect(m.l4Length[i]).toBe(31);
    expect([...m.src6.subarray(4 * i, 4 * i + 4)]).toEqual([0x20010db8, 0, 0, 1]);
    expect([...m.dst6.subarray(4 * i, 4 * i + 4)]).toEqual([0x20010db8, 1, 0, 2]);
    expect([m.src[i], m.dst[i]]).toEqual([0, 0]);
    expect([m.sport[i], m.dport[i]]).toEqual([443, 50000]);

    const j = at('udp6hbh');
    expect(m.flags[j]).toBe(PacketFlag.IPV6_EXT_HEADERS);
    expect(m.proto[j]).toBe(IPPROTO_UDP);
    expect(m.l4Offset[j]).toBe(p.offsets[j] + 14 + 40 + 16);
    expect(m.l4Length[j]).toBe(10);
    expect([m.sport[j], m.dport[j]]).toEqual([1000, 2000]);

    const k = at('icmp6');
    expect(m.proto[k]).toBe(IPPROTO_ICMPV6);
    expect(m.l4Length[k]).toBe(13);
  });

  it('marks fragments; only the first has an L4 header', () => {
    const i = at('frag4');
    expect(m.flags[i] & PacketFlag.FRAGMENT).toBe(PacketFlag.FRAGMENT);
    expect(m.l4Offset[i]).toBe(p.offsets[i] + 34);
    expect([m.sport[i], m.dport[i]]).toEqual([7, 9]);
    const j = at('frag6');
    expect(m.flags[j]).toBe(PacketFlag.FRAGMENT | PacketFlag.IPV6_EXT_HEADERS);
    expect(m.proto[j]).toBe(IPPROTO_UDP);
    expect(m.l4Offset[j]).toBe(-1);

    // A non-first IPv4 fragment: offset 10 (×8 bytes).
    const q = pool([V.frag4]);
    q.view.setUint16(q.offsets[0] + 14 + 6, 10);
    updateIp4Checksum(q.view, q.offsets[0] + 14);
    const h = createPacketHeaders(1);
    expect(parsePacket(q.view, q.offsets[0], q.lengths[0], h, 0)).toBe(ParseStatus.OK);
    expect(h.flags[0]).toBe(PacketFlag.FRAGMENT);
    expect(h.l4Offset[0]).toBe(-1);
    expect(h.proto[0]).toBe(IPPROTO_UDP);
    expect(h.src[0]).toBe(0x01020304);
  });

  it('passes non-IP frames with L3 offset only', () => {
    const i = at('arp');
    expect(m.ethType[i]).toBe(ETHERTYPE_ARP);
    expect(m.l3Offset[i]).toBe(p.offsets[i] + 14);
    expect(m.l4Offset[i]).toBe(-1);
    expect(m.proto[i]).toBe(0);
  });
});

/** Parses one hex frame after `edit` changed its bytes (offset of the frame given). */
function classify(hex: string, edit: (v: DataView, o: number) => void = () => {}, len?: number, options = 0): number {
  const p = pool([hex]);
  edit(p.view, p.offsets[0]);
  const h = createPacketHeaders(1);
  return parsePacket(p.view, p.offsets[0], len ?? p.lengths[0], h, 0, options);
}

describe('malformed frames are classified, never thrown', () => {
  it('classifies every truncation of an IPv4/TCP frame', () => {
    const full = V.tcp4.length / 2;
    for (let len = 0; len < full; len++) {
      const s = classify(V.tcp4, undefined, len);
      if (len < 14) expect(s).toBe(ParseStatus.TRUNCATED_L2);
      else if (len < 14 + 28) expect(s).toBe(ParseStatus.TRUNCATED_L3);
      else expect(s).toBe(ParseStatus.LENGTH_EXCEEDS_FRAME);
    }
    expect(classify(V.udp4vlan, undefined, 17)).toBe(ParseStatus.TRUNCATED_L2);
  });

  it('classifies every truncation of an IPv6 frame with extension headers', () => {
    const full = V.udp6hbh.length / 2;
    for (let len = 0; len < full; len++) {
      const s = classify(V.udp6hbh, undefined, len);
      if (len < 14) expect(s).toBe(ParseStatus.TRUNCATED_L2);
      else if (len < 54) expect(s).toBe(ParseStatus.TRUNCATED_L3);
      else expect(s).toBe(ParseStatus.LENGTH_EXCEEDS_FRAME);
    }
  });

  it('classifies bad IPv4 headers', () => {
    expect(classify(V.tcp4, (v, o) => v.setUint8(o + 14, 0x67))).toBe(ParseStatus.BAD_VERSION);
    expect(classify(V.tcp4, (v, o) => v.setUint8(o + 14, 0x44))).toBe(ParseStatus.BAD_IHL);
    // IHL 15 (60 bytes) in a frame that ends 40 bytes into the IP header.
    expect(classify(V.tcp4, (v, o) => v.setUint8(o + 14, 0x4f), 14 + 40)).toBe(ParseStatus.TRUNCATED_L3);
    // IHL 15 with the whole frame: the header fits, the TCP header after it does not.
    expect(classify(V.tcp4, (v, o) => v.setUint8(o + 14, 0x4f))).toBe(ParseStatus.TRUNCATED_L4);
    expect(classify(V.tcp4, (v, o) => v.setUint16(o + 16, 27))).toBe(ParseStatus.BAD_TOTAL_LENGTH);
    expect(classify(V.tcp4, (v, o) => v.setUint16(o + 16, 75))).toBe(ParseStatus.LENGTH_EXCEEDS_FRAME);
    expect(classify(V.tcp4, (v, o) => v.setUint16(o + 16, 0xffff))).toBe(ParseStatus.LENGTH_EXCEEDS_FRAME);
    // An IPv6 header behind the IPv4 ethertype.
    expect(classify(V.tcp6, (v, o) => v.setUint16(o + 12, ETHERTYPE_IPV4))).toBe(ParseStatus.BAD_VERSION);
    expect(classify(V.tcp4, (v, o) => v.setUint16(o + 12, ETHERTYPE_IPV6))).toBe(ParseStatus.BAD_VERSION);
  });

  it('verifies the IPv4 header checksum only when asked', () => {
    const corrupt = (v: DataView, o: number): void => v.setUint16(o + 14 + 10, 0x1234);
    expect(classify(V.tcp4, corrupt)).toBe(ParseStatus.OK);
    expect(classify(V.tcp4, corrupt, undefined, ParseOption.VERIFY_IP4_CHECKSUM)).toBe(ParseStatus.BAD_IP_CHECKSUM);
  });

  it('classifies bad and truncated L4 headers (Ethernet padding is not L4 data)', () => {
    expect(classify(V.tcp4, (v, o) => v.setUint8(o + 42 + 12, 0x40))).toBe(ParseStatus.BAD_L4_HEADER);
    expect(classify(V.tcp4, (v, o) => v.setUint8(o + 42 + 12, 0xf0))).toBe(ParseStatus.TRUNCATED_L4);
    // IP says 28 + 10 bytes: TCP header cut short, though the frame still holds the bytes.
    expect(classify(V.tcp4, (v, o) => v.setUint16(o + 16, 38))).toBe(ParseStatus.TRUNCATED_L4);
    expect(classify(V.udp4vlan, (v, o) => v.setUint16(o + 18 + 20 + 4, 7))).toBe(ParseStatus.BAD_L4_HEADER);
    expect(classify(V.udp4vlan, (v, o) => v.setUint16(o + 18 + 20 + 4, 26))).toBe(ParseStatus.TRUNCATED_L4);
    expect(classify(V.udp4vlan, (v, o) => v.setUint16(o + 18 + 2, 27))).toBe(ParseStatus.TRUNCATED_L4);
    expect(classify(V.icmperr, (v, o) => v.setUint16(o + 16, 27))).toBe(ParseStatus.TRUNCATED_L4);
  });

  it('gives up on an endless IPv6 extension-header chain', () => {
    // Payload: IPV6_MAX_EXT_HEADERS + 1 destination-options headers of 8 bytes each, chained.
    const n = IPV6_MAX_EXT_HEADERS + 1;
    let hex = 'ffffffffffff02fc0000000186dd' + '60000000' + (n * 8).toString(16).padStart(4, '0') + '3c40' + '00'.repeat(32);
    for (let k = 0; k < n; k++) hex += '3c00000000000000';
    expect(classify(hex)).toBe(ParseStatus.BAD_EXT_HEADER);
    // One fewer header ends in "no next header" instead: fine.
    const ok = hex.slice(0, hex.length - 16 * 2) + '3b00000000000000';
    expect(classify(ok.replace(/0048(3c40)/, '0040$1'))).toBe(ParseStatus.OK);
  });

  it('reports frames outside the buffer as OUT_OF_BOUNDS', () => {
    const p = pool([V.tcp4]);
    const h = createPacketHeaders(1);
    expect(parsePacket(p.view, p.bytes.length - 10, 60, h, 0)).toBe(ParseStatus.OUT_OF_BOUNDS);
    expect(parsePacket(p.view, -1, 60, h, 0)).toBe(ParseStatus.OUT_OF_BOUNDS);
    expect(parsePacket(p.view, Number.NaN, 60, h, 0)).toBe(ParseStatus.OUT_OF_BOUNDS);
    expect(parsePacket(p.view, 0, -5, h, 0)).toBe(ParseStatus.OUT_OF_BOUNDS);
    expect(h.status[0]).toBe(ParseStatus.OUT_OF_BOUNDS);
  });

  it('never throws on random bytes, and resets stale fields', () => {
    let s = 12345;
    const r = (): number => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>>= 0);
    };
    const bytes = new Uint8Array(256);
    const view = new DataView(bytes.buffer);
    const h = createPacketHeaders(1);
    const seen = new Set<number>();
    for (let n = 0; n < 20000; n++) {
      for (let k = 0; k < bytes.length; k++) bytes[k] = r() & 0xff;
      const o = r() % 56;
      const len = r() % 200;
      // Steer most frames to IPv4/IPv6 with a plausible length so the deeper layers get fuzzed too.
      const pick = n % 3;
      if (pick === 0) {
        view.setUint16(o + 12, ETHERTYPE_IPV4);
        bytes[o + 14] = 0x45 + (r() % 3);
        if (n % 2 === 0) view.setUint16(o + 16, Math.max(0, len - 14 - (r() % 8)));
        bytes[o + 20] &= n % 4 === 0 ? 0xff : 0x80;
        bytes[o + 23] = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 132][r() % 4];
      } else if (pick === 1) {
        view.setUint16(o + 12, ETHERTYPE_IPV6);
        bytes[o + 14] = 0x60;
        if (n % 2 === 0) view.setUint16(o + 18, Math.max(0, len - 54 - (r() % 8)));
        bytes[o + 20] = [0, 43, 44, 60, 51, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6][r() % 8];
      }
      const st = parsePacket(view, o, len, h, 0, ParseOption.VERIFY_IP4_CHECKSUM * (n & 1));
      seen.add(st);
      expect(st).toBe(h.status[0]);
      if (st === ParseStatus.OK && h.l4Offset[0] >= 0) expect(h.l4Offset[0] + h.l4Length[0]).toBeLessThanOrEqual(o + len);
    }
    // Everything but OUT_OF_BOUNDS, BAD_VERSION and BAD_EXT_HEADER (tested above) shows up.
    expect(seen.size).toBeGreaterThanOrEqual(9);
    // A failed parse clears what an earlier packet left in the same slot.
    const p = pool([V.tcp4]);
    parsePacket(p.view, p.offsets[0], p.lengths[0], h, 0);
    expect(h.sport[0]).toBe(12345);
    parsePacket(p.view, p.offsets[0], 10, h, 0);
    expect([h.sport[0], h.l4Offset[0], h.src[0], h.proto[0]]).toEqual([0, -1, 0, 0]);
  });
});

describe('batch API edges', () => {
  it('rejects a count beyond the meta capacity with a clear error', () => {
    const p = pool([V.tcp4, V.tcp4]);
    const h = createPacketHeaders(1);
    expect(() => parseBatch(p.view, p.offsets, p.lengths, 2, h)).toThrow(/count 2 exceeds capacity 1/);
    expect(() => createPacketHeaders(0)).toThrow(RangeError);
  });

  it('counts only OK frames and names every status', () => {
    const p = pool([V.tcp4, V.udp4vlan, V.arp]);
    p.lengths[1] = 20;
    const h = createPacketHeaders(3);
    expect(parseBatch(p.view, p.offsets, p.lengths, 3, h)).toBe(2);
    expect(parseStatusName(h.status[1])).toBe('truncated-l3');
    expect(PARSE_STATUS_NAMES.length).toBe(Object.keys(ParseStatus).length);
    for (const [k, v] of Object.entries(ParseStatus)) expect(PARSE_STATUS_NAMES[v]).toBe(k.toLowerCase().replaceAll('_', '-'));
    expect(parseStatusName(200)).toBe('unknown-200');
  });
});
