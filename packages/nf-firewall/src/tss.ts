/**
 * Tuple-space search, the candidate the decision trees were measured against (see the README):
 * rules grouped by (source prefix length, destination prefix length), one open-addressing hash
 * table over the masked address pairs of all tuples, each bucket a priority-ordered list checked
 * for ports and protocol. Tuples are probed in order of their best rule and the search stops once a
 * tuple cannot hold a better rule (priority-sorted TSS). Kept as a library alternative: it builds
 * fast and updates easily, but probes many tuples per packet on ClassBench sets.
 * @module
 */
import { KEY_WORDS, RULE_WORDS } from './classifier.js';
import type { RuleSet } from './rules.js';

function prefixLen(lo: number, hi: number): number {
  return 32 - Math.round(Math.log2(hi - lo + 1));
}

function hash3(t: number, a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(t, 0x27d4eb2d), 0x9e3779b1);
  h ^= Math.imul(b, 0x85ebca6b) + (h >>> 15);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Tuple-space search over the 5-tuple, with the same batch API and result as `Classifier`. */
export class TupleSpaceClassifier {
  /** Milliseconds the build took. */
  readonly buildMs: number;
  /** Number of tuples. */
  readonly tuples: number;
  /** Bytes of the lookup tables. */
  readonly bytes: number;
  private readonly maskS: Uint32Array;
  private readonly maskD: Uint32Array;
  private readonly minId: Int32Array;
  private readonly slotT: Int32Array;
  private readonly slotA: Uint32Array;
  private readonly slotB: Uint32Array;
  private readonly slotList: Int32Array;
  private readonly lists: Int32Array;
  private readonly rules: Uint32Array;
  private readonly mask: number;

  /** Builds the tuple tables for `rs`. */
  constructor(rs: RuleSet) {
    const t0 = performance.now();
    const tupleOf = new Map<number, number>();
    const tupleMin: number[] = [];
    const tupleLens: [number, number][] = [];
    const ruleTuple = new Int32Array(rs.count);
    for (let r = 0; r < rs.count; r++) {
      const ls = prefixLen(rs.srcLo[r], rs.srcHi[r]);
      const ld = prefixLen(rs.dstLo[r], rs.dstHi[r]);
      const key = ls * 64 + ld;
      let t = tupleOf.get(key);
      if (t === undefined) {
        t = tupleMin.length;
        tupleOf.set(key, t);
        tupleMin.push(r);
        tupleLens.push([ls, ld]);
      }
      ruleTuple[r] = t;
    }
    // Order tuples by their best rule, renumbered so that tuple index = probe order.
    const order = tupleMin.map((_, t) => t).sort((a, b) => tupleMin[a] - tupleMin[b]);
    const rank = new Int32Array(order.length);
    order.forEach((t, i) => (rank[t] = i));
    const nt = order.length;
    this.tuples = nt;
    this.maskS = new Uint32Array(nt);
    this.maskD = new Uint32Array(nt);
    this.minId = new Int32Array(nt);
    const m = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
    order.forEach((t, i) => {
      this.maskS[i] = m(tupleLens[t][0]);
      this.maskD[i] = m(tupleLens[t][1]);
      this.minId[i] = tupleMin[t];
    });
    // Buckets: (tuple, masked src, masked dst) -> rule ids in priority order.
    const buckets = new Map<string, number[]>();
    for (let r = 0; r < rs.count; r++) {
      const t = rank[ruleTuple[r]];
      const k = `${t},${rs.srcLo[r]},${rs.dstLo[r]}`;
      const b = buckets.get(k);
      if (b) b.push(r);
      else buckets.set(k, [r]);
    }
    let size = 16;
    while (size < buckets.size * 2) size *= 2;
    this.mask = size - 1;
    this.slotT = new Int32Array(size).fill(-1);
    this.slotA = new Uint32Array(size);
    this.slotB = new Uint32Array(size);
    this.slotList = new Int32Array(size);
    const lists: number[] = [];
    for (const [k, ids] of buckets) {
      const [t, a, b] = k.split(',').map(Number);
      let s = hash3(t, a, b) & this.mask;
      while (this.slotT[s] !== -1) s = (s + 1) & this.mask;
      this.slotT[s] = t;
      this.slotA[s] = a;
      this.slotB[s] = b;
      this.slotList[s] = lists.length;
      lists.push(ids.length, ...ids);
    }
    this.lists = Int32Array.from(lists);
    this.rules = new Uint32Array(Math.max(1, rs.count) * RULE_WORDS);
    for (let r = 0; r < rs.count; r++) {
      const b = r * RULE_WORDS;
      this.rules[b + 4] = ((rs.sportLo[r] << 16) | rs.sportHi[r]) >>> 0;
      this.rules[b + 5] = ((rs.dportLo[r] << 16) | rs.dportHi[r]) >>> 0;
      this.rules[b + 6] = rs.protoValue[r] | (rs.protoMask[r] << 8);
    }
    this.bytes = [this.maskS, this.maskD, this.minId, this.slotT, this.slotA, this.slotB, this.slotList, this.lists, this.rules].reduce((s, a) => s + a.byteLength, 0);
    this.buildMs = performance.now() - t0;
  }

  /** Classifies `n` packed keys (see `packKey`) into `out` (rule index or -1). Fragment keys are not supported. */
  classifyBatch(keys: Uint32Array, out: Int32Array, n: number): void {
    const { maskS, maskD, minId, slotT, slotA, slotB, slotList, lists, rules, mask } = this;
    const nt = minId.length;
    for (let i = 0; i < n; i++) {
      const k = i * KEY_WORDS;
      const src = keys[k];
      const dst = keys[k + 1];
      const sp = keys[k + 2] >>> 16;
      const dp = keys[k + 2] & 0xffff;
      const proto = keys[k + 3];
      let best = 0x7fffffff;
      for (let t = 0; t < nt && minId[t] < best; t++) {
        const a = (src & maskS[t]) >>> 0;
        const b = (dst & maskD[t]) >>> 0;
        let s = hash3(t, a, b) & mask;
        for (; slotT[s] !== -1; s = (s + 1) & mask) {
          if (slotT[s] !== t || slotA[s] !== a || slotB[s] !== b) continue;
          const l = slotList[s];
          for (let j = l + 1, e = l + 1 + lists[l]; j < e; j++) {
            const r = lists[j];
            if (r >= best) break;
            const x = r * RULE_WORDS;
            const sr = rules[x + 4];
            const dr = rules[x + 5];
            const pm = rules[x + 6];
            if (sp >= sr >>> 16 && sp <= (sr & 0xffff) && dp >= dr >>> 16 && dp <= (dr & 0xffff) && (proto & (pm >>> 8)) === (pm & 0xff)) {
              best = r;
              break;
            }
          }
          break;
        }
      }
      out[i] = best === 0x7fffffff ? -1 : best;
    }
  }
}
