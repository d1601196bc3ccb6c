/**
 * The ring of an RX pipe (and of a memory-port queue): frames padded to 64-byte flits, written by
 * one producer (the NIC) and consumed in order, such that every readable region is contiguous.
 *
 * Four offsets move forward around the ring, always in this circular order:
 *
 * ```
 *   free <= sent <= recv <= head
 *   [free, sent)  sent in place (RX/TX pipes), waiting for the transmission to complete
 *   [sent, recv)  received (confirmed) by the application, not yet sent or freed
 *   [recv, head)  written by the NIC, not yet received
 *   [head, free)  free space the NIC may write
 * ```
 *
 * Contiguity: the producer never splits a frame across the end of the ring. When a frame does not
 * fit before the end, it "wraps early": it records `wrapAt = head` (where this lap's data ends),
 * and writes the frame at offset 0. Readers stop at `wrapAt` and continue at 0, so a region handed
 * to the application is always one contiguous slice. The bytes `[wrapAt, size)` are dead until
 * `free` passes `wrapAt`, after which `wrapAt` returns to `size`. At most one such gap exists,
 * because `head` cannot wrap again before `free` has passed the previous gap.
 *
 * Full versus empty: the producer keeps at least one flit between `head` and `free` (Enso's
 * `kMaxCapacity = size - 64`), so `head === free` always means empty.
 *
 * @module
 */

import { FlitBuffer } from './flit-buffer.js';
import { FLIT_SIZE, MAX_PIPE_SIZE, MIN_PIPE_SIZE } from './constants.js';

/** Checks a ring size: a power of two between {@link MIN_PIPE_SIZE} and {@link MAX_PIPE_SIZE}. */
export function checkRingSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size < MIN_PIPE_SIZE || size > MAX_PIPE_SIZE || (size & (size - 1)) !== 0) {
    throw new RangeError(
      `${what} must be a power of two between ${MIN_PIPE_SIZE} and ${MAX_PIPE_SIZE} bytes, got ${size}`,
    );
  }
}

/** A single-producer ring of flit-aligned frames; see the module comment for its offsets. */
export class FlitRing extends FlitBuffer {
  /** Ring size in bytes (a power of two). */
  readonly size: number;
  /** Where the producer writes the next frame. */
  head = 0;
  /** First byte not yet received (Enso's `rx_tail`). */
  recv = 0;
  /** First byte not yet sent in place (RX/TX pipes only; otherwise unused). */
  sent = 0;
  /** First byte not yet freed: the producer may write up to here. */
  free = 0;
  /** End of the current lap's data; `size` when no early wrap is outstanding. */
  wrapAt: number;

  /**
   * Allocates a ring of `size` bytes (a power of two, at least 4 KiB) from the DMA arena. Throws a
   * `RangeError` for a bad size.
   */
  constructor(size: number) {
    checkRingSize(size, 'ring size');
    super(size);
    this.size = size;
    this.wrapAt = size;
  }

  /** Largest frame footprint (bytes, flit-padded) the ring can ever hold. */
  get maxFootprint(): number {
    return this.size - FLIT_SIZE;
  }

  /**
   * Reserves `need` bytes (a positive multiple of 64) for the next frame and advances `head` past
   * them, wrapping early when the frame does not fit before the end. Returns the offset to write
   * the frame at, or -1 when the ring lacks the space (the caller drops and counts the frame).
   */
  reserve(need: number): number {
    const h = this.head;
    const f = this.free;
    if (h >= f) {
      const e = h + need;
      if (e < this.size) {
        this.head = e;
        return h;
      }
      if (e === this.size && f !== 0) {
        this.head = 0;
        return h;
      }
      if (h === f) {
        // Empty: restart the ring at 0 so the frame lands contiguously.
        if (need >= this.size) return -1;
        this.head = need;
        this.recv = 0;
        this.sent = 0;
        this.free = 0;
        this.wrapAt = this.size;
        return 0;
      }
      if (need < f) {
        this.wrapAt = h;
        if (this.recv === h) this.recv = 0;
        if (this.sent === h) this.sent = 0;
        this.head = need;
        return 0;
      }
      return -1;
    }
    if (h + need < f) {
      this.head = h + need;
      return h;
    }
    return -1;
  }

  /**
   * Bytes that {@link reserve} can hand out at `head` as one block without wrapping: up to the end
   * of the ring, or to one flit before `free`.
   */
  contiguousRoom(): number {
    const h = this.head;
    const f = this.free;
    if (h >= f) return (f === 0 ? this.size - FLIT_SIZE : this.size) - h;
    return f - FLIT_SIZE - h;
  }

  /** Bytes from `from` forward to `to` (both ring offsets, `from` not after `to`). */
  distance(from: number, to: number): number {
    return to >= from ? to - from : this.wrapAt - from + to;
  }

  /** Contiguous bytes ready to receive at `recv` (the next batch never crosses `wrapAt`). */
  contiguousReady(): number {
    const h = this.head;
    const r = this.recv;
    return h >= r ? h - r : this.wrapAt - r;
  }

  /** All bytes written and not yet received (may span the early-wrap gap). */
  unreceived(): number {
    return this.distance(this.recv, this.head);
  }

  /** Moves `recv` forward by `n` bytes (caller checked `n <= unreceived()`). */
  advanceRecv(n: number): void {
    let q = this.recv + n;
    if (q >= this.wrapAt) q -= this.wrapAt;
    this.recv = q;
  }

  /** Moves `sent` forward by `n` bytes (caller checked `n <= distance(sent, recv)`). */
  advanceSent(n: number): void {
    let q = this.sent + n;
    if (q >= this.wrapAt) q -= this.wrapAt;
    this.sent = q;
  }

  /**
   * Moves `free` forward by `n` bytes (caller checked `n <= distance(free, sent or recv)`), giving
   * the space back to the producer; passing the early-wrap gap retires it.
   */
  advanceFree(n: number): void {
    let q = this.free + n;
    if (q >= this.wrapAt) {
      q -= this.wrapAt;
      this.wrapAt = this.size;
    }
    this.free = q;
  }
}
