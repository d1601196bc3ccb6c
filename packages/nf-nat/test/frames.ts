// Frame builders and an independent checksum checker for the NAT tests (plain RFC 1071 sums, not
// the code under test).
export const INSIDE_MAC = [2, 0, 0, 0, 0, 0x0a];
export const NAT_IN_MAC = [2, 0, 0, 0, 0, 0x01];

export function ip(s: string): number {
  return s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

export function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function sum16(b: Uint8Array, off: number, len: number, s = 0): number {
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** RFC 1071 checksum of a range (with an optional pre-sum such as a pseudo-header). */
export function cksum(b: Uint8Array, off: number, len: number, pre = 0): number {
  return ~fold(sum16(b, off, len, pre)) & 0xffff;
}

function pseudo(b: Uint8Array, l3: number, proto: number, len: number): number {
  return sum16(b, l3 + 12, 8) + proto + len;
}

export interface L4 {
  proto: 'udp' | 'tcp' | 'icmp';
  sport?: number;
  dport?: number;
  flags?: number;
  /** ICMP type/code/id/seq. */
  type?: number;
  code?: number;
  id?: number;
  /** Raw L4 payload (after an 8-byte ICMP header, or the quoted packet of an ICMP error). */
  payload?: Uint8Array;
  /** Keep the UDP checksum zero. */
  noUdpChecksum?: boolean;
}

/** An IPv4 packet (no Ethernet) with correct checksums. */
export function ipPacket(src: string, dst: string, l4: L4, ttl = 64): Uint8Array {
  const payload = l4.payload ?? new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const hl = l4.proto === 'tcp' ? 20 : 8;
  const total = 20 + hl + payload.length;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, total);
  v.setUint16(4, 0x1234);
  b[8] = ttl;
  b[9] = l4.proto === 'tcp' ? 6 : l4.proto === 'udp' ? 17 : 1;
  v.setUint32(12, ip(src));
  v.setUint32(16, ip(dst));
  v.setUint16(10, cksum(b, 0, 20));
  b.set(payload, 20 + hl);
  if (l4.proto === 'icmp') {
    b[20] = l4.type ?? 8;
    b[21] = l4.code ?? 0;
    v.setUint16(24, l4.id ?? 0);
    v.setUint16(26, 1);
    v.setUint16(22, cksum(b, 20, total - 20));
  } else {
    v.setUint16(20, l4.sport ?? 1000);
    v.setUint16(22, l4.dport ?? 53);
    if (l4.proto === 'udp') {
      v.setUint16(24, total - 20);
      if (!l4.noUdpChecksum) v.setUint16(26, cksum(b, 20, total - 20, pseudo(b, 0, 17, total - 20)) || 0xffff);
    } else {
      v.setUint32(24, 1000);
      v.setUint32(28, 0);
      b[32] = 0x50;
      b[33] = l4.flags ?? 0x02;
      v.setUint16(34, 8192);
      v.setUint16(36, cksum(b, 20, total - 20, pseudo(b, 0, 6, total - 20)));
    }
  }
  return b;
}

/** An Ethernet frame around an IPv4 packet. */
export function eth(pkt: Uint8Array, dst = NAT_IN_MAC, src = INSIDE_MAC): Uint8Array {
  const f = new Uint8Array(14 + pkt.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  f.set(pkt, 14);
  return f;
}

/**
 * Every checksum of the frame, recomputed from scratch: IP header, TCP/UDP (pseudo-header) or ICMP,
 * and for an ICMP error the quoted IP header and the quoted L4 checksum when the quote is whole.
 * Returns the list of checksums that do not verify (empty when all do).
 */
export function badChecksums(f: Uint8Array, off = 14): string[] {
  const bad: string[] = [];
  const v = new DataView(f.buffer, f.byteOffset);
  const ihl = (f[off] & 15) * 4;
  const total = v.getUint16(off + 2);
  if (cksum(f, off, ihl) !== 0) bad.push('ip');
  const l4 = off + ihl;
  const len = total - ihl;
  const proto = f[off + 9];
  if (proto === 6 && cksum(f, l4, len, pseudo(f, off, 6, len)) !== 0) bad.push('tcp');
  if (proto === 17 && v.getUint16(l4 + 6) !== 0 && cksum(f, l4, len, pseudo(f, off, 17, len)) !== 0) bad.push('udp');
  if (proto === 1) {
    if (cksum(f, l4, len) !== 0) bad.push('icmp');
    if ([3, 4, 5, 11, 12].includes(f[l4])) {
      const inner = l4 + 8;
      const iihl = (f[inner] & 15) * 4;
      if (cksum(f, inner, iihl) !== 0) bad.push('inner-ip');
      const itotal = v.getUint16(inner + 2);
      const avail = off + total - inner;
      if (avail >= itotal) {
        const il4 = inner + iihl;
        const ilen = itotal - iihl;
        const ip2 = f[inner + 9];
        if (ip2 === 6 && cksum(f, il4, ilen, pseudo(f, inner, 6, ilen)) !== 0) bad.push('inner-tcp');
        if (ip2 === 17 && v.getUint16(il4 + 6) !== 0 && cksum(f, il4, ilen, pseudo(f, inner, 17, ilen)) !== 0) bad.push('inner-udp');
        if (ip2 === 1 && cksum(f, il4, ilen) !== 0) bad.push('inner-icmp');
      }
    }
  }
  return bad;
}

/** Fields of a frame's IPv4 packet: addresses, ports (or ICMP id as sport), proto, ttl. */
export function fields(f: Uint8Array, off = 14) {
  const v = new DataView(f.buffer, f.byteOffset);
  const ihl = (f[off] & 15) * 4;
  const proto = f[off + 9];
  const l4 = off + ihl;
  return {
    src: dotted(v.getUint32(off + 12)),
    dst: dotted(v.getUint32(off + 16)),
    proto,
    ttl: f[off + 8],
    sport: proto === 1 ? v.getUint16(l4 + 4) : v.getUint16(l4),
    dport: proto === 1 ? 0 : v.getUint16(l4 + 2),
    ethDst: Array.from(f.subarray(0, 6)),
    ethSrc: Array.from(f.subarray(6, 12)),
  };
}
