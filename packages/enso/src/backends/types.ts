/**
 * The wire side of gnet's software NIC: a backend moves whole Ethernet frames between the NIC and
 * something outside (memory, a generator, a pcap file, a live interface). The NIC (see `../nic.ts`)
 * polls backends for received frames, steers each into an RX pipe, and hands transmitted frames back.
 *
 * Contract for every backend, because it sits on the data path:
 * - no allocation per frame: frames are passed as (buffer, offset, length) into buffers the backend
 *   or the NIC already owns; a receiver must copy the bytes before `poll` returns;
 * - never blocks: `poll` returns 0 when nothing is ready, `send` returns false when it cannot queue;
 * - counts everything it drops in {@link WireStats}.
 *
 * @module
 */

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
   * returning. Returns false when the NIC dropped the frame (it counts the drop itself).
   */
  push(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean;
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
  /** True once no frame will ever be received again (end of a pcap, generator count reached). */
  readonly exhausted: boolean;
  /**
   * Queues one frame for transmission (bytes are copied before returning). `tsSec`/`tsNsec` give the
   * frame's timestamp where the backend records one (pcap); pass -1 to use the current time.
   * Returns false when the frame was dropped (and counted).
   */
  send(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean;
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
