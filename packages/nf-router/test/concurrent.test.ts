// "The table stays correct while traffic flows": a worker thread looks addresses up in tables shared
// with the main thread (SharedArrayBuffers) while the main thread adds and deletes routes that make
// tbl8 groups appear, change and go. Every answer the reader sees must be one the table gave before
// or after a change: never -1, never a foreign next hop.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Lpm } from '../src/lpm.js';

const READER = `
const { workerData, parentPort } = require('node:worker_threads');
const { Lpm } = require('@gnet/nf-router');
const lpm = new Lpm({ tbl8Groups: workerData.groups, buffers: { tbl24: workerData.tbl24, tbl8: workerData.tbl8 } });
const stop = new Int32Array(workerData.stop);
const addrs = Uint32Array.from(workerData.addrs);
const out = new Int32Array(addrs.length);
const seen = new Map();
let rounds = 0;
while (Atomics.load(stop, 0) === 0) {
  lpm.lookupBatch(addrs, out, addrs.length);
  for (let i = 0; i < addrs.length; i++) {
    const key = i * 1000 + out[i];
    seen.set(key, (seen.get(key) || 0) + 1);
  }
  rounds++;
}
parentPort.postMessage({ rounds, seen: [...seen.keys()] });
`;

describe('Lpm under a concurrent reader', () => {
  it('never shows a reader an answer outside the before/after set', async () => {
    const groups = 8;
    const tbl24 = new SharedArrayBuffer(4 << 24);
    const tbl8 = new SharedArrayBuffer(groups * 256 * 4);
    const lpm = new Lpm({ tbl8Groups: groups, buffers: { tbl24, tbl8 } });
    const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    lpm.add(ip(10, 0, 0, 0), 8, 1);
    lpm.add(ip(10, 1, 0, 0), 16, 2);
    // Probes: inside the flapping /25 and /30, beside them in the same /24, and in other /24s.
    const addrs = [ip(10, 1, 2, 130), ip(10, 1, 2, 5), ip(10, 1, 3, 9), ip(10, 1, 3, 200), ip(10, 2, 0, 1), ip(10, 1, 4, 1)];
    // Allowed answers per probe while routes flap (see below).
    const allowed = [[2, 5, 7], [2, 7], [2, 6], [2], [1], [2, 9]];
    const stop = new SharedArrayBuffer(4);
    const w = new Worker(READER, { eval: true, workerData: { tbl24, tbl8, stop, groups, addrs } });
    const done = new Promise<{ rounds: number; seen: number[] }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const t0 = Date.now();
    let changes = 0;
    while (Date.now() - t0 < 1500) {
      lpm.add(ip(10, 1, 2, 128), 25, 5); // group for 10.1.2.0/24 appears
      lpm.add(ip(10, 1, 3, 8), 30, 6); // and one for 10.1.3.0/24
      lpm.add(ip(10, 1, 2, 0), 24, 7); // a /24 under the group changes its other entries
      lpm.add(ip(10, 1, 4, 0), 24, 9);
      lpm.delete(ip(10, 1, 2, 128), 25);
      lpm.delete(ip(10, 1, 3, 8), 30); // groups collapse back into tbl24 and are freed
      lpm.delete(ip(10, 1, 2, 0), 24);
      lpm.delete(ip(10, 1, 4, 0), 24);
      changes += 8;
      if (changes % 800 === 0) await new Promise((r) => setImmediate(r));
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    const { rounds, seen } = await done;
    await w.terminate();
    expect(rounds).toBeGreaterThan(10);
    for (const key of seen) {
      const i = Math.floor(key / 1000);
      const hop = key - i * 1000;
      expect(allowed[i], `probe ${i} answered ${hop}`).toContain(hop);
    }
    console.log(`concurrent reader: ${rounds} rounds of ${addrs.length} lookups during ${changes} route changes`);
  }, 30_000);
});
