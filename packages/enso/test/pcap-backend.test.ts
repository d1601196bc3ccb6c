import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapBackend, createPcapBackend, type PcapWireStats } from '../src/backends/pcap.js';
import { PcapReader } from '../src/backends/pcap-reader.js';
import { PcapWriter } from '../src/backends/pcap-writer.js';
import type { FrameSink } from '../src/backends/types.js';
import { FlitBuffer } from '../src/flit-buffer.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-pcap-backend-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A FrameSink that copies what it is offered; refuses frames for which `refuse(i)` is true. */
class RecordingSink implements FrameSink {
  frames: { data: Uint8Array; sec: number; nsec: number }[] = [];
  offered = 0;
  constructor(private refuse: (i: number) => boolean = () => false) {}
  push(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean {
    if (this.refuse(this.offered++)) return false;
    this.frames.push({ data: buf.slice(offset, offset + length), sec: tsSec, nsec: tsNsec });
    return true;
  }
}

function makeCapture(name: string, n: number): string {
  const path = join(dir, name);
  const w = new PcapWriter(path, { nanosecond: true });
  for (let i = 0; i < n; i++) {
    const f = Uint8Array.from({ length: 60 + i }, (_, j) => (i + j) & 0xff);
    w.write(f, 0, f.length, 1000 + i, i * 7);
  }
  w.close();
  return path;
}

describe('createPcapBackend rx', () => {
  it('offers at most max frames per poll, straight from the file, then is exhausted', () => {
    const path = makeCapture('rx.pcap', 25);
    const port = createPcapBackend(path, 'rx', { chunkSize: 128 });
    expect(port.kind).toBe('pcap');
    expect(port.spec).toBe(`pcap:${path}`);
    const sink = new RecordingSink();
    const polls: number[] = [];
    while (!port.exhausted) polls.push(port.poll(sink, 10));
    expect(polls).toEqual([10, 10, 5]);
    expect(port.poll(sink, 10)).toBe(0);
    expect(sink.frames.map((f) => [f.data.length, f.sec, f.nsec])).toEqual(
      Array.from({ length: 25 }, (_, i) => [60 + i, 1000 + i, i * 7]),
    );
    expect(sink.frames[24].data[0]).toBe(24);
    const s = port.stats() as PcapWireStats;
    expect(s).toMatchObject({ rxPackets: 25, rxBytes: 25 * 60 + 300, rxDropped: 0, errors: 0, truncated: 0 });
  });

  it('counts frames the sink refuses as rxDropped, and sends on an rx port as txDropped', async () => {
    const path = makeCapture('refuse.pcap', 10);
    const port = createPcapBackend(path, 'rx');
    const sink = new RecordingSink((i) => i % 2 === 1);
    expect(port.poll(sink, 100)).toBe(10);
    expect(port.send(new Uint8Array(60), 0, 60, -1, 0)).toBe(false);
    expect(port.stats()).toMatchObject({ rxPackets: 5, rxDropped: 5, txPackets: 0, txDropped: 1 });
    await port.close();
    await port.close();
    expect(port.poll(sink, 100)).toBe(0);
  });

  it('reports malformed records in errors and lastError', () => {
    const path = makeCapture('bad.pcap', 3);
    // A cut copy: the last record loses its tail.
    const cut = join(dir, 'cut.pcap');
    const bytes = readFileSync(path);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
    const port = new PcapBackend(cut, 'rx');
    const sink = new RecordingSink();
    while (!port.exhausted) port.poll(sink, 64);
    expect(sink.frames).toHaveLength(2);
    expect(port.stats().errors).toBe(1);
    expect(port.lastError).toMatch(/cut\.pcap at byte \d+: truncated record/);
  });
});

describe('createPcapBackend tx', () => {
  it('writes what it is sent, keeping timestamps, and is never a source of frames', async () => {
    const path = join(dir, 'tx.pcap');
    const port = createPcapBackend(path, 'tx', { bufferSize: 1 });
    expect(port.exhausted).toBe(true);
    expect(port.poll(new RecordingSink(), 10)).toBe(0);
    const ring = Uint8Array.from({ length: 2048 }, (_, i) => i & 0xff);
    expect(port.send(ring, 5, 60, 1_700_000_000, 123_456_000)).toBe(true);
    expect(port.send(ring, 100, 1514, 1_700_000_001, 999_999_999)).toBe(true);
    expect(port.send(ring, 7, 64, -1, -1)).toBe(true);
    port.flush();
    await port.close();
    expect(port.send(ring, 0, 60, 0, 0)).toBe(false);
    expect(port.stats()).toMatchObject({ txPackets: 3, txBytes: 60 + 1514 + 64, txDropped: 1 });
    const r = new PcapReader(path);
    expect(r.nanosecond).toBe(false);
    const got: [number, number, number, number][] = [];
    while (r.next()) got.push([r.length, r.data[r.offset], r.tsSec, r.tsNsec]);
    expect(got.slice(0, 2)).toEqual([
      [60, 5, 1_700_000_000, 123_456_000],
      [1514, 100, 1_700_000_001, 999_999_000],
    ]);
    expect(Math.abs(got[2][2] - Date.now() / 1000)).toBeLessThan(5);
  });

  it('writes a flit-laid-out block with sendFlits, each frame with its own timestamp', async () => {
    const path = join(dir, 'flits.pcap');
    const port = new PcapBackend(path, 'tx', { nanosecond: true });
    const fb = new FlitBuffer(1024);
    const layout: [number, number][] = [
      [0, 60],
      [64, 130], // spans three flits
      [256, 64],
    ];
    for (const [o, len] of layout) {
      for (let i = 0; i < len; i++) fb.data[o + i] = (o + i) & 0xff;
      fb.lens[o >> 6] = len;
      fb.tsSec[o >> 6] = 100 + o;
      fb.tsNsec[o >> 6] = 7 + o;
    }
    expect(port.sendFlits(fb, 0, 320, 3, 254)).toBe(3);
    await port.close();
    expect(port.sendFlits(fb, 0, 320, 3, 254)).toBe(0);
    expect(port.stats()).toMatchObject({ txPackets: 3, txBytes: 254, txDropped: 3 });
    const r = new PcapReader(path);
    const got: [number, number, number, number][] = [];
    while (r.next()) got.push([r.length, r.data[r.offset + 1], r.tsSec, r.tsNsec]);
    expect(got).toEqual(layout.map(([o, len]) => [len, (o + 1) & 0xff, 100 + o, 7 + o]));
    fb.release();
  });

  it('writes the nanosecond format when asked', async () => {
    const path = join(dir, 'txns.pcap');
    const port = createPcapBackend(path, 'tx', { nanosecond: true });
    port.send(new Uint8Array(60), 0, 60, 5, 123_456_789);
    await port.close();
    const r = new PcapReader(path);
    expect(r.next()).toBe(true);
    expect([r.nanosecond, r.tsSec, r.tsNsec]).toEqual([true, 5, 123_456_789]);
  });

  it('refuses role rxtx and unknown roles with a clear message', () => {
    expect(() => createPcapBackend(join(dir, 'x.pcap'), 'rxtx')).toThrow(
      /pcap:.*x\.pcap cannot be opened for rx and tx at once \(role 'rxtx'\)/,
    );
    expect(() => createPcapBackend(join(dir, 'x.pcap'), 'both' as never)).toThrow(/unknown role 'both'/);
  });

  it('names the file when an rx capture is missing', () => {
    expect(() => createPcapBackend(join(dir, 'nope.pcap'), 'rx')).toThrow(/cannot open .*nope\.pcap for reading/);
  });
});
