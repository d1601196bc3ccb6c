/**
 * `RxPipe`: Enso's RX pipe. The NIC writes packets into the pipe's ring, each padded to 64-byte
 * flits; the application receives them in batches that are contiguous slices of the ring, then
 * frees the bytes in order so the NIC can reuse them.
 *
 * Offsets returned by the receive calls index `pipe.buf` (the whole ring). Byte counts passed back
 * (`confirmBytes`, `free`) must be multiples of 64, as in Enso.
 *
 * @module
 */

import { acknowledgeFree } from './notification-queue.js';
import { MessageBatch, type MessageKind, PeekPktIterator, PktIterator } from './message-batch.js';
import { checkFlitBytes, pipeClosed, type PipeHost } from './pipe-host.js';
import type { RxRing } from './rx-ring.js';

/** Counters of one RX pipe. */
export interface RxPipeStats {
  /** Frames the NIC wrote into the pipe. */
  frames: number;
  /** Frame bytes (unpadded) the NIC wrote into the pipe. */
  bytes: number;
  /** Frames steered to the pipe but dropped because it was full. */
  drops: number;
}

/** An RX pipe; allocate with `Device.allocateRxPipe`. */
export class RxPipe {
  /** Application data associated with the pipe (Enso's `context()` / `set_context()`). */
  context: unknown = undefined;
  /** Offset in {@link buf} where the bytes returned by the last {@link recv} / {@link peek} start. */
  readOffset = 0;

  /**
   * The pipe's ring and NIC-side state.
   *
   * @internal
   */
  readonly ring: RxRing;
  private readonly host: PipeHost;
  private open = true;

  /**
   * Pipes are created by `Device.allocateRxPipe`.
   *
   * @internal
   */
  constructor(host: PipeHost, ring: RxRing) {
    this.host = host;
    this.ring = ring;
  }

  /** The pipe's id: what the flow table steers to (Enso's `id()`). */
  get id(): number {
    return this.ring.id;
  }

  /** The pipe's whole ring (Enso's `buf()`); received offsets index it. */
  get buf(): Uint8Array {
    return this.ring.data;
  }

  /** Ring size in bytes. */
  get size(): number {
    return this.ring.size;
  }

  /** Whether the pipe was allocated as a fallback pipe. */
  get fallback(): boolean {
    return this.ring.fallback;
  }

  /**
   * Adds a flow entry steering matching packets to this pipe; call several times for several
   * flows. Arguments are host-order numbers (`ipv4ToNumber('10.0.0.1')`). Which packet fields are
   * matched depends on the packet (Enso's rules): TCP SYN → dst IP + dst port; other TCP → the full
   * 5-tuple; UDP → dst IP + dst port (so bind UDP with `srcPort = 0, srcIp = 0`); other protocols →
   * dst IP only (bind with every other field 0). Binding a key again moves it to this pipe.
   * Throws a `RangeError` for an out-of-range field or a full flow table.
   */
  bind(dstPort: number, srcPort: number, dstIp: number, srcIp: number, protocol: number): void {
    if (!this.open) pipeClosed('RxPipe');
    this.host.nic.bind(this.ring, dstPort, srcPort, dstIp, srcIp, protocol);
  }

  /**
   * Receives up to `maxBytes` (rounded down to 64) of the bytes ready in the pipe, as one
   * contiguous slice of {@link buf} starting at {@link readOffset}, and confirms them (the next
   * call starts after them). Polls the NIC first. Returns the number of bytes (0 when none).
   * A byte-stream call: with a limit it can stop inside a frame, as in Enso.
   */
  recv(maxBytes: number = Number.MAX_SAFE_INTEGER): number {
    const n = this.peek(maxBytes);
    this.ring.advanceRecv(n);
    return n;
  }

  /** Like {@link recv} but leaves the bytes in the pipe (confirm them with {@link confirmBytes}). */
  peek(maxBytes: number = Number.MAX_SAFE_INTEGER): number {
    if (!this.open) pipeClosed('RxPipe');
    if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
    this.host.poll();
    const ring = this.ring;
    this.readOffset = ring.recv;
    const ready = ring.contiguousReady();
    return maxBytes >= ready ? ready : maxBytes - (maxBytes % 64);
  }

  /**
   * Confirms `nbBytes` (a multiple of 64, at most the unreceived bytes) as received: later receive
   * calls start after them. Use after {@link peek} / {@link peekPkts}. Throws a `RangeError`
   * otherwise.
   */
  confirmBytes(nbBytes: number): void {
    if (!this.open) pipeClosed('RxPipe');
    checkFlitBytes(nbBytes, this.ring.unreceived(), 'RxPipe.confirmBytes');
    this.ring.advanceRecv(nbBytes);
  }

  /**
   * Frees `nbBytes` (a multiple of 64, at most the received-but-unfreed bytes), oldest first, so
   * the NIC may write there again. Acknowledges the pipe's notification: if unreceived data
   * remains, the pipe is notified again. Throws a `RangeError` for a bad count.
   */
  free(nbBytes: number): void {
    if (!this.open) pipeClosed('RxPipe');
    const ring = this.ring;
    checkFlitBytes(nbBytes, ring.distance(ring.free, ring.recv), 'RxPipe.free');
    ring.advanceFree(nbBytes);
    acknowledgeFree(ring, ring.head !== ring.recv);
  }

  /** Frees every byte received so far (Enso's `Clear()`); see {@link free}. */
  clear(): void {
    if (!this.open) pipeClosed('RxPipe');
    const ring = this.ring;
    ring.advanceFree(ring.distance(ring.free, ring.recv));
    acknowledgeFree(ring, ring.head !== ring.recv);
  }

  /**
   * Enso's `Prefetch()`: makes the next batch ready. The software NIC moves frames only when
   * polled, so this polls it; the following receive call finds the frames already in the ring.
   */
  prefetch(): void {
    if (!this.open) pipeClosed('RxPipe');
    this.host.poll();
  }

  /**
   * Receives a batch of packets (all that are ready and contiguous, at most `maxPkts` when not
   * -1); walking the batch confirms each packet. Polls the NIC first. Free them afterwards
   * ({@link free} / {@link clear}).
   */
  recvPkts(maxPkts = -1): MessageBatch {
    return this.recvMessages(PktIterator, maxPkts);
  }

  /** Like {@link recvPkts}, but walking the batch leaves the packets in the pipe. */
  peekPkts(maxPkts = -1): MessageBatch {
    return this.recvMessages(PeekPktIterator, maxPkts);
  }

  /**
   * Enso's `RecvMessages<T>`: a batch of messages framed by `kind` (at most `maxMessages` when not
   * -1) over the contiguous ready bytes. `kind.consume` decides whether walking confirms. Throws a
   * `RangeError` when `maxMessages` is neither -1 nor a non-negative integer.
   */
  recvMessages(kind: MessageKind, maxMessages = -1): MessageBatch {
    if (!this.open) pipeClosed('RxPipe');
    if (!Number.isInteger(maxMessages) || maxMessages < -1) {
      throw new RangeError(`maxMessages must be -1 (no limit) or a count >= 0, got ${maxMessages}`);
    }
    this.host.poll();
    const ring = this.ring;
    const builtin = kind === PktIterator || kind === PeekPktIterator;
    return new MessageBatch(ring, ring.recv, ring.contiguousReady(), maxMessages, kind.consume, builtin ? null : kind);
  }

  /** Counters of the pipe. */
  stats(): RxPipeStats {
    return { frames: this.ring.frames, bytes: this.ring.bytes, drops: this.ring.drops };
  }

  /**
   * Marks the pipe closed; later calls throw.
   *
   * @internal
   */
  markClosed(): void {
    this.open = false;
  }
}
