// End to end through live interfaces (needs root, network namespaces, ping, iperf3): host A
// (10.1.0.2/24 in gnr-e2e-a) and host B (10.2.0.2/24 in gnr-e2e-b) reach each other only through
// the router NF, run by `gnet run --chain router` on AF_PACKET ports in gnr-e2e-r, where kernel
// forwarding is off and the interfaces have no addresses. The hosts have static neighbour entries
// for their gateway (the router's MAC), so no ARP is needed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespaces, liveSkipReason } from './util.js';

const missing = ['ping', 'iperf3'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = liveSkipReason() ?? (missing.length ? `needs ${missing.join(', ')}` : null);
if (skip) console.log(`router end-to-end test skipped: ${skip}`);

const PREFIX = 'gnr-e2e-';
const A = `${PREFIX}a`;
const R = `${PREFIX}r`;
const B = `${PREFIX}b`;
const cli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'gnet-nf-router-e2e-'));
const children: ChildProcess[] = [];

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}
const inNs = (ns: string, cmd: string[], timeout = 30_000) => spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout });
const mac = (ns: string, ifname: string) => (JSON.parse(ip('-j', '-n', ns, 'link', 'show', ifname)) as { address: string }[])[0].address;

/** Output lines of a child, collected. */
function collect(child: ChildProcess): { out: string; err: string } {
  const o = { out: '', err: '' };
  child.stdout?.on('data', (d: Buffer) => (o.out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (o.err += d.toString()));
  return o;
}

describe.skipIf(skip !== null)('router NF end to end (namespaces, AF_PACKET)', () => {
  let router: ChildProcess;
  let routerOut: { out: string; err: string };

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    for (const ns of [A, R, B]) {
      ip('netns', 'add', ns);
      for (const key of ['all', 'default']) inNs(ns, ['sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`]);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    inNs(R, ['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
    ip('-n', A, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'ra', 'netns', R);
    ip('-n', B, 'link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'rb', 'netns', R);
    for (const [ns, ifname] of [[A, 'a0'], [R, 'ra'], [R, 'rb'], [B, 'b0']]) {
      // Frames as they are on a wire: no offloaded checksums, no segmentation offload.
      if (spawnSync('sh', ['-c', 'command -v ethtool']).status === 0) inNs(ns, ['ethtool', '-K', ifname, 'tx', 'off', 'rx', 'off', 'gso', 'off', 'tso', 'off', 'gro', 'off']);
      ip('-n', ns, 'link', 'set', ifname, 'up');
    }
    ip('-n', A, 'addr', 'add', '10.1.0.2/24', 'dev', 'a0');
    ip('-n', B, 'addr', 'add', '10.2.0.2/24', 'dev', 'b0');
    ip('-n', A, 'route', 'add', 'default', 'via', '10.1.0.1');
    ip('-n', B, 'route', 'add', 'default', 'via', '10.2.0.1');
    const [macA, macB, macRa, macRb] = [mac(A, 'a0'), mac(B, 'b0'), mac(R, 'ra'), mac(R, 'rb')];
    ip('-n', A, 'neigh', 'replace', '10.1.0.1', 'lladdr', macRa, 'dev', 'a0', 'nud', 'permanent');
    ip('-n', B, 'neigh', 'replace', '10.2.0.1', 'lladdr', macRb, 'dev', 'b0', 'nud', 'permanent');
    const cfg = join(dir, 'router.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        router: {
          routes: ['10.1.0.0/24 0', '10.2.0.0/24 1'],
          ports: { 0: { mac: macRa }, 1: { mac: macRb } },
          nexthops: { 0: { port: 0, mac: macA, gateway: '10.1.0.2' }, 1: { port: 1, mac: macB, gateway: '10.2.0.2' } },
        },
      }),
    );
    router = spawn('ip', ['netns', 'exec', R, process.execPath, cli, 'run', '--chain', 'router', '--mode', 'cpu', '--in', 'afpacket:ra', '--out', 'afpacket:rb', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(router);
    routerOut = collect(router);
    // Ready once a ping gets through (the NF builds its 64 MiB table first).
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (inNs(A, ['ping', '-c', '1', '-W', '1', '10.2.0.2']).status === 0) return;
      if (router.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the router did not start forwarding: ${routerOut.err}`);
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    deleteNamespaces(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards ping both ways', () => {
    const r = inNs(A, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.2']);
    expect(r.stdout).toContain('3 received');
    // TTL 64 from B arrives as 63: the router decremented it.
    expect(r.stdout).toContain('ttl=63');
    expect(inNs(B, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.1.0.2']).stdout).toContain('2 received');
  }, 30_000);

  it('carries an iperf3 TCP run', async () => {
    const server = spawn('ip', ['netns', 'exec', B, 'iperf3', '-s', '-1', '-B', '10.2.0.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    await new Promise((r) => setTimeout(r, 500));
    const c = inNs(A, ['iperf3', '-c', '10.2.0.2', '-t', '2', '-J'], 30_000);
    const res = JSON.parse(c.stdout) as { end?: { sum_received?: { bytes: number; bits_per_second: number } }; error?: string };
    expect(res.error, c.stdout.slice(0, 400)).toBeUndefined();
    expect(res.end?.sum_received?.bytes ?? 0).toBeGreaterThan(100_000);
    console.log(`iperf3 through the router NF: ${((res.end?.sum_received?.bits_per_second ?? 0) / 1e6).toFixed(0)} Mbit/s`);
  }, 40_000);

  it('stops on SIGINT with a summary that counts what it forwarded', async () => {
    const done = new Promise<void>((r) => router.once('close', () => r()));
    router.kill('SIGINT');
    await done;
    const line = routerOut.out.trim().split('\n').pop() ?? '{}';
    const s = JSON.parse(line) as { nfs: { router: { counters?: Record<string, number> } } };
    const c = s.nfs.router.counters ?? {};
    if (Object.keys(c).length) expect(c.forwarded).toBeGreaterThan(10);
  }, 20_000);
});
