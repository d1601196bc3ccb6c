// The NAT NF through `gnet run` over pcaps: cpu mode against the engine run in-process, and emulated
// mode (the flow lookup on nat.cu's host build) byte-identical to cpu. The input pcap carries both
// directions (classify: "address", one-armed: inside and outside output are both port 1, since a
// pcap port is either read or written): outbound from 10.0.0.0/24 and the replies the outside sends
// to the external endpoints the NAT picked.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildHostKernel, gpuInfo } from '@gnet/manager-native';
import { NatEngine, parseNatConfig } from '../src/index.js';
import { badChecksums, eth, fields, ipPacket, type L4 } from './frames.js';
import { gnetCli, readPcap, writePcap, type Frame } from './util.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-nat-nf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let noEmulator: string | undefined;
try {
  buildHostKernel(join(__dirname, '..', 'kernels', 'nat.cu'));
} catch (err) {
  noEmulator = (err as Error).message;
  console.log(`emulated mode tests skipped: ${noEmulator}`);
}

const EXT = '203.0.113.1';
const SECTION = {
  external: [EXT, '203.0.113.2'],
  insideSubnets: ['10.0.0.0/24'],
  classify: 'address',
  insidePort: 1,
  outsidePort: 1,
  maxFlows: 4096,
  forwards: [{ proto: 'tcp', external: `${EXT}:8080`, internal: '10.0.0.5:80' }],
  mac: { insideHost: '02:00:00:00:00:55', outsideGateway: '02:00:00:00:00:99' },
};

/** Builds the input and what the engine, run in-process on the same frames, sends where. */
function scenario() {
  const nat = new NatEngine(parseNatConfig(SECTION));
  nat.tick(performance.now() / 1000);
  const frames: Frame[] = [];
  const want: Uint8Array[] = [];
  let inside = 0;
  let dropped = 0;
  const push = (f: Uint8Array): { out: number; f: Uint8Array } => {
    frames.push({ sec: 1_700_000_000, usec: frames.length, bytes: f });
    const copy = new Uint8Array(f);
    const out = nat.process(new DataView(copy.buffer), copy, 0, copy.length, 0);
    if (out < 0) dropped++;
    else {
      want.push(copy);
      if (copy[14 + 16] === 10) inside++;
    }
    return { out, f: copy };
  };
  let x = 5;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  for (let i = 0; i < 1500; i++) {
    const host = `10.0.0.${2 + rnd(60)}`;
    const remote = `198.51.100.${1 + rnd(8)}`;
    const proto = (['udp', 'tcp', 'icmp'] as const)[rnd(3)];
    const sport = 2000 + rnd(50);
    const l4: L4 = { proto, sport, dport: 443, flags: 0x02, type: 8, id: sport, noUdpChecksum: rnd(5) === 0 };
    const o = push(eth(ipPacket(host, remote, l4)));
    if (o.out === 1 && rnd(4) !== 0) {
      const f = fields(o.f);
      push(eth(ipPacket(remote, f.src, { proto, sport: 443, dport: f.sport, flags: 0x12, type: 0, id: f.sport }), [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 0x99]));
      if (rnd(10) === 0) {
        // A router outside reports the packet unreachable (RFC 5508 translation back inside).
        push(eth(ipPacket('192.0.2.254', f.src, { proto: 'icmp', type: 3, code: 1, payload: o.f.slice(14, 14 + 28 + (rnd(2) ? 8 : 20)) })));
      }
    }
    if (i % 100 === 7) {
      push(eth(ipPacket('198.51.100.77', EXT, { proto: 'tcp', sport: 40000 + i, dport: 8080, flags: 0x02 }))); // static forward
      push(eth(ipPacket('10.0.0.9', EXT, { proto: 'tcp', sport: 3000 + i, dport: 8080, flags: 0x02 }))); // hairpin to it
      push(eth(ipPacket('198.51.100.78', EXT, { proto: 'udp', sport: 9, dport: 65000 }))); // unsolicited: no mapping
      const arp = new Uint8Array(42);
      arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x06], 0);
      push(arp);
    }
  }
  return { frames, want, dropped, nat, inside };
}

interface Run {
  code: number | null;
  stderr: string;
  summary: { rx: number; tx: number; drops: Record<string, number>; nfs: { nat: { counters: Record<string, number> } } } | null;
  out1: Frame[];
}

function gnet(mode: string, inPath: string, config: string, extra: string[] = []): Run {
  const o1 = join(dir, `${mode}-1.pcap`);
  const r = spawnSync(process.execPath, [gnetCli, 'run', '--chain', 'nat', '--mode', mode, '--config', config, '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, ...extra], { encoding: 'utf8', timeout: 60_000 });
  const ok = r.status === 0;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { code: r.status, stderr: r.stderr, summary: ok ? JSON.parse(last) : null, out1: ok ? readPcap(o1) : [] };
}

describe('nat NF through gnet run (cpu, emulated, gpu)', () => {
  const { frames, want, dropped, nat, inside } = scenario();
  const inPath = join(dir, 'in.pcap');
  writePcap(inPath, frames);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ nat: SECTION }, null, 2));
  let cpu: Run;

  it('cpu mode: output equals the engine run in-process; every output frame has correct checksums', () => {
    cpu = gnet('cpu', inPath, config);
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(cpu.stderr).toContain('gnet: NF nat: cpu mode');
    expect(want.length - inside).toBeGreaterThan(500);
    expect(inside).toBeGreaterThan(500);
    expect(nat.counters.some((v) => v > 0)).toBe(true);
    expect(cpu.summary).toMatchObject({ rx: frames.length, tx: frames.length - dropped, drops: { nf: dropped } });
    expect(cpu.out1.map((f) => f.bytes)).toEqual(want);
    for (const f of cpu.out1) expect(badChecksums(f.bytes)).toEqual([]);
    const c = cpu.summary?.nfs.nat.counters ?? {};
    for (const k of ['out', 'in', 'hairpin', 'icmp_error_in', 'drop_arp', 'drop_no_mapping']) expect(c[k], k).toBeGreaterThan(0);
    expect(c.device_hits).toBe(0);
  });

  it.skipIf(noEmulator !== undefined)('emulated mode: the device lookups are used and the output is byte-identical', () => {
    // Batches of at most 32 (a framework key the NAT never sees): flows set up in one batch are
    // looked up on the device in the next ones, so the device answers are really used.
    const small = join(dir, 'config-small.json');
    writeFileSync(small, JSON.stringify({ nat: { ...SECTION, maxBatch: 32 } }, null, 2));
    for (const extra of [[], ['--burst', '7']]) {
      const em = gnet('emulated', inPath, small, extra);
      expect(em.code, em.stderr).toBe(0);
      expect(em.stderr).toContain('gnet: NF nat: emulated mode');
      expect(em.out1).toEqual(cpu.out1);
      // The NAT's own counters (the framework adds fw.* ones off the CPU), the device hits aside.
      const own = (c: Record<string, number> = {}) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('fw.') && k !== 'device_hits'));
      const hits = em.summary?.nfs.nat.counters.device_hits ?? 0;
      expect(own(em.summary?.nfs.nat.counters)).toEqual(own(cpu.summary?.nfs.nat.counters));
      expect(hits).toBeGreaterThan(frames.length / 10);
      expect({ ...em.summary, nfs: undefined, policy: undefined }).toEqual({ ...cpu.summary, nfs: undefined });
    }
  });

  const gpu = gpuInfo();
  it.skipIf(!gpu.available)('gpu mode: byte-identical output', () => {
    const g = gnet('gpu', inPath, config);
    expect(g.code, g.stderr).toBe(0);
    expect(g.out1).toEqual(cpu.out1);
  });
  if (!gpu.available) console.log(`gpu mode test skipped: no usable GPU (${gpu.reason})`);

  it('a bad config: the NF reports file, line and field and takes no traffic; `nf-nat check` exits 3', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ nat: { ...SECTION, filtering: 'symmetric' } }, null, 2));
    const r = spawnSync(process.execPath, [gnetCli, 'run', '--chain', 'nat', '--mode', 'cpu', '--config', bad, '--in', `pcap:${inPath}`, '--out', 'null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toMatch(/bad\.json:\d+:\d+: nat\.filtering: must be one of/);
    expect(r.stdout).not.toContain('"tx":' + String(frames.length - dropped));
    const check = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'cli.js'), 'check', '--config', bad], { encoding: 'utf8' });
    expect(check.status).toBe(3);
    expect(check.stderr).toMatch(/bad\.json:\d+:\d+: nat\.filtering/);
    const good = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'cli.js'), 'check', '--config', config], { encoding: 'utf8' });
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ external: [EXT, '203.0.113.2'], filtering: 'endpoint-independent', staticMappings: 1 });
  });
});
