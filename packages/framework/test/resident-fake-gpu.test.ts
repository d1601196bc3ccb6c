// Resident fields through the GPU backend on a machine without a GPU: the stand-in libcuda of
// @gnet/manager-native's tests (loaded through GNET_CUDA_LIBRARY before this process opens the
// driver; each test file runs in its own process) replays the framework's scatter and gather
// kernels on host memory. What this proves is the gpu mode's own path: fields.ptx loaded and its
// parameters read from the PTX, the shared columns made with cuMemAlloc, the copies and launches on
// each NF worker's stream, and the masks; a real GPU runs the same chain in resident-gpu.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuInfo, hostCompiler } from '@gnet/manager-native';
import { N, chain, fixture } from './resident-chain.js';

const cxx = hostCompiler();
const dir = mkdtempSync(join(tmpdir(), 'gnet-fakecuda-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
if (cxx) {
  const lib = join(dir, 'libcuda-fake.so');
  const src = join(__dirname, '..', '..', 'manager-native', 'test', 'fixtures', 'fake-libcuda.cc');
  execFileSync(cxx, ['-std=c++17', '-O1', '-fPIC', '-shared', '-o', lib, src]);
  process.env.GNET_CUDA_LIBRARY = lib;
  delete process.env.GNET_CUDA_DISABLE;
  delete process.env.FAKE_CUDA_LOG;
} else {
  console.log('skipped the resident-field chain over a stand-in driver: no host C++ compiler (install g++ or set CXX)');
}

describe.skipIf(!cxx)('resident fields over the GPU backend (a stand-in driver)', () => {
  it('the second NF reads the first one\u2019s upload, and the values arrive', async () => {
    expect(gpuInfo()).toMatchObject({ available: true });
    const [a, b] = await chain(
      [
        { tag: 'a', module: fixture('resident-nf.mjs'), serviceId: 1 },
        { tag: 'b', module: fixture('resident-nf.mjs'), serviceId: 2 },
      ],
      'gpu',
    );
    expect(a.counters).toMatchObject({ checked: N, mismatch: 0, 'fw.resident_hits': 0, 'fw.field_bytes': 4 * N });
    expect(b.counters).toMatchObject({ checked: N, mismatch: 0 });
    expect(b.counters['fw.resident_hits']).toBeGreaterThan(N / 2);
    expect(b.residentMask).toBe(1);
  });
});
