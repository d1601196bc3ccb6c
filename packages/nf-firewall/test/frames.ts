// Frames for the NF tests, built from known 5-tuples (the expectations use the tuples, not a parse
// of the bytes).
import { ipChecksum } from './util.js';

export interface Tuple {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
}

/** An IPv4 frame for `t` with `payload` bytes after the L4 header; `frag` = [more fragments, offset in 8-byte units]. */
export function ipv4Frame(t: Tuple, id: number, payload = 18, frag: [boolean, number] = [false, 0]): Uint8Array {
  const l4 = frag[1] !== 0 ? 0 : t.proto === 6 ? 20 : t.proto === 17 ? 8 : t.proto === 1 ? 8 : 0;
  const ipLen = 20 + l4 + payload;
  const b = new Uint8Array(14 + ipLen);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  const ff = (frag[0] ? 0x2000 : 0) | frag[1];
  b.set([0x45, 0, ipLen >> 8, ipLen & 0xff, (id >> 8) & 0xff, id & 0xff, ff >> 8, ff & 0xff, 64, t.proto, 0, 0], 14);
  for (let k = 0; k < 4; k++) {
    b[26 + k] = (t.src >>> (24 - 8 * k)) & 0xff;
    b[30 + k] = (t.dst >>> (24 - 8 * k)) & 0xff;
  }
  const c = ipChecksum(b, 14, 20);
  b[24] = c >> 8;
  b[25] = c & 0xff;
  if (l4 > 0 && t.proto !== 1) b.set([t.sport >> 8, t.sport & 0xff, t.dport >> 8, t.dport & 0xff], 34);
  if (t.proto === 1 && l4 > 0) b.set([t.sport & 0xff, t.dport & 0xff], 34);
  if (t.proto === 6 && l4 > 0) b[46] = 0x50;
  if (t.proto === 17 && l4 > 0) b.set([(8 + payload) >> 8, (8 + payload) & 0xff], 38);
  for (let k = 14 + 20 + l4; k < b.length; k++) b[k] = (id + k) & 0xff;
  return b;
}

/** An ARP request (not IPv4). */
export function arp(): Uint8Array {
  const b = new Uint8Array(60);
  b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 0);
  return b;
}

export function ip(s: string): number {
  return s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}
