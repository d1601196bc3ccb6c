/**
 * The NIC's view of one RX pipe: its ring plus the state the NIC keeps about it (global pipe id,
 * reactive-notification flags, receive counters).
 *
 * @module
 */

import { FlitRing } from './flit-ring.js';
import type { NotificationQueue, NotifiedPipe } from './notification-queue.js';

/** An RX pipe's ring and NIC-side state. */
export class RxRing extends FlitRing implements NotifiedPipe {
  /** The pipe id the flow table steers to (NIC-wide, like Enso's pipe id). */
  readonly id: number;
  /** Whether the pipe was allocated as a fallback pipe. */
  readonly fallback: boolean;
  /** {@inheritDoc NotifiedPipe.notified} */
  notified = false;
  /** {@inheritDoc NotifiedPipe.queued} */
  queued = false;
  /** {@inheritDoc NotifiedPipe.notifications} */
  notifications: NotificationQueue | null = null;
  /** {@inheritDoc NotifiedPipe.slot} */
  slot = -1;
  /** Frames the NIC wrote into the ring. */
  frames = 0;
  /** Frame bytes (unpadded) the NIC wrote into the ring. */
  bytes = 0;
  /** Frames steered here but dropped because the ring was full. */
  drops = 0;

  /** Creates the ring of pipe `id` with `size` bytes. */
  constructor(id: number, size: number, fallback: boolean) {
    super(size);
    this.id = id;
    this.fallback = fallback;
  }
}
