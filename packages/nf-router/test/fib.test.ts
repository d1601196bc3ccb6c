// Agreement with the Linux kernel FIB (needs root and network namespaces): a few thousand random,
// nested routes go into a namespace's table with `ip -batch` (next hop id k as gateway 100.64.1.k on a
// veth link), and `ip route get` answers for random addresses are compared with `nf-router lookup`,
// fed the same routes both as `prefix/len nexthop` lines and as the namespace's `ip route show` text.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoutes, ip4ToString } from '../src/routes.js';
import { deleteNamespaces, liveSkipReason } from './util.js';

const skip = liveSkipReason();
if (skip) console.log(`kernel FIB agreement skipped: ${skip}`);
const NS = `gnr-fib-${process.pid}`;
const bin = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'gnet-nf-router-fib-'));

function ip(args: string[], input?: string): string {
  const r = spawnSync('ip', args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 && !args.includes('-force')) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Unicast addresses away from the namespace's own link (100.64/10), loopback and multicast. */
const usable = (a: number) => a >>> 24 >= 1 && a >>> 24 < 224 && a >>> 24 !== 127 && a >>> 22 !== (100 << 2) + 1;

describe.skipIf(skip !== null)('agreement with the Linux kernel FIB', () => {
  beforeAll(() => {
    deleteNamespaces('gnr-fib-');
    ip(['netns', 'add', NS]);
    ip(['-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    ip(['-n', NS, 'link', 'set', 'v0', 'up']);
    ip(['-n', NS, 'link', 'set', 'v1', 'up']);
    ip(['-n', NS, 'addr', 'add', '100.64.0.1/16', 'dev', 'v0']);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers like `ip route get` for random addresses', () => {
    const r = rng(6);
    const routes = new Map<string, [number, number, number]>();
    const bases: number[] = [];
    while (bases.length < 24) {
      const b = Math.floor(r() * 2 ** 32) & 0xff000000;
      if (usable(b >>> 0)) bases.push(b >>> 0);
    }
    while (routes.size < 3000) {
      // Nested: most routes fall under a few /8s, with every length from /8 to /32.
      const len = 8 + Math.floor(r() * 25);
      const a = (bases[Math.floor(r() * bases.length)] + Math.floor(r() * 2 ** 24)) >>> 0;
      const net = (a & (0xffffffff << (32 - len))) >>> 0;
      routes.set(`${net}/${len}`, [net, len, 1 + Math.floor(r() * 200)]);
    }
    const list = [...routes.values()];
    ip(['-n', NS, '-batch', '-'], list.map(([n, l, h]) => `route add ${ip4ToString(n)}/${l} via 100.64.1.${h}\n`).join(''));
    writeFileSync(join(dir, 'routes.txt'), list.map(([n, l, h]) => `${ip4ToString(n)}/${l} ${h}\n`).join(''));
    writeFileSync(join(dir, 'iproute.txt'), ip(['-n', NS, 'route', 'show']));

    const probes: number[] = [];
    for (const [n, l] of list.slice(0, 1500)) probes.push(n, (n + 2 ** (32 - l) - 1) >>> 0, (n + 2 ** (32 - l)) >>> 0, (n + Math.floor(r() * 2 ** (32 - l))) >>> 0);
    for (let i = 0; i < 2000; i++) probes.push((bases[i % bases.length] + Math.floor(r() * 2 ** 24)) >>> 0, Math.floor(r() * 2 ** 32));
    const addrs = [...new Set(probes.filter(usable))].map(ip4ToString);

    // The kernel: one JSON answer per reachable address (unreachable ones print an error instead).
    const kernel = new Map<string, number>();
    const out = ip(['-n', NS, '-j', '-force', '-batch', '-'], addrs.map((a) => `route get ${a}\n`).join(''));
    for (const line of out.split('\n')) {
      if (!line.startsWith('[')) continue;
      const [ans] = JSON.parse(line) as { dst: string; gateway?: string }[];
      kernel.set(ans.dst, ans.gateway?.startsWith('100.64.1.') ? Number(ans.gateway.split('.')[3]) : -2);
    }
    expect(kernel.size).toBeGreaterThan(addrs.length / 4);
    const want = addrs.map((a) => kernel.get(a) ?? -1);

    const lookup = (file: string) => {
      const res = spawnSync(process.execPath, [bin, 'lookup', '--routes', file], { input: addrs.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(res.status, res.stderr).toBe(0);
      return res.stdout.trim().split('\n').map(Number);
    };
    const plain = lookup(join(dir, 'routes.txt'));
    const mismatches = addrs.filter((_, i) => plain[i] !== want[i]).slice(0, 5);
    expect(mismatches).toEqual([]);

    // `ip route show` text: ids are given in order of appearance; map them back to gateways.
    const ids = lookup(join(dir, 'iproute.txt'));
    const hops = parseRoutes(ip(['-n', NS, 'route', 'show'])).nexthops;
    const viaText = ids.map((id) => (id < 0 ? -1 : hops[id].gateway !== undefined ? (hops[id].gateway as number) & 0xff : -2));
    expect(addrs.filter((_, i) => viaText[i] !== want[i]).slice(0, 5)).toEqual([]);
  }, 90_000);
});
