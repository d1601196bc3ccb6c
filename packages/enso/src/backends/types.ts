/**
 * The wire side of gnet's software NIC: a backend moves whole Ethernet frames between the NIC and
 * something outside (memory, a generator, a pcap file, a live interface). The NIC (see `../nic.ts`)
 * polls backends for received frames, steers each into an RX pipe, and hands transmitted frames back.
 *
 * Contract for every backend, because it sits on the data path:
 * - no allocation per frame: frames are passed as (buffer, offset, length) into buffers the backend
 *   or the NIC already owns; a receiver must copy the bytes before `push` returns, unless the
 *   backend declares {@link WireBackend.stableFrames} (then before `poll` returns);
 * - never blocks: `poll` returns 0 when nothing is ready, `send` returns false when it cannot queue;
 * - counts everything it drops in {@link WireStats}.
 *
 * @module
 */

import type { FlitBuffer } from '../flit-buffer.js';

/** Counters every backend keeps (monotonic, since open). */
export interface WireStats {
  /** Frames / bytes the backend delivered to the NIC. */
  rxPackets: number;
  rxBytes: number;
  /** Frames / bytes the backend accepted for transmission. */
  txPackets: number;
  txBytes: number;
  /** Frames lost on receive before reaching the NIC (kernel ring drops, sink refused). */
  rxDropped: number;
  /** Frames that could not be transmitted (queue full, write error). */
  txDropped: number;
  /** Malformed input (bad pcap record, truncated frame) that was skipped. */
  errors: number;
}

/** Where a backend delivers received frames. Implemented by the NIC. */
export interface FrameSink {
  /**
   * Offers one received frame: bytes `[offset, offset + length)` of `buf`, received at
   * `tsSec` seconds + `tsNsec` nanoseconds since the Unix epoch. The sink copies the bytes before
   * returning, or, from a backend with {@link WireBackend.stableFrames}, before that backend's
   * `poll` returns. Returns false when the NIC dropped the frame (it counts the drop itself).
   */
  push(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean;
  /**
   * Copies every frame the sink has taken but not yet copied (see {@link WireBackend.stableFrames}).
   * A backend with `stableFrames` calls it before it changes or gives away bytes it pushed during
   * the current `poll` (a reader refilling its window, a queue handing space back to its writer).
   */
  settle?(): void;
  /**
   * Optional: offers `count` frames at once, frame `i` being bytes
   * `[offsets[i], offsets[i] + lengths[i])` of `buf`, received at `tsSecs[i]` s + `tsNsecs[i]` ns
   * when those arrays are given, else all at `tsSec` s + `tsNsec` ns. Same
   * contract as that many `push` calls (copied before returning); returns how many the sink took
   * ({@link FrameSink.lastBurstBytes}: their bytes), the others being dropped and counted by the
   * sink. A sink that can take a burst in one step (the manager: one native call) implements it; a
   * backend that has a burst's frames at hand calls it instead of `push` when the sink has it.
   */
  pushBurst?(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    tsSec: number,
    tsNsec: number,
    tsSecs?: Uint32Array,
    tsNsecs?: Uint32Array,
  ): number;
  /** Bytes of the frames the last {@link FrameSink.pushBurst} took (set by a sink that has it). */
  readonly lastBurstBytes?: number;
}

/**
 * The batch form of {@link FrameSink}, for backends whose frames already lie the way a pipe holds
 * them: back to back, each starting on a 64-byte flit, with per-flit side arrays giving each
 * frame's length and timestamp at its first flit. The NIC implements it; a backend with
 * {@link WireBackend.pollFlits} calls it instead of `push`, so frames bound for one pipe are copied
 * as one block. When the arrays lie in the NIC's arena (a `FlitBuffer`'s `data`, `lens`, `tsSec`,
 * `tsNsec`), those copies allocate nothing.
 */
export interface FlitSink extends FrameSink {
  /**
   * Offers the frames in `buf[offset, offset + nbBytes)` (`offset` a multiple of 64). The frame
   * starting at byte `o` of `buf` (`o` counted from the start of `buf`) is `lens[o >> 6]` bytes
   * long, occupies that length rounded up to 64, and was received at `tsSec[o >> 6]` s +
   * `tsNsec[o >> 6]` ns. The sink takes whole frames from the front, in order, copying them before
   * returning; it may stop early (its per-poll budget, or a frame cut by the end of the region).
   * It counts what it drops itself. Returns the bytes taken (always whole frames);
   * {@link lastFrames} and {@link lastFrameBytes} tell how many frames those bytes held and their
   * total length.
   */
  pushFlits(
    buf: Uint8Array,
    offset: number,
    nbBytes: number,
    lens: Uint16Array,
    tsSec: Uint32Array,
    tsNsec: Uint32Array,
  ): number;
  /** Frames taken by the last {@link pushFlits} call (delivered or dropped). */
  readonly lastFrames: number;
  /** Sum of the lengths (unpadded) of the frames taken by the last {@link pushFlits} call. */
  readonly lastFrameBytes: number;
}

/** Which directions a port is opened for. */
export type PortRole = 'rx' | 'tx' | 'rxtx';

/** A software-NIC port backend. */
export interface WireBackend {
  /** The port spec it was opened from, e.g. `pcap:in.pcap`. */
  readonly spec: string;
  /** `mem`, `gen`, `pcap` or `afpacket`. */
  readonly kind: string;
  /**
   * Moves up to `max` received frames into `sink` and returns how many were offered.
   * Returns 0 when nothing is ready right now; never blocks.
   */
  poll(sink: FrameSink, max: number): number;
  /**
   * True when the bytes of every frame `poll` pushes stay as they are until that `poll` returns,
   * except where the backend calls `sink.settle()` first. A sink may then copy a whole poll's frames
   * in one batch after the last push (the manager does: one native call per burst instead of one
   * copy per frame). Unset, the sink copies each frame inside `push`.
   */
  readonly stableFrames?: boolean;
  /** True once no frame will ever be received again (end of a pcap, generator count reached). */
  readonly exhausted: boolean;
  /**
   * True for sources that can wait (a file, an unpaced generator): the NIC takes frames from them
   * only while its RX pipes have room, so nothing is dropped for speed. Live ports (and paced
   * generators, which model a wire) leave it unset: a full pipe drops and counts, as on a NIC.
   */
  readonly lossless?: boolean;
  /**
   * Queues one frame for transmission (bytes are copied before returning). `tsSec`/`tsNsec` give the
   * frame's timestamp where the backend records one (pcap); pass -1 to use the current time.
   * Returns false when the frame was dropped (and counted).
   */
  send(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean;
  /**
   * Optional batch receive: offers ready frames to `sink.pushFlits` as flit-laid-out blocks and
   * returns the number of frames the sink took. When present the NIC calls it instead of `poll`.
   * Never blocks; returns 0 when nothing is ready.
   */
  pollFlits?(sink: FlitSink): number;
  /**
   * Optional batch transmit of the `nbFrames` frames in bytes `[offset, offset + nbBytes)` of the
   * NIC's buffer `src` (a TX pipe's or RX/TX pipe's memory), laid out as in
   * {@link FlitSink.pushFlits}: the frame at byte `o` is `src.lens[o >> 6]` bytes long, with its
   * timestamp in `src.tsSec` / `src.tsNsec` (every length valid, every timestamp resolved).
   * `frameBytes` is the sum of their lengths. Bytes are copied before returning. Returns how many
   * frames were queued (the first ones, in order); the rest were dropped and counted in
   * `txDropped`. When present the NIC calls it instead of `send`.
   */
  sendFlits?(src: FlitBuffer, offset: number, nbBytes: number, nbFrames: number, frameBytes: number): number;
  /** Pushes queued transmissions out (socket send, file write). Called after each TX batch. */
  flush(): void;
  /** Flushes and releases everything; safe to call twice. */
  close(): Promise<void>;
  /** A snapshot of the counters. */
  stats(): WireStats;
}

/** A fresh all-zero {@link WireStats}. */
export function emptyWireStats(): WireStats {
  return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, rxDropped: 0, txDropped: 0, errors: 0 };
}
