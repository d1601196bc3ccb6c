import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { IdleBackoff, MpscRing, SpscRing } from '../src/ring/index.js';

// Workers cannot run TypeScript, so each worker body below is plain JS written only against the
// ring's documented memory layout (src/ring/layout.ts): words MAGIC 0, CAPACITY 3, FLAGS 4, HEAD 32,
// RESERVE 33, TAIL 64, DOORBELL 96, SLEEPING 97; slots at byte 512. That makes these tests a check of
// the layout contract as well as of the TypeScript side running against another thread.
const LAYOUT = `
  const { workerData, parentPort } = require('node:worker_threads');
  const { sab, off } = workerData;
  const hdr = new Int32Array(sab, off, 128);
  if (hdr[0] !== 0x474e5247) throw new Error('no ring');
  const cap = hdr[3], mask = cap - 1;
  const slots = new Uint32Array(sab, off + 512, cap);
  const HEAD = 32, RESERVE = 33, TAIL = 64, FLAGS = 4, DOORBELL = 96, SLEEPING = 97;
  const deadline = Date.now() + 20000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  function wake() { if (Atomics.load(hdr, SLEEPING) !== 0) { Atomics.add(hdr, DOORBELL, 1); Atomics.notify(hdr, DOORBELL, 1); } }
`;

/** Consumer: checks that entries arrive as 0, 1, 2, ... and sleeps on the doorbell when idle. */
const SEQUENCE_CONSUMER = `${LAYOUT}
  const total = workerData.total;
  let tail = Atomics.load(hdr, TAIL), expected = 0, got = 0, firstBad = -1, sleeps = 0, empty = 0;
  while (got < total && Date.now() < deadline) {
    const n = (Atomics.load(hdr, HEAD) - tail) | 0;
    if (n === 0) {
      if (++empty < 2000) continue;
      const bell = Atomics.load(hdr, DOORBELL);
      Atomics.store(hdr, SLEEPING, 1);
      if (Atomics.load(hdr, HEAD) === tail) { Atomics.wait(hdr, DOORBELL, bell, 50); sleeps++; }
      Atomics.store(hdr, SLEEPING, 0);
      continue;
    }
    empty = 0;
    for (let k = 0; k < n; k++) {
      if (slots[(tail + k) & mask] !== expected && firstBad < 0) firstBad = got + k;
      expected = (expected + 1) >>> 0;
    }
    got += n;
    tail = (tail + n) | 0;
    Atomics.store(hdr, TAIL, tail);
  }
  parentPort.postMessage({ got, firstBad, sleeps });
`;

/** Single producer: enqueues 0..total-1 in bursts of 32, pausing now and then so the consumer sleeps. */
const SEQUENCE_PRODUCER = `${LAYOUT}
  const total = workerData.total;
  let head = Atomics.load(hdr, HEAD), next = 0, full = 0;
  while (next < total && Date.now() < deadline) {
    const want = Math.min(32, total - next);
    const room = cap - ((head - Atomics.load(hdr, TAIL)) | 0);
    if (room <= 0) { if (++full > 64) { full = 0; Atomics.wait(nap, 0, 0, 0.05); } continue; }
    full = 0;
    const m = Math.min(want, room);
    for (let k = 0; k < m; k++) slots[(head + k) & mask] = next + k;
    head = (head + m) | 0;
    next += m;
    Atomics.store(hdr, HEAD, head);
    wake();
    if (next % 65536 < m) Atomics.wait(nap, 0, 0, 1);
  }
  Atomics.or(hdr, FLAGS, 1);
  Atomics.add(hdr, DOORBELL, 1);
  Atomics.notify(hdr, DOORBELL);
  parentPort.postMessage({ sent: next });
`;

/** One of several producers on an MPSC ring: enqueues (id << 24 | seq) for seq = 0..total-1. */
const TAGGED_PRODUCER = `${LAYOUT}
  const { total, id } = workerData;
  let next = 0;
  while (next < total && Date.now() < deadline) {
    const want = Math.min(1 + (next % 32), total - next);
    let r, m, spins = 0;
    for (;;) {
      r = Atomics.load(hdr, RESERVE);
      const room = cap - ((r - Atomics.load(hdr, TAIL)) | 0);
      if (room <= 0) { if (++spins > 64) Atomics.wait(nap, 0, 0, 0.05); continue; }
      m = Math.min(want, room);
      if (Atomics.compareExchange(hdr, RESERVE, r, (r + m) | 0) === r) break;
    }
    for (let k = 0; k < m; k++) slots[(r + k) & mask] = ((id << 24) | (next + k)) >>> 0;
    spins = 0;
    for (;;) { const h = Atomics.load(hdr, HEAD); if (h === r) break; if (++spins > 1000) Atomics.wait(hdr, HEAD, h, 0.05); }
    Atomics.store(hdr, HEAD, (r + m) | 0);
    wake();
    next += m;
  }
  parentPort.postMessage({ sent: next });
`;

function startWorker(code: string, data: Record<string, unknown>): { done: Promise<Record<string, number>>; worker: Worker } {
  const worker = new Worker(code, { eval: true, workerData: data });
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (c) => reject(new Error(`worker exited with ${c} before reporting`)));
  });
  return { done, worker };
}

describe('rings across worker_threads', () => {
  it('SpscRing producer → JS consumer thread: 1.5M entries in order, none lost or duplicated', async () => {
    const total = 1_500_000;
    const ring = SpscRing.create(1024);
    const { done } = startWorker(SEQUENCE_CONSUMER, { sab: ring.buffer, off: ring.byteOffset, total });
    const burst = new Uint32Array(32);
    const deadline = Date.now() + 20_000;
    let next = 0;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let fullPolls = 0;
    const t0 = performance.now();
    while (next < total) {
      const n = Math.min(32, total - next);
      for (let k = 0; k < n; k++) burst[k] = next + k;
      // A full ring takes what fits; this test retries the rest instead of dropping it, and yields
      // the core after a run of full polls (the consumer may share it).
      const m = ring.enqueueBurst(burst, n);
      next += m;
      if (m > 0) fullPolls = 0;
      else if (++fullPolls > 64) {
        fullPolls = 0;
        Atomics.wait(nap, 0, 0, 0.05);
        if (Date.now() > deadline) throw new Error(`stuck at ${next}`);
      }
    }
    const res = await done;
    const ms = performance.now() - t0;
    expect(res).toMatchObject({ got: total, firstBad: -1 });
    expect(ring.isEmpty).toBe(true);
    expect(ms).toBeLessThan(5000);
  });

  it('JS producer thread → SpscRing consumer with IdleBackoff: in order, sleeps woken by the doorbell', async () => {
    const total = 1_200_000;
    const ring = SpscRing.create(512);
    const { done } = startWorker(SEQUENCE_PRODUCER, { sab: ring.buffer, off: ring.byteOffset, total });
    const backoff = new IdleBackoff({ spins: 64, minSleepMs: 0.1, maxSleepMs: 200 });
    const batch = new Uint32Array(64);
    const deadline = Date.now() + 20_000;
    let expected = 0;
    let firstBad = -1;
    const t0 = performance.now();
    for (;;) {
      const n = ring.dequeueBurst(batch, 64);
      if (n > 0) {
        backoff.reset();
        for (let k = 0; k < n; k++) {
          if (batch[k] !== expected + k && firstBad < 0) firstBad = expected + k;
        }
        expected += n;
      } else if (ring.closed && ring.isEmpty) {
        break;
      } else {
        if (Date.now() > deadline) throw new Error(`stuck at ${expected}`);
        backoff.idle(ring);
      }
    }
    const ms = performance.now() - t0;
    expect(await done).toEqual({ sent: total });
    expect(expected).toBe(total);
    expect(firstBad).toBe(-1);
    // The producer pauses 1 ms every 64K entries; the consumer slept through those pauses and was
    // woken well before its 200 ms cap each time (else this would take seconds).
    expect(backoff.sleeps).toBeGreaterThan(0);
    expect(ms).toBeLessThan(5000);
  });

  it('MpscRing: two JS producer threads and the main thread feed one consumer, each in order', async () => {
    const perWorker = 300_000;
    const mine = 200_000;
    const ring = MpscRing.create(256);
    const workers = [1, 2].map((id) => startWorker(TAGGED_PRODUCER, { sab: ring.buffer, off: ring.byteOffset, total: perWorker, id }));
    const next = [0, 0, 0];
    let bad = 0;
    let sent = 0;
    const src = new Uint32Array(16);
    const dst = new Uint32Array(64);
    const deadline = Date.now() + 20_000;
    const t0 = performance.now();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let idle = 0;
    while (next[0] + next[1] + next[2] < mine + 2 * perWorker) {
      if (sent < mine) {
        const n = Math.min(16, mine - sent);
        for (let k = 0; k < n; k++) src[k] = sent + k;
        sent += ring.enqueueBurst(src, n);
      }
      const got = ring.dequeueBurst(dst, 64);
      for (let k = 0; k < got; k++) {
        const id = dst[k] >>> 24;
        const s = dst[k] & 0xffffff;
        if (id > 2 || s !== next[id]) bad++;
        else next[id]++;
      }
      if (got > 0) idle = 0;
      else if (++idle > 64) {
        idle = 0;
        Atomics.wait(nap, 0, 0, 0.05);
        if (Date.now() > deadline) throw new Error(`stuck at ${next.join('/')}`);
      }
    }
    const ms = performance.now() - t0;
    for (const w of workers) expect(await w.done).toEqual({ sent: perWorker });
    expect(bad).toBe(0);
    expect(next).toEqual([mine, perWorker, perWorker]);
    expect(ring.isEmpty).toBe(true);
    expect(ms).toBeLessThan(5000);
  });

  it('wakes a consumer blocked in waitForData as soon as another thread publishes', async () => {
    const ring = SpscRing.create(16);
    const late = `${LAYOUT}
      Atomics.wait(nap, 0, 0, 100);
      slots[Atomics.load(hdr, HEAD) & mask] = 77;
      Atomics.store(hdr, HEAD, (Atomics.load(hdr, HEAD) + 1) | 0);
      wake();
      parentPort.postMessage({ ok: 1 });
    `;
    const { done } = startWorker(late, { sab: ring.buffer, off: ring.byteOffset });
    const t0 = performance.now();
    // Blocks this thread; only the worker's doorbell can end it before the 10 s timeout.
    expect(ring.waitForData(10_000)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(ring.dequeue()).toBe(77);
    await done;
  });
});
