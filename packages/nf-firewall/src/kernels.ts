import { kernelModulePath } from '@gnet/manager-native';

/** Path of the firewall's classification kernel module (`kernels/acl.ptx`, entry `gnet_acl_classify`). */
export const aclPtxPath = (): string => kernelModulePath(import.meta.url, 'acl');
