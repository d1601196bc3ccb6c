import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BATCH_FIELDS, META_FIELDS, POOL_MAGIC, PacketPool, PoolWord, poolLayout } from '../src/pool/index.js';
import { SpscRing } from '../src/ring/index.js';

describe('PacketPool layout', () => {
  it('aligns every region and slot to 64 bytes', () => {
    const pool = PacketPool.create({ slotCount: 100, slotSize: 2048 });
    const l = pool.layout;
    expect(l.ringCapacity).toBe(128);
    for (const [name] of META_FIELDS) expect(l.metaOffsets[name] % 64).toBe(0);
    for (const [name] of BATCH_FIELDS) expect(l.batchOffsets[name] % 64).toBe(0);
    expect([l.batchCount, l.batchCapacity, l.batchOffset % 64]).toEqual([1024, 256, 0]);
    expect(pool.batches.slot.length).toBe(1024 * 256);
    expect(pool.dataOffset % 64).toBe(0);
    expect(pool.slotOffset(0)).toBe(pool.dataOffset);
    expect(pool.slotOffset(99)).toBe(pool.dataOffset + 99 * 2048);
    expect(pool.buffer.byteLength).toBe(pool.dataOffset + 100 * 2048);
    expect(PacketPool.byteLength(100)).toBe(pool.buffer.byteLength);
    expect(new Int32Array(pool.buffer, 0, 1)[0]).toBe(POOL_MAGIC);
    expect(pool.stats()).toEqual({ slotCount: 100, available: 100, allocFailures: 0, doubleFrees: 0, invalidIndices: 0, freeOverflows: 0 });
  });

  it('rejects unusable sizes with clear errors', () => {
    expect(() => PacketPool.create({ slotCount: 0 })).toThrow(/slotCount must be an integer between 1 and \d+, got 0/);
    expect(() => PacketPool.create({ slotCount: 8, slotSize: 1500 })).toThrow(/slotSize must be a multiple of 64 .* got 1500/);
    expect(() => poolLayout(8, 32)).toThrow(RangeError);
    expect(() => PacketPool.create({ slotCount: 8, batchCount: 0 })).toThrow(/batchCount must be an integer/);
    expect(() => PacketPool.create({ slotCount: 8, batchCapacity: 1 << 17 })).toThrow(/batchCapacity must be an integer/);
    expect(() => PacketPool.attach(new SharedArrayBuffer(4096))).toThrow(/no packet pool in this buffer/);
    expect(() => PacketPool.attach(new Uint8Array(4096) as unknown as SharedArrayBuffer)).toThrow(TypeError);
    expect(() => PacketPool.attach(new ArrayBuffer(4096))).toThrow(/no packet pool in this buffer/);
    const pool = PacketPool.create({ slotCount: 4, slotSize: 64 });
    new Int32Array(pool.buffer)[PoolWord.VERSION] = 9;
    expect(() => PacketPool.attach(pool.buffer)).toThrow(/layout version 9/);
  });
});

describe('PacketPool alloc/free', () => {
  it('hands out every slot exactly once, counts what it cannot give, and takes them back', () => {
    const pool = PacketPool.create({ slotCount: 50, slotSize: 128 });
    const out = new Uint32Array(64);
    expect(pool.allocBurst(out, 32)).toBe(32);
    expect(pool.allocBurst(out.subarray(32), 32)).toBe(18);
    expect(new Set(out.subarray(0, 50)).size).toBe(50);
    expect(Math.max(...out.subarray(0, 50))).toBe(49);
    expect(pool.available).toBe(0);
    expect(pool.alloc()).toBe(-1);
    expect(pool.stats().allocFailures).toBe(14 + 1);
    expect(pool.freeBurst(out, 50)).toBe(50);
    expect(pool.available).toBe(50);
    const s = pool.alloc();
    expect(s).toBeGreaterThanOrEqual(0);
    expect(pool.free(s)).toBe(true);
    expect(pool.allocBurst(out, 0)).toBe(0);
    expect(pool.freeBurst(out, -1)).toBe(0);
  });

  it('zeroes a slot\'s meta when it is allocated', () => {
    const pool = PacketPool.create({ slotCount: 2, slotSize: 64 });
    const a = pool.alloc();
    const m = pool.meta;
    m.tsSec[a] = 1700000000;
    m.tsNsec[a] = 999999999;
    pool.free(a);
    const b = pool.alloc();
    const c = pool.alloc();
    for (const s of [b, c]) expect([m.tsSec[s], m.tsNsec[s]]).toEqual([0, 0]);
  });


  it('counts each slot\'s allocations (its epoch), has a random id, and shares the epoch-tracking flag', () => {
    const pool = PacketPool.create({ slotCount: 1, slotSize: 64 });
    expect(pool.id).not.toBe(0);
    expect(PacketPool.create({ slotCount: 1, slotSize: 64 }).id).not.toBe(pool.id);
    const epochs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = pool.alloc();
      epochs.push(pool.meta.epoch[s]);
      pool.free(s);
    }
    expect(epochs).toEqual([1, 2, 3]);
    const other = PacketPool.attach(pool.buffer);
    expect(other.tracksEpochs).toBe(false);
    pool.trackEpochs();
    expect(other.tracksEpochs).toBe(true);
    expect(other.id).toBe(pool.id);
  });
  it('ignores and counts indices that are not slots of the pool', () => {
    const pool = PacketPool.create({ slotCount: 8, slotSize: 64 });
    const out = new Uint32Array(8);
    pool.allocBurst(out, 8);
    const mixed = Uint32Array.from([out[0], 8, out[1], 0xffffffff, out[2]]);
    expect(pool.freeBurst(mixed, 5)).toBe(3);
    expect(pool.free(-1)).toBe(false);
    expect(pool.free(1.5)).toBe(false);
    expect(pool.free(Number.NaN)).toBe(false);
    expect(pool.free(100)).toBe(false);
    expect(pool.stats().invalidIndices).toBe(6);
    expect(pool.available).toBe(3);
  });

  it('in debug mode, detects and counts double frees without corrupting the free list', () => {
    const pool = PacketPool.create({ slotCount: 16, slotSize: 64, debug: true });
    expect(pool.debug).toBe(true);
    const out = new Uint32Array(16);
    expect(pool.allocBurst(out, 4)).toBe(4);
    expect(pool.free(out[0])).toBe(true);
    expect(pool.free(out[0])).toBe(false);
    // A burst that repeats a slot, and frees one that was never allocated.
    const never = [...Array(16).keys()].find((s) => !out.subarray(0, 4).includes(s))!;
    expect(pool.freeBurst(Uint32Array.from([out[1], out[1], out[2], never]), 4)).toBe(2);
    expect(pool.stats()).toMatchObject({ doubleFrees: 3, invalidIndices: 0, freeOverflows: 0, available: 15 });
    expect(pool.free(out[3])).toBe(true);
    // Every slot is handed out exactly once afterwards.
    expect(pool.allocBurst(out, 16)).toBe(16);
    expect(new Set(out).size).toBe(16);
  });

  it('outside debug mode, counts the overflow a double free eventually causes', () => {
    const pool = PacketPool.create({ slotCount: 8, slotSize: 64 });
    const s = pool.alloc();
    expect(pool.free(s)).toBe(true);
    // Undetected: the free list is full (8 of 8), so this index does not fit.
    expect(pool.free(s)).toBe(false);
    expect(pool.stats()).toMatchObject({ doubleFrees: 0, freeOverflows: 1, available: 8 });
  });

  it('lets another view of the same buffer see slots, meta and counters', () => {
    const pool = PacketPool.create({ slotCount: 4, slotSize: 256, debug: true });
    const other = PacketPool.attach(pool.buffer);
    expect([other.slotCount, other.slotSize, other.debug]).toEqual([4, 256, true]);
    const s = pool.alloc();
    pool.bytes.set([1, 2, 3], pool.slotOffset(s));
    pool.meta.tsNsec[s] = 3;
    pool.batches.length[7] = 3;
    expect([...other.bytes.subarray(other.slotOffset(s), other.slotOffset(s) + 3)]).toEqual([1, 2, 3]);
    expect(other.meta.tsNsec[s]).toBe(3);
    expect(other.batches.length[7]).toBe(3);
    expect(other.free(s)).toBe(true);
    expect(pool.free(s)).toBe(false);
    expect(pool.stats().doubleFrees).toBe(1);
    expect(pool.available).toBe(4);
  });
});

describe('PacketPool across threads', () => {
  it('conserves slots while a JS worker frees what the main thread allocates', async () => {
    const pool = PacketPool.create({ slotCount: 256, slotSize: 128, debug: true });
    const toWorker = SpscRing.create(256);
    const l = pool.layout;
    const total = 200_000;
    // Plain JS against the documented layouts: consume slot indices from the SPSC ring, check the
    // bytes the main thread wrote, clear the debug state, and free through the MPSC free list.
    const code = `
      const { workerData: w, parentPort } = require('node:worker_threads');
      const inH = new Int32Array(w.ring, 0, 128), inS = new Uint32Array(w.ring, 512, inH[3]);
      const fH = new Int32Array(w.pool, w.ringOffset, 128), fS = new Uint32Array(w.pool, w.ringOffset + 512, fH[3]);
      const view = new DataView(w.pool), state = new Uint8Array(w.pool, w.stateOffset, w.slotCount);
      let tail = 0, seen = 0, bad = 0;
      const deadline = Date.now() + 20000;
      while (seen < w.total && Date.now() < deadline) {
        const head = Atomics.load(inH, 32);
        if (head === tail) continue;
        const s = inS[tail & (inH[3] - 1)];
        tail = (tail + 1) | 0;
        Atomics.store(inH, 64, tail);
        if (view.getUint32(w.dataOffset + s * w.slotSize) !== s) bad++;
        if (Atomics.compareExchange(state, s, 1, 0) !== 1) bad++;
        let r;
        for (;;) { r = Atomics.load(fH, 33); if (Atomics.compareExchange(fH, 33, r, (r + 1) | 0) === r) break; }
        fS[r & (fH[3] - 1)] = s;
        while (Atomics.load(fH, 32) !== r) {}
        Atomics.store(fH, 32, (r + 1) | 0);
        seen++;
      }
      parentPort.postMessage({ seen, bad });
    `;
    const worker = new Worker(code, {
      eval: true,
      workerData: {
        ring: toWorker.buffer,
        pool: pool.buffer,
        ringOffset: l.ringOffset,
        stateOffset: l.metaOffsets.state,
        dataOffset: pool.dataOffset,
        slotSize: pool.slotSize,
        slotCount: pool.slotCount,
        total,
      },
    });
    const done = new Promise<{ seen: number; bad: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const burst = new Uint32Array(32);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 20_000;
    let sent = 0;
    let pending = 0;
    let pendingAt = 0;
    while (sent < total) {
      if (pending === 0) {
        pending = pool.allocBurst(burst, Math.min(32, total - sent));
        pendingAt = 0;
        for (let k = 0; k < pending; k++) pool.view.setUint32(pool.slotOffset(burst[k]), burst[k]);
      }
      const m = toWorker.enqueueBurst(burst.subarray(pendingAt, pendingAt + pending), pending);
      pendingAt += m;
      pending -= m;
      sent += m;
      if (m === 0) {
        Atomics.wait(nap, 0, 0, 0.02);
        if (Date.now() > deadline) throw new Error(`stuck at ${sent}`);
      }
    }
    expect(await done).toEqual({ seen: total, bad: 0 });
    const st = pool.stats();
    expect(st).toMatchObject({ available: 256, doubleFrees: 0, invalidIndices: 0, freeOverflows: 0 });
    // Every slot came back exactly once.
    const all = new Uint32Array(256);
    expect(pool.allocBurst(all, 256)).toBe(256);
    expect(new Set(all).size).toBe(256);
  });
});
