/**
 * A device's notification buffer: the FIFO of pipes that have data for the application, consumed
 * by `Device.nextRxPipeToRecv` / `nextRxTxPipeToRecv`. Notifications are reactive, as in Enso:
 *
 * - a pipe is notified when data arrives while it has no outstanding notification;
 * - the notification stays outstanding (no more are sent for that pipe) until the application
 *   frees bytes of the pipe; at that point, if unreceived data remains, it is notified again.
 *
 * A pipe is queued at most once, so the FIFO never holds more entries than the device has pipes.
 *
 * @module
 */

/** Per-pipe notification state, kept by the NIC on the pipe's ring. */
export interface NotifiedPipe {
  /** An outstanding notification exists (sent, not yet acknowledged by a free). */
  notified: boolean;
  /** The pipe's slot sits in its queue, not yet popped. */
  queued: boolean;
  /** Where to queue notifications (null: nobody waits for this pipe's notifications). */
  notifications: NotificationQueue | null;
  /** The pipe's slot number within its device. */
  slot: number;
}

/** FIFO of pipe slot numbers in an `Int32Array`; grows when the device adds pipes. */
export class NotificationQueue {
  private ids = new Int32Array(16);
  private first = 0;
  private count = 0;

  /** Number of queued notifications. */
  get length(): number {
    return this.count;
  }

  /** Appends a slot; the queue grows if full (a pipe is queued at most once). */
  push(slot: number): void {
    if (this.count === this.ids.length) this.grow();
    this.ids[(this.first + this.count) % this.ids.length] = slot;
    this.count++;
  }

  /** Removes and returns the oldest slot, or -1 when empty. */
  pop(): number {
    if (this.count === 0) return -1;
    const slot = this.ids[this.first];
    this.first = (this.first + 1) % this.ids.length;
    this.count--;
    return slot;
  }

  /** Removes every queued notification. */
  clear(): void {
    this.first = 0;
    this.count = 0;
  }

  private grow(): void {
    const next = new Int32Array(this.ids.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.ids[(this.first + i) % this.ids.length];
    this.ids = next;
    this.first = 0;
  }
}

/**
 * Data arrived on `pipe`: notify it unless a notification is outstanding. Returns true when a
 * notification was queued.
 */
export function notifyArrival(pipe: NotifiedPipe): boolean {
  if (pipe.notified) return false;
  pipe.notified = true;
  if (pipe.queued || pipe.notifications === null) return false;
  pipe.queued = true;
  pipe.notifications.push(pipe.slot);
  return true;
}

/**
 * The application freed bytes of `pipe`: the outstanding notification is acknowledged, and the
 * pipe is notified again when `dataRemains`.
 */
export function acknowledgeFree(pipe: NotifiedPipe, dataRemains: boolean): void {
  pipe.notified = false;
  if (dataRemains) notifyArrival(pipe);
}
