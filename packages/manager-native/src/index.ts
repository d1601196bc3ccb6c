/**
 * `@gnet/manager-native`: the native core of the gnet manager.
 *
 * It holds what TypeScript cannot do by itself: the GPU proxy (CUDA driver API opened at run time,
 * so the addon loads without a GPU), and helpers for the kernels that NFs ship as PTX.
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

import { loadNative, type GpuInfo } from './loader.js';

/** Reports whether a CUDA GPU is usable here, and why not when it is not. Never throws for a missing driver. */
export function gpuInfo(): GpuInfo {
  return loadNative().gpuInfo();
}
