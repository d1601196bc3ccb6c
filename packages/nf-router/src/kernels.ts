import { kernelModulePath } from '@gnet/manager-native';

/** Path of the router's LPM lookup kernel module (`kernels/lpm.ptx`, entry `gnet_lpm_lookup`). */
export const lpmPtxPath = (): string => kernelModulePath(import.meta.url, 'lpm');
