/**
 * External port (or ICMP identifier) allocation for one (external address, protocol): a bitmap of
 * 65536 bits, 1 = in use. Ports outside the configured range start as used, so a search never
 * leaves the range. Honours port preservation (the internal port when free) and parity
 * preservation (RFC 4787 REQ-3/REQ-4 terms: an even internal port gets an even external one).
 * @module
 */

/** A bitmap allocator of 16-bit ports. */
export class PortAllocator {
  /** 2048 words of 32 bits: bit p set = port p in use (or outside the range). */
  readonly bits = new Uint32Array(2048);
  /** Ports of the range currently free. */
  free: number;
  /** Lowest port of the range. */
  readonly lo: number;
  /** Highest port of the range. */
  readonly hi: number;
  private cursor: number;

  /** An allocator for ports `lo..hi` (inclusive). */
  constructor(lo: number, hi: number) {
    this.lo = lo;
    this.hi = hi;
    for (let p = 0; p < 65536; p++) if (p < lo || p > hi) this.bits[p >>> 5] |= 1 << (p & 31);
    this.free = hi - lo + 1;
    this.cursor = lo;
  }

  /** Whether `port` is in use (or outside the range). */
  used(port: number): boolean {
    return (this.bits[port >>> 5] & (1 << (port & 31))) !== 0;
  }

  /** Marks `port` used (a static forward's port); false when it already was or is out of range. */
  reserve(port: number): boolean {
    if (this.used(port)) return false;
    this.bits[port >>> 5] |= 1 << (port & 31);
    this.free--;
    return true;
  }

  /** Returns `port` to the free set (no-op when it is outside the range or already free). */
  release(port: number): void {
    if (port < this.lo || port > this.hi || !this.used(port)) return;
    this.bits[port >>> 5] &= ~(1 << (port & 31));
    this.free++;
  }

  /**
   * Takes a port for internal port `want`: `want` itself when `preserve` and it is free, else the
   * next free one after a rotating cursor, of the same parity as `want` when `parity`. Returns -1
   * when none is left (pool exhaustion).
   */
  allocate(want: number, preserve: boolean, parity: boolean): number {
    if (this.free === 0) return -1;
    if (preserve && want >= this.lo && want <= this.hi && this.reserve(want)) return want;
    // A word's free bits of the wanted parity: bit p is even when p & 1 = 0 (0x55555555 selects those).
    const parityMask = parity ? ((want & 1) === 0 ? 0x55555555 : 0xaaaaaaaa) : 0xffffffff;
    const start = this.cursor >>> 5;
    for (let n = 0; n <= 2048; n++) {
      const w = (start + n) & 2047;
      let freeBits = ~this.bits[w] & parityMask;
      if (n === 0) freeBits &= ~((1 << (this.cursor & 31)) - 1); // from the cursor on in its own word
      if (freeBits === 0) continue;
      const bit = 31 - Math.clz32(freeBits & -freeBits);
      const port = (w << 5) | bit;
      this.bits[w] |= 1 << bit;
      this.free--;
      this.cursor = port + 1 > this.hi ? this.lo : port + 1;
      return port;
    }
    return -1;
  }
}
