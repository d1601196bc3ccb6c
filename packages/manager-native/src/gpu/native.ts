/**
 * The native `gpu` object of the addon (src/native/gpu_binding.cc), typed. Internal: the public API
 * is GpuDevice and GpuStream.
 *
 * @module
 */
import { loadNative } from '../loader.js';

/** @internal What `open` reports. */
export interface NativeDeviceInfo {
  mode: 'gpu' | 'emulated';
  reason: string;
  name: string;
  totalMem: number;
  smCount: number;
  computeCapability: string;
  emulatorThreads: number;
}

/** @internal Host memory as the binding takes it: SharedArrayBuffers arrive wrapped in a Uint8Array. */
export type NativeBuffer = ArrayBuffer | ArrayBufferView;

/** @internal */
export interface NativeGpu {
  open(options: { mode: string; device?: number; threads?: number }): NativeDeviceInfo;
  close(): void;
  hostAlloc(bytes: number): [number, ArrayBuffer];
  hostBuffer(ptr: number): ArrayBuffer;
  malloc(bytes: number): number;
  sharedMalloc(name: string, bytes: number): number;
  sharedHostAlloc(name: string, bytes: number): [number, ArrayBuffer];
  free(ptr: number): void;
  memcpyHtoD(dst: number, src: NativeBuffer, offset: number, bytes: number): void;
  memcpyDtoH(dst: NativeBuffer, offset: number, src: number, bytes: number): void;
  memset(dst: number, value: number, bytes: number): void;
  loadModule(path: string, ptx?: string, signatures?: [string, Uint32Array, Uint32Array][]): [number, string[]];
  unloadModule(id: number): void;
  getFunction(module: number, name: string): [number, number];
  streamCreate(clientId: number, status: Int32Array): number;
  streamDestroy(id: number): void;
  submit(stream: number, words: Float64Array, n: number, refs: unknown[], sync: boolean): number | undefined;
  launchAll(words: Float64Array, n: number, refs: unknown[]): number;
  wait(stream: number, ticket: number): void;
  poll(stream: number): number;
  synchronize(): void;
  eventCreate(): number;
  eventDestroy(id: number): void;
  eventSynchronize(id: number): void;
  eventElapsed(start: number, end: number): number;
}

/** @internal The binding of this thread's addon instance. */
export function nativeGpu(): NativeGpu {
  return (loadNative() as unknown as { gpu: NativeGpu }).gpu;
}
