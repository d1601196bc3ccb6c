// `gnet new`: the copy, the renames and the rewrites that make a template work outside the monorepo;
// the inlined tool versions and configs equal the repository's; the empty template builds, type-checks
// and passes its own tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProject, TOOL_VERSIONS, TSCONFIG_BASE, TSUP_BASE, validPackageName } from '../src/cli/new-command.js';
import { UsageError } from '../src/cli/options.js';

const repo = join(__dirname, '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'gnet-new-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('gnet new: what it inlines matches the repository', () => {
  it('tool versions are the root package.json devDependencies', () => {
    const root = json(join(repo, 'package.json'));
    for (const [name, version] of Object.entries(TOOL_VERSIONS)) expect(root.devDependencies[name], name).toBe(version);
  });
  it('tsconfig compiler options are tsconfig.base.json', () => {
    expect(TSCONFIG_BASE).toEqual(json(join(repo, 'tsconfig.base.json')).compilerOptions);
  });
  it('the tsup settings are tools/tsup.base.mjs', () => {
    const body = (s: string) => /return defineConfig\(\{[\s\S]*?\}\);/.exec(s)?.[0];
    expect(body(TSUP_BASE)).toBeDefined();
    expect(body(TSUP_BASE)).toBe(body(readFileSync(join(repo, 'tools', 'tsup.base.mjs'), 'utf8')));
  });
});

describe('gnet new: a monorepo-style NF becomes a standalone project', () => {
  // A reference NF as the monorepo lays it out, with everything that only resolves there.
  const src = join(tmp, 'repo', 'packages', 'nf-fake');
  mkdirSync(join(src, 'src'), { recursive: true });
  mkdirSync(join(src, 'test'));
  mkdirSync(join(src, 'kernels'));
  mkdirSync(join(src, 'dist'));
  mkdirSync(join(src, 'node_modules'));
  writeFileSync(
    join(src, 'package.json'),
    JSON.stringify({
      name: '@gnet/nf-fake',
      version: '0.1.0',
      type: 'module',
      exports: { './nf': './dist/nf.js' },
      bin: { 'nf-fake': './dist/cli.js' },
      scripts: { build: 'tsup', kernels: 'gnet-compile-kernels .' },
      dependencies: { '@gnet/framework': '0.1.0', '@gnet/nflib': 'workspace:*', '@gnet/enso': '*' },
      nx: { targets: {} },
    }),
  );
  writeFileSync(join(src, 'tsup.config.mjs'), "import { gnetTsup } from '../../tools/tsup.base.mjs';\n\nexport default gnetTsup({ entry: ['src/index.ts', 'src/nf.ts'] });\n");
  writeFileSync(join(src, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'test'] }));
  writeFileSync(join(src, 'src', 'nf.ts'), "import { startNf } from '@gnet/framework';\n// @gnet/nf-fake's hooks\n");
  writeFileSync(
    join(src, 'test', 'util.ts'),
    [
      "export { readPcap, writePcap } from '../../nflib/test/pcap-util.js';",
      "export { createVethPair } from '../../enso/test/afpacket-netns.js';",
      "export { expectDualPackage } from '../../../tools/package-smoke.js';",
      "export { other } from '../../framework/test/other.js';",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(src, 'test', 'nf.test.ts'),
    "// the NF through gnet run\nimport { join } from 'node:path';\nimport { readPcap } from './util.js';\nconst name = '@gnet/nf-fake';\nconst cli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');\n",
  );
  writeFileSync(join(src, 'kernels', 'k.cu'), '// kernel\n');
  writeFileSync(join(src, 'kernels', 'k.ptx'), '// ptx\n');
  writeFileSync(join(src, 'kernels', 'k.host.so'), 'binary');
  writeFileSync(join(src, 'dist', 'nf.js'), '');
  writeFileSync(join(src, 'README.md'), '# @gnet/nf-fake\n');

  const out = join(tmp, 'out', 'my-fake');
  const r = createProject(out, { from: src, name: '@acme/fake-nf' });

  it('copies sources, tests and kernels but no build outputs or installs', () => {
    expect(r.name).toBe('@acme/fake-nf');
    for (const f of ['src/nf.ts', 'test/util.ts', 'test/nf.test.ts', 'kernels/k.cu', 'kernels/k.ptx', 'README.md', '.gitignore', 'vitest.config.mjs']) expect(existsSync(join(out, f)), f).toBe(true);
    for (const f of ['kernels/k.host.so', 'dist', 'node_modules']) expect(existsSync(join(out, f)), f).toBe(false);
  });

  it('package.json: new name and bin, published @gnet versions, pinned tools, kernels before tests, install scripts allowed', () => {
    const pkg = json(join(out, 'package.json'));
    expect(pkg.name).toBe('@acme/fake-nf');
    expect(pkg.bin).toEqual({ 'fake-nf': './dist/cli.js' });
    expect(pkg.nx).toBeUndefined();
    expect(pkg.dependencies).toEqual({ '@gnet/enso': '0.1.0', '@gnet/framework': '0.1.0', '@gnet/nflib': '0.1.0' });
    expect(pkg.devDependencies).toEqual(TOOL_VERSIONS);
    expect(pkg.scripts).toMatchObject({ build: 'tsup', kernels: 'gnet-compile-kernels .', pretest: 'npm run build && npm run kernels', test: 'vitest run' });
    expect(pkg.allowScripts).toEqual({ '@gnet/manager-native': true });
    expect(pkg.gnet).toEqual({ nf: 'fake' });
  });

  it('tsup and tsconfig are self-contained', () => {
    const tsup = readFileSync(join(out, 'tsup.config.mjs'), 'utf8');
    expect(tsup).not.toContain('tools/tsup.base.mjs');
    expect(tsup).toContain("import { defineConfig } from 'tsup';");
    expect(tsup).toContain("export default gnetTsup({ entry: ['src/index.ts', 'src/nf.ts'] });");
    const tsc = json(join(out, 'tsconfig.json'));
    expect(tsc.extends).toBeUndefined();
    expect(tsc.compilerOptions).toEqual(TSCONFIG_BASE);
    expect(tsc.include).toEqual(['src', 'test']);
  });

  it('test helpers come from @gnet/nflib/testing; the old name is replaced; what still points outside is reported', () => {
    const util = readFileSync(join(out, 'test', 'util.ts'), 'utf8');
    expect(util).toContain("export { readPcap, writePcap } from '@gnet/nflib/testing';");
    expect(util).toContain("export { createVethPair } from '@gnet/nflib/testing';");
    expect(util).toContain("export { expectDualPackage } from '@gnet/nflib/testing';");
    const test = readFileSync(join(out, 'test', 'nf.test.ts'), 'utf8');
    expect(test).toContain("const name = '@acme/fake-nf';");
    // The monorepo path of the gnet CLI becomes the installed one.
    expect(test).toContain("// the NF through gnet run\nimport { gnetCli } from '@gnet/nflib/testing';\nimport { join } from 'node:path';");
    expect(test).toContain('const cli = gnetCli;');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('# @acme/fake-nf\n');
    expect(r.warnings).toEqual(['test/util.ts: ../../framework/test/other.js']);
    expect(r.rewritten).toEqual(expect.arrayContaining(['package.json', 'tsup.config.mjs', 'tsconfig.json', 'test/util.ts', 'test/nf.test.ts', 'README.md']));
  });

  it('refuses bad names, non-empty folders and unknown templates with usage errors', () => {
    expect(validPackageName('my-nf')).toBe(true);
    expect(validPackageName('@acme/my-nf')).toBe(true);
    expect(validPackageName('My NF')).toBe(false);
    expect(() => createProject(join(tmp, 'Bad Name'), { from: 'empty' })).toThrow(UsageError);
    expect(() => createProject(out, { from: 'empty' })).toThrow(/not empty/);
    expect(() => createProject(join(tmp, 'x'), { from: join(tmp, 'nowhere') })).toThrow(/neither a template/);
    expect(createProject(out, { from: 'empty', force: true }).name).toBe('my-fake');
  });

  it('--from router resolves the monorepo sibling package', () => {
    if (!existsSync(join(repo, 'packages', 'nf-router', 'src'))) return void console.log('skipped: packages/nf-router/src missing');
    const p = createProject(join(tmp, 'my-router'), { from: 'router' });
    expect(p.source).toBe(join(repo, 'packages', 'nf-router'));
    expect(json(join(tmp, 'my-router', 'package.json')).name).toBe('my-router');
  });
});

describe('@gnet/nflib/testing, what templates import', () => {
  it('resolves as ESM and CJS through the exports map with the same names, and finds the gnet CLI', async () => {
    const { expectDualPackage } = await import('../src/testing/index.js');
    const mod = await expectDualPackage('@gnet/nflib/testing', join(__dirname, '..'));
    for (const name of ['writePcap', 'readPcap', 'udpFrame', 'ipv4Frame', 'runGnet', 'liveSkipReason', 'expectDualPackage']) expect(typeof mod[name], name).toBe('function');
    expect(mod.gnetCli).toBe(join(__dirname, '..', 'dist', 'cli.js'));
  });

  it('ipv4Frame writes valid IPv4, UDP and TCP checksums (each verifies to 0)', async () => {
    const { ipv4Frame, ipChecksum, ip4 } = await import('../src/testing/index.js');
    for (const proto of [17, 6]) {
      for (const payload of [0, 1, 18, 33]) {
        const b = ipv4Frame({ proto, payload, src: ip4('192.0.2.1'), dst: ip4('198.51.100.7'), sport: 4321, dport: 80, ttl: 9 });
        expect(ipChecksum(b, 14, 20)).toBe(0);
        const seg = b.length - 34;
        const pseudo = new Uint8Array(12 + seg + (seg & 1));
        pseudo.set(b.subarray(26, 34), 0);
        pseudo[9] = proto;
        pseudo[10] = seg >> 8;
        pseudo[11] = seg & 0xff;
        pseudo.set(b.subarray(34), 12);
        expect(ipChecksum(pseudo, 0, pseudo.length), `proto ${proto} payload ${payload}`).toBe(0);
        expect(b[22]).toBe(9);
      }
    }
    expect(() => ip4('10.0.0.256')).toThrow(/not an IPv4 address/);
  });
});

describe('gnet new --from empty: the template builds, type-checks and passes its tests', () => {
  it('through the gnet CLI, then tsup, tsc --noEmit and vitest in the new project', () => {
    const cli = join(__dirname, '..', 'dist', 'cli.js');
    if (!existsSync(cli)) return void console.log('skipped: build @gnet/nflib first (dist/cli.js missing)');
    const r = spawnSync(process.execPath, [cli, 'new', 'my-nf', '--from', 'empty'], { cwd: tmp, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('gnet new: created my-nf');
    expect(r.stdout).toContain('npm install');
    const dir = join(tmp, 'my-nf');
    // Installed packages: the monorepo's (its @gnet/* are the workspace packages).
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    const bin = (name: string) => join(repo, 'node_modules', '.bin', name);
    for (const [cmd, args] of [
      [bin('tsup'), []],
      [bin('tsc'), ['--noEmit', '-p', '.']],
      [bin('vitest'), ['run']],
    ] as const) {
      const s = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, VITEST: undefined, NODE_OPTIONS: undefined } });
      expect(s.status, `${cmd}: ${s.stdout}${s.stderr}`).toBe(0);
    }
    expect(json(join(dir, 'package.json')).name).toBe('my-nf');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('# my-nf');
  });
});
