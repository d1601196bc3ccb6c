#!/usr/bin/env node
// gnet-compile-kernels [--check] [DIR...]
// Compiles every kernels/*.cu under each package DIR (default: the current directory) to PTX for a
// virtual architecture that sm_80 and sm_90 both JIT from, checks the result with ptxas for both,
// and writes kernels/<name>.ptx tagged with the hash of its sources. Without nvcc, committed PTX
// is kept when it is fresh; stale PTX is an error (it would ship code that no longer matches).
// Whenever g++ (or $CXX) runs, each .cu is also built for the emulated device as kernels/<name>.host.so
// (a build output, git-ignored; skipped when it already matches the sources). --check only checks PTX.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { buildHostKernel, checkPtx, hostCompiler, kernelIncludeDir, PTX_SOURCE_TAG } from '../dist/index.js';

const VIRTUAL_ARCH = 'compute_80';
const CHECK_ARCHS = ['sm_80', 'sm_90'];

const args = process.argv.slice(2);
const checkOnly = args.includes('--check');
const dirs = args.filter((a) => !a.startsWith('--'));
if (dirs.length === 0) dirs.push(process.cwd());

const have = (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const nvcc = process.env.NVCC ?? 'nvcc';
const hasNvcc = have(nvcc);
const hasPtxas = have('ptxas');
const hostCxx = checkOnly ? undefined : hostCompiler();
if (!checkOnly && hostCxx === undefined)
  console.log('kernels: no host C++ compiler (g++ or $CXX): skipped the .host.so builds the emulated device needs');

let failed = 0;
for (const dir of dirs) {
  const kdir = join(resolve(dir), 'kernels');
  if (!existsSync(kdir)) continue;
  for (const name of readdirSync(kdir).filter((f) => f.endsWith('.cu')).sort()) {
    const cu = join(kdir, name);
    compilePtx(cu);
    if (hostCxx !== undefined) compileHost(cu);
  }
}

function compilePtx(cu) {
  const state = checkPtx(cu);
  const rel = relative(process.cwd(), state.ptxPath);
  if (checkOnly || !hasNvcc) {
    if (state.state === 'fresh') {
      console.log(`kernels: ${rel} is fresh${hasNvcc ? '' : ' (nvcc not found: kept the committed PTX)'}`);
    } else {
      failed++;
      console.error(`kernels: ${rel} is ${state.state}; run gnet-compile-kernels with nvcc installed and commit the .ptx`);
    }
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'gnet-ptx-'));
  try {
    const out = join(tmp, 'k.ptx');
    execFileSync(nvcc, ['-ptx', `-arch=${VIRTUAL_ARCH}`, '-std=c++17', '-O3', '-I', kernelIncludeDir, '-o', out, cu], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (hasPtxas) {
      for (const arch of CHECK_ARCHS) {
        execFileSync('ptxas', [`-arch=${arch}`, '-o', join(tmp, `k.${arch}.cubin`), out], { stdio: 'inherit' });
      }
    }
    const ptx = readFileSync(out, 'utf8');
    writeFileSync(state.ptxPath, `${PTX_SOURCE_TAG}${state.expected}\n${ptx}`);
    console.log(`kernels: ${rel} compiled for ${VIRTUAL_ARCH}${hasPtxas ? `, ptxas ok for ${CHECK_ARCHS.join(', ')}` : ''}`);
  } catch (err) {
    failed++;
    console.error(`kernels: ${relative(process.cwd(), cu)} failed to compile: ${err.message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// A kernel that does not build for the host breaks the emulated device (and CI, which runs on it).
function compileHost(cu) {
  try {
    const r = buildHostKernel(cu, { cxx: hostCxx });
    const rel = relative(process.cwd(), r.soPath);
    console.log(`kernels: ${rel} ${r.state === 'fresh' ? 'is fresh' : `built for the emulated device (${r.entries.join(', ')})`}`);
  } catch (err) {
    failed++;
    console.error(`kernels: ${relative(process.cwd(), cu)} failed to build for the emulated device: ${err.message}`);
  }
}
process.exit(failed ? 1 : 0);
