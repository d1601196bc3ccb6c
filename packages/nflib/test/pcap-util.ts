// Minimal classic-pcap reading and writing for tests, written independently of @gnet/enso so the
// tests check gnet against a second implementation of the format.
import { readFileSync, writeFileSync } from 'node:fs';

export interface Frame {
  sec: number;
  usec: number;
  bytes: Uint8Array;
}

export function writePcap(path: string, frames: Frame[]): void {
  const parts: Buffer[] = [];
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  parts.push(hdr);
  for (const f of frames) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.sec, 0);
    r.writeUInt32LE(f.usec, 4);
    r.writeUInt32LE(f.bytes.length, 8);
    r.writeUInt32LE(f.bytes.length, 12);
    parts.push(r, Buffer.from(f.bytes));
  }
  writeFileSync(path, Buffer.concat(parts));
}

export function readPcap(path: string): Frame[] {
  const b = readFileSync(path);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap`);
  const out: Frame[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const incl = b.readUInt32LE(o + 8);
    out.push({ sec: b.readUInt32LE(o), usec: b.readUInt32LE(o + 4), bytes: new Uint8Array(b.subarray(o + 16, o + 16 + incl)) });
    o += 16 + incl;
  }
  return out;
}

function ipChecksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (b[off + i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A UDP/IPv4 frame with a valid header checksum (UDP checksum 0). */
export function udpFrame(i: number, ttl: number, payload = 18): Uint8Array {
  const len = 14 + 20 + 8 + payload;
  const b = new Uint8Array(len);
  b.set([0x0a, 0, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  b.set([0x45, 0, ((len - 14) >> 8) & 0xff, (len - 14) & 0xff, (i >> 8) & 0xff, i & 0xff, 0, 0, ttl, 17, 0, 0, 10, 0, (i >> 8) & 0xff, i & 0xff, 10, 1, 0, 1], 14);
  const c = ipChecksum(b, 14, 20);
  b[24] = c >> 8;
  b[25] = c & 0xff;
  b.set([(1000 + i) >> 8, (1000 + i) & 0xff, 0, 53, 0, 8 + payload, 0, 0], 34);
  for (let k = 0; k < payload; k++) b[42 + k] = (i + k) & 0xff;
  return b;
}

/** An ARP request frame (not IPv4: must be delivered, not lost). */
export function arpFrame(): Uint8Array {
  const b = new Uint8Array(60);
  b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0, 0, 0, 0, 9, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 0);
  return b;
}

export { ipChecksum };

/** 2000 UDP packets with TTLs 1..64 (some 1400 B) and an ARP frame every 100: the chain tests' input. */
export function chainInput(): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < 2000; i++) {
    frames.push({ sec: 1_700_000_000 + (i >> 10), usec: (i * 37) % 1_000_000, bytes: i % 100 === 50 ? arpFrame() : udpFrame(i, 1 + (i % 64), i % 7 === 0 ? 1400 : 18) });
  }
  return frames;
}

/**
 * What the counter → rewriter fixture chain makes of `frames`, computed independently of the NFs:
 * IPv4 with TTL <= 1 dropped; other IPv4 gets new MACs, TTL - 1 and a freshly computed header
 * checksum; non-IPv4 passes unchanged.
 */
export function rewriterOutput(frames: Frame[]): Uint8Array[] {
  const expected: Uint8Array[] = [];
  for (const f of frames) {
    const b = new Uint8Array(f.bytes);
    if (b[12] === 8 && b[13] === 0) {
      if (b[22] <= 1) continue;
      b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
      b[22]--;
      b[24] = b[25] = 0;
      const c = ipChecksum(b, 14, 20);
      b[24] = c >> 8;
      b[25] = c & 0xff;
    }
    expected.push(b);
  }
  return expected;
}
