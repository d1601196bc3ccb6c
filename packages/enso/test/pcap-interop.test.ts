import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGenBackend } from '../src/backends/gen.js';
import { openCaptureReader } from '../src/backends/pcap.js';
import { PcapWriter } from '../src/backends/pcap-writer.js';

// Interop with Wireshark's tools and scapy: each test runs when its tool is installed, else skips
// and says why.
const TSHARK = '/usr/bin/tshark';
const EDITCAP = '/usr/bin/editcap';
const PYTHON = '/usr/bin/python3'; // Debian's python3-scapy, not a pyenv python on PATH
const hasTshark = existsSync(TSHARK);
const hasEditcap = existsSync(EDITCAP);
const hasScapy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import scapy.all'], { stdio: 'ignore' }).status === 0;
if (!hasTshark) console.log(`pcap interop: ${TSHARK} not found; tshark checks skipped (tools/install-system-deps.sh installs it)`);
if (!hasEditcap) console.log(`pcap interop: ${EDITCAP} not found; editcap checks skipped`);
if (!hasScapy) console.log(`pcap interop: scapy not importable by ${PYTHON}; scapy checks skipped (apt-get install python3-scapy)`);

const dir = mkdtempSync(join(tmpdir(), 'gnet-pcap-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** tshark's view of a capture: one array of field strings per packet. */
function tsharkFields(path: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', path, ...extra, '-T', 'fields', '-E', 'separator=,', '-E', 'occurrence=f'];
  for (const f of fields) args.push('-e', f);
  return run(TSHARK, args)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));
}

interface Pkt {
  data: Uint8Array;
  sec: number;
  nsec: number;
}

function readWithGnet(path: string): Pkt[] {
  const r = openCaptureReader(path);
  const out: Pkt[] = [];
  while (r.next()) out.push({ data: r.data.slice(r.offset, r.offset + r.length), sec: r.tsSec, nsec: r.tsNsec });
  expect(r.errors, `${path}: ${r.lastError}`).toBe(0);
  r.close();
  return out;
}

const epoch = (sec: number, nsec: number): string => `${sec}.${String(nsec).padStart(9, '0')}`;
const ip = (d: Uint8Array, at: number): string => `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
const hex = (d: Uint8Array): string => Buffer.from(d).toString('hex');

/** 40 valid UDP frames of three sizes from the generator, with chosen timestamps. */
function sampleFrames(): Pkt[] {
  const gen = createGenBackend('count=40,flows=8,proto=udp,size=64/200/1400,seed=7');
  const out: Pkt[] = [];
  let i = 0;
  gen.poll(
    {
      push(buf, offset, length) {
        out.push({ data: buf.slice(offset, offset + length), sec: 1_700_000_000 + i, nsec: (i * 123_456_789) % 1e9 });
        i++;
        return true;
      },
    },
    40,
  );
  return out;
}

function writeGnet(path: string, pkts: Pkt[], nanosecond: boolean): void {
  const w = new PcapWriter(path, { nanosecond });
  for (const p of pkts) w.write(p.data, 0, p.data.length, p.sec, p.nsec);
  w.close();
}

describe('a pcap written by gnet, read by tshark', () => {
  for (const nanosecond of [false, true]) {
    it.skipIf(!hasTshark)(`dissects every packet with the same lengths, times and headers (${nanosecond ? 'ns' : 'µs'})`, () => {
      const pkts = sampleFrames();
      const path = join(dir, `gnet-${nanosecond ? 'ns' : 'us'}.pcap`);
      writeGnet(path, pkts, nanosecond);
      const rows = tsharkFields(
        path,
        ['frame.len', 'frame.time_epoch', 'ip.src', 'ip.dst', 'udp.dstport', 'ip.checksum.status', 'udp.checksum.status', '_ws.malformed'],
        ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'],
      );
      expect(rows).toEqual(
        pkts.map((p) => [
          String(p.data.length),
          epoch(p.sec, nanosecond ? p.nsec : Math.floor(p.nsec / 1000) * 1000),
          ip(p.data, 26),
          ip(p.data, 30),
          String((p.data[36] << 8) | p.data[37]),
          '1', // checksum Good
          '1',
          '',
        ]),
      );
      const expert = run(TSHARK, ['-r', path, '-q', '-z', 'expert']);
      expect(expert).not.toMatch(/malformed/i);
    });
  }
});

describe('captures written by Wireshark tools, read by gnet', () => {
  it.skipIf(!hasTshark || !hasEditcap)('reads editcap pcapng (µs and ns), nanosecond pcap and commented packets as tshark does', () => {
    const pkts = sampleFrames();
    const us = join(dir, 'src-us.pcap');
    const ns = join(dir, 'src-ns.pcap');
    writeGnet(us, pkts, false);
    writeGnet(ns, pkts, true);
    const variants: [string, string[]][] = [
      ['us.pcapng', ['-F', 'pcapng', us]],
      ['ns.pcapng', ['-F', 'pcapng', ns]],
      ['nsec.pcap', ['-F', 'nsecpcap', us]],
      ['tool-ns.pcap', ['-F', 'nsecpcap', ns]],
      ['commented.pcapng', ['-F', 'pcapng', '-a', '1:first packet', '-a', '7:seventh', ns]],
      ['snap.pcapng', ['-F', 'pcapng', '-s', '100', ns]],
    ];
    for (const [name, args] of variants) {
      const out = join(dir, name);
      run(EDITCAP, [...args.slice(0, -1), args[args.length - 1], out]);
      const got = readWithGnet(out);
      const rows = tsharkFields(out, ['frame.cap_len', 'frame.len', 'frame.time_epoch']);
      expect(got.map((p) => [String(p.data.length), epoch(p.sec, p.nsec)]), name).toEqual(rows.map((r) => [r[0], r[2]]));
      const snap = name === 'snap.pcapng' ? 100 : Infinity;
      expect(got.map((p) => hex(p.data)), name).toEqual(pkts.map((p) => hex(p.data.subarray(0, snap))));
    }
  });

  it.skipIf(!hasTshark)('reads a pcapng written by tshark itself', () => {
    const src = join(dir, 'src.pcap');
    const pkts = sampleFrames();
    writeGnet(src, pkts, true);
    const out = join(dir, 'tshark.pcapng');
    run(TSHARK, ['-r', src, '-F', 'pcapng', '-w', out]);
    const got = readWithGnet(out);
    expect(got.map((p) => hex(p.data))).toEqual(pkts.map((p) => hex(p.data)));
    expect(got.map((p) => epoch(p.sec, p.nsec))).toEqual(tsharkFields(out, ['frame.time_epoch']).map((r) => r[0]));
  });
});

describe('captures written by scapy, read by gnet', () => {
  // scapy writes the file, reads it back, and prints per packet the bytes and timestamp it reports.
  const script = `
import json, sys
from decimal import Decimal
from scapy.all import Ether, IP, UDP, TCP, Raw, wrpcap, rdpcap
path, nano, endian = sys.argv[1], sys.argv[2] == '1', sys.argv[3]
pkts = []
for i in range(25):
    l4 = UDP(sport=1000 + i, dport=53) if i % 2 == 0 else TCP(sport=2000 + i, dport=443, flags='A')
    p = Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b') / IP(src='192.0.2.%d' % (i + 1), dst='198.51.100.7') / l4 / Raw(b'x' * (i * 37 % 1400))
    p.time = Decimal('1600000000.123456789') + Decimal(i) * Decimal('1.000001001')
    pkts.append(p)
wrpcap(path, pkts, nano=nano, endianness=endian)
for p in rdpcap(path):
    t = Decimal(p.time)
    sec = int(t)
    print(json.dumps([bytes(p).hex(), sec, int((t - sec) * 1000000000)]))
`;

  for (const [nano, endian] of [
    [false, '<'],
    [true, '>'],
  ] as const) {
    const what = `${nano ? 'nanosecond' : 'microsecond'} ${endian === '<' ? 'little' : 'big'}-endian`;
    it.skipIf(!hasScapy)(`reads scapy's ${what} pcap with the same bytes and timestamps`, () => {
      const path = join(dir, `scapy-${nano ? 'ns' : 'us'}.pcap`);
      const want = run(PYTHON, ['-c', script, path, nano ? '1' : '0', endian])
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as [string, number, number]);
      expect(want).toHaveLength(25);
      const got = readWithGnet(path);
      expect(got.map((p) => [hex(p.data), p.sec, p.nsec])).toEqual(want);
      if (hasTshark) {
        const rows = tsharkFields(path, ['frame.len', 'frame.time_epoch']);
        expect(got.map((p) => [String(p.data.length), epoch(p.sec, p.nsec)])).toEqual(rows);
      }
    });
  }
});
