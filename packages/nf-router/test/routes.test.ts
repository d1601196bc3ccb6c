// Route loaders (`prefix/len nexthop` and `ip route` lines), run-time updates, the router config
// validation, and the `nf-router lookup` command.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLocatedJson, ConfigSection, ConfigError } from '@gnet/nflib';
import { Lpm } from '../src/lpm.js';
import { addRoutes, applyRouteUpdate, loadRoutesFile, parseIp4, parseRoutes, RouteParseError } from '../src/routes.js';
import { parseRouterConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-nf-router-routes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ip = (s: string) => parseIp4(s);

describe('route text', () => {
  it('parses prefix/len nexthop lines, skipping IPv6, comments and blank lines', () => {
    const p = parseRoutes('# table\n10.0.0.0/8 1\n\n10.1.2.3/16 2\n192.0.2.1 7\n2001:db8::/32 5\n0.0.0.0/0 3\n');
    expect(p.routes).toEqual([
      { network: ip('10.0.0.0'), length: 8, nexthop: 1 },
      { network: ip('10.1.0.0'), length: 16, nexthop: 2 },
      { network: ip('192.0.2.1'), length: 32, nexthop: 7 },
      { network: 0, length: 0, nexthop: 3 },
    ]);
    expect(p.skipped).toBe(1);
  });

  it('parses ip route lines, giving next hop ids by gateway and interface', () => {
    const text = [
      'default via 192.0.2.1 dev eth0 proto dhcp src 192.0.2.9 metric 100',
      '10.0.0.0/8 via 192.0.2.2 dev eth1 proto static',
      '10.1.0.0/16 dev eth2 proto kernel scope link src 10.1.0.1',
      'blackhole 10.66.0.0/16',
      '10.2.0.0/16 via 192.0.2.1 dev eth0',
      'unicast 10.3.0.0/16 via inet 192.0.2.2 dev eth1 onlink',
    ].join('\n');
    const p = parseRoutes(text);
    expect(p.routes.map((r) => [r.network, r.length, r.nexthop])).toEqual([
      [0, 0, 0],
      [ip('10.0.0.0'), 8, 1],
      [ip('10.1.0.0'), 16, 2],
      [ip('10.2.0.0'), 16, 0],
      [ip('10.3.0.0'), 16, 1],
    ]);
    expect(p.nexthops).toEqual([{ gateway: ip('192.0.2.1'), dev: 'eth0' }, { gateway: ip('192.0.2.2'), dev: 'eth1' }, { dev: 'eth2' }]);
    expect(p.skipped).toBe(1);
  });

  it('names the line of a bad route', () => {
    const bad = ['10.0.0.0/8', '10.0.0/8 1', '10.0.0.0/33 1', '10.0.0.0/8 via x', '10.0.0.0/8 1 2', '10.0.0.0/8 frobnicate 3', '300.0.0.0/8 1'];
    for (const line of bad) {
      expect(() => parseRoutes(`1.0.0.0/8 1\n${line}\n`, { source: 'r.txt' }), line).toThrow(RouteParseError);
      expect(() => parseRoutes(`1.0.0.0/8 1\n${line}\n`, { source: 'r.txt' })).toThrow(/^r\.txt:2: /);
    }
  });

  it('loads plain and gzipped files into a table', () => {
    const text = '10.0.0.0/8 1\n10.1.0.0/16 2\n';
    writeFileSync(join(dir, 'r.txt'), text);
    writeFileSync(join(dir, 'r.txt.gz'), gzipSync(text));
    for (const f of ['r.txt', 'r.txt.gz']) {
      const lpm = loadRoutesFile(join(dir, f), { tbl8Groups: 4 });
      expect([lpm.lookup(ip('10.1.1.1')), lpm.lookup(ip('10.2.1.1')), lpm.lookup(ip('11.0.0.0'))]).toEqual([2, 1, -1]);
    }
  });

  it('applies run-time updates from messages and rejects malformed ones', () => {
    const lpm = addRoutes(new Lpm({ tbl8Groups: 4 }), parseRoutes('10.0.0.0/8 1').routes);
    expect(applyRouteUpdate(lpm, { route: 'add', prefix: '10.9.0.0/16', nexthop: 2 })).toBe(true);
    expect(applyRouteUpdate(lpm, { route: 'add', prefix: '10.9.0.7', nexthop: 3 })).toBe(true);
    expect([lpm.lookup(ip('10.9.0.7')), lpm.lookup(ip('10.9.0.8')), lpm.lookup(ip('10.8.0.1'))]).toEqual([3, 2, 1]);
    expect(applyRouteUpdate(lpm, { route: 'delete', prefix: '10.9.0.0/16' })).toBe(true);
    expect(lpm.lookup(ip('10.9.0.8'))).toBe(1);
    for (const bad of [null, 5, {}, { route: 'add', prefix: '10.0.0.0/40', nexthop: 1 }, { route: 'add', prefix: '10.0.0.0/8' }, { route: 'move', prefix: '10.0.0.0/8' }]) {
      expect(applyRouteUpdate(lpm, bad)).toBe(false);
    }
  });
});

describe('router config', () => {
  const load = (text: string) => {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, text);
    return { path, cfg: () => parseRouterConfig(new ConfigSection(parseLocatedJson(text, path), 'router')) };
  };

  it('reads next hops, port MACs, the other policy, inline and file routes, and ip route lines by gateway', () => {
    writeFileSync(join(dir, 'iproute.txt'), 'default via 10.2.0.2 dev r-b\n10.1.0.0/24 dev r-a proto kernel scope link src 10.1.0.1\n');
    const { cfg } = load(
      JSON.stringify({
        router: {
          routes: 'iproute.txt',
          ports: { 0: { mac: '02:00:00:00:00:0a' }, 1: { mac: '02:00:00:00:00:0b' } },
          nexthops: { 0: { port: 0, mac: '02:00:00:00:01:0a', dev: 'r-a' }, 5: { port: 1, mac: '02:00:00:00:01:0b', gateway: '10.2.0.2' } },
          other: { action: 'out', port: 1 },
          mode: 'cpu',
          workers: 1,
        },
      }),
    );
    const c = cfg();
    expect([c.lpm.lookup(ip('10.1.0.2')), c.lpm.lookup(ip('8.8.8.8'))]).toEqual([0, 5]);
    expect(c.nexthops.get(5)).toEqual({ port: 1, mac: 0x02000000010b, gateway: ip('10.2.0.2') });
    expect(c.portMacs.get(1)).toBe(0x02000000000b);
    expect(c.other).toEqual({ action: 'out', port: 1 });
    const inline = load(JSON.stringify({ router: { routes: ['10.0.0.0/8 3'] } })).cfg();
    expect(inline.lpm.lookup(ip('10.1.1.1'))).toBe(3);
    expect(inline.other).toEqual({ action: 'drop', port: 0 });
  });

  it('reports file, line and field', () => {
    const cases: [string, RegExp][] = [
      ['{"router": {\n"bogus": 1}}', /:2:\d+: router\.bogus: unknown key/],
      ['{"router": {\n"ports": {"x": {"mac": "02:00:00:00:00:01"}}}}', /:2:\d+: router\.ports\.x: port id/],
      ['{"router": {"ports": {"1": {"mac": "02:00:00:00:00:01"}},\n"nexthops": {"1": {"port": 2, "mac": "02:00:00:00:00:02"}}}}', /:2:\d+: router\.nexthops\.1\.port: port 2 has no MAC/],
      ['{"router": {"ports": {"1": {"mac": "02:00:00:00:00:01"}},\n"nexthops": {"1": {"port": 1, "mac": "02:00:00:00:00:02",\n "gateway": "10.0.0"}}}}', /:3:\d+: router\.nexthops\.1\.gateway: must be an IPv4/],
      ['{"router": {\n"other": {"action": "out"}}}', /:2:\d+: router\.other\.port: is required/],
      ['{"router": {\n"other": {"action": "flood"}}}', /:2:\d+: router\.other\.action: must be one of/],
      ['{"router": {\n"routes": ["10.0.0.0/8 via 10.9.9.9"]}}', /:2:\d+: router\.routes\[0\]: no configured next hop for "via 10\.9\.9\.9"/],
      ['{"router": {\n"routes": "missing.txt"}}', /:2:\d+: router\.routes: cannot read/],
      ['{"router": {\n"routes": 5}}', /:2:\d+: router\.routes: must be a file path/],
    ];
    for (const [text, re] of cases) {
      const { cfg } = load(text);
      expect(cfg, text).toThrow(ConfigError);
      expect(cfg, text).toThrow(re);
    }
    writeFileSync(join(dir, 'bad-routes.txt'), '10.0.0.0/8 1\n10.0.0.0/8 x\n');
    expect(load('{"router": {\n"routes": "bad-routes.txt"}}').cfg).toThrow(/:2:\d+: router\.routes: .*bad-routes\.txt:2: /);
  });
});

describe('nf-router lookup', () => {
  const bin = join(__dirname, '..', 'dist', 'cli.js');
  it('prints one next hop per address read from stdin (-1: no route)', () => {
    writeFileSync(join(dir, 'lk.txt'), '10.0.0.0/8 1\n10.1.2.128/25 4\n2001:db8::/32 9\n');
    const r = spawnSync(process.execPath, [bin, 'lookup', '--routes', join(dir, 'lk.txt')], { input: '10.1.2.200\n10.1.2.1\n\n8.8.8.8\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('4\n1\n-1\n');
    const bad = spawnSync(process.execPath, [bin, 'lookup', '--routes', join(dir, 'lk.txt')], { input: '10.1.2.200\nnope\n', encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('stdin:2:');
    const missing = spawnSync(process.execPath, [bin, 'lookup', '--routes', join(dir, 'nope.txt')], { encoding: 'utf8' });
    expect(missing.status).toBe(3);
  });
});
