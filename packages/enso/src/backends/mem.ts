/**
 * The `mem` port: in-process loopback pairs. Frames sent on one end are received on the other,
 * through a bounded queue owned by the receiving end; a frame that does not fit is dropped and
 * counted (`txDropped` of the sender). Used by tests and to chain devices in one process.
 *
 * The queue is a flit ring laid out like a pipe (`../flit-ring.ts`), so both directions move
 * whole batches: `sendFlits` copies a block of frames with one copy, and `pollFlits` offers the
 * NIC a block it can copy into a pipe in one go.
 *
 * Specs: `mem` opens a new anonymous pair and returns one end (the other is its `peer`);
 * `mem:NAME` returns the first end of pair NAME on the first open and the second end on the
 * second open (a third open of NAME starts a new pair).
 *
 * @module
 */

import { readWallClock, type WallClock } from '../clock.js';
import { FLIT_SHIFT, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH } from '../constants.js';
import { copyFlits, type FlitBuffer } from '../flit-buffer.js';
import { FlitRing } from '../flit-ring.js';
import { FrameCopier } from '../frame-copy.js';
import { BURST_LIST, BurstList } from './burst-list.js';
import { emptyWireStats, type FlitSink, type FrameSink, type PortRole, type WireBackend, type WireStats } from './types.js';

/** Default bytes of a `mem` end's receive queue. */
export const DEFAULT_MEM_QUEUE_BYTES = 1024 * 1024;

/** Options of a `mem` pair. */
export interface MemOptions {
  /** Bytes of each end's receive queue (a power of two, at least 4 KiB). Default 1 MiB. */
  readonly queueBytes?: number;
}

/** One end of an in-process loopback pair. */
export class MemBackend implements WireBackend {
  /** {@inheritDoc WireBackend.kind} */
  readonly kind = 'mem';
  /** A poll gives its frames' queue space back only after it settled the sink. */
  readonly stableFrames = true;
  /** {@inheritDoc WireBackend.spec} */
  readonly spec: string;
  /** Frames this end has received and not yet delivered, as a flit ring. */
  private readonly queue: FlitRing;
  private readonly copier = new FrameCopier();
  private readonly clock: WallClock = { sec: 0, nsec: 0 };
  private readonly counters: WireStats = emptyWireStats();
  private other: MemBackend | null = null;
  /** Where {@link MemBackend.pollBursts} lists frames (made on first use). */
  private list: BurstList | null = null;
  /** Frames in `queue` (the sender adds, this end's polls subtract). */
  private queued = 0;
  private closed = false;

  private constructor(spec: string, queueBytes: number) {
    this.spec = spec;
    this.queue = new FlitRing(queueBytes);
  }

  /**
   * Creates a connected pair; `spec` names both ends. Throws a `RangeError` for a bad queue size.
   *
   * @internal
   */
  static pair(spec: string, options: MemOptions = {}): [MemBackend, MemBackend] {
    const bytes = options.queueBytes ?? DEFAULT_MEM_QUEUE_BYTES;
    const a = new MemBackend(spec, bytes);
    const b = new MemBackend(spec, bytes);
    a.other = b;
    b.other = a;
    return [a, b];
  }

  /** The other end of the pair: what this end sends, it receives. */
  get peer(): MemBackend {
    return this.other as MemBackend;
  }

  /** True once this end is closed, or the peer is closed and every frame it sent was read. */
  get exhausted(): boolean {
    return this.closed || (this.peer.closed && this.queue.head === this.queue.recv);
  }

  /** Frames waiting in this end's receive queue. */
  get queuedFrames(): number {
    return this.queued;
  }

  /** {@inheritDoc WireBackend.poll} */
  poll(sink: FrameSink, max: number): number {
    if (this.closed) return 0;
    if (sink.pushBurst !== undefined) return this.pollBursts(sink, max);
    const q = this.queue;
    let n = 0;
    let taken = 0;
    while (n < max && q.head !== q.recv) {
      const o = q.recv;
      const fi = o >>> FLIT_SHIFT;
      const len = q.lens[fi];
      const need = (len + 63) & ~63;
      if (!sink.push(q.data, o, len, q.tsSec[fi], q.tsNsec[fi])) this.counters.rxDropped++;
      q.advanceRecv(need);
      taken += need;
      this.counters.rxPackets++;
      this.queued--;
      this.counters.rxBytes += len;
      n++;
    }
    if (taken > 0) {
      // The sender may write into this space once it is free: the sink copies the frames first.
      sink.settle?.();
      q.advanceFree(taken);
    }
    return n;
  }

  /** {@link MemBackend.poll} into a sink that takes bursts: up to {@link BURST_LIST} frames per call. */
  private pollBursts(sink: FrameSink, max: number): number {
    const q = this.queue;
    const list = (this.list ??= new BurstList());
    let n = 0;
    while (n < max && q.head !== q.recv) {
      let k = 0;
      let taken = 0;
      let bytes = 0;
      while (k < BURST_LIST && n + k < max && q.head !== q.recv) {
        const o = q.recv;
        const fi = o >>> FLIT_SHIFT;
        const len = q.lens[fi];
        const need = (len + 63) & ~63;
        list.offsets[k] = o;
        list.lengths[k] = len;
        list.tsSec[k] = q.tsSec[fi];
        list.tsNsec[k] = q.tsNsec[fi];
        q.advanceRecv(need);
        taken += need;
        bytes += len;
        k++;
      }
      const took = (sink.pushBurst as NonNullable<FrameSink['pushBurst']>)(q.data, list.offsets, list.lengths, k, 0, 0, list.tsSec, list.tsNsec);
      // Copied before pushBurst returned: the space goes back to the sender at once.
      q.advanceFree(taken);
      this.counters.rxPackets += k;
      this.counters.rxBytes += bytes;
      this.counters.rxDropped += k - took;
      this.queued -= k;
      n += k;
    }
    return n;
  }

  /** {@inheritDoc WireBackend.pollFlits} */
  pollFlits(sink: FlitSink): number {
    if (this.closed) return 0;
    const q = this.queue;
    const ready = q.contiguousReady();
    if (ready === 0) return 0;
    const taken = sink.pushFlits(q.data, q.recv, ready, q.lens, q.tsSec, q.tsNsec);
    q.advanceRecv(taken);
    q.advanceFree(taken);
    this.counters.rxPackets += sink.lastFrames;
    this.queued -= sink.lastFrames;
    this.counters.rxBytes += sink.lastFrameBytes;
    return sink.lastFrames;
  }

  /**
   * Queues one frame in the peer's receive queue (copied before returning), with timestamp
   * `tsSec`/`tsNsec`, or the current time when `tsSec` is negative. Returns false when the frame was
   * dropped: queue full or an end closed (`txDropped`), or a length outside 14..65535 or a range
   * outside `buf` (`errors`).
   */
  send(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean {
    const c = this.counters;
    if (length < MIN_FRAME_LENGTH || length > MAX_FRAME_LENGTH || offset < 0 || offset + length > buf.length) {
      c.errors++;
      return false;
    }
    const q = this.peer.queue;
    const need = (length + 63) & ~63;
    const dst = this.closed || this.peer.closed ? -1 : q.reserve(need);
    if (dst < 0) {
      c.txDropped++;
      return false;
    }
    this.copier.copy(buf, offset, q.data, q.data32, dst, length);
    const fi = dst >>> FLIT_SHIFT;
    q.lens[fi] = length;
    if (tsSec < 0) {
      readWallClock(this.clock);
      tsSec = this.clock.sec;
      tsNsec = this.clock.nsec;
    }
    q.tsSec[fi] = tsSec;
    q.tsNsec[fi] = tsNsec;
    c.txPackets++;
    this.peer.queued++;
    c.txBytes += length;
    return true;
  }

  /** {@inheritDoc WireBackend.sendFlits} */
  sendFlits(src: FlitBuffer, offset: number, nbBytes: number, nbFrames: number, frameBytes: number): number {
    const c = this.counters;
    if (this.closed || this.peer.closed) {
      c.txDropped += nbFrames;
      return 0;
    }
    const q = this.peer.queue;
    const dst = nbBytes < q.maxFootprint ? q.reserve(nbBytes) : -1;
    if (dst >= 0) {
      // The whole block fits contiguously: bytes and side entries move in one copy each.
      copyFlits(src, offset, q, dst, nbBytes);
      c.txPackets += nbFrames;
      this.peer.queued += nbFrames;
      c.txBytes += frameBytes;
      return nbFrames;
    }
    // Not enough contiguous room: frame by frame, so the frames that fit still go.
    let sent = 0;
    const end = offset + nbBytes;
    for (let k = 0, o = offset; k < nbFrames && o < end; k++) {
      const fi = o >>> FLIT_SHIFT;
      const len = src.lens[fi];
      if (this.send(src.data, o, len, src.tsSec[fi], src.tsNsec[fi])) sent++;
      o += len > 0 ? (len + 63) & ~63 : 64;
    }
    return sent;
  }

  /** Does nothing: frames are in the peer's queue as soon as they are sent. */
  flush(): void {}

  /** Closes this end; frames still queued for it are discarded. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The queue's memory goes back to the arena once neither end can touch it any more.
    if (this.peer.closed) {
      this.queue.release();
      this.peer.queue.release();
    }
  }

  /** {@inheritDoc WireBackend.stats} */
  stats(): WireStats {
    return { ...this.counters };
  }

  /**
   * Drops every frame waiting in this end's queue (counted in `rxDropped`) and returns how many.
   * A cheap sink for benchmarks and tests that only need the other end to keep sending.
   */
  discardQueued(): number {
    const n = this.queuedFrames;
    const q = this.queue;
    q.advanceRecv(q.unreceived());
    q.advanceFree(q.distance(q.free, q.recv));
    this.counters.rxDropped += n;
    this.queued = 0;
    return n;
  }
}

const waiting = new Map<string, MemBackend>();

/**
 * Creates a connected pair of `mem` ends named `name` (for their specs) and returns both.
 * Throws a `RangeError` when `options.queueBytes` is not a power of two of at least 4 KiB.
 */
export function createMemPair(name = '', options: MemOptions = {}): [MemBackend, MemBackend] {
  return MemBackend.pair(name === '' ? 'mem' : `mem:${name}`, options);
}

/**
 * The `mem` factory behind `openPort`: `name` empty opens a fresh pair and returns its first end;
 * otherwise the first open of `name` returns the first end and the second open the second end.
 */
export function createMemBackend(name: string, _role: PortRole, options: MemOptions = {}): MemBackend {
  if (name === '') return createMemPair('', options)[0];
  const second = waiting.get(name);
  if (second !== undefined) {
    waiting.delete(name);
    return second;
  }
  const [a, b] = createMemPair(name, options);
  waiting.set(name, b);
  return a;
}
