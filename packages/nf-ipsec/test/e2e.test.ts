// Gateway pair end to end (root): host A (gni-a) -> gnet gateway 1 (gni-g1: encrypt A->B, decrypt
// B->A) -> the "internet" (gni-net: kernel routing between 192.0.2.0/24 and 198.51.100.0/24, where a
// capture must see only ESP) -> gnet gateway 2 (gni-g2) -> host B (gni-b). iperf3 TCP runs through the
// tunnel (its ACKs take the B->A SA); then replayed and tampered ESP frames injected into the
// internet are dropped and counted by gateway 2.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SA1, SA2, cli, scapySkipReason } from './fixtures.js';
import { deleteNamespaces, liveSkipReason, readPcap } from './util.js';

const PREFIX = 'gni-';
const tools = ['iperf3', 'dumpcap', 'ethtool', 'ping'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = liveSkipReason() ?? (tools.length ? `needs ${tools.join(', ')}` : null) ?? scapySkipReason();
if (skip) console.log(`gateway pair e2e skipped: ${skip}`);

const MAC = {
  a0: '02:00:00:00:0a:00',
  g1l: '02:00:00:00:01:01',
  g1w: '02:00:00:00:01:02',
  n1: '02:00:00:00:0e:01',
  n2: '02:00:00:00:0e:02',
  g2w: '02:00:00:00:02:02',
  g2l: '02:00:00:00:02:01',
  b0: '02:00:00:00:0b:00',
};

function sh(ns: string, ...args: string[]): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${ns}: ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function link(nsA: string, a: string, nsB: string, b: string): void {
  const r = spawnSync('ip', ['-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  for (const [ns, ifn] of [[nsA, a], [nsB, b]]) {
    sh(ns, 'ip', 'link', 'set', ifn, 'address', MAC[ifn as keyof typeof MAC]);
    // no offloads: frames on the wire are whole and carry real checksums
    spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', ifn, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    sh(ns, 'ip', 'link', 'set', ifn, 'up');
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gni-e2e-'));
const children: ChildProcess[] = [];

function gateway(ns: string, lan: string, wan: string, section: unknown): { child: ChildProcess; out: () => string; err: () => string } {
  const cfg = join(dir, `${ns}.json`);
  writeFileSync(cfg, JSON.stringify({ ipsec: section }));
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, cli, 'run', '--chain', 'ipsec', '--in', `afpacket:${lan}`, '--out', `afpacket:${wan}`, '--config', cfg, '--mode', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { child, out: () => out, err: () => err };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('close', r));
  child.kill('SIGINT');
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  deleteNamespaces(PREFIX);
  rmSync(dir, { recursive: true, force: true });
}

describe.skipIf(skip !== null)('gateway pair (root, namespaces gni-*)', () => {
  let g1: ReturnType<typeof gateway>;
  let g2: ReturnType<typeof gateway>;

  beforeAll(() => {
    deleteNamespaces(PREFIX);
    for (const ns of ['gni-a', 'gni-g1', 'gni-net', 'gni-g2', 'gni-b']) {
      spawnSync('ip', ['netns', 'add', ns]);
      for (const key of ['all', 'default']) spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`]);
      sh(ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    link('gni-a', 'a0', 'gni-g1', 'g1l');
    link('gni-g1', 'g1w', 'gni-net', 'n1');
    link('gni-net', 'n2', 'gni-g2', 'g2w');
    link('gni-g2', 'g2l', 'gni-b', 'b0');
    // Inner MTU 1400 so that every ESP packet (inner + at most 54 bytes) fits the 1500-byte MTU.
    for (const [ns, ifn] of [['gni-a', 'a0'], ['gni-b', 'b0'], ['gni-g1', 'g1l'], ['gni-g2', 'g2l']]) sh(ns, 'ip', 'link', 'set', ifn, 'mtu', '1400');
    sh('gni-a', 'ip', 'addr', 'add', '10.1.0.1/24', 'dev', 'a0');
    sh('gni-a', 'ip', 'route', 'add', '10.2.0.0/16', 'via', '10.1.0.254');
    sh('gni-a', 'ip', 'neigh', 'replace', '10.1.0.254', 'lladdr', MAC.g1l, 'dev', 'a0', 'nud', 'permanent');
    sh('gni-b', 'ip', 'addr', 'add', '10.2.0.1/24', 'dev', 'b0');
    sh('gni-b', 'ip', 'route', 'add', '10.1.0.0/16', 'via', '10.2.0.254');
    sh('gni-b', 'ip', 'neigh', 'replace', '10.2.0.254', 'lladdr', MAC.g2l, 'dev', 'b0', 'nud', 'permanent');
    sh('gni-net', 'ip', 'addr', 'add', '192.0.2.254/24', 'dev', 'n1');
    sh('gni-net', 'ip', 'addr', 'add', '198.51.100.254/24', 'dev', 'n2');
    sh('gni-net', 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    sh('gni-net', 'ip', 'neigh', 'replace', '192.0.2.1', 'lladdr', MAC.g1w, 'dev', 'n1', 'nud', 'permanent');
    sh('gni-net', 'ip', 'neigh', 'replace', '198.51.100.1', 'lladdr', MAC.g2w, 'dev', 'n2', 'nud', 'permanent');
    g1 = gateway('gni-g1', 'g1l', 'g1w', { direction: 'both', outbound: [SA1], inbound: [SA2], ethSrc: MAC.g1w, ethDst: MAC.n1, innerEthSrc: MAC.g1l, innerEthDst: MAC.a0 });
    g2 = gateway('gni-g2', 'g2l', 'g2w', { direction: 'both', outbound: [SA2], inbound: [SA1], ethSrc: MAC.g2w, ethDst: MAC.n2, innerEthSrc: MAC.g2l, innerEthDst: MAC.b0 });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) await stop(c);
    cleanup();
  }, 30_000);

  it('ping and iperf3 TCP through the tunnel; the internet sees only ESP; replayed and tampered ESP dropped and counted', async () => {
    let up = false;
    for (let k = 0; k < 20 && !up; k++) {
      up = spawnSync('ip', ['netns', 'exec', 'gni-a', 'ping', '-c', '1', '-W', '1', '10.2.0.1']).status === 0;
      if (!up) await new Promise((r) => setTimeout(r, 250));
    }
    expect(up, `no ping through the tunnel: g1: ${g1.err()} g2: ${g2.err()}`).toBe(true);

    const cap = join(dir, 'net.pcap');
    const dump = spawn('ip', ['netns', 'exec', 'gni-net', 'dumpcap', '-q', '-P', '-i', 'n1', '-w', cap], { stdio: 'ignore' });
    children.push(dump);
    await new Promise((r) => setTimeout(r, 1000));
    const server = spawn('ip', ['netns', 'exec', 'gni-b', 'iperf3', '-s', '-1', '-B', '10.2.0.1'], { stdio: 'ignore' });
    children.push(server);
    await new Promise((r) => setTimeout(r, 500));
    const client = spawnSync('ip', ['netns', 'exec', 'gni-a', 'iperf3', '-c', '10.2.0.1', '-t', '2', '-J'], { encoding: 'utf8', timeout: 30_000 });
    expect(client.status, client.stdout + client.stderr).toBe(0);
    const result = JSON.parse(client.stdout) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
    console.log(`iperf3 through the gnet ESP tunnel (cpu mode, veths, shared 2-core box): ${(result.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mbit/s`);
    expect(result.end.sum_received.bytes).toBeGreaterThan(1_000_000);
    await stop(dump);
    // And the other way (B sends, A receives: the bulk takes the B->A SA).
    const server2 = spawn('ip', ['netns', 'exec', 'gni-b', 'iperf3', '-s', '-1', '-B', '10.2.0.1'], { stdio: 'ignore' });
    children.push(server2);
    await new Promise((r) => setTimeout(r, 500));
    const reverse = spawnSync('ip', ['netns', 'exec', 'gni-a', 'iperf3', '-c', '10.2.0.1', '-t', '1', '-R', '-J'], { encoding: 'utf8', timeout: 30_000 });
    expect(reverse.status, reverse.stdout + reverse.stderr).toBe(0);
    const rev = JSON.parse(reverse.stdout) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
    console.log(`iperf3 -R (B -> A): ${(rev.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mbit/s`);
    expect(rev.end.sum_received.bytes).toBeGreaterThan(500_000);

    const frames = readPcap(cap);
    expect(frames.length).toBeGreaterThan(100);
    const notEsp = frames.filter((f) => f.bytes[12] !== 0x08 || f.bytes[13] !== 0x00 || f.bytes[23] !== 50);
    expect(notEsp.length, 'only ESP crosses the internet').toBe(0);
    const toB = frames.filter((f) => Buffer.from(f.bytes).readUInt32BE(34) === SA1.spi);
    const toA = frames.filter((f) => Buffer.from(f.bytes).readUInt32BE(34) === SA2.spi);
    expect(toB.length).toBeGreaterThan(50);
    expect(toA.length).toBeGreaterThan(10); // TCP ACKs took the B->A SA

    // Inject on n2 (towards gateway 2): one old frame twice (replays), and one with a new sequence
    // number but not re-MACed (tampered). Frames from n1's capture are re-addressed for n2.
    const old = Buffer.from(toB[5].bytes);
    const tampered = Buffer.from(toB[6].bytes);
    tampered.writeUInt32BE(0x7fffffff, 38);
    const inject = [old, old, tampered].map((b) => {
      const f = Buffer.from(b);
      Buffer.from(MAC.g2w.replace(/:/g, ''), 'hex').copy(f, 0);
      Buffer.from(MAC.n2.replace(/:/g, ''), 'hex').copy(f, 6);
      return f.toString('hex');
    });
    const py = spawnSync('ip', ['netns', 'exec', 'gni-net', '/usr/bin/python3', '-c', `import sys\nfrom scapy.all import sendp, Raw\nfor h in sys.argv[1:]:\n    sendp(Raw(bytes.fromhex(h)), iface='n2', verbose=False)`, ...inject], { encoding: 'utf8', timeout: 30_000 });
    expect(py.status, py.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 500));

    await stop(g2.child);
    await stop(g1.child);
    const summary = (g: typeof g1) => JSON.parse(g.out().trim().split('\n').pop() ?? '{}') as { nfs?: { ipsec?: { counters?: Record<string, number> } } };
    const c2 = summary(g2).nfs?.ipsec?.counters ?? {};
    const c1 = summary(g1).nfs?.ipsec?.counters ?? {};
    console.log(`gateway 1 counters: ${JSON.stringify(c1)}\ngateway 2 counters: ${JSON.stringify(c2)}`);
    if (Object.keys(c2).length > 0) {
      expect(c2.in_replay).toBe(2);
      expect(c2.in_auth_failed).toBe(1);
      expect(c2.in_decrypted).toBeGreaterThan(50);
      expect(c1.out_encrypted).toBeGreaterThan(50);
      expect(c1.in_decrypted).toBeGreaterThan(50); // ACKs and the reverse run
      expect(c1.mtu_exceeded + c2.mtu_exceeded).toBe(0);
    }
  }, 90_000);
});
