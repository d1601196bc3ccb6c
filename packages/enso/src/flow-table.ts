/**
 * The NIC's flow table: exact-match entries of (dst IP, src IP, dst port, src port, protocol) →
 * RX pipe id, created by `RxPipe.bind`. Open addressing with linear probing over typed arrays, so
 * a lookup allocates nothing. Which fields of a packet form the lookup key is decided by the
 * classifier (see `classify.ts`), following Enso's rules; the table itself only matches keys.
 *
 * @module
 */

/** Mixes a 5-tuple into a 32-bit hash (murmur3-style finaliser steps; not cryptographic). */
export function hashTuple(dstIp: number, srcIp: number, ports: number, protocol: number): number {
  let h = Math.imul(dstIp ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ srcIp, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ports, 0x27d4eb2f);
  h ^= protocol;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Exact-match flow entries in typed arrays. */
export class FlowTable {
  /** Slots in the table (a power of two). */
  readonly capacity: number;
  private readonly mask: number;
  private readonly dstIps: Int32Array;
  private readonly srcIps: Int32Array;
  private readonly portPairs: Int32Array;
  private readonly protocols: Int32Array;
  /** Pipe id per slot; -1 marks an empty slot. */
  private readonly pipes: Int32Array;
  private count = 0;

  /** Creates a table with `capacity` slots (a power of two ≥ 16); it holds up to 3/4 of that. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 16 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`flow table capacity must be a power of two >= 16, got ${capacity}`);
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.dstIps = new Int32Array(capacity);
    this.srcIps = new Int32Array(capacity);
    this.portPairs = new Int32Array(capacity);
    this.protocols = new Int32Array(capacity);
    this.pipes = new Int32Array(capacity).fill(-1);
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds or replaces the entry for the key; a key bound again moves to the new pipe (last bind
   * wins). Throws a `RangeError` when the table is 3/4 full.
   */
  insert(dstIp: number, srcIp: number, dstPort: number, srcPort: number, protocol: number, pipe: number): void {
    const d = dstIp | 0;
    const s = srcIp | 0;
    const p = ((dstPort << 16) | srcPort) | 0;
    let i = hashTuple(d, s, p, protocol) & this.mask;
    for (;;) {
      const at = this.pipes[i];
      if (at === -1) break;
      if (this.dstIps[i] === d && this.srcIps[i] === s && this.portPairs[i] === p && this.protocols[i] === protocol) {
        this.pipes[i] = pipe;
        return;
      }
      i = (i + 1) & this.mask;
    }
    if ((this.count + 1) * 4 > this.capacity * 3) {
      throw new RangeError(`flow table full (${this.count} entries of ${this.capacity} slots); raise flowTableSize`);
    }
    this.dstIps[i] = d;
    this.srcIps[i] = s;
    this.portPairs[i] = p;
    this.protocols[i] = protocol;
    this.pipes[i] = pipe;
    this.count++;
  }

  /**
   * Returns the pipe bound to the key, or -1. `ports` is `(dstPort << 16) | srcPort`, IPs are
   * host-order numbers (signed or unsigned 32-bit).
   */
  lookup(dstIp: number, srcIp: number, ports: number, protocol: number): number {
    const d = dstIp | 0;
    const s = srcIp | 0;
    const p = ports | 0;
    let i = hashTuple(d, s, p, protocol) & this.mask;
    for (;;) {
      const pipe = this.pipes[i];
      if (pipe === -1) return -1;
      if (this.dstIps[i] === d && this.srcIps[i] === s && this.portPairs[i] === p && this.protocols[i] === protocol) {
        return pipe;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Removes every entry that steers to `pipe` (when a pipe is released). Returns how many. */
  removePipe(pipe: number): number {
    let removed = 0;
    const keep: number[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const at = this.pipes[i];
      if (at === -1) continue;
      if (at === pipe) removed++;
      else keep.push(this.dstIps[i], this.srcIps[i], this.portPairs[i], this.protocols[i], at);
      this.pipes[i] = -1;
    }
    this.count = 0;
    // Reinsert survivors so probe chains stay unbroken (removal is rare; lookups stay simple).
    for (let k = 0; k < keep.length; k += 5) {
      const ports = keep[k + 2];
      this.insert(keep[k], keep[k + 1], ports >>> 16, ports & 0xffff, keep[k + 3], keep[k + 4]);
    }
    return removed;
  }
}
