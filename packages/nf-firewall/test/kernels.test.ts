import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPtx, ptxEntries, ptxTarget } from '@gnet/manager-native';
import { aclPtxPath } from '../src/index.js';
import { expectDualPackage } from './util.js';

describe('@gnet/nf-firewall kernels and package', () => {
  it('ships acl.ptx with the gnet_acl_classify entry for a virtual arch that sm_80 and sm_90 JIT from', () => {
    const ptx = readFileSync(aclPtxPath(), 'utf8');
    expect(ptxEntries(ptx)).toEqual(['gnet_acl_classify']);
    expect(ptxTarget(ptx)).toBe('sm_80');
  });

  it('acl.ptx is fresh against acl.cu', () => {
    expect(checkPtx(aclPtxPath().replace(/\.ptx$/, '.cu')).state).toBe('fresh');
  });

  it('resolves as ESM and CJS through its exports map', async () => {
    const mod = await expectDualPackage('@gnet/nf-firewall');
    expect(mod.packageName).toBe('@gnet/nf-firewall');
    expect(typeof mod.Classifier).toBe('function');
  });
});
