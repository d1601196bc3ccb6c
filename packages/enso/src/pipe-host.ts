/**
 * What a pipe needs from the `Device` that owns it, as an interface so pipe modules do not import
 * the device module (which imports them).
 *
 * @module
 */

import type { SoftNic } from './nic.js';

/**
 * The owning device, as seen by its pipes.
 *
 * @internal
 */
export interface PipeHost {
  /** The NIC the device's pipes live on. */
  readonly nic: SoftNic;
  /** Completion reports not yet handled by `processCompletions` (pipes add to it). */
  completions: number;
  /** Polls the NIC for received frames. Throws once the device is closed. */
  poll(): void;
  /** Enso's `Device::ProcessCompletions`: reclaims TX space and frees sent RX/TX bytes. */
  processCompletions(): void;
}

/** Throws the error every call on a released pipe gives. */
export function pipeClosed(what: string): never {
  throw new Error(`${what} is closed (its device was closed)`);
}

/** Checks a byte count the pipe API takes: a non-negative multiple of 64 up to `max`. */
export function checkFlitBytes(n: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || (n & 63) !== 0) {
    throw new RangeError(`${what}: ${n} is not a non-negative multiple of 64 bytes`);
  }
  if (n > max) throw new RangeError(`${what}: ${n} bytes requested, only ${max} available`);
}
