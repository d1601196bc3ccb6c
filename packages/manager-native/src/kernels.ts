import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from './loader.js';

/** Header line that ties a shipped `.ptx` to the exact sources it was compiled from. */
export const PTX_SOURCE_TAG = '// gnet-source-sha256: ';

/** Directory of gnet's kernel headers (`gnet_kernel.h`), on nvcc's and the host compiler's include path. */
export const kernelIncludeDir = join(packageRoot, 'include');

const includeRe = /^\s*#\s*include\s+"([^"]+)"/gm;

/**
 * Files a kernel is built from: the `.cu` and, recursively, every `#include "..."` found next to it
 * or in {@link kernelIncludeDir}. System includes (`<...>`) are not followed.
 */
export function kernelSources(cuPath: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(includeRe)) {
      const local = resolve(dirname(file), m[1]);
      const shared = join(kernelIncludeDir, m[1]);
      if (existsSync(local)) visit(local);
      else if (existsSync(shared)) visit(shared);
    }
  };
  visit(resolve(cuPath));
  return [...seen];
}

/** SHA-256 over the kernel's sources (contents only, in include order), as written into its `.ptx`. */
export function kernelSourceHash(cuPath: string): string {
  const h = createHash('sha256');
  for (const file of kernelSources(cuPath)) {
    h.update(readFileSync(file, 'utf8').replace(/\r\n/g, '\n'));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Names of the `.entry` functions (kernels) a PTX module defines. */
export function ptxEntries(ptx: string): string[] {
  return [...ptx.matchAll(/^\s*(?:\.visible\s+)?\.entry\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
}

/** The `.target` line of a PTX module, e.g. `sm_80`. */
export function ptxTarget(ptx: string): string | undefined {
  return /^\s*\.target\s+([\w,\s]+?)\s*$/m.exec(ptx)?.[1];
}

/** Outcome of comparing a `.cu` with the `.ptx` shipped next to it. */
export interface PtxFreshness {
  cuPath: string;
  ptxPath: string;
  /** `fresh`: hashes match; `stale`: the `.cu` (or a header) changed since compilation; `missing`: no `.ptx`. */
  state: 'fresh' | 'stale' | 'missing';
  expected: string;
  recorded?: string;
}

/** Checks whether `kernels/foo.cu`'s shipped `kernels/foo.ptx` was compiled from its current sources. */
export function checkPtx(cuPath: string): PtxFreshness {
  const ptxPath = cuPath.replace(/\.cu$/, '.ptx');
  const expected = kernelSourceHash(cuPath);
  if (!existsSync(ptxPath)) return { cuPath, ptxPath, state: 'missing', expected };
  const first = readFileSync(ptxPath, 'utf8').split('\n', 1)[0];
  const recorded = first.startsWith(PTX_SOURCE_TAG) ? first.slice(PTX_SOURCE_TAG.length).trim() : undefined;
  return { cuPath, ptxPath, state: recorded === expected ? 'fresh' : 'stale', expected, recorded };
}

/**
 * Path of the `kernels/<name>.ptx` shipped by the package that contains `fromUrl` (pass
 * `import.meta.url`): the nearest folder above it with a `package.json`.
 * @throws Error when that package ships no such kernel.
 */
export function kernelModulePath(fromUrl: string, name: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fromUrl}`);
    dir = up;
  }
  const path = join(dir, 'kernels', `${name}.ptx`);
  if (!existsSync(path)) throw new Error(`no kernel module "${name}" at ${path}`);
  return path;
}
