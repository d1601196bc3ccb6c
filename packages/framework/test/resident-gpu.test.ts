// Resident fields on a CUDA GPU: the columns in device memory, shared by the NF workers through
// the process's one context (its own file: a process holds one device mode, and the unit tests in
// resident.test.ts open the emulated one). Skips, saying why, without a usable GPU.
import { describe, expect, it } from 'vitest';
import { gpuInfo } from '@gnet/manager-native';
import { N, chain, fixture } from './resident-chain.js';

const gpu = gpuInfo();
if (!gpu.available) console.log(`skipped the gpu-mode resident-field chain: no usable GPU (${gpu.reason})`);

describe.skipIf(!gpu.available)('a chain of resident-field NFs on a GPU', () => {
  it('the second NF reads the first one\u2019s upload: fewer bytes cross, the same values arrive', async () => {
    const [a, b] = await chain(
      [
        { tag: 'a', module: fixture('resident-nf.mjs'), serviceId: 1 },
        { tag: 'b', module: fixture('resident-nf.mjs'), serviceId: 2 },
      ],
      'gpu',
    );
    expect(a.counters).toMatchObject({ checked: N, mismatch: 0, 'fw.field_bytes': 4 * N });
    expect(b.counters).toMatchObject({ checked: N, mismatch: 0 });
    expect(b.counters['fw.resident_hits']).toBeGreaterThan(N / 2);
  });
});
