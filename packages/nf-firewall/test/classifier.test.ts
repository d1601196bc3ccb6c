// The decision-tree classifier (and the tuple-space candidate) against the linear-scan oracle on
// generated ClassBench-like rule sets and traces, and on hand-written edge cases.
import { describe, expect, it } from 'vitest';
import { Classifier, ClassifierRef, KEY_WORDS, linearClassify, packKey, parseRules, TupleSpaceClassifier, type RuleSet } from '../src/index.js';
import { generate } from './gen.js';

function keysOf(trace: string[]): { keys: Uint32Array; n: number } {
  const keys = new Uint32Array(trace.length * KEY_WORDS);
  trace.forEach((l, i) => {
    const t = l.split(/\s+/).map(Number);
    packKey(keys, i, t[0], t[1], t[2], t[3], t[4]);
  });
  return { keys, n: trace.length };
}

function oracle(rs: RuleSet, keys: Uint32Array, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i * KEY_WORDS;
    out[i] = linearClassify(rs, keys[k], keys[k + 1], keys[k + 2] >>> 16, keys[k + 2] & 0xffff, keys[k + 3]);
  }
  return out;
}

describe('classifier vs linear scan on generated ClassBench-like sets', () => {
  for (const [seed, rules, trace] of [
    [1, 200, 4000],
    [2, 1500, 8000],
    [3, 3000, 8000],
  ] as const) {
    it(`seed ${seed}: ${rules} rules, ${trace} headers: every first match agrees (tree and tuple space)`, () => {
      const g = generate(seed, rules, trace);
      const rs = parseRules(g.rulesText, `gen-${seed}`);
      expect(rs.count).toBe(rules);
      const { keys, n } = keysOf(g.trace);
      const want = oracle(rs, keys, n);
      const cls = new Classifier(rs);
      const out = new Int32Array(n);
      cls.classifyBatch(keys, out, n);
      expect(Array.from(out)).toEqual(Array.from(want));
      // The trace exercises matches and misses and first matches other than the generating rule.
      expect(want.filter((x) => x < 0).length).toBeGreaterThan(0);
      expect(want.filter((x) => x >= 0).length).toBeGreaterThan(n / 2);
      const tss = new TupleSpaceClassifier(rs);
      const out2 = new Int32Array(n);
      tss.classifyBatch(keys, out2, n);
      expect(Array.from(out2)).toEqual(Array.from(want));
      // Batches of odd sizes give the same answers.
      const out3 = new Int32Array(n);
      for (let o = 0; o < n; o += 37) cls.classifyBatch(keys.subarray(o * KEY_WORDS), out3.subarray(o), Math.min(37, n - o));
      expect(out3).toEqual(out);
      expect(cls.stats.bytes).toBeGreaterThan(0);
      expect(cls.buildMs).toBeLessThan(10_000);
    });
  }

  it('other build parameters (single tree, tiny leaves, few cuts) give the same answers', () => {
    const g = generate(7, 400, 3000);
    const rs = parseRules(g.rulesText);
    const { keys, n } = keysOf(g.trace);
    const want = Array.from(oracle(rs, keys, n));
    for (const opts of [{ singleTree: true }, { binth: 1 }, { maxCuts: 2, spfac: 2 }, { largeness: 0.5, minGroup: 0.2 }]) {
      const out = new Int32Array(n);
      new Classifier(rs, opts).classifyBatch(keys, out, n);
      expect(Array.from(out), JSON.stringify(opts)).toEqual(want);
    }
  });
});

describe('edge cases', () => {
  const text = [
    '@10.0.0.1/32\t10.0.0.2/32\t0 : 0\t65535 : 65535\t0x06/0xFF\t0x0000/0x0000', // 1: exact, port 0 and 65535
    '@10.0.0.0/8\t0.0.0.0/0\t1000 : 2000\t1500 : 1600\t0x11/0xFF\t0x0000/0x0000', // 2: overlapping ranges
    '@10.0.0.0/8\t0.0.0.0/0\t1500 : 3000\t1000 : 1550\t0x11/0xFF\t0x0000/0x0000', // 3
    '@192.168.1.0/24\t192.168.2.0/24\t0 : 65535\t0 : 65535\t0x04/0xFC\t0x0000/0x0000', // 4: proto mask (4..7)
    '@255.255.255.255/32\t0.0.0.0/32\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000', // 5: /32 at the ends
    '@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x01/0xFF\t0x0000/0x0000', // 6: any ICMP
    '@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000', // 7: wildcard-only
    '@10.0.0.1/32\t10.0.0.2/32\t0 : 0\t65535 : 65535\t0x06/0xFF\t0x0000/0x0000', // 8: never wins (same as 1)
  ].join('\n');
  const rs = parseRules(text);
  const cls = new Classifier(rs);
  const ip = (s: string) => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const cases: [string, number, number, number, number, number, number][] = [
    ['exact rule', ip('10.0.0.1'), ip('10.0.0.2'), 0, 65535, 6, 0],
    ['port 1 misses rule 1', ip('10.0.0.1'), ip('10.0.0.2'), 1, 65535, 6, 6],
    ['port 65534 misses rule 1', ip('10.0.0.1'), ip('10.0.0.2'), 0, 65534, 6, 6],
    ['overlap: both 2 and 3 match, 2 wins', ip('10.9.9.9'), ip('1.1.1.1'), 1800, 1520, 17, 1],
    ['overlap: only 3', ip('10.9.9.9'), ip('1.1.1.1'), 2500, 1100, 17, 2],
    ['overlap edges: 2000/1600 in 2', ip('10.9.9.9'), ip('1.1.1.1'), 2000, 1600, 17, 1],
    ['neither', ip('10.9.9.9'), ip('1.1.1.1'), 999, 1500, 17, 6],
    ['proto mask 0xFC: 5 matches 4/0xFC', ip('192.168.1.7'), ip('192.168.2.9'), 0, 0, 5, 3],
    ['proto mask 0xFC: 8 does not', ip('192.168.1.7'), ip('192.168.2.9'), 0, 0, 8, 6],
    ['255.255.255.255 -> 0.0.0.0', 0xffffffff, 0, 65535, 65535, 255, 4],
    ['icmp anywhere', 0, 0xffffffff, 0, 0, 1, 5],
    ['wildcard catches the rest', ip('8.8.8.8'), ip('9.9.9.9'), 53, 53, 17, 6],
  ];
  for (const [name, s, d, sp, dp, p, want] of cases) {
    it(`${name} -> rule ${want + 1}`, () => {
      expect(linearClassify(rs, s, d, sp, dp, p)).toBe(want);
      expect(cls.classify(s, d, sp, dp, p)).toBe(want);
    });
  }

  it('an empty rule set matches nothing; a set without a wildcard misses', () => {
    const empty = new Classifier(parseRules('# nothing\n'));
    expect(empty.classify(1, 2, 3, 4, 6)).toBe(-1);
    const one = new Classifier(parseRules('drop dst 10.0.0.0/8'));
    expect(one.classify(1, ip('10.1.1.1'), 3, 4, 6)).toBe(0);
    expect(one.classify(1, ip('11.1.1.1'), 3, 4, 6)).toBe(-1);
  });

  it('non-first fragments are classified with ports 0 by port-wildcard rules only', () => {
    const f = new Classifier(parseRules(['accept dst 10.0.0.0/8 dport 80 proto tcp', 'drop dst 10.0.0.0/8 dport 0-65535 sport 0-65535 proto tcp', 'accept dst 10.0.0.0/8'].join('\n')));
    // A first fragment / whole packet to port 80: rule 1.
    expect(f.classify(1, ip('10.0.0.1'), 999, 80, 6)).toBe(0);
    // A non-first fragment cannot be matched by the port rule: the wildcard-port drop decides.
    expect(f.classify(1, ip('10.0.0.1'), 999, 80, 6, true)).toBe(1);
    expect(f.classify(1, ip('10.0.0.1'), 0, 0, 17, true)).toBe(2);
    expect(f.classify(1, ip('11.0.0.1'), 0, 0, 17, true)).toBe(-1);
    // Port 0 in a rule does not make a fragment match it.
    const z = new Classifier(parseRules('drop sport 0 dport 0\naccept'));
    expect(z.classify(1, 2, 0, 0, 6)).toBe(0);
    expect(z.classify(1, 2, 0, 0, 6, true)).toBe(1);
  });

  it('ClassifierRef swaps one reference and counts generations', () => {
    const a = new Classifier(parseRules('accept'));
    const b = new Classifier(parseRules('drop'));
    const ref = new ClassifierRef(a);
    expect(ref.swap(b)).toBe(a);
    expect(ref.current).toBe(b);
    expect(ref.generation).toBe(1);
  });
});
