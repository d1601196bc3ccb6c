// End to end (root): namespaces gnf-a and gnf-b talk through gnf-fw, where `gnet run` bridges two
// veths with the firewall NF on afpacket ports (a bump in the wire: hosts in one /24 with static
// neighbour entries). Allowed: iperf3 TCP to port 5201 passes; denied: UDP to 9999 (rule) and TCP
// to 8080 (default policy) do not; the NF's counters on SIGINT match what was sent.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNamespaces, gnetCli, liveSkipReason } from './util.js';

const PREFIX = 'gnf-';
const NS = { a: 'gnf-a', b: 'gnf-b', fw: 'gnf-fw' };
const cli = gnetCli;
const PY = '/usr/bin/python3';

function missing(): string | null {
  const live = liveSkipReason();
  if (live) return live;
  for (const [tool, arg] of [['iperf3', '--version'], [PY, '--version'], ['ethtool', '--version']]) {
    if (spawnSync(tool, [arg]).status !== 0) return `needs ${tool}`;
  }
  return null;
}
const skip = missing();
if (skip) console.log(`firewall netns end-to-end test skipped: ${skip}`);

function sh(...args: string[]): string {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function mac(ns: string, ifname: string): string {
  return (JSON.parse(sh('ip', '-j', '-n', ns, 'link', 'show', ifname)) as { address: string }[])[0].address;
}

function setup(): void {
  deleteNamespaces(PREFIX);
  for (const ns of Object.values(NS)) {
    sh('ip', 'netns', 'add', ns);
    for (const key of ['all', 'default']) spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`]);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  sh('ip', '-n', NS.a, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'fa', 'netns', NS.fw);
  sh('ip', '-n', NS.b, 'link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'fb', 'netns', NS.fw);
  sh('ip', '-n', NS.a, 'addr', 'add', '10.77.0.1/24', 'dev', 'a0');
  sh('ip', '-n', NS.b, 'addr', 'add', '10.77.0.2/24', 'dev', 'b0');
  for (const [ns, dev] of [[NS.a, 'a0'], [NS.b, 'b0'], [NS.fw, 'fa'], [NS.fw, 'fb']]) {
    sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  }
  sh('ip', '-n', NS.a, 'neigh', 'replace', '10.77.0.2', 'lladdr', mac(NS.b, 'b0'), 'dev', 'a0', 'nud', 'permanent');
  sh('ip', '-n', NS.b, 'neigh', 'replace', '10.77.0.1', 'lladdr', mac(NS.a, 'a0'), 'dev', 'b0', 'nud', 'permanent');
}

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'gnet-fw-e2e-'));
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (!skip) deleteNamespaces(PREFIX);
  rmSync(dir, { recursive: true, force: true });
});

function inNs(ns: string, args: string[], timeout = 20_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(skip !== null)('firewall between two namespaces on afpacket ports', () => {
  it('passes iperf3 to 5201, blocks UDP 9999 and TCP 8080, and counts them', async () => {
    setup();
    const rules = join(dir, 'e2e.rules');
    writeFileSync(rules, ['accept proto tcp dport 5201', 'accept proto tcp sport 5201', 'drop proto udp dport 9999', 'policy drop', ''].join('\n'));
    const config = join(dir, 'e2e.json');
    writeFileSync(config, JSON.stringify({ firewall: { rulesFile: rules, nonIpv4: 'drop' } }));
    const gnet = spawn('ip', ['netns', 'exec', NS.fw, process.execPath, cli, 'run', '--chain', 'firewall', '--mode', 'cpu', '--config', config, '--in', 'afpacket:fa', '--out', 'afpacket:fb'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(gnet);
    let out = '';
    let err = '';
    gnet.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    gnet.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<void>((res) => gnet.once('close', () => res()));
    for (let i = 0; i < 100 && !err.includes('gnet: NF firewall: cpu mode'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(err).toContain('gnet: NF firewall: cpu mode');
    await new Promise((r) => setTimeout(r, 500));

    // Allowed: an iperf3 TCP run to port 5201.
    const server = spawn('ip', ['netns', 'exec', NS.b, 'iperf3', '-s', '-1', '-p', '5201'], { stdio: 'ignore' });
    children.push(server);
    await new Promise((r) => setTimeout(r, 500));
    const iperf = inNs(NS.a, ['iperf3', '-c', '10.77.0.2', '-p', '5201', '-t', '1', '-J'], 30_000);
    expect(iperf.code, iperf.stdout + iperf.stderr + err).toBe(0);
    const bytes = JSON.parse(iperf.stdout).end.sum_received.bytes as number;
    expect(bytes).toBeGreaterThan(100_000);

    // Denied by a rule: 20 UDP datagrams to 9999, none arrives.
    const listen = spawn('ip', ['netns', 'exec', NS.b, PY, '-c', "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('10.77.0.2',9999));s.settimeout(2.5);n=0\ntry:\n  while True: s.recv(2048); n+=1\nexcept socket.timeout: pass\nprint(n)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(listen);
    let got = '';
    listen.stdout?.on('data', (d: Buffer) => (got += d.toString()));
    const listenDone = new Promise<void>((res) => listen.once('close', () => res()));
    await new Promise((r) => setTimeout(r, 300));
    const send = inNs(NS.a, [PY, '-c', "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(20): s.sendto(b'x'*100,('10.77.0.2',9999))"]);
    expect(send.code, send.stderr).toBe(0);
    await listenDone;
    expect(got.trim()).toBe('0');

    // Denied by the default policy: a TCP connection to 8080 (a listener is there) times out.
    const tcpServer = spawn('ip', ['netns', 'exec', NS.b, PY, '-c', "import socket,time;s=socket.socket();s.bind(('10.77.0.2',8080));s.listen();time.sleep(4)"], { stdio: 'ignore' });
    children.push(tcpServer);
    await new Promise((r) => setTimeout(r, 300));
    const connect = inNs(NS.a, [PY, '-c', "import socket;s=socket.socket();s.settimeout(1.5)\ntry:\n  s.connect(('10.77.0.2',8080)); print('connected')\nexcept OSError as e: print('failed', e)"]);
    expect(connect.stdout).toContain('failed');

    gnet.kill('SIGINT');
    await closed;
    const summary = JSON.parse(out.trim().split('\n').pop() as string);
    const c = summary.nfs.firewall.counters;
    expect(c.drop_rule).toBe(20);
    expect(c.drop_default).toBeGreaterThanOrEqual(1); // the SYN (and its retransmissions)
    expect(c.accept).toBeGreaterThan(bytes / 65536);
    expect(c.malformed).toBe(0);
    expect(summary.nfs.firewall.rx).toBe(c.accept + c.drop_rule + c.drop_default + c.non_ipv4 + c.accept_default);
  }, 90_000);
});
