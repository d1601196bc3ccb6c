import { describe, expect, it } from 'vitest';
import { FlitRing } from '../src/flit-ring.js';

/** Producer-side helper: reserve and record a frame length; returns the offset or -1. */
function put(r: FlitRing, bytes: number): number {
  const o = r.reserve(bytes);
  if (o >= 0) r.lens[o >> 6] = bytes;
  return o;
}

/** Consumer-side helper: receive and free everything contiguous; returns the bytes. */
function take(r: FlitRing): number {
  const n = r.contiguousReady();
  r.advanceRecv(n);
  r.advanceFree(n);
  return n;
}

describe('FlitRing', () => {
  it('rejects sizes that are not a power of two of at least 4 KiB', () => {
    expect(() => new FlitRing(1000)).toThrow(RangeError);
    expect(() => new FlitRing(2048)).toThrow(/power of two/);
    expect(() => new FlitRing(4096 + 64)).toThrow(RangeError);
    expect(new FlitRing(4096).size).toBe(4096);
  });

  it('is SharedArrayBuffer-backed, with side arrays of one entry per flit', () => {
    const r = new FlitRing(8192);
    expect(r.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(r.lens.length).toBe(128);
    expect(r.tsSec.length).toBe(128);
    expect(r.lens.buffer).toBe(r.data.buffer);
  });

  it('keeps one flit free: a full ring refuses the next frame', () => {
    const r = new FlitRing(4096);
    for (let i = 0; i < 63; i++) expect(put(r, 64)).toBe(i * 64);
    expect(put(r, 64)).toBe(-1);
    expect(r.unreceived()).toBe(4096 - 64);
  });

  it('wraps early so a frame is never split across the end, and records where data ends', () => {
    const r = new FlitRing(4096);
    // 3 × 1024 fills [0, 3072); free the first two so there is room at the start.
    put(r, 1024);
    put(r, 1024);
    put(r, 1024);
    r.advanceRecv(2048);
    r.advanceFree(2048);
    // 1536 bytes do not fit in [3072, 4096): the frame goes to 0 and the lap ends at 3072.
    expect(put(r, 1536)).toBe(0);
    expect(r.wrapAt).toBe(3072);
    // The next batch stops at the lap end, the one after starts at 0.
    expect(r.recv).toBe(2048);
    expect(r.contiguousReady()).toBe(1024);
    expect(r.unreceived()).toBe(1024 + 1536);
    expect(take(r)).toBe(1024);
    expect(r.recv).toBe(0);
    // Freeing past the gap retires it.
    expect(r.wrapAt).toBe(4096);
    expect(take(r)).toBe(1536);
    expect(r.unreceived()).toBe(0);
  });

  it('restarts an empty ring at 0 rather than splitting a frame', () => {
    const r = new FlitRing(4096);
    put(r, 3008);
    take(r);
    expect(r.head).toBe(3008);
    // 2048 bytes cannot fit before the end, and the ring is empty: they land at 0.
    expect(put(r, 2048)).toBe(0);
    expect(r.recv).toBe(0);
    expect(r.free).toBe(0);
    expect(r.contiguousReady()).toBe(2048);
  });

  it('lets the head land exactly on the end and continue at 0', () => {
    const r = new FlitRing(4096);
    put(r, 2048);
    r.advanceRecv(1024);
    r.advanceFree(1024);
    expect(put(r, 2048)).toBe(2048);
    expect(r.head).toBe(0);
    expect(r.wrapAt).toBe(4096);
    expect(r.contiguousReady()).toBe(3072);
    expect(put(r, 512)).toBe(0);
    expect(take(r)).toBe(3072);
    expect(take(r)).toBe(512);
  });

  it('never hands out a region that crosses the end over many random laps', () => {
    const r = new FlitRing(8192);
    let x = 12345;
    const rand = (n: number): number => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    let written = 0;
    let read = 0;
    for (let step = 0; step < 5000; step++) {
      if (rand(3) !== 0) {
        const bytes = (1 + rand(24)) * 64;
        if (put(r, bytes) >= 0) written += bytes;
      } else {
        const n = r.contiguousReady();
        expect(r.recv + n).toBeLessThanOrEqual(r.size);
        // Walk the frames: each must start inside the region and end within it.
        for (let o = r.recv; o < r.recv + n; o += r.lens[o >> 6]) expect(o + r.lens[o >> 6]).toBeLessThanOrEqual(r.recv + n);
        take(r);
        read += n;
      }
      expect(r.unreceived()).toBe(written - read);
    }
  });
});
