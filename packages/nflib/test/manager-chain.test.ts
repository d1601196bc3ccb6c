import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chainInput, readPcap, rewriterOutput, udpFrame, writePcap } from './pcap-util.js';

const cli = join(__dirname, '..', 'dist', 'cli.js');
const fixtures = join(__dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'gnet-chain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gnet(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  const lines = r.stdout.trim().split('\n');
  return { code: r.status, stderr: r.stderr, summary: r.status === 0 ? JSON.parse(lines[lines.length - 1]) : null };
}

describe('gnet run (embedded manager)', () => {
  it('is a wire without --chain: every frame leaves unchanged, timestamps kept', () => {
    const frames = chainInput();
    writePcap(join(dir, 'in.pcap'), frames);
    const r = gnet(['run', '--in', `pcap:${join(dir, 'in.pcap')}`, '--out', `pcap:${join(dir, 'wire.pcap')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ rx: 2000, tx: 2000, inFlight: 0 });
    const out = readPcap(join(dir, 'wire.pcap'));
    expect(out.length).toBe(2000);
    for (let i = 0; i < frames.length; i++) {
      expect(out[i].bytes).toEqual(frames[i].bytes);
      expect([out[i].sec, out[i].usec]).toEqual([frames[i].sec, frames[i].usec]);
    }
  });

  it('runs a chain of two NFs (counter → rewriter) and the output matches byte by byte', () => {
    const frames = chainInput();
    writePcap(join(dir, 'in2.pcap'), frames);
    const counterOut = join(dir, 'counter.json');
    const r = gnet(
      ['run', '--chain', `${join(fixtures, 'counter-nf.mjs')},${join(fixtures, 'rewriter-nf.mjs')}`, '--in', `pcap:${join(dir, 'in2.pcap')}`, '--out', `pcap:${join(dir, 'chain.pcap')}`],
      { GNET_TEST_COUNTER_OUT: counterOut },
    );
    expect(r.code, r.stderr).toBe(0);
    const expected = rewriterOutput(frames);
    const out = readPcap(join(dir, 'chain.pcap'));
    expect(out.length).toBe(expected.length);
    for (let i = 0; i < out.length; i++) expect(out[i].bytes).toEqual(expected[i]);
    const dropped = frames.length - expected.length;
    expect(r.summary.rx).toBe(2000);
    expect(r.summary.tx).toBe(expected.length);
    expect(r.summary.drops.nf).toBe(dropped);
    expect(r.summary.rx).toBe(r.summary.tx + Object.values(r.summary.drops as Record<string, number>).reduce((a, b) => a + b, 0));
    expect(r.summary.nfs.counter).toMatchObject({ rx: 2000, tx: 2000 });
    // The NF's own named counters, summed in the summary line.
    const bytes = frames.reduce((a, f) => a + f.bytes.length, 0);
    const ipv4 = frames.filter((f) => f.bytes[12] === 8 && f.bytes[13] === 0).length;
    expect(r.summary.nfs.counter.counters).toEqual({ packets: 2000, bytes, ipv4 });
    expect(r.summary.nfs.rewriter.counters).toEqual({});
    expect(r.summary.nfs.rewriter.rx).toBe(2000);
    expect(JSON.parse(readFileSync(counterOut, 'utf8')).packets).toBe(2000);
  });

  it('--workers K starts K worker threads per instance (G-NET -k), each its own instance sharing the traffic', () => {
    const r = gnet(['run', '--chain', join(fixtures, 'counter-nf.mjs'), '--instances', '2', '--workers', '2', '--stats=json', '--in', 'gen:count=3000,rate=2000pps,flows=256', '--out', 'null']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ rx: 3000, tx: 3000, nfs: { counter: { rx: 3000, counters: { packets: 3000 } } } });
    const last = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() as string;
    const keys = (JSON.parse(last) as { nfs: { key: string }[] }).nfs.map((n) => n.key).sort();
    expect(keys).toEqual(['1/0', '1/1', '1/2', '1/3']);
  });

  it('exits 3 with file, line and field when an NF finds its config bad after it joined', () => {
    const r = gnet(['run', '--chain', join(fixtures, 'bad-config-nf.mjs'), '--in', 'gen:count=100', '--out', 'null']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('gnet: config error: cfg.json:3:5: bad.routes: must be an array');
  });

  it('keeps forwarding when an NF instance dies, and the accounting identity holds', () => {
    const frames = chainInput();
    writePcap(join(dir, 'in3.pcap'), frames);
    const r = gnet(['run', '--chain', join(fixtures, 'crash-nf.mjs'), '--in', `pcap:${join(dir, 'in3.pcap')}`, '--out', `pcap:${join(dir, 'crash.pcap')}`], {
      GNET_TEST_CRASH_AFTER: '500',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/NF crasher \(1\/0\) exited with code 9/);
    const drops = Object.values(r.summary.drops as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(r.summary.rx).toBe(2000);
    expect(r.summary.rx).toBe(r.summary.tx + drops);
    expect((r.summary.drops.no_instance ?? 0) + (r.summary.drops.nf_dead ?? 0)).toBeGreaterThan(0);
    expect(readPcap(join(dir, 'crash.pcap')).length).toBe(r.summary.tx);
  });

  it('--slot-size takes jumbo frames: without it a frame longer than a slot is dropped and counted (rx_invalid)', () => {
    // 9000-byte IP packets (9014-byte frames) with 1400 and 64-byte ones between them.
    const frames = chainInput()
      .slice(0, 300)
      .map((f, i) => (i % 3 === 0 && f.bytes[12] === 8 ? { ...f, bytes: udpFrame(i, 64, 9000 - 28) } : f));
    const jumbo = frames.filter((f) => f.bytes.length > 2048).length;
    expect(jumbo).toBeGreaterThan(90);
    writePcap(join(dir, 'jumbo.pcap'), frames);
    let r = gnet(['run', '--chain', join(fixtures, 'rewriter-nf.mjs'), '--in', `pcap:${join(dir, 'jumbo.pcap')}`, '--out', `pcap:${join(dir, 'jumbo-small.pcap')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.portDrops).toEqual({ 0: { rx_invalid: jumbo } });
    expect(r.summary.rx).toBe(frames.length - jumbo);
    r = gnet(['run', '--chain', join(fixtures, 'rewriter-nf.mjs'), '--slot-size', '9088', '--in', `pcap:${join(dir, 'jumbo.pcap')}`, '--out', `pcap:${join(dir, 'jumbo-out.pcap')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.portDrops).toEqual({});
    const expected = rewriterOutput(frames);
    const out = readPcap(join(dir, 'jumbo-out.pcap'));
    expect(out.length).toBe(expected.length);
    for (let i = 0; i < out.length; i++) expect(out[i].bytes).toEqual(expected[i]);
    r = gnet(['run', '--in', `pcap:${join(dir, 'jumbo.pcap')}`, '--out', 'null', '--slot-size', '9000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--slot-size must be a multiple of 64.*9088/);
  });

  it('rejects bad usage and bad config with exit codes 2 and 3 and clear messages', () => {
    let r = gnet(['run', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option --bogus/);
    r = gnet(['run', '--in', 'pcap:/x.pcap', '--out', 'mem', '--chain', 'nope-nf.mjs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/neither a reference NF/);
    const cfg = join(dir, 'bad.json');
    require('node:fs').writeFileSync(cfg, '{\n  "router": [1,\n}');
    r = gnet(['run', '--in', `pcap:${join(dir, 'in.pcap')}`, '--out', 'mem', '--config', cfg]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/bad\.json:3:1: /);
    r = gnet(['run', '--in', `pcap:${join(dir, 'missing.pcap')}`, '--out', 'mem']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.pcap/);
  });
});
