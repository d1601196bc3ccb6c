import { describe, expect, it } from 'vitest';
import {
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  checksumAdd,
  checksumAdjust16,
  checksumAdjust32,
  checksumFinish,
  checksumFold,
  decrementIp4Ttl,
  icmp6Checksum,
  icmp6ChecksumValid,
  icmpChecksum,
  icmpChecksumValid,
  internetChecksum,
  ip4ChecksumValid,
  ip4HeaderChecksum,
  rewriteDstPort,
  rewriteIcmpId,
  rewriteIp4Dst,
  rewriteIp4Src,
  rewriteSrcPort,
  tcpChecksum,
  tcpChecksumValid,
  udpChecksum,
  udpChecksumAdjust16,
  udpChecksumValid,
  updateIcmp6Checksum,
  updateIcmpChecksum,
  updateIp4Checksum,
  updateTcpChecksum,
  updateUdpChecksum,
} from '../src/packet/index.js';

// Frames built with scapy 2.5; expected checksums are scapy's.
const TCP4 =
  '00112233445566778899aabb08004710004a12344000400648ee0a000001c0a801c8070704010203040030390050deadbeef0102030470182000e5b80000020405b401010402474554202f20485454502f312e310d0a0d0a';
const UDP4_VLAN =
  'ffffffffffff0200000000018100a06408004500002d000100000311f69bac1005040808080814e9003500199cef68656c6c6f20646e732071756572792121';
const ICMP_ERR =
  '02fc0000000502fc000000010800450000400001000040015ca90a0909090a0101010b0002250000000045000024000100000111acc50a010101010101019c40829a0010d3ef0000000000000000';
const TCP6 =
  'ffffffffffff02fc0000000186dd62812345001f062120010db800000000000000000000000120010db800000001000000000000000201bbc3500000000100000002501220009ce800007878787878787878787878';
const UDP6_HBH =
  '33330000001602fc0000000186dd60000000001a0040fe800000000000000000000000000001ff0200000000000000000000000000163c00050200000100110001040000000003e807d0000a7d0e7979';
const ICMP6 =
  'ffffffffffff02fc0000000186dd60000000000d3a4020010db800000000000000000000000a20010db800000000000000000000000b80000f4d0009000a70696e6736';

function frame(hex: string, at = 33): { bytes: Uint8Array; view: DataView; off: number; len: number } {
  const bytes = new Uint8Array(at + hex.length / 2 + 8);
  for (let k = 0; k < hex.length / 2; k++) bytes[at + k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
  return { bytes, view: new DataView(bytes.buffer), off: at, len: hex.length / 2 };
}

/** Deterministic xorshift32, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

describe('RFC 1071 checksum', () => {
  it('matches the worked example of RFC 1071 §3', () => {
    const v = new DataView(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]).buffer);
    expect(checksumFold(checksumAdd(v, 0, 8, 0))).toBe(0xddf2);
    expect(internetChecksum(v, 0, 8)).toBe(0x220d);
  });

  it('pads an odd trailing byte and sums pieces like the whole', () => {
    const v = new DataView(new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a]).buffer);
    expect(checksumFold(checksumAdd(v, 0, 5, 0))).toBe(0x1234 + 0x5678 + 0x9a00 - 0xffff);
    const r = rng(7);
    const bytes = new Uint8Array(1501);
    for (let k = 0; k < bytes.length; k++) bytes[k] = r() & 0xff;
    const view = new DataView(bytes.buffer);
    for (let start = 0; start < 4; start++) {
      const whole = internetChecksum(view, start, 1497);
      const split = checksumFinish(checksumAdd(view, start + 6, 1491, checksumAdd(view, start, 6, 0)));
      expect(split).toBe(whole);
    }
    expect(checksumAdd(view, 0, 0, 42)).toBe(42);
    expect(checksumAdd(view, 0, -3, 42)).toBe(42);
  });

  it('folds sums far above 2^32', () => {
    expect(checksumFold(0)).toBe(0);
    expect(checksumFold(0xffff)).toBe(0xffff);
    expect(checksumFold(0x10000)).toBe(1);
    // 2^48 + 2^32 ≡ 1 + 1 (mod 2^16 − 1).
    expect(checksumFold(2 ** 48 + 2 ** 32)).toBe(2);
    expect(checksumFold(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER % 0xffff || 0xffff);
  });
});

describe('header checksums against scapy', () => {
  it('computes and verifies IPv4 header checksums, options included', () => {
    const cases: [string, number, number][] = [
      [TCP4, 14, 0x48ee],
      [UDP4_VLAN, 18, 0xf69b],
      [ICMP_ERR, 14, 0x5ca9],
    ];
    for (const [hex, l2, expected] of cases) {
      const { view, off } = frame(hex);
      expect(ip4HeaderChecksum(view, off + l2)).toBe(expected);
      expect(ip4ChecksumValid(view, off + l2)).toBe(true);
      view.setUint16(off + l2 + 10, 0);
      expect(ip4ChecksumValid(view, off + l2)).toBe(false);
      updateIp4Checksum(view, off + l2);
      expect(view.getUint16(off + l2 + 10)).toBe(expected);
    }
  });

  it('computes TCP and UDP checksums with the IPv4 pseudo-header', () => {
    const t = frame(TCP4);
    const ip = t.off + 14;
    expect(tcpChecksum(t.view, ip, ip + 28, 74 - 28)).toBe(0xe5b8);
    expect(tcpChecksumValid(t.view, ip, ip + 28, 46)).toBe(true);
    t.view.setUint16(ip + 28 + 16, 0x1111);
    expect(tcpChecksumValid(t.view, ip, ip + 28, 46)).toBe(false);
    updateTcpChecksum(t.view, ip, ip + 28, 46);
    expect(t.view.getUint16(ip + 28 + 16)).toBe(0xe5b8);

    const u = frame(UDP4_VLAN);
    const ip2 = u.off + 18;
    expect(udpChecksum(u.view, ip2, ip2 + 20, 25)).toBe(0x9cef);
    expect(udpChecksumValid(u.view, ip2, ip2 + 20, 25)).toBe(true);
    u.view.setUint8(u.off + u.len - 1, 0x20);
    expect(udpChecksumValid(u.view, ip2, ip2 + 20, 25)).toBe(false);
    updateUdpChecksum(u.view, ip2, ip2 + 20, 25);
    expect(udpChecksumValid(u.view, ip2, ip2 + 20, 25)).toBe(true);
    // No checksum (0) is valid over IPv4.
    u.view.setUint16(ip2 + 20 + 6, 0);
    expect(udpChecksumValid(u.view, ip2, ip2 + 20, 25)).toBe(true);
  });

  it('computes TCP, UDP and ICMPv6 checksums with the IPv6 pseudo-header', () => {
    const t = frame(TCP6);
    const ip = t.off + 14;
    expect(tcpChecksum(t.view, ip, ip + 40, 31)).toBe(0x9ce8);
    expect(tcpChecksumValid(t.view, ip, ip + 40, 31)).toBe(true);

    // Hop-by-hop (8 bytes) and destination options (8 bytes) precede UDP: l4Len excludes them.
    const u = frame(UDP6_HBH);
    const ip2 = u.off + 14;
    expect(udpChecksum(u.view, ip2, ip2 + 56, 10)).toBe(0x7d0e);
    expect(udpChecksumValid(u.view, ip2, ip2 + 56, 10)).toBe(true);
    u.view.setUint16(ip2 + 56 + 6, 0);
    expect(udpChecksumValid(u.view, ip2, ip2 + 56, 10)).toBe(false);

    const c = frame(ICMP6);
    const ip3 = c.off + 14;
    expect(icmp6Checksum(c.view, ip3, ip3 + 40, 13)).toBe(0x0f4d);
    expect(icmp6ChecksumValid(c.view, ip3, ip3 + 40, 13)).toBe(true);
    c.view.setUint16(ip3 + 42, 0);
    updateIcmp6Checksum(c.view, ip3, ip3 + 40, 13);
    expect(c.view.getUint16(ip3 + 42)).toBe(0x0f4d);
  });

  it('computes the ICMP checksum of an error message', () => {
    const { view, off } = frame(ICMP_ERR);
    const c = off + 34;
    expect(icmpChecksum(view, c, 44)).toBe(0x0225);
    expect(icmpChecksumValid(view, c, 44)).toBe(true);
    view.setUint16(c + 2, 0);
    updateIcmpChecksum(view, c, 44);
    expect(view.getUint16(c + 2)).toBe(0x0225);
  });

  it('sends a computed UDP checksum of 0 as 0xffff', () => {
    const { view, off } = frame(UDP4_VLAN);
    const ip = off + 18;
    const l4 = ip + 20;
    // Add the current checksum (one's complement) to a payload word: the new sum folds to 0xffff.
    const c = udpChecksum(view, ip, l4, 25);
    const w = view.getUint16(l4 + 8);
    view.setUint16(l4 + 8, checksumFold(w + c));
    expect(udpChecksum(view, ip, l4, 25)).toBe(0xffff);
    updateUdpChecksum(view, ip, l4, 25);
    expect(udpChecksumValid(view, ip, l4, 25)).toBe(true);
    // An incremental change from this state agrees with recomputation.
    const old = view.getUint16(l4);
    view.setUint16(l4, 0x1234);
    const inc = udpChecksumAdjust16(0xffff, old, 0x1234);
    expect(inc).toBe(udpChecksum(view, ip, l4, 25));
  });
});

describe('incremental updates (RFC 1624)', () => {
  it('equal full recomputation for 16- and 32-bit changes on random data', () => {
    const r = rng(0x5eed);
    const bytes = new Uint8Array(64);
    const view = new DataView(bytes.buffer);
    for (let n = 0; n < 5000; n++) {
      for (let k = 0; k < 64; k++) bytes[k] = r() & 0xff;
      // Occasionally (nearly) all zeros or all ones, the corners of one's complement. Data that is
      // entirely zero is the one case eqn. 3 does not cover; no IP/L4 header is (version, protocol).
      if (n % 97 === 0) {
        bytes.fill(n % 2 === 0 ? 0 : 0xff);
        bytes[0] = 0x45;
      }
      view.setUint16(10, 0);
      const hc = internetChecksum(view, 0, 64);
      view.setUint16(10, hc);
      const at = 2 * (r() % 16) + 12;
      const old32 = view.getUint32(at);
      const new32 = n % 13 === 0 ? 0 : r();
      view.setUint32(at, new32);
      const inc32 = checksumAdjust32(hc, old32, new32);
      view.setUint16(10, 0);
      expect(inc32).toBe(internetChecksum(view, 0, 64));
      view.setUint16(10, inc32);
      const old16 = view.getUint16(2);
      const new16 = r() & 0xffff;
      view.setUint16(2, new16);
      const inc16 = checksumAdjust16(inc32, old16, new16);
      view.setUint16(10, 0);
      expect(inc16).toBe(internetChecksum(view, 0, 64));
    }
  });
});

/** Writes Ethernet + IPv4 + TCP/UDP/ICMP with random fields and correct checksums at `off`. */
function randomIp4Packet(view: DataView, bytes: Uint8Array, off: number, proto: number, r: () => number): { ip: number; l4: number; l4Len: number } {
  const ihl = 5 + (r() % 3);
  const l4Hdr = proto === IPPROTO_TCP ? 20 : 8;
  const payload = r() % 200;
  const l4Len = l4Hdr + payload;
  const total = ihl * 4 + l4Len;
  const ip = off + 14;
  const l4 = ip + ihl * 4;
  for (let k = off; k < off + 14 + total; k++) bytes[k] = r() & 0xff;
  view.setUint16(off + 12, 0x0800);
  view.setUint8(ip, 0x40 | ihl);
  view.setUint16(ip + 2, total);
  view.setUint16(ip + 6, 0x4000);
  view.setUint8(ip + 9, proto);
  updateIp4Checksum(view, ip);
  if (proto === IPPROTO_TCP) {
    view.setUint8(l4 + 12, 0x50);
    updateTcpChecksum(view, ip, l4, l4Len);
  } else if (proto === IPPROTO_UDP) {
    view.setUint16(l4 + 4, l4Len);
    // One in eight datagrams goes without a checksum, which must stay 0.
    if (r() % 8 === 0) view.setUint16(l4 + 6, 0);
    else updateUdpChecksum(view, ip, l4, l4Len);
  } else {
    updateIcmpChecksum(view, l4, l4Len);
  }
  return { ip, l4, l4Len };
}

describe('checksum-preserving rewrites', () => {
  it('keep every checksum equal to a full recomputation across random rewrites', () => {
    const r = rng(0xc0ffee);
    const bytes = new Uint8Array(512);
    const view = new DataView(bytes.buffer);
    const protos = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP];
    let cases = 0;
    for (let n = 0; n < 3000; n++) {
      const proto = protos[n % 3];
      const off = 1 + (r() % 40);
      const { ip, l4, l4Len } = randomIp4Packet(view, bytes, off, proto, r);
      const udpNone = proto === IPPROTO_UDP && view.getUint16(l4 + 6) === 0;
      for (let step = 0; step < 4; step++) {
        const op = r() % 5;
        if (op === 0) rewriteIp4Src(view, ip, l4, proto, r());
        else if (op === 1) rewriteIp4Dst(view, ip, l4, proto, r() % 4 === 0 ? 0 : r());
        else if (op === 2) {
          if (proto === IPPROTO_ICMP) rewriteIcmpId(view, l4, r() & 0xffff);
          else expect(rewriteSrcPort(view, l4, proto, r() & 0xffff)).toBe(true);
        } else if (op === 3) {
          if (proto !== IPPROTO_ICMP) expect(rewriteDstPort(view, l4, proto, r() & 0xffff)).toBe(true);
          else expect(rewriteDstPort(view, l4, proto, 1)).toBe(false);
        } else {
          const ttl = view.getUint8(ip + 8);
          expect(decrementIp4Ttl(view, ip)).toBe(ttl === 0 ? 0 : ttl - 1);
        }
        cases++;
        expect(ip4ChecksumValid(view, ip)).toBe(true);
        expect(view.getUint16(ip + 10)).toBe(ip4HeaderChecksum(view, ip));
        if (proto === IPPROTO_TCP) {
          expect(view.getUint16(l4 + 16)).toBe(tcpChecksum(view, ip, l4, l4Len));
        } else if (proto === IPPROTO_UDP) {
          if (udpNone) expect(view.getUint16(l4 + 6)).toBe(0);
          else expect(view.getUint16(l4 + 6)).toBe(udpChecksum(view, ip, l4, l4Len));
        } else {
          expect(view.getUint16(l4 + 2)).toBe(icmpChecksum(view, l4, l4Len));
        }
      }
    }
    expect(cases).toBe(12000);
  });

  it('leaves L4 alone when there is no L4 header (l4Off -1) and TTL 0 untouched', () => {
    const r = rng(99);
    const bytes = new Uint8Array(512);
    const view = new DataView(bytes.buffer);
    const { ip, l4 } = randomIp4Packet(view, bytes, 0, IPPROTO_TCP, r);
    const before = view.getUint16(l4 + 16);
    rewriteIp4Src(view, ip, -1, IPPROTO_TCP, 0x01020304);
    expect(view.getUint16(l4 + 16)).toBe(before);
    expect(ip4ChecksumValid(view, ip)).toBe(true);
    view.setUint8(ip + 8, 0);
    updateIp4Checksum(view, ip);
    expect(decrementIp4Ttl(view, ip)).toBe(0);
    expect(view.getUint8(ip + 8)).toBe(0);
    expect(ip4ChecksumValid(view, ip)).toBe(true);
  });
});
