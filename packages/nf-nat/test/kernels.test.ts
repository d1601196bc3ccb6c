import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPtx, ptxEntries, ptxTarget } from '@gnet/manager-native';
import { natPtxPath } from '../src/index.js';
import { expectDualPackage } from './util.js';

describe('@gnet/nf-nat kernels and package', () => {
  it('ships nat.ptx with the gnet_nat_lookup entry for a virtual arch that sm_80 and sm_90 JIT from', () => {
    const ptx = readFileSync(natPtxPath(), 'utf8');
    expect(ptxEntries(ptx)).toEqual(['gnet_nat_lookup']);
    expect(ptxTarget(ptx)).toBe('sm_80');
  });

  it('nat.ptx is fresh against nat.cu', () => {
    expect(checkPtx(natPtxPath().replace(/\.ptx$/, '.cu')).state).toBe('fresh');
  });

  it('resolves as ESM and CJS through its exports map', async () => {
    const mod = await expectDualPackage('@gnet/nf-nat');
    expect(mod.packageName).toBe('@gnet/nf-nat');
    expect(typeof mod.NatEngine).toBe('function');
  });
});
