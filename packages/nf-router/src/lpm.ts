/**
 * IPv4 longest-prefix match on a DIR-24-8 table (the scheme of DPDK's `rte_lpm`), in typed arrays
 * that the GPU kernel (`kernels/lpm.cu`) reads unchanged.
 *
 * `tbl24[addr >>> 8]` holds the answer for the top 24 bits, or points to a group of 256 `tbl8`
 * entries for the low 8 bits when a route longer than /24 falls in that /24. An entry is a u32:
 * bit 31 valid, bit 30 "points to a tbl8 group", bits 0..29 the next hop id (or the group).
 *
 * Updates keep the table correct for a concurrent reader (another thread over shared memory, or the
 * GPU copy being refreshed): every change is a single aligned u32 store, and a new tbl8 group is
 * filled before the tbl24 entry that points to it is written. A reader sees, per address, the answer
 * from before or after a change, never a mix. (Like DPDK without RCU, a reader that is paused between
 * its tbl24 and tbl8 reads across a group's release and reuse could read the reused group; freed
 * groups are reused oldest first to make that window as wide as possible.)
 *
 * The tables live in a WebAssembly memory, where {@link Lpm.lookupBatch} runs as WebAssembly
 * (`lpm-wasm.ts`); tables in caller-given buffers (e.g. shared with another thread) are looked up
 * by the JavaScript loop instead.
 *
 * @module
 */
import { TBL24_BYTES, wasmTables, type WasmTables } from './lpm-wasm.js';

/** Entry bit: the entry holds a next hop (or a group pointer, with {@link LPM_EXT}). */
export const LPM_VALID = 0x80000000;
/** Entry bit: the entry points to a tbl8 group. */
export const LPM_EXT = 0x40000000;
/** Entry bits holding the next hop id or the group number. */
export const LPM_VALUE = 0x3fffffff;
/** The largest next hop id an entry can hold. */
export const LPM_MAX_NEXTHOP = LPM_VALUE;
/** Entries of {@link Lpm.batchAddrs} and {@link Lpm.batchHops}. */
export const LPM_BATCH = 4096;

const TBL24_SIZE = TBL24_BYTES / 4;
const GROUP = 256;
const VALID_EXT = (LPM_VALID | LPM_EXT) >>> 0;

/** Options of {@link Lpm}. */
export interface LpmOptions {
  /**
   * tbl8 groups (256 entries each) to reserve: at most this many /24s can hold routes longer than /24
   * (default 8192, 8 MiB; a full Internet table uses about 1,000).
   */
  tbl8Groups?: number;
  /** Use these buffers for the tables (e.g. SharedArrayBuffers other threads read); default: new ones. */
  buffers?: { tbl24: ArrayBufferLike; tbl8: ArrayBufferLike };
}

/** A changed region of the tables since the last {@link Lpm.takeDirty}: entry index ranges, `[from, to)`. */
export interface LpmDirty {
  /** First changed tbl24 entry (`tbl24From === tbl24To` when none changed). */
  tbl24From: number;
  /** One past the last changed tbl24 entry. */
  tbl24To: number;
  /** First changed tbl8 entry. */
  tbl8From: number;
  /** One past the last changed tbl8 entry. */
  tbl8To: number;
}

/** The network of `addr`/`len` (host bits cleared), as an unsigned 32-bit number. */
function network(addr: number, len: number): number {
  return len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
}

/**
 * A DIR-24-8 routing table with run-time add and delete. Next hops are ids (0..2^30-1) that the
 * caller maps to its next hop records.
 *
 * @example
 * ```ts
 * const lpm = new Lpm();
 * lpm.add(0x0a000000, 8, 1); // 10.0.0.0/8 -> 1
 * lpm.lookup(0x0a010203); // 1
 * ```
 */
export class Lpm {
  /** tbl24 entries (2^24). */
  readonly tbl24: Uint32Array;
  /** tbl8 entries: 256 per group. */
  readonly tbl8: Uint32Array;
  /**
   * Addresses for a copy-free {@link Lpm.lookupBatch}: `lookupBatch(lpm.batchAddrs, lpm.batchHops, n)`
   * works in the table's own memory ({@link LPM_BATCH} entries; other arrays are copied in and out).
   */
  readonly batchAddrs: Uint32Array;
  /** Results of a copy-free {@link Lpm.lookupBatch}, see {@link Lpm.batchAddrs}. */
  readonly batchHops: Int32Array;
  /** The same tables as signed integers, for the lookup loops. */
  private readonly tbl24i: Int32Array;
  private readonly tbl8i: Int32Array;
  private addrView: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** The WebAssembly lookup over this table's memory, when it has one. */
  private readonly wasm: WasmTables | undefined;
  /** Depth (prefix length) of the rule behind each tbl24 entry (0: none); host side only. */
  private readonly depth24: Uint8Array;
  /** Depth of the rule behind each tbl8 entry. */
  private readonly depth8: Uint8Array;
  /** Rules by prefix length: network -> next hop. */
  private readonly rules: Map<number, number>[] = [];
  /**
   * Freed tbl8 groups, reused oldest first (so that a reader still holding a just-freed group's
   * number has the longest time to finish), and groups never used yet (`nextGroup` onwards).
   */
  private readonly freeGroups: number[] = [];
  private nextGroup = 0;
  private readonly groups: number;
  private count = 0;
  private d24From = TBL24_SIZE;
  private d24To = 0;
  private d8From = Number.MAX_SAFE_INTEGER;
  private d8To = 0;

  /** Builds an empty table (no route: every lookup answers -1). */
  constructor(options: LpmOptions = {}) {
    this.groups = options.tbl8Groups ?? 8192;
    if (!Number.isInteger(this.groups) || this.groups < 1 || this.groups > LPM_VALUE >>> 8) throw new RangeError(`tbl8Groups must be an integer in 1..${LPM_VALUE >>> 8}`);
    const tbl8Size = this.groups * GROUP;
    this.wasm = options.buffers ? undefined : wasmTables(4 * tbl8Size, LPM_BATCH);
    if (this.wasm) {
      const w = this.wasm;
      this.tbl24 = new Uint32Array(w.buffer, 0, TBL24_SIZE);
      this.tbl8 = new Uint32Array(w.buffer, w.tbl8, tbl8Size);
      this.batchAddrs = new Uint32Array(w.buffer, w.addrs, LPM_BATCH);
      this.batchHops = new Int32Array(w.buffer, w.hops, LPM_BATCH);
    } else {
      this.tbl24 = options.buffers ? new Uint32Array(options.buffers.tbl24, 0, TBL24_SIZE) : new Uint32Array(TBL24_SIZE);
      this.tbl8 = options.buffers ? new Uint32Array(options.buffers.tbl8, 0, tbl8Size) : new Uint32Array(tbl8Size);
      this.batchAddrs = new Uint32Array(LPM_BATCH);
      this.batchHops = new Int32Array(LPM_BATCH);
    }
    this.tbl24i = new Int32Array(this.tbl24.buffer, this.tbl24.byteOffset, TBL24_SIZE);
    this.tbl8i = new Int32Array(this.tbl8.buffer, this.tbl8.byteOffset, this.tbl8.length);
    this.depth24 = new Uint8Array(TBL24_SIZE);
    this.depth8 = new Uint8Array(this.groups * GROUP);
    for (let d = 0; d <= 32; d++) this.rules.push(new Map());
  }

  /** Routes in the table. */
  get size(): number {
    return this.count;
  }

  /** tbl8 groups in use. */
  get groupsInUse(): number {
    return this.nextGroup - this.freeGroups.length;
  }

  /** The next hop of `addr` (an unsigned 32-bit IPv4 address), or -1 when no route matches. */
  lookup(addr: number): number {
    let e = this.tbl24i[addr >>> 8];
    if ((e & VALID_EXT) === (VALID_EXT | 0)) e = this.tbl8i[((e & LPM_VALUE) << 8) | (addr & 0xff)];
    return e < 0 ? e & LPM_VALUE : -1;
  }

  /**
   * Looks up `n` addresses: `out[i]` = next hop of `addrs[i]`, or -1. On a data path pass
   * {@link Lpm.batchAddrs} and {@link Lpm.batchHops}: no copies and no allocation.
   * @throws RangeError when `n` exceeds either array.
   */
  lookupBatch(addrs: Uint32Array, out: Int32Array, n: number): void {
    if (!(n <= addrs.length && n <= out.length)) throw new RangeError(`lookupBatch: n = ${n} exceeds the arrays (${addrs.length} addresses, ${out.length} results)`);
    const w = this.wasm;
    if (w === undefined) {
      this.lookupBatchJs(addrs, out, n);
      return;
    }
    if (addrs === this.batchAddrs && out === this.batchHops) {
      if (n > 0) w.lookup(w.addrs, w.hops, n, w.tbl8);
      return;
    }
    // Other arrays go through the scratch in chunks (a view per chunk: set() copies like memcpy).
    for (let i = 0; i < n; i += LPM_BATCH) {
      const m = Math.min(LPM_BATCH, n - i);
      this.batchAddrs.set(addrs.subarray(i, i + m));
      w.lookup(w.addrs, w.hops, m, w.tbl8);
      out.set(this.batchHops.subarray(0, m), i);
    }
  }

  /** {@link Lpm.lookupBatch} in JavaScript, for tables outside a WebAssembly memory. */
  private lookupBatchJs(addrs: Uint32Array, out: Int32Array, n: number): void {
    // Signed views keep every value a small integer for V8 (a u32 >= 2^31 would become a double),
    // and eight independent lookups per step let the CPU overlap their cache misses.
    if (this.addrView.buffer !== addrs.buffer || this.addrView.byteOffset !== addrs.byteOffset || this.addrView.length < n) {
      this.addrView = new Int32Array(addrs.buffer, addrs.byteOffset, addrs.length);
    }
    const a = this.addrView;
    const t24 = this.tbl24i;
    const t8 = this.tbl8i;
    const VE = VALID_EXT | 0;
    const VALUE = LPM_VALUE;
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      const a0 = a[i + 0];
      const a1 = a[i + 1];
      const a2 = a[i + 2];
      const a3 = a[i + 3];
      const a4 = a[i + 4];
      const a5 = a[i + 5];
      const a6 = a[i + 6];
      const a7 = a[i + 7];
      let e0 = t24[a0 >>> 8];
      let e1 = t24[a1 >>> 8];
      let e2 = t24[a2 >>> 8];
      let e3 = t24[a3 >>> 8];
      let e4 = t24[a4 >>> 8];
      let e5 = t24[a5 >>> 8];
      let e6 = t24[a6 >>> 8];
      let e7 = t24[a7 >>> 8];
      if ((e0 & VE) === VE) e0 = t8[((e0 & VALUE) << 8) | (a0 & 0xff)];
      if ((e1 & VE) === VE) e1 = t8[((e1 & VALUE) << 8) | (a1 & 0xff)];
      if ((e2 & VE) === VE) e2 = t8[((e2 & VALUE) << 8) | (a2 & 0xff)];
      if ((e3 & VE) === VE) e3 = t8[((e3 & VALUE) << 8) | (a3 & 0xff)];
      if ((e4 & VE) === VE) e4 = t8[((e4 & VALUE) << 8) | (a4 & 0xff)];
      if ((e5 & VE) === VE) e5 = t8[((e5 & VALUE) << 8) | (a5 & 0xff)];
      if ((e6 & VE) === VE) e6 = t8[((e6 & VALUE) << 8) | (a6 & 0xff)];
      if ((e7 & VE) === VE) e7 = t8[((e7 & VALUE) << 8) | (a7 & 0xff)];
      out[i + 0] = e0 < 0 ? e0 & VALUE : -1;
      out[i + 1] = e1 < 0 ? e1 & VALUE : -1;
      out[i + 2] = e2 < 0 ? e2 & VALUE : -1;
      out[i + 3] = e3 < 0 ? e3 & VALUE : -1;
      out[i + 4] = e4 < 0 ? e4 & VALUE : -1;
      out[i + 5] = e5 < 0 ? e5 & VALUE : -1;
      out[i + 6] = e6 < 0 ? e6 & VALUE : -1;
      out[i + 7] = e7 < 0 ? e7 & VALUE : -1;
    }
    for (; i < n; i++) {
      const x = a[i];
      let e = t24[x >>> 8];
      if ((e & VE) === VE) e = t8[((e & VALUE) << 8) | (x & 0xff)];
      out[i] = e < 0 ? e & VALUE : -1;
    }
  }

  /** The next hop of the exact route `addr`/`len`, or -1 when there is none. */
  get(addr: number, len: number): number {
    return this.rules[len]?.get(network(addr, len)) ?? -1;
  }

  /** Every route, shortest prefixes first: `[network, len, nexthop]`. */
  *routes(): IterableIterator<[number, number, number]> {
    for (let d = 0; d <= 32; d++) for (const [net, hop] of this.rules[d]) yield [net, d, hop];
  }

  /**
   * Adds (or replaces) the route `addr`/`len` -> `nexthop`. Host bits of `addr` are ignored.
   * @throws RangeError for a bad length or next hop, or when no tbl8 group is left (the table is unchanged then).
   */
  add(addr: number, len: number, nexthop: number): void {
    if (!Number.isInteger(len) || len < 0 || len > 32) throw new RangeError(`prefix length must be 0..32, got ${len}`);
    if (!Number.isInteger(nexthop) || nexthop < 0 || nexthop > LPM_MAX_NEXTHOP) throw new RangeError(`next hop must be 0..${LPM_MAX_NEXTHOP}, got ${nexthop}`);
    const net = network(addr, len);
    const value = (LPM_VALID | nexthop) >>> 0;
    if (len <= 24) {
      const first = net >>> 8;
      this.fill24(first, first + (1 << (24 - len)), len, value, len);
    } else {
      const g = this.groupOf(net >>> 8);
      const lo = (g << 8) | (net & 0xff);
      this.fill8(lo, lo + (1 << (32 - len)), len, value, len);
    }
    const rules = this.rules[len];
    if (!rules.has(net)) this.count++;
    rules.set(net, nexthop);
  }

  /**
   * Deletes the route `addr`/`len`; the addresses it covered fall back to the next shorter route
   * covering them (or to no route). Returns false when there was no such route.
   */
  delete(addr: number, len: number): boolean {
    if (!Number.isInteger(len) || len < 0 || len > 32) return false;
    const net = network(addr, len);
    if (!this.rules[len].delete(net)) return false;
    this.count--;
    // The covering route that takes over: the longest shorter one.
    let value = 0;
    let depth = 0;
    for (let d = len - 1; d >= 0; d--) {
      const hop = this.rules[d].get(network(net, d));
      if (hop !== undefined) {
        value = (LPM_VALID | hop) >>> 0;
        depth = d;
        break;
      }
    }
    if (len <= 24) {
      const first = net >>> 8;
      this.replace24(first, first + (1 << (24 - len)), len, value, depth);
    } else {
      const i = net >>> 8;
      const g = this.tbl24[i] & LPM_VALUE;
      const lo = (g << 8) | (net & 0xff);
      this.replace8(lo, lo + (1 << (32 - len)), len, value, depth);
      this.collapse(i, g);
    }
    return true;
  }

  /** Removes every route. */
  clear(): void {
    this.tbl24.fill(0);
    this.depth24.fill(0);
    this.tbl8.fill(0);
    this.depth8.fill(0);
    for (const r of this.rules) r.clear();
    this.freeGroups.length = 0;
    this.nextGroup = 0;
    this.count = 0;
    this.mark24(0, TBL24_SIZE);
    this.mark8(0, this.tbl8.length);
  }

  /**
   * The entry ranges changed since the last call (to copy only those to a device copy of the tables),
   * and resets them.
   */
  takeDirty(): LpmDirty {
    const d: LpmDirty = {
      tbl24From: Math.min(this.d24From, this.d24To),
      tbl24To: this.d24To,
      tbl8From: Math.min(this.d8From, this.d8To),
      tbl8To: this.d8To,
    };
    this.d24From = TBL24_SIZE;
    this.d24To = 0;
    this.d8From = Number.MAX_SAFE_INTEGER;
    this.d8To = 0;
    return d;
  }

  private mark24(from: number, to: number): void {
    if (from < this.d24From) this.d24From = from;
    if (to > this.d24To) this.d24To = to;
  }

  private mark8(from: number, to: number): void {
    if (from < this.d8From) this.d8From = from;
    if (to > this.d8To) this.d8To = to;
  }

  /** Sets tbl24 entries [from, to) not covered by a longer route to `value` (into groups too). */
  private fill24(from: number, to: number, len: number, value: number, depth: number): void {
    const t24 = this.tbl24;
    const d24 = this.depth24;
    for (let i = from; i < to; i++) {
      if ((t24[i] & VALID_EXT) >>> 0 === VALID_EXT) {
        const lo = (t24[i] & LPM_VALUE) << 8;
        this.fill8(lo, lo + GROUP, len, value, depth);
      } else if (d24[i] <= len) {
        t24[i] = value;
        d24[i] = depth;
      }
    }
    this.mark24(from, to);
  }

  /** Sets tbl8 entries [from, to) whose rule is not longer than `len` to `value`. */
  private fill8(from: number, to: number, len: number, value: number, depth: number): void {
    const t8 = this.tbl8;
    const d8 = this.depth8;
    for (let j = from; j < to; j++) {
      if (d8[j] <= len) {
        t8[j] = value;
        d8[j] = depth;
      }
    }
    this.mark8(from, to);
  }

  /** Sets entries [from, to) that belonged to the deleted route (depth `len`) to the covering route. */
  private replace24(from: number, to: number, len: number, value: number, depth: number): void {
    const t24 = this.tbl24;
    const d24 = this.depth24;
    for (let i = from; i < to; i++) {
      if ((t24[i] & VALID_EXT) >>> 0 === VALID_EXT) {
        const lo = (t24[i] & LPM_VALUE) << 8;
        this.replace8(lo, lo + GROUP, len, value, depth);
      } else if (d24[i] === len) {
        t24[i] = value;
        d24[i] = depth;
      }
    }
    this.mark24(from, to);
  }

  private replace8(from: number, to: number, len: number, value: number, depth: number): void {
    const t8 = this.tbl8;
    const d8 = this.depth8;
    for (let j = from; j < to; j++) {
      if (d8[j] === len) {
        t8[j] = value;
        d8[j] = depth;
      }
    }
    this.mark8(from, to);
  }

  /** The tbl8 group of tbl24 entry `i`, made from the entry's current value when it has none. */
  private groupOf(i: number): number {
    const e = this.tbl24[i];
    if ((e & VALID_EXT) >>> 0 === VALID_EXT) return e & LPM_VALUE;
    let g: number;
    if (this.freeGroups.length > 0) g = this.freeGroups.shift() as number;
    else if (this.nextGroup < this.groups) g = this.nextGroup++;
    else throw new RangeError(`no tbl8 group left (all ${this.groups} in use): raise tbl8Groups`);
    const lo = g << 8;
    // Fill the group first, then publish it: a reader sees either the old entry or the full group.
    this.tbl8.fill(e, lo, lo + GROUP);
    this.depth8.fill(this.depth24[i], lo, lo + GROUP);
    this.mark8(lo, lo + GROUP);
    Atomics.store(this.tbl24i, i, VALID_EXT | g | 0); // a release: the group's entries are visible first
    this.mark24(i, i + 1);
    return g;
  }

  /** Frees group `g` of tbl24 entry `i` once no route longer than /24 is left in it. */
  private collapse(i: number, g: number): void {
    const lo = g << 8;
    const d8 = this.depth8;
    for (let j = lo; j < lo + GROUP; j++) if (d8[j] > 24) return;
    // All entries now come from the same route of /24 or shorter (or none): put it back in tbl24.
    Atomics.store(this.tbl24i, i, this.tbl8i[lo]);
    this.depth24[i] = d8[lo];
    this.mark24(i, i + 1);
    this.freeGroups.push(g);
  }
}
