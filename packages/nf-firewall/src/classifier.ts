/**
 * The packet classifier: decision trees with equal-size power-of-two cuts (HiCuts-style, one field
 * per node), rules partitioned EffiCuts-style by which fields they leave wide so that wildcards are
 * not copied into every cut, and covered-rule pruning (a rule that covers a node's whole region
 * hides every later rule there). Everything the lookup touches is in three typed arrays
 * ({@link AclTables}) that `kernels/acl.cu` walks the same way, one packet per thread.
 *
 * Why this structure (measured on acl2_10k and fw1_10k, see the README): it beat tuple-space search
 * by several times on lookups at a similar build time, and stays within a few MB.
 * @module
 */
import type { RuleSet } from './rules.js';

/**
 * The flattened classifier, shared by the CPU lookup and the kernel.
 *
 * - `tree` (Int32Array): internal nodes. A pointer `p >= 0` is a node whose header `h = tree[p]`
 *   packs the key word (`h & 3`: 0 src, 1 dst, 2 ports, 3 proto), the shift (`(h >>> 2) & 31`) and
 *   the mask (`h >>> 7`, cuts − 1); the child for value `v = (key[word] >>> shift) & mask` is the
 *   pointer `tree[p + 1 + v]`. A pointer `p < 0` is the leaf at `leaves[~p]`; `leaves[0]` is an
 *   empty leaf (pointer -1).
 * - `leaves` (Uint32Array): per leaf its rule count, then per rule (in priority order) 8 words: rule
 *   id, src lo, src hi, dst lo, dst hi, `sport_lo<<16|sport_hi`, `dport_lo<<16|dport_hi`,
 *   `proto_value | proto_mask<<8`. The rule fields sit in the leaf itself, so checking a rule
 *   touches the cache lines the walk already brought in.
 * - `roots` (Int32Array): `[nMain, nFragment, then (root pointer, lowest rule id) per tree]`, the
 *   `nMain` trees over all rules first, then the `nFragment` trees over the rules whose ports are
 *   wildcards (for non-first fragments); each list sorted by lowest rule id.
 */
export interface AclTables {
  /** Internal nodes. */
  readonly tree: Int32Array;
  /** Leaves with their rules inline. */
  readonly leaves: Uint32Array;
  /** Tree roots (see above). */
  readonly roots: Int32Array;
}

/** Words per key in the batch API: src, dst, `sport<<16 | dport`, `proto | 0x100 if non-first fragment`. */
export const KEY_WORDS = 4;
/** Flag in key word 3: a non-first fragment (no ports: classified by port-wildcard rules only). */
export const KEY_FRAGMENT = 0x100;
/** Words per rule in a leaf of {@link AclTables.leaves}. */
export const RULE_WORDS = 8;
// (classifyTables and walkFirstTrees use literal copies of these three; keep them in step.)

/** Build parameters (the defaults were chosen by measurement on the ClassBench sets). */
export interface BuildOptions {
  /** A node with at most this many rules becomes a leaf (default 6). */
  binth?: number;
  /** Space factor: a node's children together may hold at most `spfac × rules` ids (default 16). */
  spfac?: number;
  /** Most cuts per node (default 4096). */
  maxCuts?: number;
  /** A field is "wide" for a rule when its range covers more than this share of the field (default 0.02). */
  largeness?: number;
  /** Put all rules in one tree instead of partitioning them (default false). */
  singleTree?: boolean;
  /** Groups smaller than this share of the rules are merged into a wider group (default 1/64). */
  minGroup?: number;
  /** Which fields (bit 0 src, 1 dst, 2 sport, 3 dport, 4 proto) define the groups (default 3: the two addresses). */
  partitionFields?: number;
}

/** Build statistics. */
export interface BuildStats {
  /** Trees (main + fragment). */
  trees: number;
  /** Bytes of the three tables. */
  bytes: number;
  /** Internal nodes. */
  nodes: number;
  /** Leaves (shared leaves counted once). */
  leaves: number;
  /** Deepest path. */
  depth: number;
  /** Rule ids stored in leaves over the rule count (replication). */
  replication: number;
}

// Field geometry: key word, shift of the field inside the word, field width in bits.
const WORD = [0, 1, 2, 2, 3];
const BASE_SHIFT = [0, 0, 16, 0, 0];
const BITS = [32, 32, 16, 16, 8];
const DIMS = 5;

/** Per-rule field ranges used while building (proto: exact value or all). */
class BuildRules {
  readonly lo: Float64Array[] = [];
  readonly hi: Float64Array[] = [];
  /** Whether the proto field is fully described by its range (mask 0 or 0xff). */
  readonly protoExact: Uint8Array;
  constructor(readonly rs: RuleSet) {
    const n = rs.count;
    for (let d = 0; d < DIMS; d++) {
      this.lo.push(new Float64Array(n));
      this.hi.push(new Float64Array(n));
    }
    this.protoExact = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      this.lo[0][r] = rs.srcLo[r];
      this.hi[0][r] = rs.srcHi[r];
      this.lo[1][r] = rs.dstLo[r];
      this.hi[1][r] = rs.dstHi[r];
      this.lo[2][r] = rs.sportLo[r];
      this.hi[2][r] = rs.sportHi[r];
      this.lo[3][r] = rs.dportLo[r];
      this.hi[3][r] = rs.dportHi[r];
      const m = rs.protoMask[r];
      if (m === 0xff) this.lo[4][r] = this.hi[4][r] = rs.protoValue[r];
      else this.hi[4][r] = 255; // other masks: placed everywhere, checked exactly in the leaf
      this.protoExact[r] = m === 0 || m === 0xff ? 1 : 0;
    }
  }

  covers(r: number, lo: Float64Array, hi: Float64Array): boolean {
    for (let d = 0; d < DIMS; d++) if (this.lo[d][r] > lo[d] || this.hi[d][r] < hi[d]) return false;
    return this.protoExact[r] === 1;
  }
}

/** Grows the node and leaf arrays as they are emitted. */
class TreeWriter {
  buf = new Int32Array(1 << 16);
  len = 0;
  leafBuf = new Uint32Array(1 << 16);
  leafLen = 0;
  nodes = 0;
  leaves = 0;
  leafIds = 0;
  depth = 0;
  readonly leafMemo = new Map<string, number>();

  alloc(words: number): number {
    while (this.len + words > this.buf.length) {
      const b = new Int32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    const p = this.len;
    this.len += words;
    return p;
  }

  constructor(readonly ruleWords: Uint32Array) {
    this.leaf([]); // leaves[0]: the empty leaf (pointer -1), what a missing tree list walks to
  }

  leaf(ids: number[]): number {
    const key = ids.join(',');
    const hit = this.leafMemo.get(key);
    if (hit !== undefined) return hit;
    const words = 1 + ids.length * RULE_WORDS;
    while (this.leafLen + words > this.leafBuf.length) {
      const b = new Uint32Array(this.leafBuf.length * 2);
      b.set(this.leafBuf);
      this.leafBuf = b;
    }
    const q = this.leafLen;
    this.leafLen += words;
    this.leafBuf[q] = ids.length;
    for (let i = 0; i < ids.length; i++) {
      const at = q + 1 + i * RULE_WORDS;
      this.leafBuf.set(this.ruleWords.subarray(ids[i] * RULE_WORDS, ids[i] * RULE_WORDS + RULE_WORDS), at);
      this.leafBuf[at] = ids[i];
    }
    if (ids.length > 0) this.leaves++;
    this.leafIds += ids.length;
    const ptr = ~q;
    this.leafMemo.set(key, ptr);
    return ptr;
  }
}

interface Cut {
  dim: number;
  bits: number;
  max: number;
  sum: number;
}

function buildNode(br: BuildRules, w: TreeWriter, ids: number[], lo: Float64Array, hi: Float64Array, depth: number, o: Required<BuildOptions>): number {
  // Covered-rule pruning: nothing after a rule that matches the whole region can win here.
  let n = ids.length;
  for (let i = 0; i < n; i++) {
    if (br.covers(ids[i], lo, hi)) {
      n = i + 1;
      break;
    }
  }
  if (n < ids.length) ids = ids.slice(0, n);
  if (depth > w.depth) w.depth = depth;
  if (n <= o.binth || depth >= 40) return w.leaf(ids);
  [lo, hi] = zoom(br, ids, lo, hi);
  let best: Cut | null = null;
  for (let d = 0; d < DIMS; d++) {
    const width = hi[d] - lo[d] + 1;
    if (width <= 1) continue;
    const dl = br.lo[d];
    const dh = br.hi[d];
    let chosen: Cut | null = null;
    for (let bits = 1; 2 ** bits <= Math.min(width, o.maxCuts); bits++) {
      const nc = 2 ** bits;
      const cw = width / nc;
      const diff = new Int32Array(nc + 1);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const r = ids[i];
        const a = Math.floor((Math.max(dl[r], lo[d]) - lo[d]) / cw);
        const b = Math.floor((Math.min(dh[r], hi[d]) - lo[d]) / cw);
        diff[a]++;
        diff[b + 1]--;
        sum += b - a + 1;
      }
      if (chosen !== null && sum + nc > o.spfac * n) break;
      let run = 0;
      let max = 0;
      for (let c = 0; c < nc; c++) {
        run += diff[c];
        if (run > max) max = run;
      }
      if (chosen !== null && max >= chosen.max) {
        if (sum + nc > o.spfac * n) break;
        continue; // more cuts that do not split anything further only cost memory
      }
      chosen = { dim: d, bits, max, sum };
    }
    if (chosen && (best === null || chosen.max < best.max || (chosen.max === best.max && chosen.sum < best.sum))) best = chosen;
  }
  if (best === null || best.max >= n) return w.leaf(ids);
  const d = best.dim;
  const nc = 2 ** best.bits;
  const cw = (hi[d] - lo[d] + 1) / nc;
  const p = w.alloc(1 + nc);
  w.nodes++;
  w.buf[p] = WORD[d] | ((BASE_SHIFT[d] + Math.log2(cw)) << 2) | ((nc - 1) << 7);
  const clo = new Float64Array(lo);
  const chi = new Float64Array(hi);
  let prevKey = '';
  let prevPtr = 0;
  for (let c = 0; c < nc; c++) {
    clo[d] = lo[d] + c * cw;
    chi[d] = clo[d] + cw - 1;
    const sub: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = ids[i];
      if (br.lo[d][r] <= chi[d] && br.hi[d][r] >= clo[d]) sub.push(r);
    }
    // Neighbouring children with the same rules whose region split is irrelevant (leaves) share one.
    let ptr: number;
    if (sub.length <= o.binth) ptr = w.leaf(sub);
    else {
      const key = sub.join(',');
      ptr = key === prevKey && prevPtr < 0 ? prevPtr : buildNode(br, w, sub, clo, chi, depth + 1, o);
      prevKey = key;
      prevPtr = ptr;
    }
    w.buf[p + 1 + c] = ptr;
  }
  return p;
}

/**
 * Narrows the region to the smallest aligned power-of-two block per field that still holds every
 * rule's part of it. Packets outside that block match none of these rules (and the leaf checks
 * every field, so they find none), so cutting the block instead of the whole region is exact — and
 * it lets cuts separate rules that differ only in low bits (host addresses under one /24), where
 * plain HiCuts sees every cut of the wide region keep them together and gives up with a big leaf.
 */
function zoom(br: BuildRules, ids: number[], lo: Float64Array, hi: Float64Array): [Float64Array, Float64Array] {
  let zlo = lo;
  let zhi = hi;
  for (let d = 0; d < DIMS; d++) {
    let mn = hi[d];
    let mx = lo[d];
    const dl = br.lo[d];
    const dh = br.hi[d];
    for (let i = 0; i < ids.length; i++) {
      const r = ids[i];
      mn = Math.min(mn, Math.max(dl[r], lo[d]));
      mx = Math.max(mx, Math.min(dh[r], hi[d]));
    }
    let size = hi[d] - lo[d] + 1;
    while (size > 1 && Math.floor(mn / (size / 2)) === Math.floor(mx / (size / 2))) size /= 2;
    if (size === hi[d] - lo[d] + 1) continue;
    // The caller reuses its arrays for the next child: copy before narrowing.
    if (zlo === lo) {
      zlo = new Float64Array(lo);
      zhi = new Float64Array(hi);
    }
    zlo[d] = Math.floor(mn / size) * size;
    zhi[d] = zlo[d] + size - 1;
  }
  return [zlo, zhi];
}

/** Splits rule ids into groups by which fields they leave wide (EffiCuts' separable trees). */
function partition(br: BuildRules, ids: number[], o: Required<BuildOptions>): number[][] {
  if (o.singleTree) return [ids];
  const groups = new Map<number, number[]>();
  for (const r of ids) {
    let key = 0;
    for (let d = 0; d < DIMS; d++) if ((o.partitionFields >> d) & 1 && br.hi[d][r] - br.lo[d][r] + 1 > 2 ** BITS[d] * o.largeness) key |= 1 << d;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  // Small groups cost a tree walk each for little gain: merge them into their nearest wider group.
  const minSize = Math.max(16, Math.floor(ids.length * o.minGroup));
  const keys = [...groups.keys()].sort((a, b) => popcount(a) - popcount(b));
  for (const k of keys) {
    const g = groups.get(k) as number[];
    if (g.length >= minSize || k === o.partitionFields) continue;
    let target = -1;
    for (const k2 of groups.keys()) {
      if (k2 !== k && (k2 & k) === k && (target < 0 || popcount(k2) < popcount(target))) target = k2;
    }
    if (target < 0) target = o.partitionFields;
    const into = groups.get(target);
    if (into) into.push(...g);
    else groups.set(target, g);
    groups.delete(k);
  }
  return [...groups.values()].map((g) => g.sort((a, b) => a - b));
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/** Builds the flattened tables for a rule set. */
export function buildTables(rs: RuleSet, options: BuildOptions = {}): { tables: AclTables; stats: BuildStats } {
  const o: Required<BuildOptions> = { binth: 6, spfac: 16, maxCuts: 4096, largeness: 0.02, singleTree: false, minGroup: 1 / 64, partitionFields: 3, ...options };
  const br = new BuildRules(rs);
  // Rule fields in leaf layout (word 0 = rule id, filled per leaf).
  const ruleWords = new Uint32Array(Math.max(1, rs.count) * RULE_WORDS);
  for (let r = 0; r < rs.count; r++) {
    const b = r * RULE_WORDS;
    ruleWords[b + 1] = rs.srcLo[r];
    ruleWords[b + 2] = rs.srcHi[r];
    ruleWords[b + 3] = rs.dstLo[r];
    ruleWords[b + 4] = rs.dstHi[r];
    ruleWords[b + 5] = ((rs.sportLo[r] << 16) | rs.sportHi[r]) >>> 0;
    ruleWords[b + 6] = ((rs.dportLo[r] << 16) | rs.dportHi[r]) >>> 0;
    ruleWords[b + 7] = rs.protoValue[r] | (rs.protoMask[r] << 8);
  }
  const w = new TreeWriter(ruleWords);
  const all: number[] = [];
  const wild: number[] = [];
  for (let r = 0; r < rs.count; r++) {
    all.push(r);
    if (rs.sportLo[r] === 0 && rs.sportHi[r] === 0xffff && rs.dportLo[r] === 0 && rs.dportHi[r] === 0xffff) wild.push(r);
  }
  const rootsOf = (ids: number[]): number[][] => {
    if (ids.length === 0) return [];
    const out: number[][] = [];
    for (const g of partition(br, ids, o)) {
      const lo = new Float64Array(DIMS);
      const hi = new Float64Array(DIMS);
      for (let d = 0; d < DIMS; d++) hi[d] = 2 ** BITS[d] - 1;
      out.push([buildNode(br, w, g, lo, hi, 0, o), g[0]]);
    }
    return out.sort((a, b) => a[1] - b[1]);
  };
  const main = rootsOf(all);
  const frag = rootsOf(wild);
  const roots = new Int32Array(2 + 2 * (main.length + frag.length));
  roots[0] = main.length;
  roots[1] = frag.length;
  [...main, ...frag].forEach(([ptr, min], i) => {
    roots[2 + 2 * i] = ptr;
    roots[3 + 2 * i] = min;
  });
  const tree = w.buf.slice(0, Math.max(1, w.len));
  const leaves = w.leafBuf.slice(0, Math.max(1, w.leafLen));
  const tables = { tree, leaves, roots };
  const stats: BuildStats = {
    trees: main.length + frag.length,
    bytes: tree.byteLength + leaves.byteLength + roots.byteLength,
    nodes: w.nodes,
    leaves: w.leaves,
    depth: w.depth,
    replication: rs.count ? w.leafIds / rs.count : 0,
  };
  return { tables, stats };
}

/**
 * Classifies `n` packed keys ({@link KEY_WORDS} words each, see {@link AclTables}) into `out`: the
 * 0-based index of the first matching rule, or -1. The same answers as `kernels/acl.cu`.
 *
 * Two passes, for speed: first every packet walks its first tree to a leaf, four packets at a time
 * so that their chains of dependent loads overlap (one walk alone waits on each load in turn; this
 * made the whole lookup ~1.5-2× faster on acl1_1k); the leaf pointers are parked in `out`. Then
 * per packet the leaf's rules are checked and, while a later tree may still hold a better rule,
 * the other trees are walked one by one.
 */
export function classifyTables(t: AclTables, keys: Uint32Array, out: Int32Array, n: number): void {
  // Literal copies of KEY_WORDS, KEY_FRAGMENT and RULE_WORDS: the bundler turns
  // module-level constants into `var`s, which V8 cannot fold into the index arithmetic; with the
  // named module constants this lookup ran ~20% slower (A/B in one process, acl1_1k).
  const W = 4;
  const FRAG = 0x100;
  const RW = 8;
  walkFirstTrees(t, keys, out, n);
  const tree = t.tree;
  const leaves = t.leaves;
  const roots = t.roots;
  const nMain = roots[0];
  const nFrag = roots[1];
  for (let i = 0; i < n; i++) {
    const k = i * W;
    const src = keys[k];
    const dst = keys[k + 1];
    const ports = keys[k + 2];
    const proto = keys[k + 3];
    const sp = ports >>> 16;
    const dp = ports & 0xffff;
    let best = 0x7fffffff;
    let t = proto & FRAG ? nMain : 0;
    const end = proto & FRAG ? nMain + nFrag : nMain;
    let p = out[i];
    for (;;) {
      const q = ~p;
      const e = q + 1 + leaves[q] * RW;
      for (let b = q + 1; b < e; b += RW) {
        const r = leaves[b];
        if (r >= best) break;
        if (src < leaves[b + 1] || src > leaves[b + 2] || dst < leaves[b + 3] || dst > leaves[b + 4]) continue;
        const s = leaves[b + 5];
        if (sp < s >>> 16 || sp > (s & 0xffff)) continue;
        const d = leaves[b + 6];
        if (dp < d >>> 16 || dp > (d & 0xffff)) continue;
        const pm = leaves[b + 7];
        if ((proto & (pm >>> 8)) !== (pm & 0xff)) continue;
        best = r;
        break;
      }
      // Trees are sorted by their lowest rule id: stop when none left can beat `best`.
      if (++t >= end || roots[3 + 2 * t] >= best) break;
      p = roots[2 + 2 * t];
      while (p >= 0) {
        const h = tree[p];
        p = tree[p + 1 + ((keys[k + (h & 3)] >>> ((h >>> 2) & 31)) & (h >>> 7))];
      }
    }
    out[i] = best === 0x7fffffff ? -1 : best;
  }
}

/** First pass of {@link classifyTables}: `out[i]` = the leaf pointer of packet i in its first tree. */
function walkFirstTrees(t: AclTables, keys: Uint32Array, out: Int32Array, n: number): void {
  // Literal copies of KEY_WORDS and KEY_FRAGMENT (see classifyTables); EMPTY: the empty leaf.
  const W = 4;
  const FRAG = 0x100;
  const EMPTY = -1;
  const tree = t.tree;
  const roots = t.roots;
  const nMain = roots[0];
  const mainRoot = nMain > 0 ? roots[2] : EMPTY;
  const fragRoot = roots[1] > 0 ? roots[2 + 2 * nMain] : EMPTY;
  let i = 0;
  // Unrolled by hand: four independent walks in one loop, each step guarded until its leaf.
  for (; i + 4 <= n; i += 4) {
    const k0 = i * W;
    const k1 = k0 + W;
    const k2 = k1 + W;
    const k3 = k2 + W;
    let p0 = keys[k0 + 3] & FRAG ? fragRoot : mainRoot;
    let p1 = keys[k1 + 3] & FRAG ? fragRoot : mainRoot;
    let p2 = keys[k2 + 3] & FRAG ? fragRoot : mainRoot;
    let p3 = keys[k3 + 3] & FRAG ? fragRoot : mainRoot;
    // Leaves are negative: loop while any of the four is still at a node.
    while ((p0 & p1 & p2 & p3) >= 0) {
      if (p0 >= 0) {
        const h = tree[p0];
        p0 = tree[p0 + 1 + ((keys[k0 + (h & 3)] >>> ((h >>> 2) & 31)) & (h >>> 7))];
      }
      if (p1 >= 0) {
        const h = tree[p1];
        p1 = tree[p1 + 1 + ((keys[k1 + (h & 3)] >>> ((h >>> 2) & 31)) & (h >>> 7))];
      }
      if (p2 >= 0) {
        const h = tree[p2];
        p2 = tree[p2 + 1 + ((keys[k2 + (h & 3)] >>> ((h >>> 2) & 31)) & (h >>> 7))];
      }
      if (p3 >= 0) {
        const h = tree[p3];
        p3 = tree[p3 + 1 + ((keys[k3 + (h & 3)] >>> ((h >>> 2) & 31)) & (h >>> 7))];
      }
    }
    out[i] = p0;
    out[i + 1] = p1;
    out[i + 2] = p2;
    out[i + 3] = p3;
  }
  for (; i < n; i++) {
    const k = i * W;
    let p = keys[k + 3] & FRAG ? fragRoot : mainRoot;
    while (p >= 0) {
      const h = tree[p];
      p = tree[p + 1 + ((keys[k + (h & 3)] >>> ((h >>> 2) & 31)) & (h >>> 7))];
    }
    out[i] = p;
  }
}

/**
 * A built classifier: {@link AclTables} plus a batch API. Build a new one to change rules (see
 * {@link ClassifierRef} for swapping it under traffic).
 */
export class Classifier {
  /** The flattened tables (what the kernel gets). */
  readonly tables: AclTables;
  /** Build statistics. */
  readonly stats: BuildStats;
  /** Milliseconds the build took. */
  readonly buildMs: number;
  /** The rules it was built from. */
  readonly rules: RuleSet;
  private readonly one = new Uint32Array(KEY_WORDS);
  private readonly oneOut = new Int32Array(1);

  /**
   * Builds the classifier for `rules`, or adopts `built` (tables made by {@link buildTables} for
   * these rules elsewhere, e.g. in a worker thread; see {@link Classifier.fromBuilt}).
   */
  constructor(rules: RuleSet, options: BuildOptions = {}, built?: { tables: AclTables; stats: BuildStats; buildMs: number }) {
    const t0 = performance.now();
    const { tables, stats } = built ?? buildTables(rules, options);
    this.buildMs = built?.buildMs ?? performance.now() - t0;
    this.tables = tables;
    this.stats = stats;
    this.rules = rules;
  }

  /** A classifier over tables already built by {@link buildTables} for `rules` (e.g. in a worker thread). */
  static fromBuilt(rules: RuleSet, tables: AclTables, stats: BuildStats, buildMs: number): Classifier {
    return new Classifier(rules, {}, { tables, stats, buildMs });
  }

  /**
   * Classifies a batch: `keys` holds {@link KEY_WORDS} words per packet (see {@link packKey}),
   * `out[i]` gets the first matching rule's index or -1.
   */
  classifyBatch(keys: Uint32Array, out: Int32Array, n: number): void {
    classifyTables(this.tables, keys, out, n);
  }

  /** Classifies one 5-tuple (convenience; use {@link Classifier.classifyBatch} on a data path). */
  classify(src: number, dst: number, sport: number, dport: number, proto: number, nonFirstFragment = false): number {
    packKey(this.one, 0, src, dst, sport, dport, proto, nonFirstFragment);
    classifyTables(this.tables, this.one, this.oneOut, 1);
    return this.oneOut[0];
  }
}

/** Writes key `i` of a packed key array (a non-first fragment is classified with ports 0 by port-wildcard rules only). */
export function packKey(keys: Uint32Array, i: number, src: number, dst: number, sport: number, dport: number, proto: number, nonFirstFragment = false): void {
  const k = i * KEY_WORDS;
  keys[k] = src;
  keys[k + 1] = dst;
  keys[k + 2] = nonFirstFragment ? 0 : ((sport << 16) | dport) >>> 0;
  keys[k + 3] = (proto & 0xff) | (nonFirstFragment ? KEY_FRAGMENT : 0);
}

/**
 * The one reference the data path reads the classifier through. A reload builds the new classifier
 * off to the side and then {@link ClassifierRef.swap}s it in between batches: a batch is classified
 * entirely by the old or entirely by the new rules, never a mix.
 */
export class ClassifierRef {
  /** The classifier in use. */
  current: Classifier;
  /** How many times it was swapped. */
  generation = 0;
  /** Starts with `initial`. */
  constructor(initial: Classifier) {
    this.current = initial;
  }
  /** Replaces the classifier (call between batches); returns the old one. */
  swap(next: Classifier): Classifier {
    const old = this.current;
    this.current = next;
    this.generation++;
    return old;
  }
}
