import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharedRegion, probeSharedMemory, unlinkSharedRegion } from '@gnet/manager-native';
import { PacketPool } from '../src/pool/index.js';
import { IdleBackoff, MpscRing, RingWord, SpscRing } from '../src/ring/index.js';

const dist = join(__dirname, '..', 'dist', 'index.cjs');
const native = createRequire(join(__dirname, '..', 'package.json')).resolve('@gnet/manager-native');
const shm = probeSharedMemory();
if (!shm.available) console.log(`shared-memory ring tests skipped: ${shm.reason}`);

const regions: string[] = [];
const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of regions.splice(0)) {
    try {
      unlinkSharedRegion(r);
    } catch {
      // Already gone.
    }
  }
});

/** Runs `script` (CommonJS, with `nflib` = the built package and `openSharedRegion`) in a child process; resolves with its stdout. */
function child(script: string): Promise<string> {
  const prelude = `const nflib = require(${JSON.stringify(dist)}); const { openSharedRegion } = require(${JSON.stringify(native)});`;
  const c = spawn(process.execPath, ['-e', `${prelude} ${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let out = '';
  let err = '';
  c.stdout!.on('data', (d) => (out += d));
  c.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`child timed out: ${err}`));
    }, 20_000);
    c.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}

describe.each([
  ['SpscRing', SpscRing],
  ['MpscRing', MpscRing],
] as const)('%s over a plain ArrayBuffer', (_name, Ring) => {
  it('moves entries in order across the wrap, and reports itself as not shared', () => {
    const buf = new ArrayBuffer(128 + Ring.byteLength(8));
    const r = Ring.createAt(buf, 64, 8);
    expect(r.shared).toBe(false);
    const view = Ring.attach(buf, 64);
    const out = new Uint32Array(8);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 10; round++) {
      const src = Uint32Array.from({ length: 5 }, () => next++);
      expect(r.enqueueBurst(src, 5)).toBe(5);
      const n = view.dequeueBurst(out, 8);
      expect(n).toBe(5);
      for (let k = 0; k < n; k++) expect(out[k]).toBe(expected++);
    }
    expect(r.enqueueBurst(new Uint32Array(9), 9)).toBe(8);
    expect(r.enqueue(1)).toBe(false);
  });

  it('waitForData sleep-polls: false after the timeout when empty, true at once with data or when closed', () => {
    const r = Ring.create(16);
    const plain = Ring.createAt(new ArrayBuffer(Ring.byteLength(16)), 0, 16);
    expect(r.shared).toBe(true);
    const t0 = performance.now();
    expect(plain.waitForData(20)).toBe(false);
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(19);
    expect(waited).toBeLessThan(500);
    plain.enqueue(7);
    const t1 = performance.now();
    expect(plain.waitForData(1000)).toBe(true);
    expect(performance.now() - t1).toBeLessThan(50);
    expect(plain.dequeue()).toBe(7);
    plain.close();
    expect(plain.waitForData(1000)).toBe(true);
    // Producers never mark a sleep-polling consumer as sleeping, so they never try to wake it.
    expect(new Int32Array(plain.buffer, 0, 128)[RingWord.SLEEPING]).toBe(0);
  });
});

describe('PacketPool over a plain ArrayBuffer at an offset', () => {
  it('keeps every offset relative to its base and works like one in a SharedArrayBuffer', () => {
    const bytes = PacketPool.byteLength(64, 256);
    const buf = new ArrayBuffer(4096 + bytes);
    new Uint8Array(buf).fill(0xee);
    const pool = PacketPool.createAt(buf, 4096, { slotCount: 64, slotSize: 256, debug: true });
    expect(pool.byteOffset).toBe(4096);
    expect(pool.bytes.byteOffset).toBe(4096);
    expect(pool.bytes.length).toBe(bytes);
    expect(pool.available).toBe(64);
    const other = PacketPool.attach(buf, 4096);
    const slots = new Uint32Array(64);
    expect(pool.allocBurst(slots, 64)).toBe(64);
    expect(new Set(slots).size).toBe(64);
    const s = slots[10];
    pool.bytes.set([1, 2, 3], pool.slotOffset(s));
    pool.meta.tsSec[s] = 3;
    expect([...other.bytes.subarray(other.slotOffset(s), other.slotOffset(s) + 3)]).toEqual([1, 2, 3]);
    expect(other.meta.tsSec[s]).toBe(3);
    expect(other.view.getUint8(other.slotOffset(s) + 2)).toBe(3);
    expect(other.freeBurst(slots, 64)).toBe(64);
    expect(pool.free(s)).toBe(false);
    expect(pool.stats()).toMatchObject({ available: 64, doubleFrees: 1 });
    expect(() => PacketPool.createAt(buf, 4000, { slotCount: 64, slotSize: 256 })).toThrow(/multiple of 64/);
    expect(() => PacketPool.createAt(buf, 8192, { slotCount: 64, slotSize: 256 })).toThrow(/does not fit/);
  });
});

describe.skipIf(!shm.available)('rings and pool in shared memory between processes', () => {
  it('a child process produces 200000 entries into an SPSC ring; this process consumes them in order, sleep-polling when idle', async () => {
    const name = `gnet-test-ring-${process.pid}-${Date.now().toString(36)}`;
    regions.push(name);
    const buf = createSharedRegion(name, 64 + SpscRing.byteLength(1024));
    const ring = SpscRing.createAt(buf, 64, 1024);
    const total = 200_000;
    // The child pauses now and then, so the consumer goes idle and sleeps between bursts.
    const done = child(`
      const ring = nflib.SpscRing.attach(openSharedRegion(${JSON.stringify(name)}), 64);
      const src = new Uint32Array(32); let next = 0;
      while (next < ${total}) {
        const n = Math.min(32, ${total} - next);
        for (let k = 0; k < n; k++) src[k] = next + k;
        const m = ring.enqueueBurst(src, n);
        next += m;
        if (m === 0 || next % 50000 < 32) nflib.sleepSync(2);
      }
      ring.close();
    `);
    const idle = new IdleBackoff({ spins: 16, maxSleepMs: 5 });
    const dst = new Uint32Array(64);
    let expected = 0;
    let bad = -1;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const n = ring.dequeueBurst(dst, 64);
      if (n > 0) {
        idle.reset();
        for (let k = 0; k < n; k++) if (dst[k] !== expected++ && bad < 0) bad = expected - 1;
      } else if (ring.closed && ring.isEmpty) break;
      else {
        idle.idle(ring);
        if (Date.now() > deadline) throw new Error(`stuck after ${expected}`);
        // Let the child's exit be seen.
        if (idle.sleeps % 64 === 0) await new Promise((r) => setImmediate(r));
      }
    }
    await done;
    expect(bad).toBe(-1);
    expect(expected).toBe(total);
    expect(idle.sleeps).toBeGreaterThan(0);
  });

  it('an MPSC producer waiting on an earlier, unpublished claim sleeps instead of failing, and publishes in claim order', async () => {
    const name = `gnet-test-mpsc-${process.pid}-${Date.now().toString(36)}`;
    regions.push(name);
    const buf = createSharedRegion(name, MpscRing.byteLength(16));
    const ring = MpscRing.createAt(buf, 0, 16);
    const hdr = new Int32Array(buf, 0, 128);
    // This process claims slot 0 (as a descheduled producer would) and does not publish it yet.
    Atomics.store(hdr, RingWord.RESERVE, 1);
    const done = child(`
      const ring = nflib.MpscRing.attach(openSharedRegion(${JSON.stringify(name)}), 0);
      const t0 = Date.now(); ring.enqueue(42); process.stdout.write(String(Date.now() - t0));
    `);
    // Once the child has claimed slot 1 it can only wait for slot 0's publication.
    const until = Date.now() + 10_000;
    while (Atomics.load(hdr, RingWord.RESERVE) !== 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 200));
    expect(ring.count).toBe(0);
    new Uint32Array(buf, 512, 16)[0] = 41;
    Atomics.store(hdr, RingWord.HEAD, 1);
    const waitedMs = Number(await done);
    expect(waitedMs).toBeGreaterThanOrEqual(150);
    expect([ring.dequeue(), ring.dequeue(), ring.dequeue()]).toEqual([41, 42, -1]);
  });

  it('a pool created in a region is attached by a child process, which sees the slot bytes, meta and batch descriptors', async () => {
    const name = `gnet-test-pool-${process.pid}-${Date.now().toString(36)}`;
    regions.push(name);
    const buf = createSharedRegion(name, 4096 + PacketPool.byteLength(32, 2048, 16, 8));
    const pool = PacketPool.createAt(buf, 4096, { slotCount: 32, slotSize: 2048, batchCount: 16, batchCapacity: 8 });
    const s = pool.alloc();
    pool.bytes.set([9, 8, 7, 6], pool.slotOffset(s));
    pool.meta.tsSec[s] = 1234;
    const t = pool.batches;
    t.count[5] = 1;
    t.slot[5 * 8] = s;
    t.offset[5 * 8] = pool.slotOffset(s);
    t.length[5 * 8] = 4;
    t.port[5 * 8] = 3;
    const out = await child(`
      const pool = nflib.PacketPool.attach(openSharedRegion(${JSON.stringify(name)}), 4096);
      const t = pool.batches; const e = 5 * t.capacity; const o = t.offset[e];
      process.stdout.write(JSON.stringify({ bytes: [...pool.bytes.subarray(o, o + t.length[e])], port: t.port[e], ts: pool.meta.tsSec[t.slot[e]], count: t.count[5], available: pool.available }));
      t.action[e] = 3;
    `);
    expect(JSON.parse(out)).toEqual({ bytes: [9, 8, 7, 6], port: 3, ts: 1234, count: 1, available: 31 });
    expect(pool.batches.action[5 * 8]).toBe(3);
  });
});
