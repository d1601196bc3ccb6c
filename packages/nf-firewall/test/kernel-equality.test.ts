// acl.cu against the CPU classifier on a generated ClassBench-like set (whole packets and non-first
// fragments, hits and misses): the emulated device runs the kernel source compiled for the host, and
// a GPU, when one is usable, runs the PTX. Both must give the CPU's answer for every key.
import { join } from 'node:path';
import { buildHostKernel, gpuInfo, GpuDevice, hostCompiler, KernelArgs } from '@gnet/manager-native';
import { describe, expect, it } from 'vitest';
import { aclPtxPath, Classifier, KEY_WORDS, packKey, parseRules } from '../src/index.js';
import { generate } from './gen.js';

function classifyOnDevice(dev: GpuDevice, cls: Classifier, keys: Uint32Array, n: number): Int32Array {
  const mod = dev.loadModule(aclPtxPath());
  const put = (a: Int32Array | Uint32Array) => {
    const p = dev.malloc(a.byteLength);
    dev.memcpyHtoD(p, a, 0, a.byteLength);
    return p;
  };
  const t = cls.tables;
  const ptrs = [put(t.tree), put(t.leaves), put(t.roots), put(keys), dev.malloc(n * 4)];
  const args = new KernelArgs();
  for (const p of ptrs) args.ptr(p);
  dev.launch(mod, 'gnet_acl_classify', { grid: Math.ceil(n / 128), block: 128 }, args.u32(n));
  const out = new Int32Array(n);
  dev.memcpyDtoH(out, 0, ptrs[4], n * 4);
  for (const p of ptrs) dev.free(p);
  return out;
}

const gpu = gpuInfo();
const mode = gpu.available ? 'gpu' : hostCompiler() ? 'emulated' : undefined;
if (mode === undefined) console.log(`acl.cu equality skipped: no GPU (${gpu.reason}) and no host C++ compiler for the emulated device`);

describe.skipIf(mode === undefined)(`acl.cu on the ${mode ?? 'no'} device`, () => {
  it('gives the CPU classifier’s first match for every key of a 3000-rule set (whole packets and fragments)', () => {
    if (mode === 'emulated') buildHostKernel(join(__dirname, '..', 'kernels', 'acl.cu'));
    const g = generate(11, 3000, 6000);
    const rs = parseRules(g.rulesText);
    const cls = new Classifier(rs);
    const n = g.trace.length;
    const keys = new Uint32Array(n * KEY_WORDS);
    g.trace.forEach((l, i) => {
      const f = l.split(/\s+/).map(Number);
      packKey(keys, i, f[0], f[1], f[2], f[3], f[4], i % 9 === 0);
    });
    const want = new Int32Array(n);
    cls.classifyBatch(keys, want, n);
    expect(want.filter((x) => x >= 0).length).toBeGreaterThan(n / 2);
    const got = classifyOnDevice(GpuDevice.open({ mode }), cls, keys, n);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
