import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPtx, ptxEntries, ptxTarget } from '@gnet/manager-native';
import { expectDualPackage } from '../../../tools/package-smoke.js';
import { lpmPtxPath } from '../src/index.js';

describe('@gnet/nf-router kernels', () => {
  it('ships lpm.ptx with the gnet_lpm_lookup entry for a virtual arch that sm_80 and sm_90 JIT from', () => {
    const ptx = readFileSync(lpmPtxPath(), 'utf8');
    expect(ptxEntries(ptx)).toEqual(['gnet_lpm_lookup']);
    expect(ptxTarget(ptx)).toBe('sm_80');
  });

  it('lpm.ptx is fresh against lpm.cu', () => {
    expect(checkPtx(lpmPtxPath().replace(/\.ptx$/, '.cu')).state).toBe('fresh');
  });

  it('resolves as ESM and CJS through its exports map', async () => {
    const mod = await expectDualPackage('@gnet/nf-router');
    expect(typeof mod.lpmPtxPath).toBe('function');
  });
});
