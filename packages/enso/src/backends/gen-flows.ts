/**
 * Choice of the generator's distinct 5-tuples: a seeded, deterministic draw from the spec's address
 * and port ranges, made once at open.
 *
 * @module
 */
import type { GenSpec } from './gen-spec.js';

/** IANA protocol numbers of the generated L4 protocols. */
export const IPPROTO_ICMP = 1;
/** TCP. */
export const IPPROTO_TCP = 6;
/** UDP. */
export const IPPROTO_UDP = 17;

/**
 * A deterministic PRNG (mulberry32): the same seed gives the same sequence on every platform.
 * Returns a function yielding numbers in [0, 1) with 32 random bits.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator's flows as parallel typed arrays, indexed by flow number. */
export interface FlowTable {
  /** Number of flows. */
  readonly count: number;
  /** IP protocol per flow (1, 6 or 17). */
  readonly proto: Uint8Array;
  /** Source IPv4 address per flow (unsigned 32-bit). */
  readonly src: Uint32Array;
  /** Destination IPv4 address per flow. */
  readonly dst: Uint32Array;
  /** Source port per flow (ICMP: echo identifier). */
  readonly sport: Uint16Array;
  /** Destination port per flow (ICMP: echo sequence number). */
  readonly dport: Uint16Array;
}

// Below this ratio of tuple space to flows wanted, enumerate and shuffle instead of sampling.
const ENUMERATE_RATIO = 4;

/**
 * Picks `spec.flows` distinct 5-tuples from the spec's ranges with a PRNG seeded by `spec.seed`.
 * With `proto=mixed`, flow i uses UDP, TCP, ICMP for i mod 3 = 0, 1, 2 (distinct within each
 * protocol). Throws an Error when the ranges hold fewer distinct tuples than flows requested.
 */
export function chooseFlows(spec: GenSpec): FlowTable {
  const n = spec.flows;
  const protos =
    spec.proto === 'mixed'
      ? [IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP]
      : [spec.proto === 'udp' ? IPPROTO_UDP : spec.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_ICMP];
  const table: FlowTable = {
    count: n,
    proto: new Uint8Array(n),
    src: new Uint32Array(n),
    dst: new Uint32Array(n),
    sport: new Uint16Array(n),
    dport: new Uint16Array(n),
  };
  const radix = [spec.src.count, spec.dst.count, spec.sport.hi - spec.sport.lo + 1, spec.dport.hi - spec.dport.lo + 1];
  const space = radix[0] * radix[1] * radix[2] * radix[3];
  const perProto = Math.ceil(n / protos.length);
  if (perProto > space) {
    throw new Error(
      `gen: flows=${n} needs ${perProto} distinct tuples per protocol, but src x dst x sport x dport ` +
        `hold only ${space}; widen the ranges or lower flows`,
    );
  }
  const rnd = seededRandom(spec.seed);
  const set = (f: number, index: number): void => {
    // Mixed-radix decode of a tuple index into its fields.
    let rest = index;
    const a = rest % radix[0];
    rest = (rest - a) / radix[0];
    const b = rest % radix[1];
    rest = (rest - b) / radix[1];
    const c = rest % radix[2];
    rest = (rest - c) / radix[2];
    writeFlow(table, f, spec, a, b, c, rest);
  };
  for (let p = 0; p < protos.length; p++) {
    const want = Math.floor((n - p + protos.length - 1) / protos.length); // flows f with f % P === p
    if (want === 0) continue;
    let k = 0;
    if (space <= ENUMERATE_RATIO * want) {
      // Small space: a partial Fisher-Yates shuffle of every tuple index.
      const idx = new Uint32Array(space);
      for (let i = 0; i < space; i++) idx[i] = i;
      for (let i = 0; i < want; i++) {
        const j = i + Math.floor(rnd() * (space - i));
        const t = idx[j];
        idx[j] = idx[i];
        idx[i] = t;
        set(p + i * protos.length, t);
      }
      k = want;
    }
    // Large space: draw each field at random and reject repeats (few, as the space is >= 4x larger).
    const seen = new FlowSet(table, want - k);
    for (; k < want; ) {
      const f = p + k * protos.length;
      writeFlow(
        table,
        f,
        spec,
        Math.floor(rnd() * radix[0]),
        Math.floor(rnd() * radix[1]),
        Math.floor(rnd() * radix[2]),
        Math.floor(rnd() * radix[3]),
      );
      if (seen.add(f)) k++;
    }
    for (let i = 0; i < want; i++) table.proto[p + i * protos.length] = protos[p];
  }
  return table;
}

/** An open-addressing set of flows (by index into the table), keyed by their four fields. */
class FlowSet {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(
    private readonly t: FlowTable,
    capacity: number,
  ) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  /** Adds flow `f`; false when a flow with the same fields is already in the set. */
  add(f: number): boolean {
    const t = this.t;
    let h = Math.imul(t.src[f] ^ Math.imul(t.dst[f], 0x9e3779b1), 0x85ebca6b);
    h = Math.imul(h ^ ((t.sport[f] << 16) | t.dport[f]) ^ (h >>> 13), 0xc2b2ae35);
    for (let i = (h ^ (h >>> 16)) & this.mask; ; i = (i + 1) & this.mask) {
      const g = this.slots[i];
      if (g < 0) {
        this.slots[i] = f;
        return true;
      }
      if (t.src[g] === t.src[f] && t.dst[g] === t.dst[f] && t.sport[g] === t.sport[f] && t.dport[g] === t.dport[f]) {
        return false;
      }
    }
  }
}

function writeFlow(t: FlowTable, f: number, spec: GenSpec, a: number, b: number, c: number, d: number): void {
  t.src[f] = spec.src.base + a;
  t.dst[f] = spec.dst.base + b;
  t.sport[f] = spec.sport.lo + c;
  t.dport[f] = spec.dport.lo + d;
}
