import { describe, expect, it } from 'vitest';
import { expectDualPackage } from './util.js';

describe('@gnet/nf-ipsec package', () => {
  it('resolves as ESM and CJS through its exports map', async () => {
    const mod = await expectDualPackage('@gnet/nf-ipsec');
    expect(mod.packageName).toBe('@gnet/nf-ipsec');
  });
});
