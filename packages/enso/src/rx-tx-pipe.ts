/**
 * `RxTxPipe`: Enso's RX/TX pipe, for applications that modify received packets in place and send
 * them back out. Receiving works as on an `RxPipe`; `sendAndFree(n)` transmits the next `n`
 * received (confirmed) bytes straight from the RX ring, and those bytes are freed in the RX pipe
 * when the transmission completes (on the next `processCompletions`, which every receive call of
 * this pipe runs first, as in Enso).
 *
 * @module
 */

import { acknowledgeFree } from './notification-queue.js';
import type { MessageBatch, MessageKind } from './message-batch.js';
import { MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, FLIT_SHIFT } from './constants.js';
import { checkFlitBytes, pipeClosed, type PipeHost } from './pipe-host.js';
import type { RxPipe, RxPipeStats } from './rx-pipe.js';
import type { RxRing } from './rx-ring.js';

/** An RX/TX pipe; allocate with `Device.allocateRxTxPipe`. */
export class RxTxPipe {
  /** Application data associated with the pipe (Enso's `context()` / `set_context()`). */
  context: unknown = undefined;
  /**
   * The RX ring, which is also where frames are sent from.
   *
   * @internal
   */
  readonly buffer: RxRing;
  /** Index of the NIC port sent frames leave on. */
  readonly port: number;
  /**
   * RX/TX pipes keep side entries (the NIC rewrites them on receive).
   *
   * @internal
   */
  readonly resetsSideData = false;

  private readonly host: PipeHost;
  private readonly rx: RxPipe;
  private readonly txIndex: number;
  private readonly sourceId: number;
  private completed = 0;
  private open = true;

  /**
   * Pipes are created by `Device.allocateRxTxPipe`.
   *
   * @internal
   */
  constructor(host: PipeHost, rx: RxPipe, txIndex: number, port: number) {
    this.host = host;
    this.rx = rx;
    this.buffer = rx.ring;
    this.txIndex = txIndex;
    this.port = port;
    this.sourceId = host.nic.registerTxSource(this);
  }

  /** Id of the RX side: what the flow table steers to (Enso's `rx_id()`). */
  get rxId(): number {
    return this.rx.id;
  }

  /** Id of the TX side within the device (Enso's `tx_id()`). */
  get txId(): number {
    return this.txIndex;
  }

  /** The pipe's ring (Enso's `buf()`); received offsets index it. */
  get buf(): Uint8Array {
    return this.buffer.data;
  }

  /** Per-flit frame lengths of the ring, as recorded on receive (see {@link setFrameLength}). */
  get lens(): Uint16Array {
    return this.buffer.lens;
  }

  /** Offset in {@link buf} where the bytes returned by the last {@link recv} / {@link peek} start. */
  get readOffset(): number {
    return this.rx.readOffset;
  }

  /** {@inheritDoc RxPipe.bind} */
  bind(dstPort: number, srcPort: number, dstIp: number, srcIp: number, protocol: number): void {
    this.rx.bind(dstPort, srcPort, dstIp, srcIp, protocol);
  }

  /** Processes completions, then as {@link RxPipe.recv}. */
  recv(maxBytes?: number): number {
    this.completions();
    return this.rx.recv(maxBytes);
  }

  /** Processes completions, then as {@link RxPipe.peek}. */
  peek(maxBytes?: number): number {
    this.completions();
    return this.rx.peek(maxBytes);
  }

  /** As {@link RxPipe.confirmBytes}. */
  confirmBytes(nbBytes: number): void {
    this.rx.confirmBytes(nbBytes);
  }

  /** Processes completions, then as {@link RxPipe.recvPkts}. */
  recvPkts(maxPkts = -1): MessageBatch {
    this.completions();
    return this.rx.recvPkts(maxPkts);
  }

  /** Processes completions, then as {@link RxPipe.peekPkts}. */
  peekPkts(maxPkts = -1): MessageBatch {
    this.completions();
    return this.rx.peekPkts(maxPkts);
  }

  /** Processes completions, then as {@link RxPipe.recvMessages}. */
  recvMessages(kind: MessageKind, maxMessages = -1): MessageBatch {
    this.completions();
    return this.rx.recvMessages(kind, maxMessages);
  }

  /** As {@link RxPipe.prefetch}. */
  prefetch(): void {
    this.rx.prefetch();
  }

  /**
   * Sends the next `nbBytes` received bytes (a multiple of 64, at most the bytes confirmed and not
   * yet sent) from the ring, in place: whole frames, with the lengths the NIC recorded (see
   * {@link setFrameLength} after changing a frame's size). They are freed once sent. Throws a
   * `RangeError` for a bad count.
   */
  sendAndFree(nbBytes: number): void {
    if (!this.open) pipeClosed('RxTxPipe');
    const ring = this.buffer;
    checkFlitBytes(nbBytes, ring.distance(ring.sent, ring.recv), 'RxTxPipe.sendAndFree');
    if (nbBytes === 0) return;
    const at = ring.sent;
    // Confirmed bytes may run across the early-wrap gap: send each contiguous part.
    const first = Math.min(nbBytes, ring.wrapAt - at);
    ring.advanceSent(nbBytes);
    const nic = this.host.nic;
    nic.transmit(this.sourceId, at, first);
    if (first < nbBytes) nic.transmit(this.sourceId, 0, nbBytes - first);
  }

  /**
   * Records a new length for the received frame at `offset` (after growing or shrinking it in
   * place, within the flits it occupies). Throws a `RangeError` when the length is outside
   * 14..65535 or would need more flits than the frame had.
   */
  setFrameLength(offset: number, length: number): void {
    if (!this.open) pipeClosed('RxTxPipe');
    const ring = this.buffer;
    if (!Number.isInteger(offset) || offset < 0 || offset >= ring.size || (offset & 63) !== 0) {
      throw new RangeError(`RxTxPipe.setFrameLength: bad frame offset ${offset}`);
    }
    if (!Number.isInteger(length) || length < MIN_FRAME_LENGTH || length > MAX_FRAME_LENGTH) {
      throw new RangeError(`RxTxPipe.setFrameLength: frame length ${length} is outside ${MIN_FRAME_LENGTH}..${MAX_FRAME_LENGTH}`);
    }
    const fi = offset >>> FLIT_SHIFT;
    const had = (ring.lens[fi] + 63) & ~63;
    if (((length + 63) & ~63) > had) {
      throw new RangeError(`RxTxPipe.setFrameLength: ${length} bytes do not fit the frame's ${had} bytes of flits`);
    }
    ring.lens[fi] = length;
  }

  /** Counters of the RX side. */
  stats(): RxPipeStats {
    return this.rx.stats();
  }

  /**
   * Frees RX bytes whose transmission completed (Enso's `RxTxPipe::ProcessCompletions`).
   *
   * @internal
   */
  processCompletions(): void {
    const n = this.completed;
    if (n === 0) return;
    this.completed = 0;
    const ring = this.buffer;
    ring.advanceFree(n);
    acknowledgeFree(ring, ring.head !== ring.recv);
  }

  /**
   * The NIC finished sending `bytes` of this pipe's requests.
   *
   * @internal
   */
  onTxComplete(bytes: number): void {
    this.completed += bytes;
    this.host.completions++;
  }

  /**
   * Unregisters from the NIC; later calls throw.
   *
   * @internal
   */
  markClosed(): void {
    if (!this.open) return;
    this.open = false;
    this.rx.markClosed();
    this.host.nic.unregisterTxSource(this.sourceId);
  }

  /** The RX side (the device keeps it for notifications). @internal */
  get rxPipe(): RxPipe {
    return this.rx;
  }

  private completions(): void {
    if (this.host.completions > 0) this.host.processCompletions();
  }
}
