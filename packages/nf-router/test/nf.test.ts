// The router NF through `gnet run --chain router` over pcaps, in cpu and emulated mode (and gpu
// when usable): every output byte is what an independent model of a router says (TTL - 1, header
// checksum recomputed, next hop MACs, port), the modes agree byte for byte, drop reasons are
// counted, non-IPv4 follows the `other` policy, and config errors name file, line and field.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHostKernel, gpuInfo } from '@gnet/manager-native';
import { afterAll, describe, expect, it } from 'vitest';
import { arpFrame, ipChecksum, readPcap, writePcap, type Frame } from './util.js';

const cli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'gnet-nf-router-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let noEmulator: string | undefined;
try {
  buildHostKernel(join(__dirname, '..', 'kernels', 'lpm.cu'));
} catch (err) {
  noEmulator = (err as Error).message;
  console.log(`emulated mode skipped: ${noEmulator}`);
}

const ROUTES = ['10.0.0.0/8 1', '10.1.0.0/16 2', '10.1.2.0/24 3', '10.1.2.128/25 4', '10.1.2.200/32 1', '192.168.0.0/16 9', '0.0.0.0/1 2'];
const HOPS: Record<number, { port: number; mac: string }> = {
  1: { port: 1, mac: '02:00:00:00:01:01' },
  2: { port: 2, mac: '02:00:00:00:02:02' },
  3: { port: 1, mac: '02:00:00:00:03:03' },
  4: { port: 2, mac: '02:00:00:00:04:04' },
  // 9: routed but not configured -> no_nexthop
};
const PORT_MACS: Record<number, string> = { 0: '02:aa:00:00:00:00', 1: '02:aa:00:00:00:01', 2: '02:aa:00:00:00:02' };
const macBytes = (m: string) => m.split(':').map((h) => parseInt(h, 16));
const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

function reference(addr: number): number {
  let best = -1;
  let bestLen = -1;
  for (const line of ROUTES) {
    const [cidr, hop] = line.split(' ');
    const [p, l] = cidr.split('/');
    const len = Number(l);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((addr & mask) >>> 0) === ip(p) && len > bestLen) [best, bestLen] = [Number(hop), len];
  }
  return best;
}

/** An IPv4/UDP frame to `dst`; `ihl` > 5 adds NOP options. */
function ipv4(i: number, dst: number, ttl: number, payload: number, ihl = 5): Uint8Array {
  const hl = ihl * 4;
  const len = 14 + hl + 8 + payload;
  const b = new Uint8Array(len);
  b.set([0x02, 0x11, 0, 0, 0, 1, 0x02, 0x22, 0, 0, 0, 2, 0x08, 0x00], 0);
  b.set([0x40 | ihl, 0, ((len - 14) >> 8) & 0xff, (len - 14) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x40, 0, ttl, 17, 0, 0, 172, 31, i & 0xff, 1], 14);
  b.set([dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], 30);
  for (let k = 20; k < hl; k++) b[14 + k] = 1; // NOP options
  const c = ipChecksum(b, 14, hl);
  b[24] = c >> 8;
  b[25] = c & 0xff;
  b.set([0x30, 0x39, 0, 53, 0, 8 + payload, 0, 0], 14 + hl);
  for (let k = 0; k < payload; k++) b[14 + hl + 8 + k] = (i + k) & 0xff;
  return b;
}

function ipv6(): Uint8Array {
  const b = new Uint8Array(62);
  b.set([0x33, 0x33, 0, 0, 0, 1, 0x02, 0x22, 0, 0, 0, 2, 0x86, 0xdd, 0x60], 0);
  return b;
}

type Kind = 'fwd' | 'no_route' | 'ttl_expired' | 'bad_header' | 'bad_checksum' | 'no_nexthop' | 'arp' | 'ipv6';
interface Case {
  frame: Uint8Array;
  kind: Kind;
}

function cases(): Case[] {
  const dsts = ['10.1.2.200', '10.1.2.201', '10.1.2.129', '10.1.2.5', '10.1.9.9', '10.200.0.1', '192.168.3.4', '8.8.8.8', '200.1.1.1', '127.0.0.1'].map(ip);
  let x = 99;
  const out: Case[] = [];
  for (let i = 0; i < 2500; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const dst = i % 4 === 3 ? x : dsts[i % dsts.length];
    const ttl = i % 50 === 7 ? 1 : i % 50 === 8 ? 0 : i % 50 === 9 ? 2 : 64;
    const f = ipv4(i, dst, ttl, i % 7 === 0 ? 1000 : 18, i % 11 === 0 ? 6 : 5);
    let kind: Kind;
    if (i % 97 === 10) {
      out.push({ frame: arpFrame(), kind: 'arp' });
      continue;
    }
    if (i % 89 === 11) {
      out.push({ frame: ipv6(), kind: 'ipv6' });
      continue;
    }
    if (i % 83 === 12) {
      f[24] ^= 0x10; // checksum wrong
      kind = 'bad_checksum';
    } else if (i % 79 === 13) {
      f[14] = 0x65; // version 6 in an IPv4 ethertype
      kind = 'bad_header';
    } else if (i % 73 === 14) {
      f[16] = 0x7f; // total length past the frame
      kind = 'bad_header';
    } else if (i % 71 === 15) {
      out.push({ frame: f.subarray(0, 30), kind: 'bad_header' }); // truncated header
      continue;
    } else if (ttl <= 1) kind = 'ttl_expired';
    else {
      const hop = reference(dst);
      kind = hop < 0 ? 'no_route' : HOPS[hop] ? 'fwd' : 'no_nexthop';
    }
    out.push({ frame: f, kind });
  }
  return out;
}

/** What the router must send, per output port. */
function expected(cs: Case[], otherPort: number | undefined): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>([
    [1, []],
    [2, []],
  ]);
  for (const c of cs) {
    if (c.kind === 'arp' || c.kind === 'ipv6') {
      if (otherPort !== undefined) out.get(otherPort)!.push(c.frame);
      continue;
    }
    if (c.kind !== 'fwd') continue;
    const b = new Uint8Array(c.frame);
    const dst = ((b[30] << 24) | (b[31] << 16) | (b[32] << 8) | b[33]) >>> 0;
    const hop = HOPS[reference(dst)];
    b.set(macBytes(hop.mac), 0);
    b.set(macBytes(PORT_MACS[hop.port]), 6);
    b[22]--;
    b[24] = 0;
    b[25] = 0;
    const sum = ipChecksum(b, 14, (b[14] & 15) * 4);
    b[24] = sum >> 8;
    b[25] = sum & 0xff;
    out.get(hop.port)!.push(b);
  }
  return out;
}

function config(other: object | undefined, extra: object = {}): string {
  const path = join(dir, `cfg-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(join(dir, 'routes.txt'), ROUTES.join('\n') + '\n2001:db8::/32 5\n');
  const nexthops = Object.fromEntries(Object.entries(HOPS).map(([id, h]) => [id, h]));
  const ports = Object.fromEntries(Object.entries(PORT_MACS).map(([id, mac]) => [id, { mac }]));
  writeFileSync(path, JSON.stringify({ router: { routes: 'routes.txt', nexthops, ports, ...(other ? { other } : {}), ...extra } }, null, 2));
  return path;
}

interface Summary {
  rx: number;
  tx: number;
  nfs: Record<string, { counters?: Record<string, number> }>;
}

function gnet(mode: string, inPath: string, cfg: string, tag: string) {
  const o1 = join(dir, `${tag}-${mode}-1.pcap`);
  const r = spawnSync(process.execPath, [cli, 'run', '--chain', 'router', '--mode', mode, '--config', cfg, '--in', `pcap:${inPath}`, '--out', `pcap:${o1}`, '--port', 'null'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`gnet run (${mode}) exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]) as Summary;
  const read = (p: string) => (existsSync(p) ? readPcap(p).map((f: Frame) => f.bytes) : []);
  return { summary, out: read(o1) };
}

const modes = ['cpu', ...(noEmulator ? [] : ['emulated']), ...(gpuInfo().available ? ['gpu'] : [])];
if (!gpuInfo().available) console.log(`gpu mode skipped: ${gpuInfo().reason}`);

describe('router NF through gnet run', () => {
  const cs = cases();
  const inPath = join(dir, 'in.pcap');
  writePcap(
    inPath,
    cs.map((c, i) => ({ sec: 1_700_000_000, usec: i, bytes: c.frame })),
  );
  const counts: Record<string, number> = {};
  for (const c of cs) counts[c.kind] = (counts[c.kind] ?? 0) + 1;

  for (const [label, other, otherPort] of [
    ['non-IPv4 out on port 2', { action: 'out', port: 2 }, 2],
    ['non-IPv4 dropped (default)', undefined, undefined],
  ] as const) {
    it(`routes, rewrites and counts; ${label}; modes agree (${modes.join(', ')})`, () => {
      const want = expected(cs, otherPort);
      const cfg = config(other);
      let first: Uint8Array[] | undefined;
      for (const mode of modes) {
        const { summary, out } = gnet(mode, inPath, cfg, label.slice(0, 3));
        // Port 1 is a pcap (compared byte for byte); port 2 a null sink (counted in tx).
        const want1 = want.get(1)!;
        expect(out.length, `${mode}: frames on port 1`).toBe(want1.length);
        out.forEach((b, k) => {
          if (Buffer.compare(Buffer.from(b), Buffer.from(want1[k])) !== 0) expect({ mode, k, b: Buffer.from(b).toString('hex') }).toEqual({ mode, k, b: Buffer.from(want1[k]).toString('hex') });
        });
        if (first) expect(out).toEqual(first);
        first = out;
        expect(summary.rx).toBe(cs.length);
        expect(summary.tx).toBe(want1.length + want.get(2)!.length);
        const c = summary.nfs.router?.counters;
        if (c && Object.keys(c).length > 0) {
          expect(c).toMatchObject({
            forwarded: counts.fwd ?? 0,
            no_route: counts.no_route ?? 0,
            ttl_expired: counts.ttl_expired ?? 0,
            bad_header: counts.bad_header ?? 0,
            bad_checksum: counts.bad_checksum ?? 0,
            no_nexthop: counts.no_nexthop ?? 0,
            arp: counts.arp ?? 0,
            ipv6: counts.ipv6 ?? 0,
            other: 0,
          });
        } else console.log('named counters not in the summary (nflib without defineCounters): counter check skipped');
      }
      // Every kind of case was exercised.
      for (const k of ['fwd', 'no_route', 'ttl_expired', 'bad_header', 'bad_checksum', 'no_nexthop', 'arp', 'ipv6']) expect(counts[k], k).toBeGreaterThan(0);
    }, 120_000);
  }

  it('reports config errors with file, line and field', () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, '{\n  "router": {\n    "ports": {"1": {"mac": "02:aa:00:00:00:01"}},\n    "nexthops": {\n      "1": {"port": 1, "mac": "02:zz:00:00:00:01"}\n    }\n  }\n}\n');
    const r = spawnSync(process.execPath, [cli, 'run', '--chain', 'router', '--mode', 'cpu', '--config', cfg, '--in', `pcap:${inPath}`, '--out', 'null'], { encoding: 'utf8', timeout: 30_000 });
    // (An NF that fails in init ends its worker; gnet run reports it and drops its packets as nf_dead.)
    expect(r.stderr).toContain(`${cfg}:5:`);
    expect(r.stderr).toContain('router.nexthops.1.mac');
    const cfg2 = join(dir, 'bad2.json');
    writeFileSync(cfg2, '{"router": {\n "routes": ["10.0.0.0/8 1", "10.1.0.0/33 2"]}}\n');
    const r2 = spawnSync(process.execPath, [cli, 'run', '--chain', 'router', '--mode', 'cpu', '--config', cfg2, '--in', `pcap:${inPath}`, '--out', 'null'], { encoding: 'utf8', timeout: 30_000 });
    expect(r2.stderr).toMatch(/bad2\.json:2:\d+: router\.routes\[1\]: .*prefix length/);
  }, 60_000);
});
