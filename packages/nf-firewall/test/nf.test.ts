// The firewall NF through `gnet run` over pcaps: every packet gets the action of its first matching
// rule (checked against the linear-scan oracle on the known tuples), fragments, non-IPv4 and
// malformed frames follow the documented rules, counters and per-rule hits match, cpu and emulated
// modes give byte-identical output; bad config and rules are reported with file, line and field;
// the rule file is reloaded while traffic flows (`watch`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHostKernel, gpuInfo } from '@gnet/manager-native';
import { afterAll, describe, expect, it } from 'vitest';
import { COUNTER_NAMES, linearClassify, parseRules, RuleAction } from '../src/index.js';
import { arp, ip, ipv4Frame, type Tuple } from './frames.js';
import { gnetCli, readPcap, writePcap, type Frame } from './util.js';
import { rng } from './gen.js';

const cli = gnetCli;
const dir = mkdtempSync(join(tmpdir(), 'gnet-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let noEmulator: string | undefined;
try {
  buildHostKernel(join(__dirname, '..', 'kernels', 'acl.cu'));
} catch (err) {
  noEmulator = (err as Error).message;
  console.log(`emulated mode tests skipped: ${noEmulator}`);
}

const RULES = [
  '# test rules',
  'accept proto tcp dport 5201',
  'drop proto udp dport 9999',
  'out:2 dst 10.9.0.0/16 proto udp',
  'accept proto icmp',
  'drop dst 10.0.0.0/8 sport 0-65535 dport 0-65535 proto udp', // port-wildcard: decides UDP fragments
  'accept dport 1000-2000',
  '@10.1.0.0/16\t0.0.0.0/0\t0 : 65535\t53 : 53\t0x11/0xFF\t0x0000/0x0000\taccept',
  'policy drop',
].join('\n');

interface Run {
  code: number | null;
  stderr: string;
  summary: { rx: number; tx: number; drops: Record<string, number>; nfs: Record<string, { counters?: Record<string, number> }> } | null;
  out1: Frame[];
}

function gnet(mode: string, inPath: string, config: string, extra: string[] = []): Run {
  const o1 = join(dir, `${mode}-${Math.random().toString(36).slice(2)}.pcap`);
  const r = spawnSync(process.execPath, [cli, 'run', '--chain', 'firewall', '--mode', mode, '--config', config, '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, '--port', 'null', ...extra], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: dir,
  });
  const lines = r.stdout.trim().split('\n');
  const ok = r.status === 0;
  return { code: r.status, stderr: r.stderr, summary: ok ? JSON.parse(lines[lines.length - 1]) : null, out1: ok && existsSync(o1) ? readPcap(o1) : [] };
}

/** The summary without what the framework adds off the CPU (its own fw.* counters, scheduler info). */
function core(run: Run): unknown {
  const s = run.summary;
  if (!s) return null;
  const c = s.nfs.firewall.counters ?? {};
  return { rx: s.rx, tx: s.tx, drops: s.drops, counters: Object.fromEntries(COUNTER_NAMES.map((k) => [k, c[k]])) };
}

describe('firewall NF through gnet run', () => {
  const rulesPath = join(dir, 'fw.rules');
  writeFileSync(rulesPath, RULES);
  const rs = parseRules(RULES);
  const r = rng(99);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const srcs = [ip('10.1.2.3'), ip('10.2.0.1'), ip('192.168.1.1'), ip('172.16.0.9')];
  const dsts = [ip('10.9.1.1'), ip('10.5.5.5'), ip('8.8.8.8'), ip('192.168.7.7')];
  const ports = [0, 53, 80, 1000, 1500, 2000, 2001, 5201, 9999, 65535];
  const frames: Frame[] = [];
  // What the oracle says per packet: 'pass' (port 1), 'out2', 'drop'.
  const want: ('pass' | 'out2' | 'drop')[] = [];
  const counts: Record<string, number> = { accept: 0, drop_rule: 0, out: 0, tonf: 0, accept_default: 0, drop_default: 0, non_ipv4: 0, malformed: 0, fragment: 0 };
  const hits = new Map<number, number>();
  const decide = (t: Tuple, fragment: boolean) => {
    // A non-first fragment: ports 0, and only the rules whose ports are wildcards may match.
    let m = -1;
    for (let k = 0; k < rs.count && m < 0; k++) {
      const wild = rs.sportLo[k] === 0 && rs.sportHi[k] === 65535 && rs.dportLo[k] === 0 && rs.dportHi[k] === 65535;
      if (fragment && !wild) continue;
      if (linearClassify({ ...rs, count: k + 1 }, t.src, t.dst, fragment ? 0 : t.sport, fragment ? 0 : t.dport, t.proto) === k) m = k;
    }
    if (m < 0) {
      counts.drop_default++;
      return 'drop';
    }
    hits.set(m + 1, (hits.get(m + 1) ?? 0) + 1);
    const a = rs.action[m];
    if (a === RuleAction.ACCEPT) counts.accept++;
    else if (a === RuleAction.DROP) counts.drop_rule++;
    else counts.out++;
    return a === RuleAction.ACCEPT ? 'pass' : a === RuleAction.DROP ? 'drop' : 'out2';
  };
  for (let i = 0; i < 2500; i++) {
    const kind = r();
    const t: Tuple = { src: pick(srcs), dst: pick(dsts), sport: pick(ports), dport: pick(ports), proto: pick([6, 17, 17, 1, 47]) };
    if (t.proto === 1) [t.sport, t.dport] = [t.sport & 0xff, t.dport & 0xff]; // ICMP type and code
    if (t.proto === 47) [t.sport, t.dport] = [0, 0]; // no ports: classified with ports 0
    let bytes: Uint8Array;
    if (kind < 0.03) {
      bytes = arp();
      counts.non_ipv4++;
      want.push('pass');
    } else if (kind < 0.06) {
      // Malformed: total length beyond the frame, bad IHL, or a TCP first fragment without ports.
      bytes = ipv4Frame(t, i);
      const how = i % 3;
      if (how === 0) bytes[16] = 0x7f;
      else if (how === 1) bytes[14] = 0x44;
      else bytes = ipv4Frame({ ...t, proto: 6 }, i, 0).subarray(0, 14 + 22);
      if (how === 2) {
        bytes = new Uint8Array(bytes);
        bytes[16] = 0;
        bytes[17] = 22;
      }
      counts.malformed++;
      want.push('drop');
    } else if (kind < 0.12) {
      // A non-first fragment (offset 185 × 8 bytes).
      bytes = ipv4Frame(t, i, 40, [i % 2 === 0, 185]);
      counts.fragment++;
      want.push(decide(t, true));
    } else if (kind < 0.15) {
      // A first fragment: classified on its ports.
      bytes = ipv4Frame(t, i, 40, [true, 0]);
      want.push(decide(t, false));
    } else {
      bytes = ipv4Frame(t, i, i % 7 === 0 ? 600 : 18);
      want.push(decide(t, false));
    }
    frames.push({ sec: 1_700_000_000, usec: i, bytes });
  }
  const inPath = join(dir, 'in.pcap');
  writePcap(inPath, frames);
  const hitsPath = join(dir, 'hits.json');
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ firewall: { rulesFile: rulesPath, hitsFile: hitsPath } }, null, 2));
  const want1 = frames.filter((_, i) => want[i] === 'pass').map((f) => f.bytes);
  const nOut2 = want.filter((w) => w === 'out2').length;
  const nDrop = want.filter((w) => w === 'drop').length;

  let cpu: Run;
  it('cpu mode: each packet gets its first matching rule’s action; counters and per-rule hits match', () => {
    cpu = gnet('cpu', inPath, configPath);
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(cpu.stderr).toContain('gnet: NF firewall: cpu mode');
    for (const k of ['accept', 'drop_rule', 'out', 'drop_default', 'non_ipv4', 'malformed', 'fragment']) expect(counts[k], k).toBeGreaterThan(10);
    expect(cpu.out1.map((f) => f.bytes)).toEqual(want1);
    expect(cpu.summary).toMatchObject({ rx: frames.length, tx: want1.length + nOut2, drops: { nf: nDrop } });
    expect(cpu.summary?.nfs.firewall.counters).toEqual({ ...counts, reload: 0, reload_failed: 0 });
    const report = JSON.parse(readFileSync(hitsPath, 'utf8'));
    expect(report.rules).toBe(rs.count);
    expect(report.defaultHits).toBe(counts.drop_default);
    expect(new Map(report.hits.map((h: { rule: number; hits: number }) => [h.rule, h.hits]))).toEqual(hits);
    expect(report.hits.find((h: { rule: number }) => h.rule === 7).line).toBe(8);
  });

  it.skipIf(noEmulator !== undefined)('emulated mode: the kernel gives byte-identical output and the same summary', () => {
    const em = gnet('emulated', inPath, configPath);
    expect(em.code, em.stderr).toBe(0);
    expect(em.stderr).toContain('gnet: NF firewall: emulated mode');
    expect(core(em)).toEqual(core(cpu));
    expect(em.out1).toEqual(cpu.out1);
    const em7 = gnet('emulated', inPath, configPath, ['--burst', '7']);
    expect(core(em7)).toEqual(core(cpu));
    expect(em7.out1).toEqual(cpu.out1);
  });

  const gpu = gpuInfo();
  it.skipIf(!gpu.available)('gpu mode: identical output and summary', () => {
    const g = gnet('gpu', inPath, configPath);
    expect(g.code, g.stderr).toBe(0);
    expect(core(g)).toEqual(core(cpu));
    expect(g.out1).toEqual(cpu.out1);
  });
  if (!gpu.available) console.log(`gpu mode test skipped: no usable GPU (${gpu.reason})`);

  it('fragments "drop" and nonIpv4 "drop" decide without rules', () => {
    const c = join(dir, 'config-frag.json');
    writeFileSync(c, JSON.stringify({ firewall: { rulesFile: rulesPath, fragments: 'drop', nonIpv4: 'drop' } }));
    const run = gnet('cpu', inPath, c);
    expect(run.code, run.stderr).toBe(0);
    const got = run.summary?.nfs.firewall.counters ?? {};
    expect(got.fragment).toBe(counts.fragment);
    expect(got.non_ipv4).toBe(counts.non_ipv4);
    expect(run.out1.every((f) => f.bytes[12] === 0x08)).toBe(true);
    expect(run.out1.every((f) => ((f.bytes[20] & 0x1f) | f.bytes[21]) === 0)).toBe(true);
  });

  it('bad config and bad rules are reported with file, line and field', () => {
    const badCfg = join(dir, 'bad-config.json');
    writeFileSync(badCfg, '{\n  "firewall": {\n    "rulesFile": "fw.rules",\n    "fragments": "maybe"\n  }\n}\n');
    // The manager reports the NF's failed start and keeps running without it (nothing passes).
    const a = gnet('cpu', inPath, badCfg);
    expect(a.summary?.tx ?? 0).toBe(0);
    expect(a.stderr).toContain(`${badCfg}:4:18: firewall.fragments: must be one of`);
    const badRules = join(dir, 'bad.rules');
    writeFileSync(badRules, 'accept proto tcp\n\naccept dport 70000\n');
    const cfg2 = join(dir, 'bad-rules-config.json');
    writeFileSync(cfg2, JSON.stringify({ firewall: { rulesFile: badRules } }));
    const b = gnet('cpu', inPath, cfg2);
    expect(b.summary?.tx ?? 0).toBe(0);
    expect(b.stderr).toContain(`${badRules}:3: dport: 70000 is out of range`);
  });

  it('watch: rewriting the rule file while traffic flows swaps the rules between batches', async () => {
    const live = join(dir, 'live.rules');
    writeFileSync(live, 'accept proto udp dport 7000\npolicy drop\n');
    const cfg = join(dir, 'watch.json');
    writeFileSync(cfg, JSON.stringify({ firewall: { rulesFile: live, watch: true, watchIntervalMs: 50 } }));
    const child = spawn(process.execPath, [cli, 'run', '--chain', 'firewall', '--mode', 'cpu', '--config', cfg, '--in', 'gen:count=6000,rate=1000pps,proto=udp,dst=10.1.0.0/24,dport=7000', '--out', 'null'], { cwd: dir });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((res) => child.on('close', res));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    // Rewrite the rules half way through the traffic (the run needs a few seconds to start).
    await new Promise((res) => setTimeout(res, 3000));
    writeFileSync(live, 'drop proto udp dport 7000\npolicy accept\n');
    const code = await closed;
    clearTimeout(timer);
    expect(code, err).toBe(0);
    const s = JSON.parse(out.trim().split('\n').pop() as string);
    const c = s.nfs.firewall.counters;
    expect(c.reload).toBe(1);
    expect(c.accept).toBeGreaterThan(100);
    expect(c.drop_rule).toBeGreaterThan(100);
    expect(c.accept + c.drop_rule).toBe(6000);
    expect(s.tx).toBe(c.accept);
  });

  for (const mode of ['cpu', 'emulated']) {
    it.skipIf(mode === 'emulated' && noEmulator !== undefined)(`reload message (${mode}): another NF sends {type: "reload", rules} with sendMsgToNf and the rules swap between batches`, () => {
      const cfg = join(dir, 'msg.json');
      writeFileSync(cfg, JSON.stringify({ 'reload-sender': { reloadRules: 'drop proto udp\npolicy accept\n' }, firewall: { rules: ['accept proto udp', 'policy drop'] } }));
      const fixture = join(__dirname, 'fixtures', 'reload-sender.mjs');
      const r = spawnSync(process.execPath, [cli, 'run', '--chain', `${fixture},firewall`, '--mode', mode, '--config', cfg, '--in', 'gen:count=4000,rate=1000pps,proto=udp,dst=10.1.0.0/24,dport=7000', '--out', 'null'], {
        encoding: 'utf8',
        timeout: 40_000,
        cwd: dir,
      });
      expect(r.status, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout.trim().split('\n').pop() as string);
      const c = s.nfs.firewall.counters;
      expect(c.reload).toBe(1);
      expect(c.accept).toBeGreaterThanOrEqual(900);
      expect(c.drop_rule).toBeGreaterThan(100);
      expect(c.accept + c.drop_rule).toBe(4000);
    });
  }
});
