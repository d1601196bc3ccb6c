// Test helpers: build Ethernet/IPv4/UDP frames and read back the fields the tests check.

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** Writes an Ethernet + IPv4 + UDP frame (UDP checksum 0, valid IP checksum) at `at`; returns its length. */
export function writeUdpFrame(
  buf: Uint8Array,
  at: number,
  f: { dstMac: string; srcMac: string; srcIp: string; dstIp: string; sport: number; dport: number; payload: Uint8Array },
): number {
  const ipLen = 20 + 8 + f.payload.length;
  const h = [
    ...macBytes(f.dstMac),
    ...macBytes(f.srcMac),
    0x08, 0x00,
    0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0,
    ...ipBytes(f.srcIp),
    ...ipBytes(f.dstIp),
    f.sport >> 8, f.sport & 0xff, f.dport >> 8, f.dport & 0xff, (8 + f.payload.length) >> 8, (8 + f.payload.length) & 0xff, 0, 0,
  ];
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (h[i] << 8) | h[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  const csum = ~sum & 0xffff;
  h[24] = csum >> 8;
  h[25] = csum & 0xff;
  buf.set(h, at);
  buf.set(f.payload, at + h.length);
  return h.length + f.payload.length;
}

/** The fields of a received frame that tests look at. */
export interface ParsedFrame {
  etherType: number;
  /** IPv4 protocol (17 UDP, 6 TCP), or -1. */
  proto: number;
  srcIp: string;
  dstIp: string;
  sport: number;
  dport: number;
  /** TCP flags, or -1. */
  tcpFlags: number;
  /** UDP payload as text ('' for other frames). */
  payload: string;
}

/** Parses an Ethernet frame from `buf[off, off + len)` (copying what it keeps). */
export function parseFrame(buf: Uint8Array, off: number, len: number): ParsedFrame {
  const b = buf.subarray(off, off + len);
  const etherType = (b[12] << 8) | b[13];
  const out: ParsedFrame = { etherType, proto: -1, srcIp: '', dstIp: '', sport: -1, dport: -1, tcpFlags: -1, payload: '' };
  if (etherType !== 0x0800 || len < 34) return out;
  const ihl = (b[14] & 0x0f) * 4;
  out.proto = b[23];
  out.srcIp = Array.from(b.subarray(26, 30)).join('.');
  out.dstIp = Array.from(b.subarray(30, 34)).join('.');
  const l4 = 14 + ihl;
  out.sport = (b[l4] << 8) | b[l4 + 1];
  out.dport = (b[l4 + 2] << 8) | b[l4 + 3];
  if (out.proto === 6) out.tcpFlags = b[l4 + 13];
  if (out.proto === 17) out.payload = Buffer.from(b.subarray(l4 + 8)).toString('latin1');
  return out;
}
