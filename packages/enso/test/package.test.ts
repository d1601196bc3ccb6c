import { describe, expect, it } from 'vitest';
import { expectDualPackage } from '../../../tools/package-smoke.js';

describe('@gnet/enso package', () => {
  it('resolves as ESM and CJS through its exports map, with the pipe API', async () => {
    const mod = await expectDualPackage('@gnet/enso');
    for (const name of ['Device', 'RxPipe', 'TxPipe', 'RxTxPipe', 'MessageBatch', 'SoftNic', 'openPort', 'createMemPair']) {
      expect(typeof mod[name]).toBe('function');
    }
  });
});
