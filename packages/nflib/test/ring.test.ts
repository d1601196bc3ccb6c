import { describe, expect, it } from 'vitest';
import {
  IdleBackoff,
  MpscRing,
  RING_HEADER_BYTES,
  RING_LAYOUT_VERSION,
  RING_MAGIC,
  RingKind,
  RingWord,
  SpscRing,
  ringByteLength,
  ringCapacityFor,
} from '../src/ring/index.js';

const seq = (from: number, n: number): Uint32Array => Uint32Array.from({ length: n }, (_, k) => (from + k) >>> 0);

describe.each([
  ['SpscRing', SpscRing],
  ['MpscRing', MpscRing],
] as const)('%s in one thread', (_name, Ring) => {
  it('enqueues and dequeues in order, with counts', () => {
    const r = Ring.create(8);
    expect(r.capacity).toBe(8);
    expect([r.count, r.free, r.isEmpty]).toEqual([0, 8, true]);
    expect(r.enqueueBurst(seq(1, 3), 3)).toBe(3);
    expect(r.enqueue(0xffffffff)).toBe(true);
    expect([r.count, r.free, r.isEmpty]).toEqual([4, 4, false]);
    const out = new Uint32Array(8);
    expect(r.dequeueBurst(out, 2)).toBe(2);
    expect([...out.subarray(0, 2)]).toEqual([1, 2]);
    expect(r.dequeue()).toBe(3);
    expect(r.dequeue()).toBe(0xffffffff);
    expect(r.dequeue()).toBe(-1);
    expect(r.dequeueBurst(out, 8)).toBe(0);
  });

  it('enqueues what fits into a full ring and reports the rest for the caller to count', () => {
    const r = Ring.create(4);
    expect(r.enqueueBurst(seq(10, 6), 6)).toBe(4);
    expect(r.free).toBe(0);
    expect(r.enqueueBurst(seq(20, 1), 1)).toBe(0);
    expect(r.enqueue(1)).toBe(false);
    const out = new Uint32Array(4);
    expect(r.dequeueBurst(out, 4)).toBe(4);
    expect([...out]).toEqual([10, 11, 12, 13]);
    expect(r.isEmpty).toBe(true);
  });

  it('bounds bursts by the arrays it is given and ignores non-positive counts', () => {
    const r = Ring.create(16);
    expect(r.enqueueBurst(seq(0, 3), 10)).toBe(3);
    expect(r.enqueueBurst(seq(0, 3), 0)).toBe(0);
    expect(r.enqueueBurst(seq(0, 3), -4)).toBe(0);
    expect(r.enqueueBurst(seq(0, 3), Number.NaN)).toBe(0);
    const small = new Uint32Array(2);
    expect(r.dequeueBurst(small, 10)).toBe(2);
    expect(r.dequeueBurst(small, -1)).toBe(0);
    expect(r.count).toBe(1);
  });

  it('matches a queue model across wrap-around with random bursts', () => {
    const r = Ring.create(64);
    const model: number[] = [];
    let s = 42;
    const rand = (): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s >>> 8;
    };
    const src = new Uint32Array(80);
    const dst = new Uint32Array(80);
    let next = 0;
    for (let step = 0; step < 20000; step++) {
      if (rand() % 2 === 0) {
        const n = rand() % 80;
        for (let k = 0; k < n; k++) src[k] = next + k;
        const m = r.enqueueBurst(src, n);
        expect(m).toBe(Math.min(n, 64 - model.length));
        for (let k = 0; k < m; k++) model.push(next + k);
        next += m;
      } else {
        const n = rand() % 80;
        const m = r.dequeueBurst(dst, n);
        expect(m).toBe(Math.min(n, model.length));
        const want = model.splice(0, m);
        for (let k = 0; k < m; k++) if (dst[k] !== want[k]) expect([step, k, dst[k]]).toEqual([step, k, want[k]]);
      }
      if (r.count !== model.length || r.free !== 64 - model.length) expect([step, r.count, r.free]).toEqual([step, model.length, 64 - model.length]);
    }
    expect(next).toBeGreaterThan(64 * 100);
  });

  it('keeps working when the free-running indices wrap past 2^31 and 2^32', () => {
    for (const start of [0x7ffffffa, -6]) {
      const fresh = Ring.create(8);
      const hdr = new Int32Array(fresh.buffer, 0, RING_HEADER_BYTES / 4);
      hdr[RingWord.HEAD] = start;
      hdr[RingWord.RESERVE] = start;
      hdr[RingWord.TAIL] = start;
      const r = Ring.attach(fresh.buffer, 0);
      const out = new Uint32Array(8);
      let v = 0;
      let w = 0;
      for (let round = 0; round < 10; round++) {
        expect(r.enqueueBurst(seq(v, 5), 5)).toBe(5);
        v += 5;
        expect(r.count).toBe(5);
        expect(r.free).toBe(3);
        expect(r.dequeueBurst(out, 8)).toBe(5);
        expect([...out.subarray(0, 5)]).toEqual([...seq(w, 5)]);
        w += 5;
      }
    }
  });

  it('shares one ring between objects attached to the same memory', () => {
    const buf = new SharedArrayBuffer(64 + 2 * Ring.byteLength(16));
    const a = Ring.createAt(buf, 64, 16);
    const b = Ring.createAt(buf, 64 + Ring.byteLength(16), 16);
    const a2 = Ring.attach(buf, 64);
    expect(a.enqueueBurst(seq(7, 3), 3)).toBe(3);
    expect(b.enqueue(99)).toBe(true);
    expect(a2.count).toBe(3);
    const out = new Uint32Array(4);
    expect(a2.dequeueBurst(out, 4)).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([7, 8, 9]);
    expect(a.isEmpty).toBe(true);
    // The first object's cached head is stale now; it must still see the truth.
    expect(a.dequeue()).toBe(-1);
    expect(a.enqueue(5)).toBe(true);
    expect(a2.dequeue()).toBe(5);
    expect(b.dequeue()).toBe(99);
  });

  it('times out waiting on an empty ring and returns at once when data or close is there', () => {
    const r = Ring.create(8);
    const t0 = performance.now();
    expect(r.waitForData(20)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    r.enqueue(1);
    expect(r.waitForData(10_000)).toBe(true);
    r.dequeue();
    expect(r.closed).toBe(false);
    r.close();
    expect(r.closed).toBe(true);
    const t1 = performance.now();
    expect(r.waitForData(10_000)).toBe(true);
    expect(performance.now() - t1).toBeLessThan(1000);
    // Still accepts entries after close: nothing in flight is lost.
    expect(r.enqueue(2)).toBe(true);
    expect(r.dequeue()).toBe(2);
  });
});

describe('ring layout and validation', () => {
  it('writes the documented header', () => {
    const r = SpscRing.create(32);
    const hdr = new Int32Array(r.buffer, 0, 128);
    expect(hdr[RingWord.MAGIC]).toBe(RING_MAGIC);
    expect(hdr[RingWord.VERSION]).toBe(RING_LAYOUT_VERSION);
    expect(hdr[RingWord.KIND]).toBe(RingKind.SPSC);
    expect(hdr[RingWord.CAPACITY]).toBe(32);
    expect(r.buffer.byteLength).toBe(512 + 32 * 4);
    expect(ringByteLength(32)).toBe(640);
    r.enqueue(0xabcdef01);
    expect(hdr[RingWord.HEAD]).toBe(1);
    expect(new Uint32Array(r.buffer, 512, 1)[0]).toBe(0xabcdef01);
    expect(new Int32Array(MpscRing.create(4).buffer, 0, 4)[RingWord.KIND]).toBe(RingKind.MPSC);
  });

  it('rejects bad capacities and placements with clear errors', () => {
    expect(() => SpscRing.create(1000)).toThrow(/power of two between 2 and \d+, got 1000/);
    expect(() => SpscRing.create(1)).toThrow(RangeError);
    expect(() => MpscRing.create(0)).toThrow(RangeError);
    const buf = new SharedArrayBuffer(4096);
    expect(() => SpscRing.createAt(buf, 32, 16)).toThrow(/multiple of 64, got 32/);
    expect(() => SpscRing.createAt(buf, 0, 1024)).toThrow(/4608 bytes at byte 0 does not fit in a buffer of 4096/);
    expect(() => SpscRing.createAt(new Uint8Array(4096) as unknown as SharedArrayBuffer, 0, 16)).toThrow(TypeError);
  });

  it('refuses to attach to something that is not the right ring', () => {
    const buf = new SharedArrayBuffer(8192);
    expect(() => SpscRing.attach(buf, 0)).toThrow(/no ring at byte 0: magic is 0x0/);
    MpscRing.createAt(buf, 0, 16);
    expect(() => SpscRing.attach(buf, 0)).toThrow(/is a multi-producer \(MPSC\) ring, not a single-producer \(SPSC\) ring/);
    SpscRing.createAt(buf, 1024, 16);
    expect(() => MpscRing.attach(buf, 1024)).toThrow(/is a single-producer \(SPSC\) ring, not a multi-producer/);
    const hdr = new Int32Array(buf, 1024, 8);
    hdr[RingWord.VERSION] = 2;
    expect(() => SpscRing.attach(buf, 1024)).toThrow(/layout version 2; this code reads version 1/);
    hdr[RingWord.VERSION] = 1;
    hdr[RingWord.CAPACITY] = 1 << 20;
    expect(() => SpscRing.attach(buf, 1024)).toThrow(/does not fit/);
  });

  it('sizes rings for a number of entries', () => {
    expect(ringCapacityFor(1)).toBe(2);
    expect(ringCapacityFor(1000)).toBe(1024);
    expect(ringCapacityFor(1024)).toBe(1024);
  });
});

describe('IdleBackoff', () => {
  it('spins a bounded number of times, then sleeps with a growing, capped timeout', () => {
    const r = SpscRing.create(8);
    const b = new IdleBackoff({ spins: 3, minSleepMs: 1, maxSleepMs: 4 });
    const t0 = performance.now();
    for (let k = 0; k < 3; k++) b.idle(r);
    expect(b.sleeps).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5);
    // Sleeps of 1, 2, 4, 4 ms: about 11 ms.
    for (let k = 0; k < 4; k++) b.idle(r);
    expect(b.sleeps).toBe(4);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(9);
    b.reset();
    b.idle(r);
    expect(b.sleeps).toBe(4);
  });

  it('does not sleep when data is waiting', () => {
    const r = SpscRing.create(8);
    const b = new IdleBackoff({ spins: 0, minSleepMs: 5000, maxSleepMs: 5000 });
    r.enqueue(1);
    const t0 = performance.now();
    b.idle(r);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('rejects bad settings', () => {
    expect(() => new IdleBackoff({ spins: -1 })).toThrow(RangeError);
    expect(() => new IdleBackoff({ minSleepMs: 0 })).toThrow(/0 < minSleepMs <= maxSleepMs/);
    expect(() => new IdleBackoff({ minSleepMs: 5, maxSleepMs: 1 })).toThrow(RangeError);
  });
});
