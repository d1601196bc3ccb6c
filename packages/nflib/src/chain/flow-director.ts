/**
 * The flow director (openNetVM's `onvm_flow_dir`): exact 5-tuple rules that send a flow through a
 * chain other than the default one. An open-addressing table in typed arrays: a lookup on the data
 * path reads a few array slots and allocates nothing.
 * @module
 */

/** Mixes a 5-tuple into 32 bits (also the flow hash used to pick NF instances). */
export function hash5(src: number, dst: number, sport: number, dport: number, proto: number): number {
  return hashTuple(src, dst, (sport << 16) | dport, proto);
}

/**
 * {@link hash5} with both ports in one word (`sport << 16 | dport`, as they lie in the L4 header):
 * the form the manager's receive path reads them in. Addresses may be given signed or unsigned.
 */
export function hashTuple(src: number, dst: number, ports: number, proto: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ ports, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ proto, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Exact-match 5-tuple → chain id table. */
export class FlowDirector {
  private readonly mask: number;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly ports: Uint32Array;
  private readonly proto: Uint8Array;
  /** chain id + 1; 0 = empty slot, 0xffff = deleted. */
  private readonly chain: Uint16Array;
  private used = 0;

  /** @param capacity maximum number of rules (rounded up to a power of two, twice over for load). */
  constructor(capacity = 1024) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.src = new Uint32Array(size);
    this.dst = new Uint32Array(size);
    this.ports = new Uint32Array(size);
    this.proto = new Uint8Array(size);
    this.chain = new Uint16Array(size);
  }

  /** Number of rules. */
  get size(): number {
    return this.used;
  }

  private find(src: number, dst: number, ports: number, proto: number): number {
    let i = hash5(src, dst, ports >>> 16, ports & 0xffff, proto) & this.mask;
    for (let n = 0; n <= this.mask; n++, i = (i + 1) & this.mask) {
      const c = this.chain[i];
      if (c === 0) return -1 - i; // first empty slot, encoded negative
      if (c !== 0xffff && this.src[i] === src && this.dst[i] === dst && this.ports[i] === ports && this.proto[i] === proto) return i;
    }
    return -1 - this.mask - 1;
  }

  /**
   * Sends the flow through `chainId` (replacing an earlier rule for the same 5-tuple).
   * @throws Error when the table is full.
   */
  set(src: number, dst: number, sport: number, dport: number, proto: number, chainId: number): void {
    const ports = ((sport << 16) | dport) >>> 0;
    const at = this.find(src >>> 0, dst >>> 0, ports, proto);
    if (at >= 0) {
      this.chain[at] = chainId + 1;
      return;
    }
    if (this.used * 2 >= this.mask + 1) throw new Error(`flow director full (${this.used} rules)`);
    // Reuse the first deleted or empty slot on the probe path.
    let i = hash5(src >>> 0, dst >>> 0, sport, dport, proto) & this.mask;
    while (this.chain[i] !== 0 && this.chain[i] !== 0xffff) i = (i + 1) & this.mask;
    this.src[i] = src >>> 0;
    this.dst[i] = dst >>> 0;
    this.ports[i] = ports;
    this.proto[i] = proto;
    this.chain[i] = chainId + 1;
    this.used++;
  }

  /** Removes the rule for a 5-tuple; returns whether there was one. */
  delete(src: number, dst: number, sport: number, dport: number, proto: number): boolean {
    const at = this.find(src >>> 0, dst >>> 0, ((sport << 16) | dport) >>> 0, proto);
    if (at < 0) return false;
    this.chain[at] = 0xffff;
    this.used--;
    return true;
  }

  /** The chain id for a 5-tuple, or -1 when no rule matches (use the default chain). */
  lookup(src: number, dst: number, sport: number, dport: number, proto: number): number {
    if (this.used === 0) return -1;
    const at = this.find(src >>> 0, dst >>> 0, ((sport << 16) | dport) >>> 0, proto);
    return at >= 0 ? this.chain[at] - 1 : -1;
  }
}
