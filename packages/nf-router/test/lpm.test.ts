// The DIR-24-8 table against a naive longest-prefix scan: random tables with interleaved adds and
// deletes, and the edge cases (/0, /32, nested prefixes, deletes that uncover a shorter prefix,
// tbl8 group reuse and exhaustion), for both batch lookups: WebAssembly over the table's own memory
// (the default) and JavaScript over caller-given buffers.
import { describe, expect, it } from 'vitest';
import { Lpm, LPM_BATCH, LPM_EXT, LPM_VALID } from '../src/lpm.js';

/** Longest-prefix match by scanning every route. */
class Naive {
  readonly routes = new Map<string, [number, number, number]>();
  add(net: number, len: number, hop: number): void {
    this.routes.set(`${net}/${len}`, [net, len, hop]);
  }
  delete(net: number, len: number): boolean {
    return this.routes.delete(`${net}/${len}`);
  }
  lookup(a: number): number {
    let best = -1;
    let bestLen = -1;
    for (const [net, len, hop] of this.routes.values()) {
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      if (((a & mask) >>> 0) === net && len > bestLen) {
        best = hop;
        bestLen = len;
      }
    }
    return best;
  }
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const net = (a: number, len: number) => (len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0);
const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

/** Addresses inside, at the edges of, and just outside every route, plus random ones. */
function probes(n: Naive, r: () => number, extra: number): Uint32Array {
  const out: number[] = [];
  for (const [a, len] of n.routes.values()) {
    const size = 2 ** (32 - len);
    out.push(a, a + size - 1, (a + size) >>> 0, (a - 1) >>> 0, a + Math.floor(r() * size));
  }
  for (let i = 0; i < extra; i++) out.push(Math.floor(r() * 2 ** 32));
  return Uint32Array.from(out.map((x) => x >>> 0));
}

function expectSame(lpm: Lpm, n: Naive, addrs: Uint32Array): void {
  const got = new Int32Array(addrs.length);
  lpm.lookupBatch(addrs, got, addrs.length);
  // The copy-free way too, in batches of every size mod 8 (the WebAssembly loop takes 4 at a time).
  const copyFree = new Int32Array(addrs.length);
  for (let i = 0, m = 1; i < addrs.length; i += m, m = (m % 67) + 1) {
    const k = Math.min(m, addrs.length - i);
    lpm.batchAddrs.set(addrs.subarray(i, i + k));
    lpm.lookupBatch(lpm.batchAddrs, lpm.batchHops, k);
    copyFree.set(lpm.batchHops.subarray(0, k), i);
  }
  for (let i = 0; i < addrs.length; i++) {
    const want = n.lookup(addrs[i]);
    if (got[i] !== want || copyFree[i] !== want || lpm.lookup(addrs[i]) !== want) {
      expect({ addr: addrs[i], got: got[i], copyFree: copyFree[i], single: lpm.lookup(addrs[i]) }).toEqual({ addr: addrs[i], got: want, copyFree: want, single: want });
    }
  }
}

/** A table whose lookups run in JavaScript: one over caller-given buffers. */
const jsLpm = (groups: number) => new Lpm({ tbl8Groups: groups, buffers: { tbl24: new ArrayBuffer(4 << 24), tbl8: new ArrayBuffer(groups * 1024) } });

describe('Lpm (DIR-24-8)', () => {
  it('answers -1 on an empty table', () => {
    const lpm = new Lpm({ tbl8Groups: 4 });
    expect(lpm.lookup(0)).toBe(-1);
    expect(lpm.lookup(0xffffffff)).toBe(-1);
  });

  it('handles /0, /32, nested prefixes and deletes that uncover shorter ones', () => {
    const lpm = new Lpm({ tbl8Groups: 4 });
    lpm.add(0, 0, 100);
    expect(lpm.lookup(ip('1.2.3.4'))).toBe(100);
    expect(lpm.lookup(0xffffffff)).toBe(100);
    lpm.add(ip('10.0.0.0'), 8, 1);
    lpm.add(ip('10.1.0.0'), 16, 2);
    lpm.add(ip('10.1.2.0'), 24, 3);
    lpm.add(ip('10.1.2.128'), 25, 4);
    lpm.add(ip('10.1.2.200'), 32, 5);
    lpm.add(ip('255.255.255.255'), 32, 6);
    lpm.add(ip('0.0.0.0'), 32, 7);
    const at = (s: string) => lpm.lookup(ip(s));
    expect([at('10.1.2.200'), at('10.1.2.201'), at('10.1.2.127'), at('10.1.3.0'), at('10.2.0.0'), at('11.0.0.0')]).toEqual([5, 4, 3, 2, 1, 100]);
    expect([at('255.255.255.255'), at('255.255.255.254'), at('0.0.0.0'), at('0.0.0.1')]).toEqual([6, 100, 7, 100]);
    // A route added before a longer one it contains, and after: same answers.
    lpm.add(ip('10.1.2.0'), 23, 9);
    expect([at('10.1.2.1'), at('10.1.3.1')]).toEqual([3, 9]);
    // Deletes uncover the next shorter route, in tbl24 and inside a tbl8 group.
    expect(lpm.delete(ip('10.1.2.200'), 32)).toBe(true);
    expect(at('10.1.2.200')).toBe(4);
    expect(lpm.delete(ip('10.1.2.0'), 24)).toBe(true);
    expect([at('10.1.2.1'), at('10.1.2.130')]).toEqual([9, 4]);
    expect(lpm.delete(ip('10.1.2.128'), 25)).toBe(true);
    expect(at('10.1.2.130')).toBe(9);
    expect(lpm.delete(ip('10.1.2.0'), 23)).toBe(true);
    expect(lpm.delete(ip('10.1.0.0'), 16)).toBe(true);
    expect(at('10.1.2.130')).toBe(1);
    expect(lpm.delete(ip('10.0.0.0'), 8)).toBe(true);
    expect(at('10.1.2.130')).toBe(100);
    expect(lpm.delete(0, 0)).toBe(true);
    expect(at('10.1.2.130')).toBe(-1);
    expect(lpm.delete(0, 0)).toBe(false);
    expect(lpm.delete(ip('10.9.9.9'), 32)).toBe(false);
    expect(lpm.size).toBe(2);
  });

  it('replaces a route with the same prefix and ignores host bits', () => {
    const lpm = new Lpm({ tbl8Groups: 2 });
    lpm.add(ip('192.168.1.77'), 24, 1);
    lpm.add(ip('192.168.1.0'), 24, 2);
    expect(lpm.size).toBe(1);
    expect(lpm.get(ip('192.168.1.5'), 24)).toBe(2);
    expect(lpm.lookup(ip('192.168.1.5'))).toBe(2);
  });

  it('frees a tbl8 group when its last long route goes, and reuses it', () => {
    const lpm = new Lpm({ tbl8Groups: 1 });
    lpm.add(ip('10.0.0.0'), 8, 1);
    lpm.add(ip('10.0.0.5'), 32, 2);
    expect(lpm.groupsInUse).toBe(1);
    const e = lpm.tbl24[ip('10.0.0.0') >>> 8];
    expect(e & LPM_EXT).toBe(LPM_EXT);
    // The only group is taken: a long route in another /24 fails and changes nothing.
    expect(() => lpm.add(ip('10.0.1.5'), 32, 3)).toThrow(/no tbl8 group left/);
    expect(lpm.lookup(ip('10.0.1.5'))).toBe(1);
    expect(lpm.get(ip('10.0.1.5'), 32)).toBe(-1);
    lpm.delete(ip('10.0.0.5'), 32);
    expect(lpm.groupsInUse).toBe(0);
    expect(lpm.tbl24[ip('10.0.0.0') >>> 8]).toBe((LPM_VALID | 1) >>> 0);
    lpm.add(ip('10.0.1.5'), 32, 3);
    expect(lpm.groupsInUse).toBe(1);
    expect([lpm.lookup(ip('10.0.1.5')), lpm.lookup(ip('10.0.1.6')), lpm.lookup(ip('10.0.0.5'))]).toEqual([3, 1, 1]);
    // A group whose covering route changes while it exists keeps the new covering route.
    lpm.add(ip('10.0.0.0'), 16, 7);
    lpm.delete(ip('10.0.1.5'), 32);
    expect(lpm.lookup(ip('10.0.1.5'))).toBe(7);
  });

  it('reports the entry ranges changed since the last call', () => {
    const lpm = new Lpm({ tbl8Groups: 2 });
    lpm.takeDirty();
    lpm.add(ip('10.1.0.0'), 16, 1);
    expect(lpm.takeDirty()).toMatchObject({ tbl24From: ip('10.1.0.0') >>> 8, tbl24To: (ip('10.1.0.0') >>> 8) + 256, tbl8To: 0 });
    expect(lpm.takeDirty()).toMatchObject({ tbl24From: 0, tbl24To: 0 });
    lpm.add(ip('10.1.0.1'), 32, 2);
    const d = lpm.takeDirty();
    expect(d.tbl8To - d.tbl8From).toBe(256);
  });

  it('agrees with a naive scan on random tables with adds and deletes', () => {
    const r = rng(20261122);
    for (let round = 0; round < 6; round++) {
      const lpm = round % 2 === 0 ? new Lpm({ tbl8Groups: 512 }) : jsLpm(512);
      const n = new Naive();
      const added: [number, number][] = [];
      // Clustered prefixes (a few /8s) so that routes nest; every length, weighted like real tables.
      const bases = [ip('10.0.0.0'), ip('172.16.0.0'), ip('192.168.0.0'), Math.floor(r() * 2 ** 32)];
      for (let k = 0; k < 400; k++) {
        const len = r() < 0.1 ? Math.floor(r() * 33) : r() < 0.5 ? 24 + Math.floor(r() * 9) : 8 + Math.floor(r() * 17);
        const base = bases[Math.floor(r() * bases.length)];
        const a = net((base + Math.floor(r() * (r() < 0.5 ? 2 ** 16 : 2 ** 24))) >>> 0, len);
        const hop = Math.floor(r() * 1000);
        lpm.add(a, len, hop);
        n.add(a, len, hop);
        added.push([a, len]);
        if (r() < 0.3 && added.length > 0) {
          const [da, dl] = added.splice(Math.floor(r() * added.length), 1)[0];
          expect(lpm.delete(da, dl)).toBe(n.delete(da, dl));
        }
      }
      expectSame(lpm, n, probes(n, r, 2000));
      expect(lpm.size).toBe(n.routes.size);
      // Delete everything in random order: the table empties and frees every group.
      for (const [a, len] of [...n.routes.values()].sort(() => r() - 0.5)) {
        lpm.delete(a, len);
        n.delete(a, len);
        if (r() < 0.05) expectSame(lpm, n, probes(n, r, 50));
      }
      expect(lpm.groupsInUse).toBe(0);
      expect(lpm.lookup(bases[0])).toBe(-1);
    }
  });

  it('looks up batches of any size, through its own memory or copied in chunks', () => {
    const lpm = new Lpm({ tbl8Groups: 4 });
    // The tables and the batch arrays share one WebAssembly memory.
    expect(lpm.batchAddrs.buffer).toBe(lpm.tbl24.buffer);
    expect(lpm.batchAddrs.length).toBe(LPM_BATCH);
    const js = jsLpm(4);
    for (const t of [lpm, js]) {
      t.add(ip('10.0.0.0'), 8, 1);
      t.add(ip('10.1.2.0'), 24, 2);
      t.add(ip('10.1.2.128'), 25, 3); // a tbl8 group
    }
    const pattern = [ip('10.1.2.200'), ip('10.1.2.5'), ip('10.9.9.9'), ip('11.0.0.0'), ip('10.1.2.128')];
    const answers = [3, 2, 1, -1, 3];
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, LPM_BATCH - 1, LPM_BATCH, LPM_BATCH + 1, 3 * LPM_BATCH + 5]) {
      const addrs = Uint32Array.from({ length: n }, (_, i) => pattern[i % 5]);
      for (const t of [lpm, js]) {
        const out = new Int32Array(n + 1).fill(-7);
        t.lookupBatch(addrs, out, n);
        expect(Array.from(out)).toEqual([...Array.from({ length: n }, (_, i) => answers[i % 5]), -7]);
        if (n > LPM_BATCH) continue;
        t.batchAddrs.set(addrs);
        t.batchHops.fill(-7);
        t.lookupBatch(t.batchAddrs, t.batchHops, n);
        expect(Array.from(t.batchHops.subarray(0, Math.min(n + 1, LPM_BATCH)))).toEqual(Array.from(out.subarray(0, Math.min(n + 1, LPM_BATCH))));
      }
    }
    expect(() => lpm.lookupBatch(new Uint32Array(4), new Int32Array(3), 4)).toThrow(RangeError);
    expect(() => js.lookupBatch(new Uint32Array(3), new Int32Array(4), 4)).toThrow(RangeError);
  });
});
