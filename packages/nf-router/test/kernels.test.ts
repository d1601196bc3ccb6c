import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GpuDevice, KernelArgs, buildHostKernel, checkPtx, gpuInfo, ptxEntries, ptxTarget } from '@gnet/manager-native';
import { Lpm } from '../src/lpm.js';
import { expectDualPackage } from './util.js';
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

// The kernel against the CPU table on the emulated device (and a GPU when usable), with the table
// uploaded once and then kept current by copying only the changed ranges (Lpm.takeDirty), as the NF does.
describe('gnet_lpm_lookup on a device, with incremental table updates', () => {
  let noEmulator: string | undefined;
  try {
    buildHostKernel(lpmPtxPath().replace(/\.ptx$/, '.cu'));
  } catch (err) {
    noEmulator = (err as Error).message;
    console.log(`emulated kernel test skipped: ${noEmulator}`);
  }
  const modes = [...(noEmulator ? [] : ['emulated' as const]), ...(gpuInfo().available ? ['gpu' as const] : [])];
  it.skipIf(modes.length === 0).each(modes)('%s: answers like Lpm.lookupBatch after adds and deletes', (mode) => {
    const lpm = new Lpm({ tbl8Groups: 1024 });
    let x = 1;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    const routes: [number, number][] = [];
    const addRandom = (k: number) => {
      for (let i = 0; i < k; i++) {
        const len = [8, 16, 20, 24, 25, 28, 32][rnd() % 7];
        const a = ((0x0a000000 + (rnd() % (1 << 20))) & (len === 32 ? -1 : ~((1 << (32 - len)) - 1))) >>> 0;
        lpm.add(a, len, rnd() % 1000);
        routes.push([a, len]);
      }
    };
    addRandom(200);
    const n = 4096;
    const addrs = new Uint32Array(n);
    for (let i = 0; i < n; i++) addrs[i] = (0x0a000000 + (rnd() % (1 << 20))) >>> 0;
    const dev = GpuDevice.open({ mode });
    try {
      const mod = dev.loadModule(lpmPtxPath());
      const d24 = dev.malloc(lpm.tbl24.byteLength);
      const d8 = dev.malloc(lpm.tbl8.byteLength);
      const dA = dev.malloc(n * 4);
      const dH = dev.malloc(n * 4);
      dev.memcpyHtoD(d24, lpm.tbl24, 0, lpm.tbl24.byteLength);
      dev.memcpyHtoD(d8, lpm.tbl8, 0, lpm.tbl8.byteLength);
      lpm.takeDirty();
      dev.memcpyHtoD(dA, addrs, 0, n * 4);
      const got = new Int32Array(n);
      const want = new Int32Array(n);
      for (let round = 0; round < 4; round++) {
        const d = lpm.takeDirty();
        if (d.tbl24To > d.tbl24From) dev.memcpyHtoD(d24 + d.tbl24From * 4, lpm.tbl24, d.tbl24From * 4, (d.tbl24To - d.tbl24From) * 4);
        if (d.tbl8To > d.tbl8From) dev.memcpyHtoD(d8 + d.tbl8From * 4, lpm.tbl8, d.tbl8From * 4, (d.tbl8To - d.tbl8From) * 4);
        dev.launch(mod, 'gnet_lpm_lookup', { grid: n / 256, block: 256 }, new KernelArgs().ptr(d24).ptr(d8).ptr(dA).ptr(dH).u32(n));
        dev.memcpyDtoH(got, 0, dH, n * 4);
        lpm.lookupBatch(addrs, want, n);
        expect(Array.from(got)).toEqual(Array.from(want));
        // Change the table: delete a third of the routes (groups get freed and reused), add more.
        for (const [a, len] of routes.splice(0, routes.length / 3)) lpm.delete(a, len);
        addRandom(60);
      }
    } finally {
      dev.close();
    }
  }, 60_000);
});
