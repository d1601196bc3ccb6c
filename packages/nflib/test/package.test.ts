import { describe, expect, it } from 'vitest';
import { expectDualPackage } from '../../../tools/package-smoke.js';

describe('@gnet/nflib package', () => {
  it('resolves as ESM and CJS through its exports map', async () => {
    const mod = await expectDualPackage('@gnet/nflib');
    expect(typeof mod.init).toBe('function');
    expect(typeof mod.Manager).toBe('function');
  });
});
