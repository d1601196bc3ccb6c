#!/usr/bin/env node
// `npm run gpu:bundle`: packs what a GPU machine with no Node and no package registry needs to run
// gnet's GPU tests and GPU benchmarks from a copy of this working tree (tools/gpu-check.sh): this
// Node binary, the built outputs (dist, the addon, the emulated kernels' .host.so) and the part of
// node_modules that vitest needs, with the workspace links. Writes `.gpu/` (git-ignored, about
// 45 MB); run it after `npm run build`. The tree plus `.gpu/` stays under the 64 MiB a device run
// may carry.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const out = join(root, '.gpu');

function fail(msg) {
  console.error(`gpu-bundle: ${msg}`);
  process.exit(1);
}

/** Node's lookup of package `name` from `fromDir`: the nearest node_modules/<name> up the tree. */
function resolvePackage(name, fromDir) {
  for (let d = fromDir; d.startsWith(root); d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (d === root) break;
  }
  return null;
}

/** The installed closure of `roots` (dependencies and installed optional ones), as package folders. */
function closure(roots) {
  const seen = new Set();
  const stack = roots.map((r) => resolvePackage(r, root) ?? fail(`${r} is not installed: run npm ci`));
  while (stack.length) {
    const dir = stack.pop();
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const p = resolvePackage(dep, dir);
      if (p) stack.push(p); // an optional dependency for another platform is absent: fine
    }
  }
  return [...seen].map((d) => relative(root, d)).filter((d) => d.startsWith('node_modules/'));
}

const packages = readdirSync(join(root, 'packages'));
const built = [];
for (const p of packages) {
  const dir = join('packages', p);
  if (!existsSync(join(root, dir, 'dist'))) fail(`${dir}/dist is missing: run npm run build first`);
  built.push(join(dir, 'dist'));
  const kernels = join(root, dir, 'kernels');
  if (existsSync(kernels)) for (const f of readdirSync(kernels)) if (f.endsWith('.host.so')) built.push(join(dir, 'kernels', f));
}
const addon = 'packages/manager-native/build/Release/gnet_native.node';
if (!existsSync(join(root, addon))) fail(`${addon} is missing: run npm run build first`);
built.push(addon);
const links = readdirSync(join(root, 'node_modules/@gnet')).map((n) => join('node_modules/@gnet', n));
for (const l of links) if (!realpathSync(join(root, l)).startsWith(join(root, 'packages'))) fail(`${l} is not a workspace link`);
const modules = closure(['vitest']);

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
// -h is not used: the @gnet links stay links, so the packages resolve to the tree's own folders.
const list = [...built, ...links, ...modules];
writeFileSync(join(out, 'files.txt'), `${list.join('\n')}\n`);
const tar = spawnSync('tar', ['-C', root, '-cJf', join(out, 'runtime.tar.xz'), '-T', join(out, 'files.txt')], {
  stdio: 'inherit',
  env: { ...process.env, XZ_OPT: '-6 -T0' },
});
if (tar.status !== 0) fail('tar failed');
const nodeXz = openSync(join(out, 'node.xz'), 'w');
const xz = spawnSync('xz', ['-6', '-T0', '-c', process.execPath], { stdio: ['ignore', nodeXz, 'inherit'] });
closeSync(nodeXz);
if (xz.status !== 0) fail('xz of the node binary failed');
writeFileSync(join(out, 'node-version.txt'), `${process.version}\n`);
// The router bench's full Internet table (../shared does not travel to the device): 2.8 MB.
const routes = join(root, '..', 'shared', 'data', 'routes', 'internet-prefixes.txt.gz');
if (existsSync(routes)) writeFileSync(join(out, 'internet-prefixes.txt.gz'), readFileSync(routes));
const mb = (f) => (statSync(join(out, f)).size / 2 ** 20).toFixed(1);
console.log(`gpu-bundle: .gpu/runtime.tar.xz ${mb('runtime.tar.xz')} MiB (${built.length} build outputs, ${modules.length} modules), .gpu/node.xz ${mb('node.xz')} MiB (${process.version})`);
console.log('gpu-bundle: on the device, from the repository root: bash tools/gpu-check.sh (carry: [".gpu"])');
