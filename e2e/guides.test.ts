// The guides' code (docs/guides/code) cannot rot: each fenced block tied to a file equals that file,
// the code type-checks, and every example runs here: the first NF over a pcap (checked byte by byte
// against an independent model), its kernel version in emulated mode (and gpu mode on a GPU), the
// two-NF chain, multi-process mode, the benchmark script and, as root, the live-interface walk.
// All of it runs in scratch folders under the OS temp dir whose node_modules link to the monorepo's.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHostKernel, gpuInfo, hostCompiler } from '@gnet/manager-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arpFrame, deleteNamespaces, framesAt, liveSkipReason, readPcap, udpFrame, writePcap } from '../packages/nflib/src/testing/index.js';
import { ttlGuardModel } from '../docs/guides/code/ttl-guard-model.js';
import { codeDir, codeFiles, guideBlocks, lastJson, linkedGuideProject, repo, run } from './util.js';

const cli = join(repo, 'packages', 'nflib', 'dist', 'cli.js');
const dir = linkedGuideProject('code');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ttl-guard.test.ts is the guide's own test: importing it registers its test here, run against the
// copy of my-nf.mjs in the scratch folder.
process.env.TTL_GUARD_NF = join(dir, 'my-nf.mjs');
await import('../docs/guides/code/ttl-guard.test.js');

const frames = Array.from({ length: 1000 }, (_, i) => (i % 100 === 50 ? arpFrame() : udpFrame(i, 1 + (i % 8))));
const want = ttlGuardModel(frames);
writePcap(join(dir, 'in.pcap'), framesAt(frames));

function gnet(args: string[], timeout = 60_000) {
  return run(process.execPath, [cli, ...args], { cwd: dir, timeout });
}

describe('guides: the code in the markdown is the tested code', () => {
  it('every file-tied fenced block equals its file, and every code file appears in a guide', () => {
    const blocks = guideBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const b of blocks) expect(b.text, `${b.guide}: ${b.file}`).toBe(readFileSync(join(codeDir, '..', b.file), 'utf8'));
    const shown = new Set(blocks.map((b) => b.file.replace(/^code\//, '')));
    const unshown = codeFiles().filter((f) => !shown.has(f) && !f.endsWith('.ptx'));
    expect(unshown, 'code files no guide shows').toEqual([]);
  });

  it('the code type-checks (tsc --noEmit: .ts strict, .mjs with checkJs)', () => {
    const base = { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] };
    writeFileSync(join(dir, 'tsconfig.ts.json'), JSON.stringify({ compilerOptions: base, include: ['*.ts'] }));
    // JavaScript cannot say "the device is there in initHostBuf" without casts: null checks off.
    writeFileSync(join(dir, 'tsconfig.js.json'), JSON.stringify({ compilerOptions: { ...base, allowJs: true, checkJs: true, strictNullChecks: false }, include: ['*.mjs'] }));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const config of ['tsconfig.ts.json', 'tsconfig.js.json']) {
      const r = run(process.execPath, [tsc, '-p', config], { cwd: dir });
      expect(r.code, `${config}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});

describe('guide: Your first NF in 10 minutes', () => {
  it('make-input.mjs writes the pcap the guide describes', () => {
    const r = run(process.execPath, ['make-input.mjs', 'made.pcap'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readPcap(join(dir, 'made.pcap')).map((f) => f.bytes)).toEqual(frames);
  });

  it('my-nf.mjs through gnet run: the summary line of the guide and the model output', () => {
    const r = gnet(['run', '--chain', './my-nf.mjs', '--in', 'pcap:in.pcap', '--out', 'pcap:out.pcap']);
    expect(r.code, r.stderr).toBe(0);
    expect(readPcap(join(dir, 'out.pcap')).map((f) => f.bytes)).toEqual(want);
    const md = readFileSync(join(codeDir, '..', 'first-nf.md'), 'utf8');
    const shown = JSON.parse(/```json\n(.*)\n```/.exec(md)?.[1] ?? 'null');
    expect(lastJson(r.stdout)).toEqual(shown);
  });

  const noCxx = hostCompiler() === undefined ? 'no host C++ compiler (g++ or $CXX)' : undefined;
  if (noCxx) console.log(`kernel guide: emulated mode skipped: ${noCxx}`);
  it.skipIf(noCxx !== undefined)('my-gpu-nf.mjs: cpu and emulated modes write the bytes of my-nf.mjs; the committed PTX is fresh', () => {
    const check = run(process.execPath, [join(repo, 'packages', 'manager-native', 'scripts', 'compile-kernels.mjs'), '--check', '.'], { cwd: dir });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    buildHostKernel(join(dir, 'kernels', 'ttl.cu'));
    for (const mode of ['cpu', 'emulated']) {
      const r = gnet(['run', '--chain', './my-gpu-nf.mjs', '--mode', mode, '--in', 'pcap:in.pcap', '--out', `pcap:out-${mode}.pcap`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`gnet: NF ttl-guard: ${mode} mode`);
      expect(readPcap(join(dir, `out-${mode}.pcap`)).map((f) => f.bytes)).toEqual(want);
      expect(lastJson(r.stdout)).toMatchObject({ rx: 1000, tx: want.length, nfs: { 'ttl-guard': { counters: { ttl_expired: 1000 - want.length, not_ipv4: 10 } } } });
    }
  });
});

describe('guide: Running on a GPU', () => {
  const gpu = gpuInfo();
  it('gpu-check.mjs says what auto mode will find', () => {
    const r = run(process.execPath, ['gpu-check.mjs'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(gpu.available ? /^gpu 0: / : /^no usable GPU: /);
  });
  if (!gpu.available) console.log(`gpu guide: gpu mode skipped: no usable GPU (${gpu.reason})`);
  it.skipIf(!gpu.available)('my-gpu-nf.mjs in gpu mode writes the same bytes', () => {
    const r = gnet(['run', '--chain', './my-gpu-nf.mjs', '--mode', 'gpu', '--in', 'pcap:in.pcap', '--out', 'pcap:out-gpu.pcap']);
    expect(r.code, r.stderr).toBe(0);
    expect(readPcap(join(dir, 'out-gpu.pcap')).map((f) => f.bytes)).toEqual(want);
  });
});

describe('guide: How a packet flows', () => {
  it('split-nf.mjs,my-nf.mjs: IPv4 through the guard on port 1, the rest straight out on port 2; the same with + (one thread)', () => {
    const ipv4 = want.filter((b) => b[12] === 0x08 && b[13] === 0x00);
    for (const chain of ['./split-nf.mjs,./my-nf.mjs', './split-nf.mjs+./my-nf.mjs']) {
      const r = gnet(['run', '--chain', chain, '--in', 'pcap:in.pcap', '--out', 'pcap:ipv4.pcap', '--port', 'null']);
      expect(r.code, r.stderr).toBe(0);
      expect(readPcap(join(dir, 'ipv4.pcap')).map((f) => f.bytes)).toEqual(ipv4);
      expect(lastJson(r.stdout)).toMatchObject({ rx: 1000, tx: want.length, nfs: { split: { rx: 1000 }, 'ttl-guard': { rx: 990, counters: { not_ipv4: 0 } } } });
    }
  });
});

describe('guide: Live interfaces and multi-process mode', () => {
  it('multi-process: gnet manager + node my-nf.mjs -r 1 -m NAME gives the output of gnet run', async () => {
    const name = `guide-mp-${process.pid}`;
    const manager = spawn(process.execPath, [cli, 'manager', '--name', name, '--chain', '1', '--in', 'pcap:in.pcap', '--out', 'pcap:out-mp.pcap'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    manager.stdout.on('data', (d) => (out += d));
    manager.stderr.on('data', (d) => (err += d));
    // An NF joins a manager that exists: wait until it says it waits for NFs.
    for (const t0 = Date.now(); !err.includes('waiting for NFs') && Date.now() - t0 < 15_000 && manager.exitCode === null; ) await new Promise((r) => setTimeout(r, 50));
    const nf = spawn(process.execPath, ['my-nf.mjs', '-r', '1', '-m', name], { cwd: dir, stdio: 'ignore' });
    const code = await exited(manager, 30_000);
    nf.kill('SIGTERM');
    await exited(nf, 10_000);
    rmSync(`/dev/shm/gnet-${name}`, { force: true }); // left behind only by a killed manager
    expect(code, err).toBe(0);
    expect(readPcap(join(dir, 'out-mp.pcap')).map((f) => f.bytes)).toEqual(want);
    expect(lastJson(out)).toMatchObject({ rx: 1000, tx: want.length, inFlight: 0 });
  });

  const live = liveSkipReason() ?? (spawnSync('ethtool', ['--version']).status === 0 ? null : 'needs ethtool (veth checksum offload off)');
  if (live) console.log(`live-interface guide skipped: ${live}`);
  describe.skipIf(live !== null)('live interfaces (root, network namespaces)', () => {
    const prefix = 'gnet-guide-';
    const [left, gw, right] = ['left', 'gw', 'right'].map((n) => `${prefix}${n}`);
    let gnetProc: ChildProcess | undefined;
    const ip = (...args: string[]) => {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    };
    beforeAll(() => {
      deleteNamespaces(prefix);
      // The guide's commands, with namespaced names.
      for (const ns of [left, gw, right]) ip('netns', 'add', ns);
      ip('-n', left, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'l0', 'netns', gw);
      ip('-n', right, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'r0', 'netns', gw);
      ip('-n', left, 'addr', 'add', '10.9.0.1/24', 'dev', 'eth0');
      ip('-n', right, 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0');
      for (const ns of [left, gw, right]) {
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      }
      ip('-n', left, 'link', 'set', 'eth0', 'up');
      ip('-n', right, 'link', 'set', 'eth0', 'up');
      for (const ns of [left, right]) spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off'], { stdio: 'ignore' });
      ip('-n', gw, 'link', 'set', 'l0', 'up');
      ip('-n', gw, 'link', 'set', 'r0', 'up');
    });
    afterAll(async () => {
      if (gnetProc && gnetProc.exitCode === null) {
        gnetProc.kill('SIGKILL');
        await exited(gnetProc, 5_000);
      }
      deleteNamespaces(prefix);
    });

    it('the TTL guard between two namespaces passes TTL 64 and drops TTL 1', async () => {
      gnetProc = spawn('ip', ['netns', 'exec', gw, process.execPath, cli, 'run', '--chain', './my-nf.mjs', '--in', 'afpacket:l0', '--out', 'afpacket:r0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      gnetProc.stdout?.on('data', (d) => (out += d));
      gnetProc.stderr?.on('data', (d) => (err += d));
      const deadline = Date.now() + 15_000;
      while (!err.includes('cpu mode') && Date.now() < deadline && gnetProc.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500)); // the NF worker is up; let the rings open
      const recv = spawn('ip', ['netns', 'exec', right, process.execPath, 'live-udp.mjs', 'recv', '9999', '3000'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let got = '';
      recv.stdout?.on('data', (d) => (got += d));
      await new Promise((r) => setTimeout(r, 700)); // the receiver binds
      for (const ttl of ['64', '1']) {
        const s = run('ip', ['netns', 'exec', left, process.execPath, 'live-udp.mjs', 'send', '10.9.0.2', '9999', '100', ttl], { cwd: dir, timeout: 10_000 });
        expect(s.code, s.stderr).toBe(0);
      }
      await exited(recv, 10_000);
      gnetProc.kill('SIGINT');
      await exited(gnetProc, 10_000);
      expect(JSON.parse(got.trim()), err).toEqual({ received: 100 });
      const summary = lastJson(out) as { nfs: Record<string, { counters: Record<string, number> }> };
      expect(summary.nfs['ttl-guard'].counters.ttl_expired).toBe(100);
    });
  });
});

describe('guide: Benchmarking', () => {
  it('bench.mjs prints a BENCH line for the wire and for the NF', () => {
    const r = run(process.execPath, ['bench.mjs', './my-nf.mjs', '20000'], { cwd: dir, timeout: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('BENCH '));
    expect(lines.map((l) => JSON.parse(l.slice(6)).case)).toEqual(['wire', './my-nf.mjs']);
    for (const l of lines) expect(JSON.parse(l.slice(6))).toMatchObject({ group: 'guide', impl: 'gnet cpu', packets: 20000 });
  });
});

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
