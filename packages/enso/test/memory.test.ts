import { describe, expect, it } from 'vitest';
import { DMA_CHUNK_BYTES, DmaChunk, dmaAllocate, dmaRelease } from '../src/dma-arena.js';
import { copyFlitArrays, copyFlits, FlitBuffer, flitBufferLayout } from '../src/flit-buffer.js';
import { FrameCopier } from '../src/frame-copy.js';
import { flitAlign, ipv4ToNumber, nextPkt, numberToIpv4, pktLen, pktRtt } from '../src/helpers.js';
import { ipv4Frame, seededBytes } from './frames.js';

describe('DMA arena', () => {
  it('hands out 64-byte aligned regions and reuses released ones, merging neighbours', () => {
    const c = new DmaChunk(new SharedArrayBuffer(4096));
    const a = c.allocate(100);
    const b = c.allocate(64);
    const d = c.allocate(1000);
    expect([a, b, d]).toEqual([0, 128, 192]);
    expect(c.allocate(4096)).toBe(-1);
    c.release(a, 100);
    c.release(b, 64);
    expect(c.allocate(192)).toBe(0); // the two neighbours merged
    c.release(0, 192);
    c.release(d, 1000);
    expect(c.freeBytes).toBe(4096);
    expect(new DmaChunk(new SharedArrayBuffer(128), false).allocate(64)).toBe(-1);
  });

  it('zeroes released memory and gives large requests their own chunk', () => {
    const r = dmaAllocate(256);
    r.chunk.u8[r.offset] = 7;
    dmaRelease(r);
    const again = dmaAllocate(256);
    expect(again.chunk.u8[again.offset]).toBe(0);
    dmaRelease(again);
    const big = dmaAllocate(DMA_CHUNK_BYTES + 64);
    expect(big.chunk.shared.byteLength).toBeGreaterThanOrEqual(DMA_CHUNK_BYTES + 64);
    dmaRelease(big);
    expect(() => dmaAllocate(0)).toThrow(RangeError);
  });
});

describe('FlitBuffer', () => {
  it('lays out data and side arrays in one shared region that another thread can view', () => {
    const l = flitBufferLayout(4096);
    expect(l).toMatchObject({ flits: 64, lensOffset: 4096, tsSecOffset: 4224, tsNsecOffset: 4480 });
    const fb = new FlitBuffer(4096);
    fb.data[5] = 9;
    fb.lens[3] = 77;
    fb.tsNsec[63] = 123;
    const view = FlitBuffer.attach(4096, fb.shared, fb.byteOffset);
    expect([view.data[5], view.lens[3], view.tsNsec[63]]).toEqual([9, 77, 123]);
    expect(() => FlitBuffer.attach(4096, new SharedArrayBuffer(1024), 0)).toThrow(RangeError);
    expect(() => new FlitBuffer(100)).toThrow(RangeError);
    fb.release();
    fb.release();
  });

  it('copies bytes and side entries within a chunk and across chunks alike', () => {
    const src = new FlitBuffer(1024);
    src.data.set(seededBytes(1024, 1));
    for (let i = 0; i < 16; i++) {
      src.lens[i] = i + 14;
      src.tsSec[i] = 1000 + i;
      src.tsNsec[i] = 2000 + i;
    }
    const same = new FlitBuffer(1024);
    copyFlits(src, 128, same, 256, 512);
    // A destination in a foreign shared buffer takes the set() path.
    const foreign = FlitBuffer.attach(1024, new SharedArrayBuffer(flitBufferLayout(1024).totalBytes), 0);
    copyFlitArrays(src.data, src.lens, src.tsSec, src.tsNsec, 128, foreign, 256, 512);
    for (const dst of [same, foreign]) {
      expect(dst.data.subarray(256, 768)).toEqual(src.data.subarray(128, 640));
      expect([...dst.lens.subarray(4, 12)]).toEqual([...src.lens.subarray(2, 10)]);
      expect([...dst.tsSec.subarray(4, 12)]).toEqual([...src.tsSec.subarray(2, 10)]);
      expect([...dst.tsNsec.subarray(4, 12)]).toEqual([...src.tsNsec.subarray(2, 10)]);
    }
  });
});

describe('FrameCopier', () => {
  it('copies from aligned, unaligned, same-buffer and plain sources exactly', () => {
    const copier = new FrameCopier();
    const dst = new FlitBuffer(4096);
    const bytes = seededBytes(301, 5);
    const aligned = new Uint8Array(400);
    aligned.set(bytes, 0);
    const unaligned = new Uint8Array(new ArrayBuffer(401), 1, 400);
    unaligned.set(bytes, 3);
    const inChunk = new Uint8Array(dst.shared, dst.byteOffset + 2048, 400);
    inChunk.set(bytes, 0);
    copier.copy(aligned, 0, dst.data, dst.data32, 0, 301);
    copier.copy(unaligned, 3, dst.data, dst.data32, 512, 301);
    copier.copy(inChunk, 0, dst.data, dst.data32, 1024, 301);
    copier.copy(aligned, 0, dst.data, dst.data32, 1536, 301, 4);
    for (const at of [0, 512, 1024, 1536]) expect(dst.data.subarray(at, at + 301)).toEqual(bytes);
    expect(dst.data[301]).toBe(0);
  });

  it('copies small frames word by word to alternating destinations, and overlapping ranges of one array as copyWithin does', () => {
    const copier = new FrameCopier();
    const a = new FlitBuffer(4096);
    const b = new FlitBuffer(4096);
    const src = new FlitBuffer(4096);
    const bytes = seededBytes(200, 9);
    src.data.set(bytes, 64);
    for (let i = 0; i < 4; i++) {
      const to = i % 2 === 0 ? a : b; // a new destination every call, as when spreading over pipes
      copier.copy(src.data, 64, to.data, to.data32, 128 * i, 61 + i);
      expect(to.data.subarray(128 * i, 128 * i + 61 + i)).toEqual(bytes.subarray(0, 61 + i));
      expect(to.data[128 * i + 61 + i]).toBe(0);
    }
    // Within one buffer, 100 bytes moved 8 bytes up and down: the result of a memmove.
    const expected = src.data.slice();
    expected.copyWithin(72, 64, 164);
    copier.copy(src.data, 64, src.data, src.data32, 72, 100);
    expect(src.data).toEqual(expected);
    expected.copyWithin(64, 72, 172);
    copier.copy(src.data, 72, src.data, src.data32, 64, 100);
    expect(src.data).toEqual(expected);
  });
});

describe('helpers', () => {
  it('pktLen / nextPkt follow Enso (IPv4 total length + 14, flit-rounded)', () => {
    const buf = new Uint8Array(512);
    buf.set(ipv4Frame({ size: 100 }), 0);
    buf.set(ipv4Frame({ size: 64 }), 128);
    expect(pktLen(buf, 0)).toBe(100);
    expect(nextPkt(buf, 0)).toBe(128);
    expect(nextPkt(buf, 128)).toBe(192);
    expect(flitAlign(65)).toBe(128);
    expect(flitAlign(0)).toBe(0);
  });

  it('reads RTTs big-endian and converts IPv4 addresses', () => {
    const b = new Uint8Array(64);
    b.set([0x01, 0x02, 0x03, 0x04], 18);
    expect(pktRtt(b, 0)).toBe(0x01020304);
    b.set([0xff, 0xff, 0xff, 0xff], 22);
    expect(pktRtt(b, 4)).toBe(0xffffffff);
    expect(ipv4ToNumber('10.0.0.1')).toBe(0x0a000001);
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(numberToIpv4(0xc0a80101)).toBe('192.168.1.1');
    expect(() => ipv4ToNumber('1.2.3')).toThrow(/not an IPv4 address/);
    expect(() => ipv4ToNumber('1.2.3.256')).toThrow(RangeError);
  });
});
