import { readFileSync } from 'node:fs';
import { checkPtx, ptxEntries, ptxTarget } from '@gnet/manager-native';
import { describe, expect, it } from 'vitest';
import { ESP_KERNEL_ENTRY, espPtxPath } from '../src/index.js';

describe('@gnet/nf-ipsec kernels', () => {
  it('ships esp.ptx with the gnet_esp_crypt entry for a virtual arch that sm_80 and sm_90 JIT from', () => {
    const ptx = readFileSync(espPtxPath(), 'utf8');
    expect(ptxEntries(ptx)).toEqual([ESP_KERNEL_ENTRY]);
    expect(ptxTarget(ptx)).toBe('sm_80');
  });

  it('esp.ptx is fresh against esp.cu', () => {
    expect(checkPtx(espPtxPath().replace(/\.ptx$/, '.cu')).state).toBe('fresh');
  });
});
