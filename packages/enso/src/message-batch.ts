/**
 * `MessageBatch`: a run of messages (normally packets) lying back to back in one contiguous region
 * of a pipe's ring, as Enso's `RxPipe::MessageBatch`. Messages are addressed by their byte offset
 * in `buf` (the whole ring); a frame's true length is in the side array (`length(offset)`).
 *
 * Three ways to walk a batch, none allocating per message:
 *
 * ```ts
 * for (let o = batch.first(); o >= 0; o = batch.next()) buf[o + 63]++;   // cursor
 * batch.forEach((buf, offset, length) => { ... });                      // callback
 * for (const o of batch) { ... }                                        // iterator (one result object reused)
 * ```
 *
 * Semantics follow Enso: a batch visits at most `messageLimit` messages (-1: no limit) and never a
 * message that would end past `availableBytes`; `processedBytes` counts the bytes of the messages
 * walked past. In a consuming batch (`recvPkts`) walking past a message also confirms (receives)
 * its bytes in the pipe, as Enso's `PktIterator` does; a peeking batch (`peekPkts`) confirms
 * nothing — call `confirmBytes(batch.processedBytes)` yourself. An empty batch visits nothing.
 * Use one batch of a pipe at a time, and do not call the pipe's other receive calls while walking
 * a consuming batch.
 *
 * @module
 */

import { FLIT_SHIFT } from './constants.js';
import type { FlitRing } from './flit-ring.js';

/**
 * What `RxPipe.recvMessages` iterates: how many bytes each message occupies, and whether walking
 * past a message receives it (Enso's iterator template parameter, `PktIterator` or
 * `PeekPktIterator`, or an application-defined message framing).
 */
export interface MessageKind {
  /** True: walking past a message confirms its bytes in the pipe. */
  readonly consume: boolean;
  /**
   * Bytes (a positive multiple of 64) from the message at `offset` to the next one.
   * `frameLength` is the NIC's recorded length of the frame starting there (0 if none).
   */
  messageBytes(buf: Uint8Array, offset: number, frameLength: number): number;
}

function framesBytes(_buf: Uint8Array, _offset: number, frameLength: number): number {
  return (frameLength + 63) & ~63;
}

/** Packets, consumed as they are walked (Enso's `PktIterator`; what `recvPkts` uses). */
export const PktIterator: MessageKind = Object.freeze({ consume: true, messageBytes: framesBytes });

/** Packets, left in the pipe (Enso's `PeekPktIterator`; what `peekPkts` uses). */
export const PeekPktIterator: MessageKind = Object.freeze({ consume: false, messageBytes: framesBytes });

/** `left` of a batch without a message limit (more than a ring can hold, still a small integer). */
const NO_LIMIT = 0x3fffffff;

/** Called with each message of a batch: the ring, the message's offset and its frame length. */
export type MessageCallback = (buf: Uint8Array, offset: number, length: number) => void;

/** A batch of messages in one contiguous region of a pipe. */
export class MessageBatch implements Iterable<number> {
  /** The pipe's whole ring; offsets index into it. */
  readonly buf: Uint8Array;
  /** Per-flit frame lengths of the ring (`lens[offset >> 6]`). */
  readonly lens: Uint16Array;
  /** Per-flit receive timestamps, seconds. */
  readonly tsSec: Uint32Array;
  /** Per-flit receive timestamps, nanoseconds. */
  readonly tsNsec: Uint32Array;
  /** Offset of the first message in `buf`. */
  readonly start: number;
  /** Bytes available in the batch (may hold more messages than `messageLimit`). */
  readonly availableBytes: number;
  /** Most messages the batch visits; -1 for no limit. */
  readonly messageLimit: number;

  /**
   * The ring the batch lies in.
   *
   * @internal
   */
  readonly source: FlitRing;

  private readonly end: number;
  private readonly ring: FlitRing | null;
  private readonly custom: MessageKind | null;
  // Walk state, kept small because `next()` runs once per packet: the current message starts at
  // `at` and takes `size` bytes (0: no current message, before the walk or after its end, where
  // `at` is the end of the last message walked past); `left` counts down the message limit.
  private at: number;
  private size = 0;
  private left: number;
  private started = false;

  /**
   * Creates a batch over `[start, start + availableBytes)` of `ring`. When `consume`, walking past a
   * message advances the ring's receive offset. `kind` null means packets (side-array lengths).
   *
   * @internal
   */
  constructor(ring: FlitRing, start: number, availableBytes: number, messageLimit: number, consume: boolean, kind: MessageKind | null) {
    this.buf = ring.data;
    this.lens = ring.lens;
    this.tsSec = ring.tsSec;
    this.tsNsec = ring.tsNsec;
    this.start = start;
    this.availableBytes = availableBytes;
    this.messageLimit = messageLimit < 0 ? -1 : messageLimit;
    this.end = start + availableBytes;
    this.source = ring;
    this.ring = consume ? ring : null;
    this.custom = kind;
    this.at = start;
    this.left = this.messageLimit < 0 ? NO_LIMIT : this.messageLimit;
  }

  /** Bytes of the messages walked past so far (Enso's `processed_bytes()`). */
  get processedBytes(): number {
    return this.at - this.start;
  }

  /** Messages walked past so far. */
  get processedMessages(): number {
    return (this.messageLimit < 0 ? NO_LIMIT : this.messageLimit) - this.left;
  }

  /** True length of the frame at `offset`, as the NIC recorded it (exact for any EtherType). */
  length(offset: number): number {
    return this.lens[offset >>> FLIT_SHIFT];
  }

  /** Receive timestamp (seconds since the epoch) of the frame at `offset`. */
  timestampSec(offset: number): number {
    return this.tsSec[offset >>> FLIT_SHIFT];
  }

  /** Receive timestamp (nanoseconds within the second) of the frame at `offset`. */
  timestampNsec(offset: number): number {
    return this.tsNsec[offset >>> FLIT_SHIFT];
  }

  /**
   * Starts a walk: returns the offset of the first message, or -1 when the batch is empty, its
   * limit is 0, or the first message does not end within the batch. Call once per batch.
   */
  first(): number {
    this.started = true;
    if (this.left === 0) return -1;
    return this.fits(this.at);
  }

  /**
   * Walks past the current message (counting it in `processedBytes` and, in a consuming batch,
   * receiving its bytes) and returns the next message's offset, or -1 at the end of the batch or
   * its limit. After -1 it keeps returning -1.
   */
  next(): number {
    const size = this.size;
    if (size === 0) return -1;
    const o = this.at + size;
    this.at = o;
    if (this.ring !== null) this.ring.advanceRecv(size);
    if (--this.left === 0) {
      this.size = 0;
      return -1;
    }
    return this.fits(o);
  }

  /**
   * Calls `fn(buf, offset, length)` for each remaining message, walking past each after its call
   * (so a consuming batch receives them). Returns the number of messages visited.
   */
  forEach(fn: MessageCallback): number {
    let n = 0;
    const buf = this.buf;
    const lens = this.lens;
    for (let o = this.resume(); o >= 0; o = this.next()) {
      fn(buf, o, lens[o >>> FLIT_SHIFT]);
      n++;
    }
    return n;
  }

  /**
   * Fills `offsets[i]` / `lengths[i]` with the next messages (at most the arrays' length, and
   * `max` when given), walking past them; returns how many were written. For handing a batch to
   * code that wants `{buffer, offsets, lengths}` arrays.
   */
  gather(offsets: Uint32Array | Int32Array, lengths: Uint32Array | Uint16Array | Int32Array, max = offsets.length): number {
    const limit = Math.min(max, offsets.length, lengths.length);
    let n = 0;
    if (limit <= 0) return 0;
    for (let o = this.resume(); o >= 0; ) {
      offsets[n] = o;
      lengths[n] = this.lens[o >>> FLIT_SHIFT];
      n++;
      if (n === limit) {
        this.next();
        break;
      }
      o = this.next();
    }
    return n;
  }

  /** Iterates message offsets; the iterator reuses one result object, so no allocation per step. */
  [Symbol.iterator](): Iterator<number> {
    return new BatchIterator(this);
  }

  /** The current message's offset, starting the walk if it has not started. */
  private resume(): number {
    if (!this.started) return this.first();
    return this.size === 0 ? -1 : this.at;
  }

  /** Makes the message at `o` current and returns `o` when it ends within the batch, else -1. */
  private fits(o: number): number {
    const end = this.end;
    const size = o >= end ? 0 : this.custom === null ? (this.lens[o >>> FLIT_SHIFT] + 63) & ~63 : this.sizeAt(o);
    if (size === 0 || o + size > end) {
      this.size = 0;
      return -1;
    }
    this.size = size;
    return o;
  }

  /** Bytes the message at `o` occupies. */
  private sizeAt(o: number): number {
    const len = this.lens[o >>> FLIT_SHIFT];
    if (this.custom === null) return (len + 63) & ~63;
    const size = this.custom.messageBytes(this.buf, o, len);
    if (!Number.isInteger(size) || size < 0 || (size & 63) !== 0) {
      throw new RangeError(`messageBytes returned ${size} at offset ${o}: must be a multiple of 64`);
    }
    return size;
  }
}

/** Iterator over a batch's message offsets; `next()` returns the same result object each time. */
class BatchIterator implements Iterator<number> {
  private readonly result: IteratorResult<number> = { value: 0, done: false };
  private started = false;

  constructor(private readonly batch: MessageBatch) {}

  next(): IteratorResult<number> {
    const o = this.started ? this.batch.next() : this.batch.first();
    this.started = true;
    const r = this.result as { value: number; done: boolean };
    if (o < 0) {
      r.done = true;
      r.value = 0;
    } else {
      r.value = o;
    }
    return r;
  }
}
