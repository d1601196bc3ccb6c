/**
 * `@gnet/manager-native`: the native core of the gnet manager.
 *
 * It holds what TypeScript cannot do by itself: the GPU proxy ({@link GpuDevice}: the CUDA driver API
 * opened at run time, so the addon loads without a GPU, or the emulated device that runs the same
 * kernel sources compiled for the host), helpers for the kernels that NFs ship as PTX, and live packet I/O
 * on Linux interfaces ({@link AfPacketSocket}: AF_PACKET rings with fanout), and POSIX shared memory
 * regions for the multi-process manager ({@link createSharedRegion}, {@link openSharedRegion}).
 *
 * @packageDocumentation
 */
export { loadNative, NativeLoadError, packageRoot } from './loader.js';
export type { NativeBinding, GpuInfo, GpuDeviceInfo } from './loader.js';
export {
  PTX_SOURCE_TAG,
  kernelIncludeDir,
  kernelSources,
  kernelSourceHash,
  ptxEntries,
  ptxTarget,
  checkPtx,
  kernelModulePath,
} from './kernels.js';
export type { PtxFreshness } from './kernels.js';
export { EspCryptoBatch, espCryptoInfo, ESP_SA_KEY_BYTES, type EspCryptoInfo } from './crypto.js';
export { copyRanges, moveRanges } from './bytes.js';
export { createRxFill, RxFillIo, type RxFill, type RxFillArrays } from './rx-fill.js';
export { createFlowProbe, NatFlag, NatParam, type FlowProbe, type FlowProbeArrays } from './flow-probe.js';
export { AfPacketSocket, AfPacketError } from './afpacket.js';
export type { AfPacketSocketOptions, AfPacketStats, FanoutMode } from './afpacket.js';
export {
  createSharedRegion,
  openSharedRegion,
  unlinkSharedRegion,
  sharedRegionPath,
  probeSharedMemory,
  SharedRegionError,
  SHARED_REGION_MAX_BYTES,
} from './shm.js';
export type { SharedMemorySupport } from './shm.js';
export { GpuDevice } from './gpu/device.js';
export type { LaunchConfig } from './gpu/device.js';
export { GpuStream, ticketReached } from './gpu/stream.js';
export { GpuModule, GpuKernel } from './gpu/module.js';
export { GpuEvent } from './gpu/event.js';
export { KernelArgs } from './gpu/kernel-args.js';
export { GpuError, CudaError, toGpuError } from './gpu/errors.js';
export { ptxKernelParams } from './gpu/ptx.js';
export type { PtxParam } from './gpu/ptx.js';
export {
  HOST_SOURCE_TAG,
  buildHostKernel,
  cachedHostKernel,
  hostKernelCacheDir,
  hostCompiler,
  hostKernelEntries,
  hostKernelPath,
  hostKernelSourceHash,
} from './gpu/host-kernels.js';
export type { HostKernelBuild, HostKernelBuildOptions } from './gpu/host-kernels.js';
export type { DevicePtr, Dim3, GpuMode, GpuOpenOptions, HostAllocation, HostBuffer, LaunchShape } from './gpu/types.js';

import { loadNative, type GpuInfo } from './loader.js';

/** Reports whether a CUDA GPU is usable here, and why not when it is not. Never throws for a missing driver. */
export function gpuInfo(): GpuInfo {
  return loadNative().gpuInfo();
}
