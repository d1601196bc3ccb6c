import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPtx, kernelSourceHash, ptxEntries } from '../src/index.js';

const root = join(__dirname, '..', '..', '..');
/** Every kernel source in the repo: packages/nf-* /kernels/*.cu */
const kernels = readdirSync(join(root, 'packages'))
  .filter((p) => p.startsWith('nf-'))
  .flatMap((p) => {
    try {
      return readdirSync(join(root, 'packages', p, 'kernels'))
        .filter((f) => f.endsWith('.cu'))
        .map((f) => join(root, 'packages', p, 'kernels', f));
    } catch {
      return [];
    }
  });
const hasPtxas = spawnSync('ptxas', ['--version'], { stdio: 'ignore' }).status === 0;

describe('shipped kernels', () => {
  it('the repo has kernels to check', () => {
    expect(kernels.length).toBeGreaterThan(0);
  });

  it.each(kernels)('%s: committed .ptx is fresh and lists entries', (cu) => {
    const state = checkPtx(cu);
    expect(state.state, `${state.ptxPath} is ${state.state}: run \`npm run build\` with nvcc and commit it`).toBe('fresh');
    expect(ptxEntries(readFileSync(state.ptxPath, 'utf8')).length).toBeGreaterThan(0);
  });

  it.skipIf(!hasPtxas).each(kernels)('%s: ptxas accepts the .ptx for sm_80 and sm_90', (cu) => {
    const ptx = cu.replace(/\.cu$/, '.ptx');
    const dir = mkdtempSync(join(tmpdir(), 'gnet-ptxas-'));
    try {
      for (const arch of ['sm_80', 'sm_90']) execFileSync('ptxas', [`-arch=${arch}`, '-o', join(dir, `${arch}.cubin`), ptx]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!hasPtxas) console.log('skipped ptxas checks: ptxas not found (install the CUDA toolkit)');

  it('detects a stale .ptx when its .cu or an included header changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gnet-stale-'));
    try {
      const cu = kernels[0];
      cpSync(cu, join(dir, 'k.cu'));
      cpSync(cu.replace(/\.cu$/, '.ptx'), join(dir, 'k.ptx'));
      expect(checkPtx(join(dir, 'k.cu')).state).toBe('fresh');
      writeFileSync(join(dir, 'k.cu'), readFileSync(cu, 'utf8') + '\n// edited\n');
      const stale = checkPtx(join(dir, 'k.cu'));
      expect(stale.state).toBe('stale');
      expect(stale.recorded).not.toBe(stale.expected);
      // A local header is part of the hash too.
      writeFileSync(join(dir, 'h.cuh'), '#define X 1\n');
      writeFileSync(join(dir, 'k.cu'), '#include "h.cuh"\n' + readFileSync(cu, 'utf8'));
      const before = kernelSourceHash(join(dir, 'k.cu'));
      writeFileSync(join(dir, 'h.cuh'), '#define X 2\n');
      expect(kernelSourceHash(join(dir, 'k.cu'))).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
