/**
 * Minimal classic-pcap reading and writing for tests, written independently of `@gnet/enso` so tests
 * check gnet against a second implementation of the format.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** One captured frame: its timestamp and bytes. */
export interface Frame {
  /** Seconds since the epoch. */
  sec: number;
  /** Microseconds within the second. */
  usec: number;
  /** The frame, from the Ethernet header on. */
  bytes: Uint8Array;
}

/** Writes `frames` to `path` as a little-endian, microsecond, Ethernet (linktype 1) pcap. */
export function writePcap(path: string, frames: readonly Frame[]): void {
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

/**
 * Reads a little-endian microsecond pcap (what gnet's `pcap:` port and {@link writePcap} write).
 * @throws Error when the file is not such a pcap.
 */
export function readPcap(path: string): Frame[] {
  const b = readFileSync(path);
  if (b.length < 24 || b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap`);
  const out: Frame[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const incl = b.readUInt32LE(o + 8);
    out.push({ sec: b.readUInt32LE(o), usec: b.readUInt32LE(o + 4), bytes: new Uint8Array(b.subarray(o + 16, o + 16 + incl)) });
    o += 16 + incl;
  }
  return out;
}

/** Wraps frames as pcap records, one per microsecond from `sec` (a fixed, reproducible clock). */
export function framesAt(bytes: readonly Uint8Array[], sec = 1_700_000_000): Frame[] {
  return bytes.map((b, i) => ({ sec: sec + Math.floor(i / 1_000_000), usec: i % 1_000_000, bytes: b }));
}
