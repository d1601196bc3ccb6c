#!/usr/bin/env node
// The `install` script of @gnet/manager-native: makes sure the Node-API addon loads after
// `npm install`. In order:
//   1. GNET_NATIVE_PATH is set: that file is used at run time, nothing to do.
//   2. A prebuilt binary ships for this platform (build/Release/gnet_native.node as packed, or
//      prebuilds/<platform>-<arch>/gnet_native.node) and loads here: use it.
//   3. Otherwise (or with GNET_NATIVE_FROM_SOURCE=1) build from source with cmake-js, after checking
//      the toolchain; anything missing is named in one error with how to install it.
// Inside the gnet monorepo (sources present) it does nothing: `npm run build` builds the addon.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (s) => process.stdout.write(`@gnet/manager-native: ${s}\n`);
const fromSource = process.env.GNET_NATIVE_FROM_SOURCE === '1' || process.argv.includes('--from-source');

if (process.env.GNET_NATIVE_PATH) {
  log(`GNET_NATIVE_PATH is set (${process.env.GNET_NATIVE_PATH}): nothing to build`);
  process.exit(0);
}
if (existsSync(join(root, 'src', 'index.ts')) && !fromSource) {
  log('source checkout: the addon is built by the repository build (npm run build)');
  process.exit(0);
}

/** Loads the addon in a child process, so a crash or an ABI mismatch cannot take this script down. */
function loads(path) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)}).gpuInfo()`], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.status}`);
}

if (!fromSource) {
  for (const path of [join(root, 'build', 'Release', 'gnet_native.node'), join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'gnet_native.node')]) {
    if (!existsSync(path)) continue;
    const why = loads(path);
    if (why === null) {
      log(`using the prebuilt addon ${path.slice(root.length + 1)} (${process.platform}-${process.arch}); GNET_NATIVE_FROM_SOURCE=1 builds it from source`);
      process.exit(0);
    }
    log(`the prebuilt addon ${path.slice(root.length + 1)} does not load here (${why}): building from source`);
  }
}

// What a source build needs; each missing item is reported with how to get it.
const missing = [];
const have = (cmd, args = ['--version']) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
};
const cmake = have('cmake');
const cmakeVersion = cmake?.match(/version (\d+)\.(\d+)/);
if (!cmake) missing.push('cmake >= 3.18 (Debian/Ubuntu: apt-get install cmake; or pip install cmake)');
else if (!cmakeVersion || Number(cmakeVersion[1]) * 100 + Number(cmakeVersion[2]) < 318) {
  missing.push(`cmake >= 3.18 (found ${cmake.split('\n')[0]})`);
}
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean).find((c) => have(c) !== null);
if (!cxx) missing.push('a C++17 compiler: g++ >= 8 or clang++ >= 7 (Debian/Ubuntu: apt-get install g++; or set CXX)');
if (!have('ninja') && !have('make')) missing.push('a build tool: make or ninja (Debian/Ubuntu: apt-get install make)');
const require = createRequire(join(root, 'package.json'));
const resolvable = (name) => {
  try {
    return require.resolve(`${name}/package.json`);
  } catch {
    return null;
  }
};
for (const [name, why] of [
  ['node-api-headers', 'the Node-API C headers'],
  ['node-addon-api', 'the node-addon-api C++ headers'],
  ['cmake-js', 'the cmake-js build driver'],
]) {
  if (!resolvable(name)) missing.push(`${name} (${why}; a dependency of @gnet/manager-native: reinstall it with npm install)`);
}
if (missing.length) {
  process.stderr.write(
    `@gnet/manager-native: cannot build the native addon from source${fromSource ? '' : ` (no prebuilt binary loads on ${process.platform}-${process.arch})`}. Missing:\n` +
      missing.map((m) => `  - ${m}\n`).join('') +
      'Install what is missing and run `npm rebuild @gnet/manager-native`, or set GNET_NATIVE_PATH to a built gnet_native.node.\n',
  );
  process.exit(1);
}

const cmakeJs = join(dirname(resolvable('cmake-js')), 'bin', 'cmake-js');
const jobs = String(Math.max(1, Math.min(availableParallelism(), 8)));
log(`building the addon from source with cmake-js (${cxx}, ${jobs} jobs)...`);
const t0 = Date.now();
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '-p', jobs, '-l', 'warn'], { cwd: root, stdio: 'inherit', env: { ...process.env, ...(cxx ? { CXX: process.env.CXX ?? cxx } : {}) } });
if (r.status !== 0) {
  process.stderr.write(`@gnet/manager-native: the source build failed (cmake-js exit ${r.status}); the compiler output is above.\n`);
  process.exit(1);
}
const built = join(root, 'build', 'Release', 'gnet_native.node');
const why = existsSync(built) ? loads(built) : 'not produced';
if (why !== null) {
  process.stderr.write(`@gnet/manager-native: built ${built} but it does not load: ${why}\n`);
  process.exit(1);
}
log(`built build/Release/gnet_native.node in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
