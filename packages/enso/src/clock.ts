/**
 * Clocks the data path reads once per batch, without allocating: wall-clock time as seconds +
 * nanoseconds (frame timestamps, as pcap stores them) and the NIC's 32-bit timestamp counter
 * (Enso's 200 MHz cycle counter, used for RTT stamping).
 *
 * @module
 */

import { NS_PER_TIMESTAMP_CYCLE } from './constants.js';

/** A wall-clock reading, updated in place by {@link readWallClock}. */
export interface WallClock {
  /** Whole seconds since the Unix epoch. */
  sec: number;
  /** Nanoseconds within the second (0 to 999,999,999). */
  nsec: number;
}

const origin = performance.timeOrigin;

/** Stores the current wall-clock time (microsecond resolution) into `into`. */
export function readWallClock(into: WallClock): void {
  const ms = origin + performance.now();
  const sec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - sec * 1000) * 1e6);
  if (nsec > 999_999_999) nsec = 999_999_999;
  into.sec = sec;
  into.nsec = nsec;
}

/** The NIC timestamp counter now: cycles of `NS_PER_TIMESTAMP_CYCLE` ns, modulo 2^32. */
export function timestampCycles(): number {
  return Math.floor((performance.now() * 1e6) / NS_PER_TIMESTAMP_CYCLE) >>> 0;
}
