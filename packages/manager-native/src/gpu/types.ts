/**
 * Plain types of the GPU proxy's API.
 *
 * @module
 */

/**
 * An address in device memory: a CUDA device pointer on the GPU, a host address on the emulated
 * device. Always below 2^53, so it is a plain number; pointer arithmetic (`base + offset`) is fine.
 */
export type DevicePtr = number;

/** Which device serves the requests. */
export type GpuMode = 'gpu' | 'emulated';

/** Grid or block dimensions: a number (x), `[x, y?, z?]` or `{ x, y?, z? }`; missing ones are 1. */
export type Dim3 = number | readonly [number, number?, number?] | { x: number; y?: number; z?: number };

/** Options of `GpuDevice.open`. */
export interface GpuOpenOptions {
  /** `gpu` (fails without one), `emulated`, or `auto`: the GPU when usable, else the emulated device. Default `auto`. */
  mode?: GpuMode | 'auto';
  /** GPU ordinal. Default 0. */
  device?: number;
  /** Emulated device: threads that run blocks, the launching thread included. Default `GNET_EMU_THREADS` or every core. */
  threads?: number;
}

/** Pinned host memory from `hostAlloc`, shared with JavaScript. */
export interface HostAllocation {
  /** Its address, for `free` and for kernels that read host memory directly. */
  readonly ptr: DevicePtr;
  /** The same memory as an ArrayBuffer; it is detached (length 0) when the allocation is freed. */
  readonly buffer: ArrayBuffer;
}

/** Launch geometry of a kernel. */
export interface LaunchShape {
  /** Blocks in the grid. */
  grid: Dim3;
  /** Threads per block (at most 1024 in all). */
  block: Dim3;
  /** Bytes of dynamic shared memory per block (`GNET_DYNAMIC_SHARED`). Default 0. */
  sharedMem?: number;
}

/** Host memory a copy reads or writes: a buffer, or a view whose window offsets count from. */
export type HostBuffer = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;
