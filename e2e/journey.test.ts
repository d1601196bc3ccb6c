// The newcomer's journey outside the monorepo, with the packages as npm would deliver them: every
// workspace package is packed into a tarball (and checked: only what it needs, publint clean), then
// in empty folders under the OS temp dir
//   (a) a project installs the tarballs with npm, writes the first NF of the guide from its code,
//       runs it with `npx gnet run` over a pcap and checks the output (and the kernel version in
//       emulated mode, built with the installed gnet-compile-kernels; and an installed reference NF in
//       emulated mode, its kernel built on first use into the user cache);
//   (b) `gnet new --from <reference NF>` copies a reference NF as a template, installs, builds and
//       runs its tests there (GNET_JOURNEY_TEMPLATES=router,firewall,... picks which; default router).
// Each phase is timed; the closing JOURNEY line gives the minutes from an empty folder to the first
// packet processed by a new NF. Assumes `npm run build` ran (npm test's pretest does it). Skips,
// saying why, when the npm registry is unreachable (third-party dependencies come from it).
// GNET_JOURNEY_FROM_SOURCE=1 also times building @gnet/manager-native from source in (a).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arpFrame, readPcap, udpFrame } from '../packages/nflib/src/testing/index.js';
import { ttlGuardModel } from '../docs/guides/code/ttl-guard-model.js';
import { codeDir, lastJson, repo, run, type Ran } from './util.js';

const npm = 'npm';
const npmFlags = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
const templates = (process.env.GNET_JOURNEY_TEMPLATES ?? 'router').split(',').filter(Boolean);
/** The packages a plain NF project installs (the reference NFs are not needed for its own NF). */
const CORE = ['enso', 'manager-native', 'nflib', 'framework'];

const workspaces: string[] = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).workspaces;
const names = workspaces.map((w) => w.replace(/^packages\//, ''));

function why(): string | null {
  const missing = names.filter((n) => !existsSync(join(repo, 'packages', n, 'dist')));
  if (missing.length) return `not built (${missing.join(', ')} have no dist): run npm run build first`;
  const ping = run(npm, ['ping', '--loglevel=error'], { timeout: 20_000 });
  if (ping.code !== 0) return `the npm registry is unreachable (npm ping: ${ping.stderr.trim().split('\n').pop()})`;
  return null;
}
const skip = why();
if (skip) console.log(`journey tests skipped: ${skip}`);

const root = mkdtempSync(join(tmpdir(), 'gnet-journey-'));
const tgzDir = join(root, 'tarballs');
const tarballs = new Map<string, string>();
const times: Record<string, number> = {};
const notes: string[] = [];
afterAll(() => {
  if (!skip && times.firstPacket !== undefined) {
    const total = times.npmInit + times.install + times.writeNf + times.firstRun;
    const line = {
      emptyFolderToFirstPacketMin: +(total / 60).toFixed(2),
      ...Object.fromEntries(Object.entries(times).map(([k, v]) => [`${k}S`, +v.toFixed(1)])),
      notes,
    };
    console.log(
      `JOURNEY ${JSON.stringify(line)}\n` +
        `journey: ${line.emptyFolderToFirstPacketMin} min from an empty folder to the first packet processed by a new NF ` +
        `(npm init ${times.npmInit.toFixed(1)} s, npm install ${times.install.toFixed(1)} s, write NF + pcap ${times.writeNf.toFixed(1)} s, first gnet run ${times.firstRun.toFixed(1)} s)`,
    );
  }
  rmSync(root, { recursive: true, force: true });
});

function ok(r: Ran, what: string): Ran {
  expect(r.code, `${what} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
  return r;
}

describe.skipIf(skip !== null)('journey: packages as npm delivers them', () => {
  beforeAll(() => {
    mkdirSync(tgzDir);
    const t0 = performance.now();
    for (const name of names) {
      const r = ok(run(npm, ['pack', '--workspace', `packages/${name}`, '--pack-destination', tgzDir, '--json', '--loglevel=error'], { cwd: repo, timeout: 120_000 }), `npm pack ${name}`);
      const [info] = JSON.parse(r.stdout) as { filename: string }[];
      tarballs.set(name, join(tgzDir, info.filename));
    }
    times.pack = (performance.now() - t0) / 1000;
  });

  it('every package packs with only what it needs: entry points present, no tests or TypeScript sources', () => {
    const problems: string[] = [];
    for (const name of names) {
      const list = run('tar', ['tzf', tarballs.get(name) as string]).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
      const pkg = JSON.parse(readFileSync(join(repo, 'packages', name, 'package.json'), 'utf8'));
      const need = ['package.json', 'README.md', 'LICENSE'];
      const targets = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(targets) : []);
      for (const t of [...targets(pkg.exports), ...targets(pkg.bin), pkg.main, pkg.types].filter(Boolean)) need.push(String(t).replace(/^\.\//, ''));
      if (name === 'manager-native') need.push('CMakeLists.txt', 'scripts/install.mjs', 'include/gnet_kernel.h', 'src/native/addon.cc');
      for (const f of new Set(need)) if (!list.includes(f)) problems.push(`${name}: ${f} is not packed`);
      for (const f of list) {
        if (f.startsWith('templates/')) continue; // gnet new's templates ship with their tests
        // Reference NFs may ship src/ and test/: `gnet new --from <nf>` copies them from the installed package.
        const sources = name.startsWith('nf-') ? /^(src|test)\//.test(f) : false;
        if (sources) continue;
        if (/(^|\/)(test|tests|bench|node_modules)\//.test(f) || /\.host\.so$/.test(f) || (/^src\/.*\.ts$/.test(f) && !f.startsWith('src/native/'))) problems.push(`${name}: ${f} should not be packed`);
      }
    }
    // The reference NFs' packaging belongs to their owners: reported here, enforced for the core packages.
    const nfProblems = problems.filter((p) => p.startsWith('nf-'));
    if (nfProblems.length) console.log(`journey: packaging of the reference NFs:\n  ${nfProblems.join('\n  ')}`);
    expect(problems.filter((p) => !p.startsWith('nf-'))).toEqual([]);
  });

  it('every package passes publint (warnings are failures)', async () => {
    const failures: string[] = [];
    for (const name of names) {
      const tarball = readFileSync(tarballs.get(name) as string);
      const result = await publint({ pkgDir: 'package', level: 'warning', strict: true, pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) } });
      for (const m of result.messages) failures.push(`${name}: [${m.type}] ${formatMessage(m, result.pkg) ?? m.code}`);
    }
    const nf = failures.filter((f) => f.startsWith('nf-'));
    if (nf.length) console.log(`journey: publint on the reference NFs:\n  ${nf.join('\n  ')}`);
    expect(failures.filter((f) => !f.startsWith('nf-'))).toEqual([]);
  });

  describe('(a) the first NF of the guide in a fresh project', () => {
    const project = join(root, 'my-first-nf');
    const frames = Array.from({ length: 1000 }, (_, i) => (i % 100 === 50 ? arpFrame() : udpFrame(i, 1 + (i % 8))));
    const want = ttlGuardModel(frames);

    it('npm init, npm install (the addon: prebuilt or built at install), write the NF, gnet run: the first packets', () => {
      mkdirSync(project);
      let t0 = performance.now();
      ok(run(npm, ['init', '-y', '--loglevel=error'], { cwd: project }), 'npm init');
      ok(run(npm, ['pkg', 'set', 'allowScripts[@gnet/manager-native]=true', '--json'], { cwd: project }), 'npm pkg set');
      times.npmInit = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const install = ok(run(npm, ['install', ...CORE.map((n) => tarballs.get(n) as string), ...npmFlags, '--foreground-scripts'], { cwd: project, timeout: 240_000 }), 'npm install');
      times.install = (performance.now() - t0) / 1000;
      const addon = /@gnet\/manager-native: (using the prebuilt addon|built build\/Release\/gnet_native.node)[^\n]*/.exec(install.stdout + install.stderr);
      expect(addon, `the addon's install script did not run:\n${install.stdout}\n${install.stderr}`).not.toBeNull();
      notes.push(`addon: ${addon?.[0].replace('@gnet/manager-native: ', '')}`);
      // The guide's steps 2 and 3: its files, as the guide shows them.
      t0 = performance.now();
      for (const f of ['make-input.mjs', 'my-nf.mjs']) cpSync(join(codeDir, f), join(project, f));
      ok(run(process.execPath, ['make-input.mjs', 'in.pcap'], { cwd: project }), 'node make-input.mjs');
      times.writeNf = (performance.now() - t0) / 1000;
      // Step 4, with the installed bin.
      t0 = performance.now();
      const r = ok(run(npm, ['exec', '--', 'gnet', 'run', '--chain', './my-nf.mjs', '--in', 'pcap:in.pcap', '--out', 'pcap:out.pcap'], { cwd: project, timeout: 60_000 }), 'npx gnet run');
      times.firstRun = (performance.now() - t0) / 1000;
      times.firstPacket = times.npmInit + times.install + times.writeNf + times.firstRun;
      expect(readPcap(join(project, 'in.pcap')).map((f) => f.bytes)).toEqual(frames);
      expect(readPcap(join(project, 'out.pcap')).map((f) => f.bytes)).toEqual(want);
      expect(lastJson(r.stdout)).toMatchObject({ rx: 1000, tx: want.length, inFlight: 0, nfs: { 'ttl-guard': { counters: { ttl_expired: 1000 - want.length, not_ipv4: 10 } } } });
      // Resolved from the project, not from the monorepo.
      expect(r.stderr).not.toContain(repo);
    });

    it('the kernel version: gnet-compile-kernels from the installed package, emulated mode writes the same bytes', () => {
      mkdirSync(join(project, 'kernels'), { recursive: true });
      for (const f of ['my-gpu-nf.mjs', 'kernels/ttl.cu', 'kernels/ttl.ptx']) cpSync(join(codeDir, f), join(project, f));
      const t0 = performance.now();
      const k = ok(run(npm, ['exec', '--', 'gnet-compile-kernels', '.'], { cwd: project, timeout: 120_000 }), 'gnet-compile-kernels');
      times.kernels = (performance.now() - t0) / 1000;
      if (!existsSync(join(project, 'kernels', 'ttl.host.so'))) return void console.log(`journey: emulated mode skipped: ${k.stdout}`);
      const r = ok(run(npm, ['exec', '--', 'gnet', 'run', '--chain', './my-gpu-nf.mjs', '--mode', 'emulated', '--in', 'pcap:in.pcap', '--out', 'pcap:out-emulated.pcap'], { cwd: project, timeout: 60_000 }), 'gnet run --mode emulated');
      expect(r.stderr).toContain('gnet: NF ttl-guard: emulated mode');
      expect(readPcap(join(project, 'out-emulated.pcap')).map((f) => f.bytes)).toEqual(want);
    });

    it('an installed reference NF runs in emulated mode: its kernel is built on first use, into the user cache', () => {
      ok(run(npm, ['install', tarballs.get('nf-router') as string, ...npmFlags], { cwd: project, timeout: 240_000 }), 'npm install @gnet/nf-router');
      writeFileSync(join(project, 'router.json'), JSON.stringify({ router: { routes: ['0.0.0.0/0 1', '10.1.0.0/16 0'], ports: { 1: { mac: '02:00:00:00:00:b0' } }, nexthops: { 0: { port: 1, mac: '02:00:00:00:0a:02' }, 1: { port: 1, mac: '02:00:00:00:0b:02' } } } }));
      const gnetRun = (mode: string, out: string) => ['exec', '--', 'gnet', 'run', '--chain', 'router', '--config', 'router.json', '--mode', mode, '--in', 'pcap:in.pcap', '--out', `pcap:${out}`];
      ok(run(npm, gnetRun('cpu', 'router-cpu.pcap'), { cwd: project, timeout: 60_000 }), 'gnet run --chain router --mode cpu');
      const env = { ...process.env, GNET_KERNEL_CACHE: join(project, 'kernel-cache') };
      const em = ok(run(npm, gnetRun('emulated', 'router-emulated.pcap'), { cwd: project, timeout: 120_000, env }), 'gnet run --chain router --mode emulated');
      if (!em.stderr.includes('for the emulated device from')) return void console.log(`journey: installed router in emulated mode: no build on first use?\n${em.stderr}`);
      expect(existsSync(join(project, 'node_modules', '@gnet', 'nf-router', 'kernels', 'lpm.host.so'))).toBe(false);
      const cpu = readPcap(join(project, 'router-cpu.pcap')).map((f) => f.bytes);
      expect(cpu.length).toBeGreaterThan(0);
      expect(readPcap(join(project, 'router-emulated.pcap')).map((f) => f.bytes)).toEqual(cpu);
      // Built once: the next run loads it from the cache.
      const again = ok(run(npm, gnetRun('emulated', 'router-emulated-2.pcap'), { cwd: project, timeout: 120_000, env }), 'gnet run --mode emulated again');
      expect(again.stderr).not.toContain('for the emulated device from');
    });

    it('without a toolchain, the addon install names exactly what is missing', () => {
      const script = join(project, 'node_modules', '@gnet', 'manager-native', 'scripts', 'install.mjs');
      // A PATH with node alone: no cmake, no compiler, no make/ninja.
      const bin = join(root, 'node-only-bin');
      mkdirSync(bin, { recursive: true });
      cpSync(process.execPath, join(bin, 'node'));
      const r = run(join(bin, 'node'), [script], { cwd: dirname(dirname(script)), env: { PATH: bin, HOME: process.env.HOME, GNET_NATIVE_FROM_SOURCE: '1', CXX: '' }, timeout: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('cannot build the native addon from source');
      expect(r.stderr).toMatch(/- cmake >= 3\.18/);
      expect(r.stderr).toMatch(/- a C\+\+17 compiler/);
      expect(r.stderr).toMatch(/- a build tool: make or ninja/);
      expect(r.stderr).not.toMatch(/node-api-headers|node-addon-api|cmake-js \(/);
    });

    it.skipIf(process.env.GNET_JOURNEY_FROM_SOURCE !== '1')('GNET_JOURNEY_FROM_SOURCE=1: the addon builds from source with cmake-js and loads', () => {
      const pkg = join(project, 'node_modules', '@gnet', 'manager-native');
      const t0 = performance.now();
      ok(run(process.execPath, ['scripts/install.mjs', '--from-source'], { cwd: pkg, timeout: 600_000 }), 'source build');
      times.nativeFromSource = (performance.now() - t0) / 1000;
      ok(run(npm, ['exec', '--', 'gnet', 'run', '--chain', './my-nf.mjs', '--in', 'pcap:in.pcap', '--out', 'pcap:out2.pcap'], { cwd: project }), 'gnet run after the source build');
    });
  });

  describe.each(templates)('(b) gnet new --from %s: the reference NF as a template', (nf) => {
    it('copies, installs, builds (tsup + kernels) and passes its own tests outside the monorepo', () => {
      const source = join(repo, 'packages', `nf-${nf}`);
      const work = join(root, `templates-${nf}`);
      mkdirSync(work);
      const t0 = performance.now();
      // The installed gnet of (a) makes the copy (from the repository's sources: the packed
      // reference NFs ship no sources yet).
      const created = ok(run(process.execPath, [join(root, 'my-first-nf', 'node_modules', '@gnet', 'nflib', 'dist', 'cli.js'), 'new', `my-${nf}`, '--from', source], { cwd: work }), 'gnet new');
      expect(created.stdout).toContain(`created my-${nf}`);
      if (created.stderr) notes.push(`gnet new --from ${nf}: ${created.stderr.trim()}`);
      const dir = join(work, `my-${nf}`);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const gnetDeps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d.startsWith('@gnet/'));
      const local = gnetDeps.map((d) => tarballs.get(d.replace('@gnet/', ''))).filter((t): t is string => t !== undefined);
      ok(run(npm, ['install', ...local, ...npmFlags], { cwd: dir, timeout: 240_000 }), `npm install in my-${nf}`);
      times[`template_${nf}_install`] = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const test = run(npm, ['test'], { cwd: dir, timeout: 280_000, env: { ...process.env, VITEST: undefined, VITEST_POOL_ID: undefined, VITEST_WORKER_ID: undefined, NODE_OPTIONS: undefined } });
      times[`template_${nf}_test`] = (performance.now() - t1) / 1000;
      if (test.code !== 0) {
        const tree = readdirSync(dir).join(' ');
        notes.push(`template ${nf}: npm test failed`);
        expect.fail(`npm test in a copy of nf-${nf} failed (exit ${test.code}); files: ${tree}\n${test.stdout.slice(-4000)}\n${test.stderr.slice(-2000)}`);
      }
      writeFileSync(join(root, `template-${nf}.log`), test.stdout);
    });
  });
});
