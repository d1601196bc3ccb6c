import { describe, expect, it } from 'vitest';
import { expectDualPackage } from '../../../tools/package-smoke.js';

describe('@gnet/framework package', () => {
  it('resolves as ESM and CJS through its exports map', async () => {
    const mod = await expectDualPackage('@gnet/framework');
    expect(typeof mod.schedule).toBe('function');
    expect(typeof mod.computeSyncPlan).toBe('function');
    expect(typeof mod.defineNf).toBe('function');
    expect(typeof mod.startNf).toBe('function');
  });
});
