/**
 * Timing events: recorded on a stream, they mark when the device reached that point.
 *
 * @module
 */
import { toGpuError } from './errors.js';
import type { NativeGpu } from './native.js';

/** A point in a stream's work, for timing kernels (cuEvent on the GPU, a host clock reading when emulated). */
export class GpuEvent {
  /** @internal Handle in this thread's native tables. */
  readonly id: number;
  private readonly native: NativeGpu;

  /** @internal */
  constructor(native: NativeGpu, id: number) {
    this.native = native;
    this.id = id;
  }

  /**
   * Blocks until the device has reached the event's last record.
   * @throws GpuError `GNET_EVENT_NOT_RECORDED` when it was never recorded.
   */
  synchronize(): void {
    try {
      this.native.eventSynchronize(this.id);
    } catch (err) {
      throw toGpuError(err);
    }
  }

  /** Releases the event (records still in flight complete normally). */
  destroy(): void {
    this.native.eventDestroy(this.id);
  }
}
