/**
 * A client's stream: the request queue of one NF worker. Requests are queued in JavaScript and sent
 * as one batch by `submit()` (one call into C++ per batch); they run in order and the batch completes
 * as one ticket.
 *
 * Completion is published in an Int32Array over a SharedArrayBuffer that C++ stores into, so checking
 * a ticket (`done`) is an `Atomics.load` with no native call. Blocking (`wait`) sleeps in C++, because
 * `Atomics.wait` can only be woken by `Atomics.notify` from JavaScript, never by a native thread.
 *
 * @module
 */
import { RequestBatch } from './batch.js';
import { GpuError, toGpuError } from './errors.js';
import type { GpuEvent } from './event.js';
import type { KernelArgs } from './kernel-args.js';
import type { GpuModule } from './module.js';
import type { NativeGpu } from './native.js';
import type { DevicePtr, HostBuffer, LaunchShape } from './types.js';

/** Status words shared with src/native/gpu_stream.h (StatusWord). */
const DONE = 0;
const FAILED = 2;

/** Whether ticket `t` has completed when tickets up to `done` have, across the 2^32 wrap. */
export function ticketReached(done: number, t: number): boolean {
  return ((done - t) | 0) >= 0;
}

/**
 * The stream of one client (an NF worker): its requests run in submission order, concurrently with
 * other clients' streams. Queue requests with {@link GpuStream.htod}, {@link GpuStream.launch}, ...,
 * then {@link GpuStream.submit} them as one batch.
 *
 * @example
 * ```ts
 * const s = device.stream(workerId);
 * const t = s.htod(dIn, input, 0, n * 4).launch(mod, 'k', { grid, block: 256 }, args).dtoh(out, 0, dOut, n * 4).submit();
 * // ... prepare the next batch ...
 * s.wait(t); // out is filled
 * ```
 */
export class GpuStream {
  /** The client (NF worker) this stream serves. */
  readonly clientId: number;
  /** Completion words: [0] last completed ticket, [1] last submitted, [2] first failed ticket not yet reported. */
  readonly status: Int32Array;
  private readonly native: NativeGpu;
  private readonly id: number;
  private readonly polls: boolean;
  private readonly batch = new RequestBatch();
  private last = 0;
  private isClosed = false;

  /** @internal */
  constructor(native: NativeGpu, id: number, clientId: number, status: Int32Array, polls: boolean) {
    this.native = native;
    this.id = id;
    this.clientId = clientId;
    this.status = status;
    this.polls = polls;
  }

  /** Requests queued and not yet submitted. */
  get pending(): number {
    return this.batch.count;
  }

  /** The ticket of the last submitted batch (0 before the first). */
  get lastTicket(): number {
    return this.last;
  }

  /** Whether {@link GpuStream.close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Queues a copy of `bytes` bytes from `src` (at `srcOffset`, counted from a view's start) to device
   * address `dst`. The bytes are read when the stream reaches the request, not at submit: leave them
   * unchanged (and the buffer attached) until the ticket completes. The stream keeps `src` alive until then.
   */
  htod(dst: DevicePtr, src: HostBuffer, srcOffset: number, bytes: number): this {
    this.batch.htod(dst, src, srcOffset, bytes);
    return this;
  }

  /**
   * Queues a copy of `bytes` bytes from device address `src` into `dst` at `dstOffset`; `dst` holds
   * them once the ticket completes (read it only then). The stream keeps `dst` alive until then.
   */
  dtoh(dst: HostBuffer, dstOffset: number, src: DevicePtr, bytes: number): this {
    this.batch.dtoh(dst, dstOffset, src, bytes);
    return this;
  }

  /** Queues setting `bytes` bytes at `dst` to `value` (a byte). */
  memset(dst: DevicePtr, value: number, bytes: number): this {
    this.batch.memset(dst, value, bytes);
    return this;
  }

  /**
   * Queues a launch of `module`'s kernel `entry`. The arguments are copied now, so `args` can be
   * refilled right away.
   * @throws GpuError `GNET_UNKNOWN_ENTRY` when the module has no such kernel.
   */
  launch(module: GpuModule, entry: string, shape: LaunchShape, args: KernelArgs): this {
    this.batch.launch(module.kernel(entry).id, shape.grid, shape.block, shape.sharedMem ?? 0, args);
    return this;
  }

  /** Queues recording `event` when the stream gets here (for timing with `GpuDevice.elapsedMs`). */
  record(event: GpuEvent): this {
    this.batch.record(event.id);
    return this;
  }

  /**
   * Sends the queued requests as one batch; returns its ticket. Every request is checked (pointers,
   * sizes, kernel arguments) before any is issued, so a {@link GpuError} means none of the batch ran;
   * the queue is emptied either way. With nothing queued it returns the last ticket.
   */
  submit(): number {
    if (this.batch.count === 0) return this.last;
    this.open();
    const b = this.batch;
    try {
      this.last = this.native.submit(this.id, b.words, b.length, b.refs, false) as number;
    } catch (err) {
      throw toGpuError(err);
    } finally {
      b.clear();
    }
    return this.last;
  }

  /** Sends the queued requests and waits for them (on an idle emulated stream they run in this thread). */
  submitSync(): void {
    if (this.batch.count === 0) return this.wait();
    this.open();
    const b = this.batch;
    try {
      this.native.submit(this.id, b.words, b.length, b.refs, true);
      this.last = Atomics.load(this.status, 1);
    } catch (err) {
      throw toGpuError(err);
    } finally {
      b.clear();
    }
  }

  /** Whether the batch with this ticket (default: the last) has completed. Never blocks. */
  done(ticket: number = this.last): boolean {
    if (ticketReached(Atomics.load(this.status, DONE), ticket)) return true;
    // The GPU backend learns of completion by querying its events; the emulated one stores it itself.
    return this.polls && !this.isClosed && ticketReached(this.native.poll(this.id), ticket);
  }

  /**
   * Blocks until the batch with this ticket (default: the last) has completed.
   * @throws GpuError or CudaError: the first failure on this stream not yet reported (each is reported once).
   */
  wait(ticket: number = this.last): void {
    if (ticketReached(Atomics.load(this.status, DONE), ticket) && Atomics.load(this.status, FAILED) === 0) return;
    this.open();
    try {
      this.native.wait(this.id, ticket);
    } catch (err) {
      throw toGpuError(err);
    }
  }

  /** Submits anything queued and waits for all of the stream's work (G-NET's stream sync). */
  synchronize(): void {
    this.submit();
    this.wait(this.last);
  }

  /** Waits for the stream's work and releases it; the client id can then get a new stream. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.batch.clear();
    this.native.streamDestroy(this.id);
  }

  private open(): void {
    if (this.isClosed) throw new GpuError(`the stream of client ${this.clientId} is closed`, 'GNET_CLOSED');
  }
}
