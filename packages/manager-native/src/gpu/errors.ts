/**
 * Typed errors of the GPU proxy. The native side throws plain errors carrying a `code` (and, for a
 * failed driver call, `call` and `result`); {@link toGpuError} turns them into these classes.
 *
 * @module
 */

/**
 * A failure of the GPU proxy. `code` names its kind: `GNET_BAD_POINTER`, `GNET_USE_AFTER_FREE`,
 * `GNET_OUT_OF_RANGE`, `GNET_BAD_ARGS`, `GNET_BAD_LAUNCH`, `GNET_UNKNOWN_ENTRY`, `GNET_MODULE_LOAD`,
 * `GNET_NO_HOST_MODULE`, `GNET_STALE_MODULE`, `GNET_NO_GPU`, `GNET_MODE_CONFLICT`, `GNET_CLIENT_BUSY`,
 * `GNET_EVENT_NOT_RECORDED`, `GNET_KERNEL_FAULT`, `GNET_OUT_OF_MEMORY`, `GNET_CLOSED`; for a
 * {@link CudaError} it is the CUDA result's name.
 */
export class GpuError extends Error {
  /** The kind of failure, e.g. `GNET_USE_AFTER_FREE` or `CUDA_ERROR_OUT_OF_MEMORY`. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'GpuError';
    this.code = code;
  }
}

/** A CUDA driver call that failed: `call` is the driver function, `result` its CUresult, `code` that result's name. */
export class CudaError extends GpuError {
  /** The driver function that failed, e.g. `cuMemAlloc_v2`. */
  readonly call: string;
  /** Its numeric CUresult, e.g. 2. */
  readonly result: number;
  constructor(message: string, call: string, result: number, code: string) {
    super(message, code);
    this.name = 'CudaError';
    this.call = call;
    this.result = result;
  }
}

/** Converts an error thrown by the native proxy into a {@link GpuError} or {@link CudaError}; other errors pass through. */
export function toGpuError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof GpuError) return err;
  const e = err as Error & { code?: unknown; call?: unknown; result?: unknown };
  if (typeof e.code !== 'string') return err;
  const typed =
    typeof e.call === 'string' && typeof e.result === 'number'
      ? new CudaError(e.message, e.call, e.result, e.code)
      : new GpuError(e.message, e.code);
  typed.stack = e.stack;
  return typed;
}
