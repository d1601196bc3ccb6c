/**
 * Stats in the shape of openNetVM's `onvm_stats`: per port and per NF instance, packet and byte
 * counters, drops by reason, ring occupancy; and rates between two snapshots. Snapshots are taken
 * once per interval by the manager (not on the data path).
 * @module
 */

import type { LatencySummary } from './latency.js';

/** Counters of one port. */
export interface PortCounters {
  /** Port id. */
  id: number;
  /** The port spec (`pcap:in.pcap`). */
  spec: string;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Drops by reason (`rx_ring_full`, `tx_full`, ...). */
  drops: Record<string, number>;
}

/** Counters of one NF instance. */
export interface NfCounters {
  /** `service/instance`, e.g. `2/0`. */
  key: string;
  /** The NF's tag (its name). */
  tag: string;
  serviceId: number;
  instanceId: number;
  rxPackets: number;
  txPackets: number;
  /** Drops by reason (`nf`, `ring_full`, ...). */
  drops: Record<string, number>;
  /** Batches waiting in the instance's RX ring. */
  rxRingOccupancy: number;
  /** Batches waiting in the instance's TX ring. */
  txRingOccupancy: number;
  /** `running`, `stopped` or `dead`. */
  state: string;
  /** Microseconds the NF spent on batches (its loop and handler, idle time excluded). */
  busyUs?: number;
  /** The NF's own named counters (`ctx.defineCounters`), e.g. drop reasons; empty when it defines none. */
  counters: Record<string, number>;
  /** Packets per batch a control-plane policy asked of this instance (0: none asked). */
  batchTarget?: number;
  /** SMs a control-plane policy gave this instance (0: none given). */
  smShare?: number;
  /** Device-resident fields a control-plane policy lets this instance reuse (a bit mask; 0: none). */
  residentMask?: number;
  /** What the NF published about itself (`ctx.publish`), by key. */
  meta?: Record<string, unknown>;
}

/** Everything the manager reports at one instant. */
export interface StatsSnapshot {
  /** Milliseconds since the epoch. */
  time: number;
  /** The service chains the manager routes by (chain 0 first, the default): service ids in order. */
  chains?: number[][];
  ports: PortCounters[];
  nfs: NfCounters[];
  /** Manager-level drops by reason (no instance for a service, chain end...). */
  drops: Record<string, number>;
  /** Packets received and not yet transmitted or dropped. */
  inFlight: number;
  /** Packets the manager took from its ports (`received = transmitted + dropped + inFlight`). */
  received?: number;
  /** Packets the manager handed to its ports. */
  transmitted?: number;
  /** Packets the manager, its NFs or NF failures dropped (the sum of the reasons in `drops`). */
  dropped?: number;
  /** The control-plane policy's latest decision (e.g. G-NET's scheduler), when one runs. */
  policy?: { name: string; info: Record<string, unknown> };
  /**
   * Time packets spent in the manager (receive burst to transmit burst, NFs included) since the
   * manager started, in microseconds.
   */
  latencyUs?: LatencySummary;
}

/** Per-second rates between two snapshots of the same entity. */
export interface Rates {
  /** Packets per second. */
  pps: number;
  /** Bits per second (on bytes counted by the port). */
  bps: number;
}

/** Rate of a counter between two snapshots; 0 when the interval is empty. */
export function rate(now: number, before: number, dtMs: number): number {
  return dtMs > 0 ? ((now - before) * 1000) / dtMs : 0;
}

/** Sum of a drops-by-reason record. */
export function totalDrops(d: Record<string, number>): number {
  let n = 0;
  for (const k in d) n += d[k];
  return n;
}

/** Adds `n` drops of `reason` to a record (creating the key). */
export function addDrop(d: Record<string, number>, reason: string, n = 1): void {
  d[reason] = (d[reason] ?? 0) + n;
}
