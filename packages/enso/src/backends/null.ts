/**
 * The `null` port (`null` spec): a sink that counts and discards every frame sent to it and never
 * receives, like DPDK's `net_null` transmit side. Useful as `--out null` when only throughput matters.
 *
 * @module
 */

import { emptyWireStats, type FrameSink, type PortRole, type WireBackend, type WireStats } from './types.js';

/** A sink port; see the module comment. */
export class NullBackend implements WireBackend {
  readonly spec = 'null';
  readonly kind = 'null';
  readonly exhausted = true;
  private readonly counters: WireStats = emptyWireStats();

  /** Never delivers a frame. */
  poll(_sink: FrameSink, _max: number): number {
    return 0;
  }

  /** Counts the frame and discards it; always succeeds. */
  send(_buf: Uint8Array, _offset: number, length: number, _tsSec: number, _tsNsec: number): boolean {
    this.counters.txPackets++;
    this.counters.txBytes += length;
    return true;
  }

  /** Nothing is queued. */
  flush(): void {}

  /** Nothing to release. */
  async close(): Promise<void> {}

  /** A snapshot of the counters. */
  stats(): WireStats {
    return { ...this.counters };
  }
}

/** Opens a `null` port; `target` must be empty. */
export function createNullBackend(target: string, _role: PortRole): NullBackend {
  if (target !== '') throw new Error(`the null port takes no target, got 'null:${target}'`);
  return new NullBackend();
}
