// Builds test frames byte by byte (no library), so the tests state exactly what is on the wire.

/** Fields of a test IPv4 frame; lengths are whole-frame lengths including the 14-byte Ethernet header. */
export interface Ipv4Frame {
  /** Frame length (>= 34 + transport header). Default 64. */
  size?: number;
  protocol?: number;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  /** TCP flags byte (0x02 = SYN). */
  tcpFlags?: number;
  /** Fragment offset field (units of 8 bytes); non-zero makes a non-first fragment. */
  fragOffset?: number;
  /** Byte written at offset 63 (or the last byte), to tell frames apart. */
  tag?: number;
}

function ip(s: string): number[] {
  return s.split('.').map(Number);
}

/** An Ethernet + IPv4 frame (UDP by default) with a correct IPv4 total length. */
export function ipv4Frame(f: Ipv4Frame = {}): Uint8Array {
  const size = f.size ?? 64;
  const b = new Uint8Array(size);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  b[14] = 0x45;
  b[16] = (size - 14) >> 8;
  b[17] = (size - 14) & 255;
  const frag = f.fragOffset ?? 0;
  b[20] = (frag >> 8) & 0x1f;
  b[21] = frag & 255;
  b[22] = 64;
  b[23] = f.protocol ?? 17;
  b.set(ip(f.src ?? '10.0.1.1'), 26);
  b.set(ip(f.dst ?? '10.0.0.1'), 30);
  const sport = f.sport ?? 12345;
  const dport = f.dport ?? 5000;
  if (size >= 38) {
    b[34] = sport >> 8;
    b[35] = sport & 255;
    b[36] = dport >> 8;
    b[37] = dport & 255;
  }
  if ((f.protocol ?? 17) === 6 && size >= 48) b[47] = f.tcpFlags ?? 0x10;
  if (f.tag !== undefined) b[Math.min(63, size - 1)] = f.tag;
  return b;
}

/** A 60-byte ARP request (42 bytes of ARP padded to the Ethernet minimum). */
export function arpFrame(tag = 0): Uint8Array {
  const b = new Uint8Array(60);
  b.set([255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 9, 0x08, 0x06], 0);
  b.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
  // Bytes 16-17 are the ARP protocol type (0x0800): read as an IPv4 length they would say 2062.
  b[59] = tag;
  return b;
}

/** An IPv6/UDP frame of `size` bytes between two fixed addresses (last address byte varies). */
export function ipv6Frame(size = 90, host = 1): Uint8Array {
  const b = new Uint8Array(size);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd], 0);
  b[14] = 0x60;
  b[18] = (size - 54) >> 8;
  b[19] = (size - 54) & 255;
  b[20] = 17;
  b[21] = 64;
  b[22] = 0x20;
  b[23] = 0x01;
  b[37] = host;
  b[38] = 0x20;
  b[39] = 0x01;
  b[53] = 2;
  return b;
}

/** An 802.1Q-tagged IPv4/UDP frame of `size` bytes (VLAN 7). */
export function vlanFrame(size = 68): Uint8Array {
  const inner = ipv4Frame({ size: size - 4 });
  const b = new Uint8Array(size);
  b.set(inner.subarray(0, 12), 0);
  b.set([0x81, 0x00, 0x00, 0x07], 12);
  b.set(inner.subarray(12), 16);
  return b;
}

/** Random bytes from a seeded generator (deterministic tests). */
export function seededBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}
