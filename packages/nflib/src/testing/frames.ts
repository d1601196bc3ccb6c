/**
 * Frame builders and checksums for tests: plain byte math, independent of nflib's packet helpers, so
 * a test compares gnet with a second implementation.
 * @module
 */

/** The RFC 1071 Internet checksum of `len` bytes of `b` from `off` (an odd tail is padded with 0). */
export function ipChecksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (b[off + i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A UDP/IPv4 frame with a valid header checksum (UDP checksum 0): 10.0.i>>8.i&255 → 10.1.0.1, port 1000+i → 53. */
export function udpFrame(i: number, ttl: number, payload = 18): Uint8Array {
  const len = 14 + 20 + 8 + payload;
  const b = new Uint8Array(len);
  b.set([0x0a, 0, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  b.set([0x45, 0, ((len - 14) >> 8) & 0xff, (len - 14) & 0xff, (i >> 8) & 0xff, i & 0xff, 0, 0, ttl, 17, 0, 0, 10, 0, (i >> 8) & 0xff, i & 0xff, 10, 1, 0, 1], 14);
  const c = ipChecksum(b, 14, 20);
  b[24] = c >> 8;
  b[25] = c & 0xff;
  b.set([(1000 + i) >> 8, (1000 + i) & 0xff, 0, 53, (8 + payload) >> 8, (8 + payload) & 0xff, 0, 0], 34);
  for (let k = 0; k < payload; k++) b[42 + k] = (i + k) & 0xff;
  return b;
}

/** An ARP request frame (not IPv4: NFs must pass or drop it, never lose it). */
export function arpFrame(): Uint8Array {
  const b = new Uint8Array(60);
  b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0, 0, 0, 0, 9, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 0);
  return b;
}

/** Fields of {@link ipv4Frame}; every one has a default. */
export interface Ipv4FrameOptions {
  /** Source address as a 32-bit number (default 10.0.0.1). */
  src?: number;
  /** Destination address as a 32-bit number (default 10.1.0.1). */
  dst?: number;
  /** IP protocol: 17 UDP (default), 6 TCP, or any other (then `payload` follows the IP header). */
  proto?: number;
  /** Time to live (default 64). */
  ttl?: number;
  /** Source port for UDP/TCP (default 1000). */
  sport?: number;
  /** Destination port for UDP/TCP (default 53). */
  dport?: number;
  /** Payload bytes after the L4 header, or its length (filled with a counting pattern); default 18. */
  payload?: Uint8Array | number;
  /** IP identification (default 0). */
  id?: number;
}

/** A dotted IPv4 address as a 32-bit number: `ip4('10.1.2.3')`. */
export function ip4(dotted: string): number {
  const parts = dotted.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${dotted}`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/**
 * An Ethernet + IPv4 frame with a valid header checksum and, for UDP and TCP, a valid L4 checksum
 * over the pseudo-header.
 */
export function ipv4Frame(o: Ipv4FrameOptions = {}): Uint8Array {
  const proto = o.proto ?? 17;
  const payload = typeof o.payload === 'number' || o.payload === undefined ? countingBytes(o.payload ?? 18) : o.payload;
  const l4 = proto === 17 ? 8 : proto === 6 ? 20 : 0;
  const ipLen = 20 + l4 + payload.length;
  const b = new Uint8Array(14 + ipLen);
  const v = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  b[14] = 0x45;
  v.setUint16(16, ipLen);
  v.setUint16(18, o.id ?? 0);
  b[22] = o.ttl ?? 64;
  b[23] = proto;
  v.setUint32(26, o.src ?? 0x0a000001);
  v.setUint32(30, o.dst ?? 0x0a010001);
  v.setUint16(24, ipChecksum(b, 14, 20));
  const l4off = 34;
  if (l4) {
    v.setUint16(l4off, o.sport ?? 1000);
    v.setUint16(l4off + 2, o.dport ?? 53);
    if (proto === 17) v.setUint16(l4off + 4, 8 + payload.length);
    else b[l4off + 12] = 0x50; // data offset 5 words
  }
  b.set(payload, l4off + l4);
  if (l4) {
    // Pseudo-header (src, dst, zero, proto, L4 length) then the L4 header and payload.
    const seg = l4 + payload.length;
    const pseudo = new Uint8Array(12 + seg + (seg & 1));
    pseudo.set(b.subarray(26, 34), 0);
    pseudo[9] = proto;
    pseudo[10] = seg >> 8;
    pseudo[11] = seg & 0xff;
    pseudo.set(b.subarray(l4off), 12);
    let c = ipChecksum(pseudo, 0, pseudo.length);
    if (proto === 17 && c === 0) c = 0xffff; // UDP: 0 means "no checksum"
    v.setUint16(l4off + (proto === 17 ? 6 : 16), c);
  }
  return b;
}

function countingBytes(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let k = 0; k < n; k++) p[k] = k & 0xff;
  return p;
}
