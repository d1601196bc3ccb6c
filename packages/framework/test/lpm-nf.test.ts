// The same pcap through `gnet run` with the LPM test NF (the router's real kernel) in cpu, emulated
// and, when a GPU is usable, gpu mode: identical output bytes, identical summaries, and the output is
// what an independent longest-prefix match over the route list says. Port 1 is a pcap (even next
// hops, ARP), port 2 a `null` sink (odd next hops: counted in the summary's tx).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHostKernel, gpuInfo } from '@gnet/manager-native';
import { afterAll, describe, expect, it } from 'vitest';
import { arpFrame, ipChecksum, readPcap, writePcap, type Frame } from '../../nflib/test/pcap-util.js';

const cli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');
const fixture = join(__dirname, 'fixtures', 'lpm-nf.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gnet-framework-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The emulated device runs lpm.cu's host build (kernels/lpm.host.so, a build output of nf-router's
// `kernels` target): make sure it is there and fresh (a no-op when it is).
let noEmulator: string | undefined;
try {
  buildHostKernel(join(__dirname, '..', '..', 'nf-router', 'kernels', 'lpm.cu'));
} catch (err) {
  noEmulator = (err as Error).message;
  console.log(`emulated mode tests skipped: ${noEmulator}`);
}

const ROUTES = ['10.0.0.0/8 1', '10.1.0.0/16 2', '10.1.2.0/24 3', '10.1.2.128/25 4', '10.1.2.200/32 7', '192.168.0.0/16 6', '172.16.5.0/24 9', '172.16.5.64/26 12'];

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Longest-prefix match by scanning the routes (independent of the DIR-24-8 table): next hop or -1. */
function reference(addr: number): number {
  let best = -1;
  let bestLen = -1;
  for (const line of ROUTES) {
    const [cidr, hop] = line.split(' ');
    const [p, l] = cidr.split('/');
    const len = Number(l);
    const prefix = p.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((addr & mask) >>> 0) === prefix && len > bestLen) {
      best = Number(hop);
      bestLen = len;
    }
  }
  return best;
}

/** A UDP/IPv4 frame to `dst` with a valid header checksum. */
function frameTo(i: number, dst: number, payload: number): Uint8Array {
  const len = 14 + 20 + 8 + payload;
  const b = new Uint8Array(len);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  b.set([0x45, 0, ((len - 14) >> 8) & 0xff, (len - 14) & 0xff, (i >> 8) & 0xff, i & 0xff, 0, 0, 64, 17, 0, 0, 10, 9, (i >> 8) & 0xff, i & 0xff], 14);
  b.set([dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], 30);
  const c = ipChecksum(b, 14, 20);
  b[24] = c >> 8;
  b[25] = c & 0xff;
  b.set([(1000 + i) >> 8, (1000 + i) & 0xff, 0, 53, 0, 8 + payload, 0, 0], 34);
  for (let k = 0; k < payload; k++) b[42 + k] = (i * 7 + k) & 0xff;
  return b;
}

/** 3001 frames (not a multiple of the burst): addresses in and around every route, random ones, ARP. */
function input(): Frame[] {
  const dsts = [ip(10, 1, 2, 200), ip(10, 1, 2, 201), ip(10, 1, 2, 129), ip(10, 1, 2, 5), ip(10, 1, 9, 9), ip(10, 200, 0, 1), ip(192, 168, 3, 4), ip(172, 16, 5, 70), ip(172, 16, 5, 10), ip(172, 16, 6, 1), ip(8, 8, 8, 8)];
  let x = 12345;
  const frames: Frame[] = [];
  for (let i = 0; i < 3001; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const bytes = i % 97 === 40 ? arpFrame() : frameTo(i, i % 3 === 2 ? x : dsts[i % dsts.length], i % 5 === 0 ? 900 : 26);
    frames.push({ sec: 1_700_000_000 + (i >> 10), usec: (i * 53) % 1_000_000, bytes });
  }
  return frames;
}

let configs = 0;
function writeConfig(section: object): string {
  const path = join(dir, `config-${configs++}.json`);
  writeFileSync(path, JSON.stringify({ 'lpm-nf': section }));
  return path;
}

interface Run {
  code: number | null;
  stderr: string;
  summary: { rx: number; tx: number; inFlight: number; drops: Record<string, number>; nfs: Record<string, unknown> } | null;
  out1: Frame[];
}

function gnet(mode: string, inPath: string, configPath: string, extra: string[] = []): Run {
  const o1 = join(dir, `${mode}-1.pcap`);
  const r = spawnSync(
    process.execPath,
    [cli, 'run', '--chain', fixture, '--mode', mode, '--config', configPath, '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, '--port', 'null', ...extra],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const lines = r.stdout.trim().split('\n');
  const ok = r.status === 0;
  return { code: r.status, stderr: r.stderr, summary: ok ? JSON.parse(lines[lines.length - 1]) : null, out1: ok && existsSync(o1) ? readPcap(o1) : [] };
}

type Summary = NonNullable<Run['summary']>;

/**
 * The data-path part of a summary: without the scheduler's `policy` and the framework's own
 * measurements (`fw.*`, `model.*` counters), which only device modes have and which vary by run.
 */
function dataPath(s: Summary | null): unknown {
  if (!s) return s;
  const { policy: _policy, ...rest } = s as Summary & { policy?: unknown };
  const nfs = Object.fromEntries(
    Object.entries(rest.nfs).map(([tag, v]) => {
      const n = v as { counters?: Record<string, number> };
      const counters = Object.fromEntries(Object.entries(n.counters ?? {}).filter(([k]) => !k.startsWith('fw.') && !k.startsWith('model.')));
      return [tag, { ...n, counters }];
    }),
  );
  return { ...rest, nfs };
}

describe('LPM NF through the framework (cpu, emulated, gpu)', () => {
  const frames = input();
  const inPath = join(dir, 'in.pcap');
  const configPath = join(dir, 'config.json');
  writePcap(inPath, frames);
  writeFileSync(configPath, JSON.stringify({ 'lpm-nf': { routes: ROUTES } }));

  // What an independent LPM says: port 1 + hop % 2 with the hop in the destination MAC, or dropped;
  // ARP to port 1 unchanged.
  const want1: Uint8Array[] = [];
  let toPort2 = 0;
  let dropped = 0;
  for (const f of frames) {
    if (f.bytes[12] !== 0x08 || f.bytes[13] !== 0x00) {
      want1.push(f.bytes);
      continue;
    }
    const hop = reference(((f.bytes[30] << 24) | (f.bytes[31] << 16) | (f.bytes[32] << 8) | f.bytes[33]) >>> 0);
    if (hop < 0) dropped++;
    else if (hop % 2 === 1) toPort2++;
    else {
      const b = new Uint8Array(f.bytes);
      b.set([2, 0, 0, 0, hop >> 8, hop & 0xff], 0);
      want1.push(b);
    }
  }

  let cpu: Run;
  it('cpu mode: the cpu hook routes every packet as an independent LPM says', () => {
    cpu = gnet('cpu', inPath, configPath);
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(cpu.stderr).toContain('gnet: NF lpm: cpu mode');
    expect(dropped).toBeGreaterThan(100);
    expect(toPort2).toBeGreaterThan(100);
    expect(want1.filter((b) => b[12] === 0x08).length).toBeGreaterThan(100);
    expect(cpu.summary).toMatchObject({ rx: 3001, tx: 3001 - dropped, inFlight: 0, drops: { nf: dropped } });
    expect(cpu.out1.map((f) => f.bytes)).toEqual(want1);
    expect(cpu.summary?.tx).toBe(want1.length + toPort2);
  });

  it.skipIf(noEmulator !== undefined)('emulated mode: the kernel on the emulated device gives byte-identical output and the same summary', () => {
    const em = gnet('emulated', inPath, configPath);
    expect(em.code, em.stderr).toBe(0);
    expect(em.stderr).toContain('gnet: NF lpm: emulated mode');
    expect(dataPath(em.summary)).toEqual(dataPath(cpu.summary));
    // The framework measured every packet on the device (what the run-time scheduler reads).
    const fw = (em.summary?.nfs.lpm as { counters: Record<string, number> }).counters;
    expect(fw['fw.packets']).toBe(3001);
    expect(fw['fw.batches']).toBeGreaterThan(0);
    expect(em.out1).toEqual(cpu.out1);
  });

  it.skipIf(noEmulator !== undefined)('emulated mode with other batch sizes and pipeline depths (7 per batch, 1 in flight; 1 per batch, 3 in flight) gives the same output', () => {
    const depth1 = join(dir, 'depth1.json');
    writeFileSync(depth1, JSON.stringify({ 'lpm-nf': { routes: ROUTES, pipelineDepth: 1 } }));
    for (const [burst, config] of [['7', depth1], ['1', configPath]]) {
      const em = gnet('emulated', inPath, config, ['--burst', burst]);
      expect(em.code, em.stderr).toBe(0);
      expect(dataPath(em.summary)).toEqual(dataPath(cpu.summary));
      expect(em.out1).toEqual(cpu.out1);
      }
  });

  it.skipIf(noEmulator !== undefined)('emulated mode in a thread shared with a plain nflib NF (--chain noop+lpm): same output, both NFs see every packet', () => {
    const noop = join(__dirname, '..', '..', 'nflib', 'examples', 'noop-nf.mjs');
    const o1 = join(dir, 'shared-1.pcap');
    const r = spawnSync(
      process.execPath,
      [cli, 'run', '--chain', `${noop}+${fixture}`, '--mode', 'emulated', '--config', configPath, '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, '--port', 'null'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('gnet: NF lpm: emulated mode');
    const s = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Summary;
    expect(s).toMatchObject({ rx: 3001, tx: cpu.summary?.tx, inFlight: 0, drops: cpu.summary?.drops });
    expect(s.nfs.noop).toMatchObject({ rx: 3001, tx: 3001 });
    expect(s.nfs.lpm).toMatchObject({ rx: 3001, tx: 3001 });
    expect(readPcap(o1)).toEqual(cpu.out1);
  });

  it.skipIf(noEmulator !== undefined)('--mode emulated over a chain with a kernel-less framework NF: that NF runs its cpu hook, the LPM NF its kernel, same output', () => {
    const noopFw = join(__dirname, 'fixtures', 'noop-framework-nf.mjs');
    const o1 = join(dir, 'mixed-1.pcap');
    const r = spawnSync(process.execPath, [cli, 'run', '--chain', `${noopFw},${fixture}`, '--mode', 'emulated', '--config', configPath, '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, '--port', 'null'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('gnet: NF noop: cpu mode (--mode emulated is for the chain and this NF has no kernel; auto: the NF has no kernel)');
    expect(r.stderr).toContain('gnet: NF lpm: emulated mode (asked for)');
    const s = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Summary;
    expect(s).toMatchObject({ rx: 3001, tx: cpu.summary?.tx, inFlight: 0, drops: cpu.summary?.drops });
    expect(s.nfs.noop).toMatchObject({ rx: 3001, tx: 3001 });
    expect(readPcap(o1)).toEqual(cpu.out1);
  });

  it('the NF\'s config section "mode" wins over --mode for that NF, and applies without --mode', () => {
    for (const extra of [[], ['--mode', 'emulated']]) {
      const o1 = join(dir, `own-mode-${extra.length}.pcap`);
      const r = spawnSync(process.execPath, [cli, 'run', '--chain', fixture, ...extra, '--config', writeConfig({ routes: ROUTES, mode: 'cpu' }), '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, '--port', 'null'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('gnet: NF lpm: cpu mode (asked for)');
      expect(readPcap(o1)).toEqual(cpu.out1);
    }
  });

  it('a mode the NF cannot run in, or a word that is no mode, in its config section: exit 3 naming the file, line and field', () => {
    const noopFw = join(__dirname, 'fixtures', 'noop-framework-nf.mjs');
    for (const [mode, problem] of [
      ['emulated', 'NF noop has no kernel, so it cannot run in emulated mode'],
      ['fast', 'mode must be auto, cpu, emulated or gpu, got "fast"'],
    ]) {
      const path = join(dir, `bad-mode-${mode}.json`);
      writeFileSync(path, `{\n  "noop-framework-nf": {\n    "mode": "${mode}"\n  }\n}\n`);
      const r = spawnSync(process.execPath, [cli, 'run', '--chain', noopFw, '--config', path, '--in', 'gen:count=10', '--out', 'null'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toContain(`gnet: config error: ${path}:3:13: noop-framework-nf.mode: ${problem}`);
    }
  });

  it.skipIf(noEmulator !== undefined)('emulated mode with submissions inline and on the stream thread: same output, and the device time is measured on both', () => {
    for (const emulatedSubmit of ['inline', 'stream']) {
      const config = writeConfig({ routes: ROUTES, emulatedSubmit });
      const em = gnet('emulated', inPath, config);
      expect(em.code, em.stderr).toBe(0);
      expect(dataPath(em.summary)).toEqual(dataPath(cpu.summary));
      expect(em.out1).toEqual(cpu.out1);
      // fw.gpu_us spans each batch's submission to its completion, so it holds the kernel's run
      // (measured here: 0.26 µs per packet inline, 0.04 when the clock started after an inline run).
      const fw = (em.summary?.nfs.lpm as { counters: Record<string, number> }).counters;
      expect(fw['fw.gpu_us'] / fw['fw.packets']).toBeGreaterThan(0.1);
    }
  });

  it.skipIf(noEmulator !== undefined)('a trickle of packets is launched by the batch deadline, not held for a full batch', () => {
    const trickle = ['--in', 'gen:count=300,rate=2000pps,dst=10.1.2.0/24', '--out', 'null', '--port', 'null'];
    const run = (config: object, timeout: number) =>
      spawnSync(process.execPath, [cli, 'run', '--chain', fixture, '--mode', 'emulated', '--config', writeConfig(config), ...trickle], { encoding: 'utf8', timeout });
    const ok = run({ routes: ROUTES }, 15_000);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.trim().split('\n').pop() as string)).toMatchObject({ rx: 300, tx: 300, inFlight: 0, nfs: { lpm: { rx: 300, tx: 300 } } });
    // Control: with a deadline that never expires, the last partial batch waits until the run is
    // killed (a manager killed after its start prints its summary with those packets in flight).
    const stuck = run({ routes: ROUTES, batchDeadlineUs: 1e12 }, 6_000);
    expect(stuck.status).not.toBe(0);
    const last = stuck.stdout.trim().split('\n').pop();
    if (last) expect(JSON.parse(last).inFlight).toBeGreaterThan(0);
  });

  it.skipIf(noEmulator !== undefined)('G-NET\u2019s scheduler runs at run time: its decision for the NF is in the summary, and off means none', () => {
    // 3.5 s of traffic so the once-a-second policy decides with measurements (NF start-up is slow under load).
    const run = (extra: string[], count = 3500) => {
      const input = ['--in', `gen:count=${count},rate=1000pps,dst=10.1.2.0/24`, '--out', 'null', '--port', 'null'];
      const r = spawnSync(process.execPath, [cli, 'run', '--chain', fixture, '--mode', 'emulated', '--config', writeConfig({ routes: ROUTES, maxBatch: 512 }), ...input, ...extra], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop() as string);
    };
    const on = run(['--schedule', 'gnet', '--sms', '4', '--latency-bound', '2000']);
    expect(on, JSON.stringify(on.policy)).toMatchObject({ rx: 3500, tx: 3500, policy: { name: 'scheduler:gnet', info: { totalSms: 4, latencyBoundUs: 2000, nfs: { lpm: { sms: 4, model: 'measured' } } } } });
    const batch = on.policy.info.nfs.lpm.batch;
    expect([32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]).toContain(batch);
    expect(on.policy.info.offeredMpps).toBeGreaterThan(0);
    // The data-sync plan from the NF's published read/write sets: addresses in, next hops back.
    expect(on.policy.info.syncPlan).toEqual({ nfs: [{ name: 'lpm', htod: ['lpm.addr'], dtoh: ['lpm.hop'] }], bytesPerPacket: 8, naiveBytesPerPacket: 8 });
    expect(run(['--schedule', 'off'], 300).policy).toBeUndefined();
  });

  const gpu = gpuInfo();
  it.skipIf(!gpu.available)('gpu mode: the PTX kernel on the GPU gives byte-identical output and the same summary', () => {
    const g = gnet('gpu', inPath, configPath);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toContain('gnet: NF lpm: gpu mode');
    expect(dataPath(g.summary)).toEqual(dataPath(cpu.summary));
    expect(g.out1).toEqual(cpu.out1);
  });
  if (!gpu.available) console.log(`gpu mode test skipped: no usable GPU (${gpu.reason})`);
});
