import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCaptureReader } from '../src/backends/pcap.js';
import { PcapngReader } from '../src/backends/pcapng-reader.js';
import { TimestampScale } from '../src/backends/pcapng-time.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-pcapng-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds pcapng blocks by hand in either byte order. */
class Ng {
  private parts: Uint8Array[] = [];
  constructor(private le: boolean) {}

  block(type: number, body: Uint8Array, lengthOverride?: number): this {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const out = new Uint8Array(total);
    const v = new DataView(out.buffer);
    v.setUint32(0, type, this.le);
    v.setUint32(4, lengthOverride ?? total, this.le);
    out.set(body, 8);
    v.setUint32(total - 4, lengthOverride ?? total, this.le);
    this.parts.push(out);
    return this;
  }

  shb(le = this.le): this {
    this.le = le;
    const body = new Uint8Array(16);
    const v = new DataView(body.buffer);
    v.setUint32(0, 0x1a2b3c4d, le);
    v.setUint16(4, 1, le);
    v.setUint16(6, 0, le);
    v.setInt32(8, -1, le); // section length unknown
    v.setInt32(12, -1, le);
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, snaplen: number, opts: { tsresol?: number; tsoffset?: number } = {}): this {
    const options: number[][] = [];
    if (opts.tsresol !== undefined) options.push([9, 1, opts.tsresol]);
    if (opts.tsoffset !== undefined) options.push([14, 8, opts.tsoffset]);
    const body = new Uint8Array(8 + options.length * 12 + 4 + 12);
    const v = new DataView(body.buffer);
    v.setUint16(0, linkType, this.le);
    v.setUint32(4, snaplen, this.le);
    let at = 8;
    // An if_name option first, to check unknown options are stepped over.
    v.setUint16(at, 2, this.le);
    v.setUint16(at + 2, 5, this.le);
    body.set(new TextEncoder().encode('eth0!'), at + 4);
    at += 12;
    for (const [code, len, value] of options) {
      v.setUint16(at, code, this.le);
      v.setUint16(at + 2, len, this.le);
      if (len === 1) v.setUint8(at + 4, value);
      else v.setBigInt64(at + 4, BigInt(value), this.le);
      at += 4 + ((len + 3) & ~3);
    }
    return this.block(1, body.subarray(0, at + 4)); // + opt_endofopt
  }

  epb(ifId: number, ts: bigint, data: Uint8Array, orig = data.length, capturedOverride?: number): this {
    const body = new Uint8Array(20 + ((data.length + 3) & ~3) + 12);
    const v = new DataView(body.buffer);
    v.setUint32(0, ifId, this.le);
    v.setUint32(4, Number(ts >> 32n), this.le);
    v.setUint32(8, Number(ts & 0xffffffffn), this.le);
    v.setUint32(12, capturedOverride ?? data.length, this.le);
    v.setUint32(16, orig, this.le);
    body.set(data, 20);
    // An opt_comment ("hi") after the packet data, then opt_endofopt.
    const o = 20 + ((data.length + 3) & ~3);
    v.setUint16(o, 1, this.le);
    v.setUint16(o + 2, 2, this.le);
    body[o + 4] = 0x68;
    body[o + 5] = 0x69;
    return this.block(6, body);
  }

  pb(ifId: number, ts: bigint, data: Uint8Array): this {
    const body = new Uint8Array(20 + ((data.length + 3) & ~3));
    const v = new DataView(body.buffer);
    v.setUint16(0, ifId, this.le);
    v.setUint32(4, Number(ts >> 32n), this.le);
    v.setUint32(8, Number(ts & 0xffffffffn), this.le);
    v.setUint32(12, data.length, this.le);
    v.setUint32(16, data.length, this.le);
    body.set(data, 20);
    return this.block(2, body);
  }

  spb(data: Uint8Array, orig = data.length): this {
    const body = new Uint8Array(4 + data.length);
    new DataView(body.buffer).setUint32(0, orig, this.le);
    body.set(data, 4);
    return this.block(3, body);
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts)); // own ArrayBuffer, so DataViews over it line up
  }

  write(name: string): string {
    const path = join(dir, name);
    writeFileSync(path, this.bytes());
    return path;
  }
}

const frame = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff);

interface Got {
  data: Uint8Array;
  sec: number;
  nsec: number;
  orig: number;
}

function readAll(reader: PcapngReader): Got[] {
  const out: Got[] = [];
  while (reader.next()) {
    out.push({
      data: reader.data.slice(reader.offset, reader.offset + reader.length),
      sec: reader.tsSec,
      nsec: reader.tsNsec,
      orig: reader.originalLength,
    });
  }
  return out;
}

describe('TimestampScale', () => {
  const out = { tsSec: 0, tsNsec: 0 };
  const conv = (scale: TimestampScale, ts: bigint): [number, number] => {
    scale.convert(Number(ts >> 32n), Number(ts & 0xffffffffn), out);
    return [out.tsSec, out.tsNsec];
  };

  it('converts decimal resolutions exactly, including values beyond 2^53', () => {
    expect(conv(new TimestampScale(), 1_700_000_000_654_321n)).toEqual([1_700_000_000, 654_321_000]);
    expect(conv(new TimestampScale(9), 1_700_000_000_123_456_789n)).toEqual([1_700_000_000, 123_456_789]);
    expect(conv(new TimestampScale(9), 18_446_744_073_709_551_615n)).toEqual([18_446_744_073, 709_551_615]);
    expect(conv(new TimestampScale(3), 1_700_000_000_999n)).toEqual([1_700_000_000, 999_000_000]);
    expect(conv(new TimestampScale(0), 42n)).toEqual([42, 0]);
    // Picoseconds: digits below a nanosecond are dropped.
    expect(conv(new TimestampScale(12), 1_700_000_000_123_456_789_999n % 2n ** 64n)).toEqual(
      (() => {
        const ps = 1_700_000_000_123_456_789_999n % 2n ** 64n;
        return [Number(ps / 10n ** 12n), Number((ps % 10n ** 12n) / 1000n)];
      })(),
    );
  });

  it('converts binary resolutions and applies if_tsoffset', () => {
    expect(conv(new TimestampScale(0x80 | 20), (5n << 20n) | (1n << 19n))).toEqual([5, 500_000_000]);
    expect(conv(new TimestampScale(0x80 | 32), (7n << 32n) | (1n << 30n))).toEqual([7, 250_000_000]);
    expect(conv(new TimestampScale(6, 1000), 2_500_000n)).toEqual([1002, 500_000_000]);
  });

  it('rejects resolutions no clock has', () => {
    expect(() => new TimestampScale(20)).toThrow(/10\^-20/);
    expect(() => new TimestampScale(0x80 | 64)).toThrow(/2\^-64/);
  });
});

describe('PcapngReader', () => {
  for (const le of [true, false]) {
    it(`reads Enhanced, Simple and obsolete Packet blocks (${le ? 'little' : 'big'}-endian), skipping others`, () => {
      const path = new Ng(le)
        .shb()
        .block(0x00000004, new Uint8Array(8)) // Name Resolution Block: skipped
        .idb(1, 0)
        .idb(1, 128, { tsresol: 9, tsoffset: 10 })
        .epb(0, 1_700_000_000_000_001n, frame(60, 1))
        .block(0x00000bad, new Uint8Array(40)) // custom block: skipped
        .epb(1, 1_700_000_000_123_456_789n, frame(61, 2), 1514)
        .spb(frame(64, 3))
        .pb(0, 2_000_000n, frame(62, 4))
        .write(`basic-${le}.pcapng`);
      const reader = new PcapngReader(path);
      expect(reader.interfaces.map((i) => [i.linkType, i.snaplen, i.scale.decimalExponent, i.scale.offsetSec])).toEqual([
        [1, 0, 6, 0],
        [1, 128, 9, 10],
      ]);
      const got = readAll(reader);
      expect(got.map((g) => [g.data.length, g.orig, g.sec, g.nsec])).toEqual([
        [60, 60, 1_700_000_000, 1000],
        [61, 1514, 1_700_000_010, 123_456_789],
        [64, 64, 0, 0],
        [62, 62, 2, 0],
      ]);
      expect(got[0].data).toEqual(frame(60, 1));
      expect(got[1].data).toEqual(frame(61, 2));
      expect(got[2].data).toEqual(frame(64, 3));
      expect(got[3].data).toEqual(frame(62, 4));
      expect(reader.errors).toBe(0);
      expect(reader.truncated).toBe(1);
    });
  }

  it('follows a second section with the other byte order and its own interfaces', () => {
    const a = new Ng(true).shb().idb(1, 0).epb(0, 5_000_000n, frame(60, 1));
    const b = new Ng(false).shb().idb(1, 0, { tsresol: 3 }).epb(0, 7_250n, frame(70, 2));
    const path = join(dir, 'two-sections.pcapng');
    writeFileSync(path, Buffer.concat([a.bytes(), b.bytes()]));
    const got = readAll(new PcapngReader(path));
    expect(got.map((g) => [g.data.length, g.sec, g.nsec])).toEqual([
      [60, 5, 0],
      [70, 7, 250_000_000],
    ]);
  });

  it('cuts Simple Packet Blocks to the interface snaplen', () => {
    const path = new Ng(true).shb().idb(1, 64).spb(frame(100, 9), 100).write('spb-snap.pcapng');
    const reader = new PcapngReader(path);
    const got = readAll(reader);
    expect(got.map((g) => [g.data.length, g.orig])).toEqual([[64, 100]]);
    expect(reader.truncated).toBe(1);
  });

  it('skips and counts packets on undescribed or non-Ethernet interfaces and overrunning lengths', () => {
    const path = new Ng(true)
      .shb()
      .idb(1, 0)
      .epb(3, 0n, frame(60, 1)) // no interface 3
      .epb(0, 0n, frame(60, 2), 60, 5000) // captured length runs past the block
      .idb(113, 0) // Linux cooked, described after the first packet
      .epb(1, 0n, frame(60, 3))
      .epb(0, 0n, frame(60, 4))
      .write('skips.pcapng');
    const reader = new PcapngReader(path);
    const got = readAll(reader);
    expect(got.map((g) => g.data)).toEqual([frame(60, 4)]);
    expect(reader.errors).toBe(3);
    expect(reader.lastError).toMatch(/interface 1 with link type 113/);
  });

  it('ends with one error on a bad block length, a length mismatch or a truncated file', () => {
    const good = new Ng(true).shb().idb(1, 0).epb(0, 0n, frame(60, 1));
    const cases: [string, Uint8Array, RegExp][] = [
      ['badlen', Buffer.concat([good.bytes(), new Ng(true).block(6, new Uint8Array(32), 30).bytes()]), /block length 30 is invalid/],
      ['mismatch', (() => {
        const b = new Ng(true).shb().idb(1, 0).epb(0, 0n, frame(60, 1)).epb(0, 0n, frame(60, 2)).bytes();
        new DataView(b.buffer).setUint32(b.length - 4, 12, true);
        return b;
      })(), /trailing copy/],
      ['cut', (() => {
        const b = new Ng(true).shb().idb(1, 0).epb(0, 0n, frame(60, 1)).epb(0, 0n, frame(60, 2)).bytes();
        return b.subarray(0, b.length - 9);
      })(), /truncated block/],
      ['cut-header', Buffer.concat([good.bytes(), new Uint8Array([6, 0, 0, 0, 0x40])]), /truncated block header/],
    ];
    for (const [name, bytes, message] of cases) {
      const path = join(dir, `${name}.pcapng`);
      writeFileSync(path, bytes);
      const reader = new PcapngReader(path, { chunkSize: 64 });
      const got = readAll(reader);
      expect(got.map((g) => g.data), name).toEqual([frame(60, 1)]);
      expect(reader.errors, name).toBe(1);
      expect(reader.lastError, name).toMatch(message);
      expect(reader.done).toBe(true);
    }
  });

  it('counts an absurd block length as an error instead of allocating for it', () => {
    const b = Buffer.concat([
      new Ng(true).shb().idb(1, 0).bytes(),
      new Ng(true).block(6, new Uint8Array(32), 0x7ffffffc).bytes(),
    ]);
    const path = join(dir, 'huge.pcapng');
    writeFileSync(path, b);
    const reader = new PcapngReader(path, { chunkSize: 256 });
    expect(reader.next()).toBe(false);
    expect(reader.errors).toBe(1);
    expect(reader.data.length).toBe(256);
  });

  it('throws at open for a non-Ethernet interface, a bad section or a non-pcapng file', () => {
    const sll = new Ng(true).shb().idb(1, 0).idb(276, 0).epb(0, 0n, frame(60, 1)).write('sll2.pcapng');
    expect(() => new PcapngReader(sll)).toThrow(/sll2\.pcapng has link type 276 \(LINUX_SLL2.*only Ethernet/);
    const badMagic = new Ng(true).shb().bytes();
    badMagic[8] = 0;
    const badPath = join(dir, 'badmagic.pcapng');
    writeFileSync(badPath, badMagic);
    expect(() => new PcapngReader(badPath)).toThrow(/badmagic\.pcapng at byte 0: bad section byte-order magic/);
    const notNg = join(dir, 'not.pcapng');
    writeFileSync(notNg, new Uint8Array(64));
    expect(() => new PcapngReader(notNg)).toThrow(/not a pcapng file/);
    const badRes = new Ng(true).shb().idb(1, 0, { tsresol: 40 }).write('badres.pcapng');
    expect(() => new PcapngReader(badRes)).toThrow(/if_tsresol 10\^-40/);
  });

  it('streams through a small window and rewinds', () => {
    const ng = new Ng(false).shb().idb(1, 0, { tsresol: 9 });
    const want: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      want.push(frame(60 + (i % 200), i));
      ng.epb(0, BigInt(i) * 1_000_000_001n, want[i]);
    }
    const path = ng.write('stream.pcapng');
    const reader = new PcapngReader(path, { chunkSize: 100 });
    const got = readAll(reader);
    expect(got.map((g) => g.data)).toEqual(want);
    expect(got[299].sec).toBe(299);
    expect(got[299].nsec).toBe(299);
    reader.rewind();
    expect(readAll(reader)).toHaveLength(300);
    expect(reader.packets).toBe(600);
  });

  it('is chosen by openCaptureReader from the magic', () => {
    const path = new Ng(true).shb().idb(1, 0).write('open.pcapng');
    expect(openCaptureReader(path).format).toBe('pcapng');
    const short = join(dir, 'short.bin');
    writeFileSync(short, new Uint8Array(2));
    expect(() => openCaptureReader(short)).toThrow(/too short to be a capture file/);
  });
});
