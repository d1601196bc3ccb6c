import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../src/backends/pcap-reader.js';
import { PcapWriter } from '../src/backends/pcap-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-pcap-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Rec {
  data: Uint8Array;
  sec: number;
  nsec: number;
  orig: number;
}

/** Deterministic frames of assorted lengths with distinct contents. */
function frames(n: number, minLen = 60, maxLen = 1514): Rec[] {
  let x = 12345;
  const rnd = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 8;
  };
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const len = minLen + (rnd() % (maxLen - minLen + 1));
    const data = new Uint8Array(len);
    for (let j = 0; j < len; j++) data[j] = rnd() & 0xff;
    out.push({ data, sec: 1_700_000_000 + i, nsec: (rnd() * 7919) % 1_000_000_000, orig: len });
  }
  return out;
}

/** A classic pcap file built byte by byte (either byte order, µs or ns), as a foreign tool would. */
function buildPcap(
  recs: { data: Uint8Array; sec: number; frac: number; orig?: number }[],
  opts: { le: boolean; nano: boolean; linkType?: number; snaplen?: number },
): Uint8Array {
  const size = 24 + recs.reduce((s, r) => s + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, opts.le);
  v.setUint16(4, 2, opts.le);
  v.setUint16(6, 4, opts.le);
  v.setUint32(16, opts.snaplen ?? 65535, opts.le);
  v.setUint32(20, opts.linkType ?? 1, opts.le);
  let at = 24;
  for (const r of recs) {
    v.setUint32(at, r.sec, opts.le);
    v.setUint32(at + 4, r.frac, opts.le);
    v.setUint32(at + 8, r.data.length, opts.le);
    v.setUint32(at + 12, r.orig ?? r.data.length, opts.le);
    out.set(r.data, at + 16);
    at += 16 + r.data.length;
  }
  return out;
}

/** Indexes where two record lists differ in bytes (fast, unlike a deep equal over thousands). */
function byteMismatches(a: Rec[], b: Rec[]): number[] {
  const bad: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === undefined || b[i] === undefined || !Buffer.from(a[i].data).equals(Buffer.from(b[i].data))) bad.push(i);
  }
  return bad;
}

function readAll(path: string, chunkSize?: number): { reader: PcapReader; recs: Rec[] } {
  const reader = new PcapReader(path, chunkSize === undefined ? {} : { chunkSize });
  const recs: Rec[] = [];
  while (reader.next()) {
    recs.push({
      data: reader.data.slice(reader.offset, reader.offset + reader.length),
      sec: reader.tsSec,
      nsec: reader.tsNsec,
      orig: reader.originalLength,
    });
  }
  return { reader, recs };
}

function writeAll(path: string, recs: Rec[], nanosecond: boolean, bufferSize?: number): PcapWriter {
  const w = new PcapWriter(path, { nanosecond, bufferSize });
  // Frames sit at odd offsets of one shared buffer, as in a NIC ring.
  const ring = new Uint8Array(4096);
  for (const r of recs) {
    ring.set(r.data, 3);
    w.write(ring, 3, r.data.length, r.sec, r.nsec);
  }
  w.close();
  return w;
}

describe('PcapWriter -> PcapReader round trip', () => {
  it('keeps bytes and microsecond timestamps (sub-µs digits dropped)', () => {
    const recs = frames(200);
    const path = join(dir, 'us.pcap');
    const w = writeAll(path, recs, false, 4096);
    expect(w.packets).toBe(200);
    const { reader, recs: got } = readAll(path);
    expect(reader.nanosecond).toBe(false);
    expect(reader.littleEndian).toBe(true);
    expect(reader.version).toBe('2.4');
    expect(reader.snaplen).toBe(262144);
    expect(got).toHaveLength(200);
    expect(byteMismatches(got, recs)).toEqual([]);
    expect(got.map((r) => [r.sec, r.nsec])).toEqual(recs.map((r) => [r.sec, Math.floor(r.nsec / 1000) * 1000]));
    expect(reader.errors).toBe(0);
    expect(reader.done).toBe(true);
  });

  it('keeps nanosecond timestamps exactly in the nanosecond format', () => {
    const recs = frames(100);
    const path = join(dir, 'ns.pcap');
    writeAll(path, recs, true);
    expect(new DataView(readFileSync(path).buffer).getUint32(0, true)).toBe(0xa1b23c4d);
    const { reader, recs: got } = readAll(path);
    expect(reader.nanosecond).toBe(true);
    expect(got.map((r) => [r.sec, r.nsec])).toEqual(recs.map((r) => [r.sec, r.nsec]));
    expect(byteMismatches(got, recs)).toEqual([]);
  });

  it('stamps the current time when tsSec is -1', () => {
    const path = join(dir, 'now.pcap');
    const w = new PcapWriter(path);
    const before = Date.now();
    w.write(new Uint8Array(60), 0, 60, -1, -1);
    w.close();
    const { recs } = readAll(path);
    const ms = recs[0].sec * 1000 + recs[0].nsec / 1e6;
    expect(ms).toBeGreaterThanOrEqual(before - 1);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('cuts frames to the snaplen and records the original length', () => {
    const path = join(dir, 'snap.pcap');
    const w = new PcapWriter(path, { snaplen: 100 });
    const frame = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    w.write(frame, 0, 300, 1, 0);
    w.write(frame, 0, 80, 2, 0);
    w.close();
    expect(w.truncated).toBe(1);
    const { reader, recs } = readAll(path);
    expect(reader.snaplen).toBe(100);
    expect(recs.map((r) => [r.data.length, r.orig])).toEqual([
      [100, 300],
      [80, 80],
    ]);
    expect(recs[0].data).toEqual(frame.subarray(0, 100));
    expect(reader.truncated).toBe(1);
  });

  it('rejects a frame outside its buffer and writes after close', () => {
    const w = new PcapWriter(join(dir, 'range.pcap'));
    expect(() => w.write(new Uint8Array(10), 5, 10, 0, 0)).toThrow(/outside a 10-byte buffer/);
    w.close();
    w.close();
    expect(() => w.write(new Uint8Array(60), 0, 60, 0, 0)).toThrow(/closed/);
  });

  it('names the file when it cannot be created or written', () => {
    expect(() => new PcapWriter(join(dir, 'no/such/dir.pcap'))).toThrow(/cannot create .*no\/such\/dir\.pcap/);
    expect(() => new PcapWriter('/dev/full')).toThrow(/write to \/dev\/full failed/);
    expect(() => new PcapWriter(join(dir, 'x.pcap'), { snaplen: 0 })).toThrow(/snaplen/);
  });
});

describe('PcapReader on hand-built files', () => {
  const recs = [
    { data: Uint8Array.from({ length: 60 }, (_, i) => i), sec: 1_600_000_000, frac: 123_456 },
    { data: Uint8Array.from({ length: 75 }, (_, i) => 255 - i), sec: 1_600_000_001, frac: 999_999 },
  ];

  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`reads ${le ? 'little' : 'big'}-endian ${nano ? 'nanosecond' : 'microsecond'} files`, () => {
        const path = join(dir, `hand-${le}-${nano}.pcap`);
        writeFileSync(path, buildPcap(recs, { le, nano }));
        const { reader, recs: got } = readAll(path);
        expect(reader.littleEndian).toBe(le);
        expect(reader.nanosecond).toBe(nano);
        expect(reader.snaplen).toBe(65535);
        expect(got.map((r) => r.data)).toEqual(recs.map((r) => r.data));
        expect(got.map((r) => [r.sec, r.nsec])).toEqual(recs.map((r) => [r.sec, nano ? r.frac : r.frac * 1000]));
      });
    }
  }

  it('delivers records captured shorter than the wire length and counts them', () => {
    const path = join(dir, 'short.pcap');
    writeFileSync(path, buildPcap([{ ...recs[0], orig: 1514 }, recs[1]], { le: true, nano: false }));
    const { reader, recs: got } = readAll(path);
    expect(got.map((r) => [r.data.length, r.orig])).toEqual([
      [60, 1514],
      [75, 75],
    ]);
    expect(reader.truncated).toBe(1);
    expect(reader.errors).toBe(0);
  });

  it('counts a truncated last record as an error and keeps the records before it', () => {
    const full = buildPcap(recs, { le: true, nano: false });
    for (const cut of [full.length - 10, 24 + 16 + 60 + 7]) {
      const path = join(dir, `cut-${cut}.pcap`);
      writeFileSync(path, full.subarray(0, cut));
      const { reader, recs: got } = readAll(path);
      expect(got).toHaveLength(1);
      expect(got[0].data).toEqual(recs[0].data);
      expect(reader.errors).toBe(1);
      expect(reader.lastError).toMatch(/truncated record/);
      expect(reader.lastError).toContain(path);
      expect(reader.done).toBe(true);
      expect(reader.next()).toBe(false);
    }
  });

  it('counts a garbage captured length as an error without allocating for it', () => {
    const bytes = buildPcap(recs, { le: false, nano: false });
    new DataView(bytes.buffer).setUint32(24 + 16 + 60 + 8, 0xfffffff0, false);
    const path = join(dir, 'garbage.pcap');
    writeFileSync(path, bytes);
    const { reader, recs: got } = readAll(path, 4096);
    expect(got).toHaveLength(1);
    expect(reader.errors).toBe(1);
    expect(reader.lastError).toMatch(/captured length 4294967280 exceeds 262144/);
    expect(reader.data.length).toBe(4096);
  });

  it('reads a header-only file as empty', () => {
    const path = join(dir, 'empty.pcap');
    writeFileSync(path, buildPcap([], { le: true, nano: true }));
    const { reader, recs: got } = readAll(path);
    expect(got).toHaveLength(0);
    expect(reader.errors).toBe(0);
    expect(reader.done).toBe(true);
  });

  it('throws at open, naming the file, for non-pcap input and other link types', () => {
    const text = join(dir, 'text.pcap');
    writeFileSync(text, 'hello, this is not a capture file at all');
    expect(() => new PcapReader(text)).toThrow(/text\.pcap is not a pcap file \(magic 0x68656c6c\)/);
    const tiny = join(dir, 'tiny.pcap');
    writeFileSync(tiny, new Uint8Array(10));
    expect(() => new PcapReader(tiny)).toThrow(/tiny\.pcap is too short/);
    const sll = join(dir, 'sll.pcap');
    writeFileSync(sll, buildPcap(recs, { le: true, nano: false, linkType: 113 }));
    expect(() => new PcapReader(sll)).toThrow(/sll\.pcap has link type 113 \(LINUX_SLL.*only Ethernet/);
    const mod = buildPcap(recs, { le: true, nano: false });
    new DataView(mod.buffer).setUint32(0, 0xa1b2cd34, true);
    const modPath = join(dir, 'mod.pcap');
    writeFileSync(modPath, mod);
    expect(() => new PcapReader(modPath)).toThrow(/modified/);
    expect(() => new PcapReader(join(dir, 'missing.pcap'))).toThrow(/cannot open .*missing\.pcap/);
  });

  it('rewinds to the first record', () => {
    const path = join(dir, 'rewind.pcap');
    writeFileSync(path, buildPcap(recs, { le: true, nano: false }));
    const reader = new PcapReader(path);
    while (reader.next());
    reader.rewind();
    expect(reader.next()).toBe(true);
    expect(reader.data.slice(reader.offset, reader.offset + reader.length)).toEqual(recs[0].data);
    expect(reader.packets).toBe(3);
    reader.close();
    expect(reader.next()).toBe(false);
  });
});

describe('PcapReader streaming', () => {
  it('streams a file many times larger than its read window, with records crossing chunk edges', () => {
    const recs = frames(3000);
    const path = join(dir, 'stream.pcap');
    writeAll(path, recs, true, 8192);
    for (const chunk of [64, 1000, 4096]) {
      const { reader, recs: got } = readAll(path, chunk);
      expect(got).toHaveLength(recs.length);
      expect(byteMismatches(got, recs)).toEqual([]);
      expect(got.every((r, i) => r.sec === recs[i].sec && r.nsec === recs[i].nsec)).toBe(true);
      // The window grows only to fit the largest record, never towards the file size.
      expect(reader.data.length).toBeLessThanOrEqual(Math.max(chunk * 2, 2 * (1514 + 16)));
      expect(reader.bytes).toBe(recs.reduce((s, r) => s + r.data.length, 0));
    }
  });

  it('reads a multi-megabyte file through the default 1 MiB window', () => {
    const path = join(dir, 'big.pcap');
    const w = new PcapWriter(path);
    const frame = new Uint8Array(1500);
    const n = 5000;
    for (let i = 0; i < n; i++) {
      frame[0] = i & 0xff;
      frame[1499] = (i >> 8) & 0xff;
      w.write(frame, 0, 1500, i, 0);
    }
    w.close();
    const reader = new PcapReader(path);
    let i = 0;
    let ok = true;
    while (reader.next()) {
      const d = reader.data;
      ok &&= d[reader.offset] === (i & 0xff) && d[reader.offset + 1499] === ((i >> 8) & 0xff) && reader.tsSec === i;
      i++;
    }
    expect(i).toBe(n);
    expect(ok).toBe(true);
    expect(reader.data.length).toBe(1 << 20);
  });
});
