/**
 * `@gnet/manager-native`: the native core of the gnet manager.
 *
 * It holds what TypeScript cannot do by itself: the GPU proxy (CUDA driver API opened at run time,
 * so the addon loads without a GPU), helpers for the kernels that NFs ship as PTX, and live packet I/O
 * on Linux interfaces ({@link AfPacketSocket}: AF_PACKET rings with fanout), and POSIX shared memory
 * regions for the multi-process manager ({@link createSharedRegion}, {@link openSharedRegion}).
 *
 * @packageDocumentation
 */
export { loadNative, NativeLoadError, packageRoot } from './loader.js';
export type { NativeBinding, GpuInfo, GpuDevice } from './loader.js';
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

import { loadNative, type GpuInfo } from './loader.js';

/** Reports whether a CUDA GPU is usable here, and why not when it is not. Never throws for a missing driver. */
export function gpuInfo(): GpuInfo {
  return loadNative().gpuInfo();
}
