/**
 * `Device`: Enso's device handle. Create one per thread; it allocates pipes on a software NIC
 * (its own, or one shared with other devices), owns the notification buffers that
 * `nextRxPipeToRecv` / `nextRxTxPipeToRecv` read, and forwards NIC-wide settings.
 *
 * The data path is polled: every receive call polls the NIC's ports for frames, and transmissions
 * leave inside `sendAndFree` (or, when rate limited, on later polls and `processCompletions`).
 *
 * @module
 */

import { DEFAULT_PIPE_SIZE, DEFAULT_RTT_OFFSET } from './constants.js';
import { checkRingSize } from './flit-ring.js';
import { type NicOptions, type PortSpec, SoftNic } from './nic.js';
import { NotificationQueue } from './notification-queue.js';
import { RxPipe } from './rx-pipe.js';
import { RxTxPipe } from './rx-tx-pipe.js';
import { TxPipe } from './tx-pipe.js';

/** Options of {@link Device.create}. */
export interface DeviceOptions extends NicOptions {
  /** Use this NIC (shared with other devices; closing the device leaves it open). */
  readonly nic?: SoftNic;
  /** Ports of a new NIC owned by the device (ignored with `nic`). Default `['mem']`. */
  readonly ports?: readonly PortSpec[];
  /** Ring bytes of RX and RX/TX pipes (a power of two ≥ 4 KiB). Default 2 MiB, as Enso. */
  readonly pipeSize?: number;
  /** Ring bytes of TX pipes (a power of two ≥ 4 KiB; memory is twice this). Default 2 MiB. */
  readonly txPipeSize?: number;
}

/** Options of a transmitting pipe. */
export interface TxPipeOptions {
  /** NIC port the pipe's frames leave on. Default 0. */
  readonly port?: number;
}

/** An Enso device over a software NIC. */
export class Device {
  /** The NIC the device's pipes live on. */
  readonly nic: SoftNic;
  /**
   * Completion reports not yet processed.
   *
   * @internal
   */
  completions = 0;

  private readonly ownsNic: boolean;
  private readonly pipeSize: number;
  private readonly txPipeSize: number;
  private readonly rxPipes: RxPipe[] = [];
  private readonly txPipes: TxPipe[] = [];
  private readonly rxTxPipes: RxTxPipe[] = [];
  /** Slot → pipe for each notification queue. */
  private readonly rxSlots: RxPipe[] = [];
  private readonly rxTxSlots: RxTxPipe[] = [];
  private readonly rxNotifications = new NotificationQueue();
  private readonly rxTxNotifications = new NotificationQueue();
  private nextTxIndex = 0;
  private closed = false;

  private constructor(nic: SoftNic, ownsNic: boolean, options: DeviceOptions) {
    this.nic = nic;
    this.ownsNic = ownsNic;
    this.pipeSize = options.pipeSize ?? DEFAULT_PIPE_SIZE;
    this.txPipeSize = options.txPipeSize ?? DEFAULT_PIPE_SIZE;
    checkRingSize(this.pipeSize, 'pipeSize');
    checkRingSize(this.txPipeSize, 'txPipeSize');
  }

  /**
   * Enso's `Device::Create`: a device on `options.nic`, or on a new NIC over `options.ports`
   * (default one `mem` port, whose other end is `(device.nic.ports[0] as MemBackend).peer`).
   * Rejects when a port cannot be opened or an option is invalid.
   */
  static async create(options: DeviceOptions = {}): Promise<Device> {
    if (options.nic !== undefined) return new Device(options.nic, false, options);
    const nic = await SoftNic.open(options.ports ?? ['mem'], options);
    try {
      return new Device(nic, true, options);
    } catch (err) {
      await nic.close();
      throw err;
    }
  }

  /**
   * Allocates an RX pipe. A fallback pipe receives packets that match no flow entry (spread by
   * hash or round robin) besides the flows it binds; the NIC uses only the first power-of-two
   * many fallback pipes allocated. Throws when the NIC has no pipe left or the device is closed.
   */
  allocateRxPipe(fallback = false): RxPipe {
    this.checkOpen();
    const ring = this.nic.allocateRxRing(this.pipeSize, fallback);
    const pipe = new RxPipe(this, ring);
    ring.slot = this.rxSlots.length;
    ring.notifications = this.rxNotifications;
    this.rxSlots.push(pipe);
    this.rxPipes.push(pipe);
    return pipe;
  }

  /**
   * Allocates a TX pipe sending on `options.port` (default 0). Throws a `RangeError` when the port
   * does not exist or is receive-only.
   */
  allocateTxPipe(options: TxPipeOptions = {}): TxPipe {
    this.checkOpen();
    const pipe = new TxPipe(this, this.nextTxIndex, this.txPipeSize, options.port ?? 0);
    this.nextTxIndex++;
    this.txPipes.push(pipe);
    return pipe;
  }

  /**
   * Allocates an RX/TX pipe (see {@link allocateRxPipe} for `fallback`); its sends leave on
   * `options.port` (default 0).
   */
  allocateRxTxPipe(fallback = false, options: TxPipeOptions = {}): RxTxPipe {
    this.checkOpen();
    const ring = this.nic.allocateRxRing(this.pipeSize, fallback);
    let pipe: RxTxPipe;
    try {
      pipe = new RxTxPipe(this, new RxPipe(this, ring), this.nextTxIndex, options.port ?? 0);
    } catch (err) {
      this.nic.releaseRxRing(ring);
      throw err;
    }
    this.nextTxIndex++;
    ring.slot = this.rxTxSlots.length;
    ring.notifications = this.rxTxNotifications;
    this.rxTxSlots.push(pipe);
    this.rxTxPipes.push(pipe);
    return pipe;
  }

  /**
   * Polls the NIC and returns the next RX pipe (not RX/TX) that has data to receive, in
   * notification order, or null when none has. See `notification-queue.ts` for when a pipe is
   * notified again: after the application frees bytes of it.
   */
  nextRxPipeToRecv(): RxPipe | null {
    this.poll();
    for (;;) {
      const slot = this.rxNotifications.pop();
      if (slot < 0) return null;
      const pipe = this.rxSlots[slot];
      const ring = pipe.ring;
      ring.queued = false;
      if (ring.head !== ring.recv) return pipe;
    }
  }

  /** Processes completions, polls, and returns the next RX/TX pipe with data, or null. */
  nextRxTxPipeToRecv(): RxTxPipe | null {
    this.processCompletions();
    this.poll();
    for (;;) {
      const slot = this.rxTxNotifications.pop();
      if (slot < 0) return null;
      const pipe = this.rxTxSlots[slot];
      const ring = pipe.buffer;
      ring.queued = false;
      if (ring.head !== ring.recv) return pipe;
    }
  }

  /**
   * Enso's `ProcessCompletions`: advances rate-limited transmissions, gives completed TX space
   * back to TX pipes, and frees sent bytes of RX/TX pipes.
   */
  processCompletions(): void {
    if (this.nic.hasPendingTx) this.nic.pumpTx();
    if (this.completions === 0) return;
    this.completions = 0;
    for (const p of this.txPipes) p.reclaim();
    for (const p of this.rxTxPipes) p.processCompletions();
  }

  /** Number of fallback pipes the NIC uses (a power of two, or 0). */
  getNbFallbackQueues(): number {
    return this.nic.fallbackQueues;
  }

  /** Sends packets that match no flow to the fallback pipes round robin (NIC-wide). */
  enableRoundRobin(): void {
    this.nic.setRoundRobin(true);
  }

  /** Sends packets that match no flow to the fallback pipe chosen by their flow hash (default). */
  disableRoundRobin(): void {
    this.nic.setRoundRobin(false);
  }

  /** Whether round robin is on (Enso's `GetRoundRobinStatus`). */
  getRoundRobinStatus(): boolean {
    return this.nic.roundRobinEnabled;
  }

  /**
   * Enso's `EnableTimeStamping`: outgoing packets get the NIC's cycle counter at `offset` (default
   * 18: bytes 4-7 of the IPv4 header), incoming packets get the RTT there in cycles of 5 ns (read
   * it with `pktRtt`). NIC-wide. Throws a `RangeError` when `offset` is outside 0..60.
   */
  enableTimeStamping(offset: number = DEFAULT_RTT_OFFSET): void {
    this.nic.enableTimeStamping(offset);
  }

  /** Turns timestamping off (NIC-wide). */
  disableTimeStamping(): void {
    this.nic.disableTimeStamping();
  }

  /**
   * Enso's `EnableRateLimiting`: all TX pipes of the NIC together send at most
   * `num / den * maxFlitRate` flits per second (a flit is 64 bytes of a padded frame; the default
   * flit rate is Enso's 200e6/s). NIC-wide. Throws a `RangeError` for values outside 1..65535 or
   * `num > den`.
   */
  enableRateLimiting(num: number, den: number): void {
    this.nic.enableRateLimiting(num, den);
  }

  /** Removes the rate limit (NIC-wide). */
  disableRateLimiting(): void {
    this.nic.disableRateLimiting();
  }

  /**
   * Releases every pipe of the device (their flows are unbound; queued transmissions are
   * discarded) and closes the NIC if the device created it. Later calls on the device or its pipes
   * throw. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.processCompletions();
    this.closed = true;
    for (const p of this.rxPipes) {
      p.markClosed();
      this.nic.releaseRxRing(p.ring);
    }
    for (const p of this.rxTxPipes) {
      p.markClosed();
      this.nic.releaseRxRing(p.buffer);
    }
    for (const p of this.txPipes) p.markClosed();
    this.rxNotifications.clear();
    this.rxTxNotifications.clear();
    if (this.ownsNic) await this.nic.close();
  }

  /**
   * Polls the NIC (receive calls run it).
   *
   * @internal
   */
  poll(): void {
    if (this.closed) throw new Error('the device is closed');
    this.nic.poll();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the device is closed');
  }
}
