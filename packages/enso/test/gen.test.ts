import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GenBackend, createGenBackend } from '../src/backends/gen.js';
import { PcapWriter } from '../src/backends/pcap-writer.js';
import type { FrameSink, WireBackend } from '../src/backends/types.js';
import { FlitBuffer } from '../src/flit-buffer.js';

const TSHARK = '/usr/bin/tshark';
const hasTshark = existsSync(TSHARK);
if (!hasTshark) console.log(`gen: ${TSHARK} not found; tshark validation of generated frames skipped`);

const dir = mkdtempSync(join(tmpdir(), 'gnet-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A FrameSink that copies every frame it is offered (refusing those `refuse(i)` picks). */
class RecordingSink implements FrameSink {
  frames: Uint8Array[] = [];
  stamps: [number, number][] = [];
  offered = 0;
  constructor(private refuse: (i: number) => boolean = () => false) {}
  push(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean {
    if (this.refuse(this.offered++)) return false;
    this.frames.push(buf.slice(offset, offset + length));
    this.stamps.push([tsSec, tsNsec]);
    return true;
  }
}

function drain(port: WireBackend, max = 64): RecordingSink {
  const sink = new RecordingSink();
  while (!port.exhausted) port.poll(sink, max);
  return sink;
}

// An independent Internet checksum: sum of big-endian 16-bit words, folded; 0xffff means valid.
function onesSum(words: number[]): number {
  let s = words.reduce((a, b) => a + b, 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
function wordsOf(d: Uint8Array, from: number, to: number): number[] {
  const w: number[] = [];
  for (let i = from; i < to; i += 2) w.push((d[i] << 8) | (i + 1 < to ? d[i + 1] : 0));
  return w;
}

interface Parsed {
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ipOk: boolean;
  l4Ok: boolean;
}

/** Parses and validates one generated frame in plain code (no tshark needed). */
function parse(d: Uint8Array): Parsed {
  const ipOk =
    d[12] === 0x08 && d[13] === 0 && d[14] === 0x45 && ((d[16] << 8) | d[17]) === d.length - 14 && onesSum(wordsOf(d, 14, 34)) === 0xffff;
  const proto = d[23];
  const l4Len = d.length - 34;
  const pseudo = proto === 1 ? [] : [...wordsOf(d, 26, 34), proto, l4Len];
  let l4Ok = onesSum([...pseudo, ...wordsOf(d, 34, d.length)]) === 0xffff;
  if (proto === 17) l4Ok &&= ((d[38] << 8) | d[39]) === l4Len;
  const ip = (at: number): string => `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
  return {
    proto,
    src: ip(26),
    dst: ip(30),
    // ICMP echo carries sport/dport as its identifier and sequence number.
    sport: proto === 1 ? (d[38] << 8) | d[39] : (d[34] << 8) | d[35],
    dport: proto === 1 ? (d[40] << 8) | d[41] : (d[36] << 8) | d[37],
    ipOk,
    l4Ok,
  };
}

const tupleKey = (p: Parsed): string => `${p.proto} ${p.src}:${p.sport} > ${p.dst}:${p.dport}`;

describe('generated frames', () => {
  it('carry valid IPv4 and L4 checksums for UDP, TCP and ICMP at every IMIX size', () => {
    const sink = drain(createGenBackend('count=600,size=imix,flows=30,proto=mixed,seed=3'));
    expect(sink.frames).toHaveLength(600);
    const parsed = sink.frames.map(parse);
    expect(parsed.filter((p) => !p.ipOk || !p.l4Ok)).toEqual([]);
    expect(new Set(parsed.map((p) => p.proto))).toEqual(new Set([1, 6, 17]));
  });

  it('stay valid with stamp=seq, which writes the frame number after the L4 header', () => {
    const sink = drain(createGenBackend('count=300,size=60/1000,flows=3,proto=mixed,stamp=seq'));
    const parsed = sink.frames.map(parse);
    expect(parsed.filter((p) => !p.ipOk || !p.l4Ok)).toEqual([]);
    const seqs = sink.frames.map((d, i) => {
      const at = parsed[i].proto === 6 ? 54 : 42;
      return ((d[at] << 24) | (d[at + 1] << 16) | (d[at + 2] << 8) | d[at + 3]) >>> 0;
    });
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it.skipIf(!hasTshark)('are dissected by tshark with good checksums and nothing malformed', () => {
    const path = join(dir, 'gen.pcap');
    const w = new PcapWriter(path);
    const gen = createGenBackend('count=400,size=imix,flows=40,proto=mixed,stamp=seq,seed=9');
    gen.poll(
      {
        push(buf, off, len, sec, nsec) {
          w.write(buf, off, len, sec, nsec);
          return true;
        },
      },
      400,
    );
    w.close();
    const r = spawnSync(
      TSHARK,
      [
        '-r', path,
        '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=,',
        '-e', 'ip.proto', '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'tcp.checksum.status',
        '-e', 'icmp.checksum.status', '-e', 'icmp.type', '-e', '_ws.malformed', '-e', 'frame.len',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(','));
    expect(rows).toHaveLength(400);
    for (const [proto, ipStatus, udp, tcp, icmp, icmpType, malformed] of rows) {
      expect(ipStatus).toBe('1'); // Good
      expect(malformed).toBe('');
      if (proto === '17') expect(udp).toBe('1');
      else if (proto === '6') expect(tcp).toBe('1');
      else expect([proto, icmp, icmpType]).toEqual(['1', '1', '8']);
    }
    const sizes = rows.map((x) => Number(x[7]));
    expect(sizes.filter((s) => s === 64).length / 400).toBeCloseTo(7 / 12, 1);
  });
});

describe('flows', () => {
  it('sends exactly `flows` distinct 5-tuples in the given ranges, round robin', () => {
    const sink = drain(
      createGenBackend('count=5000,flows=1000,proto=udp,src=10.0.0.0/16,dst=10.1.0.0/16,sport=1024-65535,dport=80'),
    );
    const parsed = sink.frames.map(parse);
    const counts = new Map<string, number>();
    for (const p of parsed) counts.set(tupleKey(p), (counts.get(tupleKey(p)) ?? 0) + 1);
    expect(counts.size).toBe(1000);
    expect(new Set(counts.values())).toEqual(new Set([5]));
    expect(parsed.every((p) => p.src.startsWith('10.0.') && p.dst.startsWith('10.1.'))).toBe(true);
    expect(parsed.every((p) => p.sport >= 1024 && p.dport === 80 && p.proto === 17)).toBe(true);
  });

  it('enumerates a small tuple space completely and refuses more flows than it holds', () => {
    const spec = 'src=10.0.0.1,dst=10.0.0.4/30,sport=1-2,dport=7-8';
    const sink = drain(createGenBackend(`count=64,flows=16,${spec}`));
    expect(new Set(sink.frames.map((f) => tupleKey(parse(f)))).size).toBe(16);
    expect(() => createGenBackend(`flows=17,${spec}`)).toThrow(
      /flows=17 needs 17 distinct tuples per protocol, but src x dst x sport x dport hold only 16/,
    );
    // mixed: each protocol has its own 16 tuples.
    const mixed = drain(createGenBackend(`count=48,flows=48,proto=mixed,${spec}`));
    expect(new Set(mixed.frames.map((f) => tupleKey(parse(f)))).size).toBe(48);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const digest = (spec: string): string => {
      const h = createHash('sha256');
      for (const f of drain(createGenBackend(spec)).frames) h.update(f);
      return h.digest('hex');
    };
    const a = digest('count=2000,flows=100,size=imix,proto=mixed,seed=5');
    expect(digest('count=2000,flows=100,size=imix,proto=mixed,seed=5')).toBe(a);
    expect(digest('count=2000,flows=100,size=imix,proto=mixed,seed=6')).not.toBe(a);
  });

  it('refuses template sets over the arena limit', () => {
    expect(() => createGenBackend('flows=1048576,size=9018')).toThrow(/need \d+ MiB of frame templates \(limit 256 MiB\)/);
  });
});

describe('size mix and count', () => {
  it('sends IMIX in exact 7:4:1 proportion within every 12-frame window', () => {
    const sizes = drain(createGenBackend('count=1200,size=imix,flows=7')).frames.map((f) => f.length);
    const tally = (xs: number[]): Record<number, number> =>
      xs.reduce<Record<number, number>>((t, s) => ({ ...t, [s]: (t[s] ?? 0) + 1 }), {});
    expect(tally(sizes)).toEqual({ 64: 700, 570: 400, 1518: 100 });
    for (let i = 0; i + 12 <= sizes.length; i += 12) expect(tally(sizes.slice(i, i + 12))).toEqual({ 64: 7, 570: 4, 1518: 1 });
  });

  it('splits a size list evenly and sends every flow at every size', () => {
    const sink = drain(createGenBackend('count=900,size=64/128/1500,flows=6'));
    const pairs = new Set(sink.frames.map((f) => `${tupleKey(parse(f))} ${f.length}`));
    expect(pairs.size).toBe(18);
    const sizes = sink.frames.map((f) => f.length);
    expect([64, 128, 1500].map((s) => sizes.filter((x) => x === s).length)).toEqual([300, 300, 300]);
  });

  it('stops at count, across polls, and is exhausted', () => {
    const port = createGenBackend('count=1000,flows=4');
    const sink = new RecordingSink();
    const polls: number[] = [];
    while (!port.exhausted) polls.push(port.poll(sink, 300));
    expect(polls).toEqual([300, 300, 300, 100]);
    expect(port.poll(sink, 300)).toBe(0);
    expect(port.stats()).toMatchObject({ rxPackets: 1000, rxBytes: 64000, rxDropped: 0, errors: 0 });
  });

  it('counts frames the sink refuses as rxDropped', () => {
    const port = createGenBackend('count=100');
    const sink = new RecordingSink((i) => i % 4 === 0);
    expect(port.poll(sink, 1000)).toBe(100);
    expect(port.stats()).toMatchObject({ rxPackets: 75, rxDropped: 25 });
  });

  it('hands a sink that takes bursts the same frames in the same order, and counts what it refused', () => {
    const spec = 'count=3000,size=64/128/1500,flows=37';
    const one = drain(createGenBackend(spec), 100);
    /** Takes bursts (refusing every 7th frame offered), recording the frames. */
    class BurstSink extends RecordingSink {
      lastBurstBytes = 0;
      pushBurst(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, n: number, tsSec: number, tsNsec: number): number {
        let took = 0;
        this.lastBurstBytes = 0;
        for (let i = 0; i < n; i++) {
          if ((this.offered + i) % 7 === 6) continue;
          this.frames.push(buf.slice(offsets[i], offsets[i] + lengths[i]));
          this.stamps.push([tsSec, tsNsec]);
          this.lastBurstBytes += lengths[i];
          took++;
        }
        this.offered += n;
        return took;
      }
    }
    const gen = createGenBackend(spec);
    const sink = new BurstSink();
    while (!gen.exhausted) gen.poll(sink, 100);
    expect(sink.frames).toEqual(one.frames.filter((_, i) => i % 7 !== 6));
    const st = gen.stats();
    expect([st.rxPackets, st.rxDropped]).toEqual([sink.frames.length, 3000 - sink.frames.length]);
    expect(st.rxBytes).toBe(sink.frames.reduce((a, f) => a + f.length, 0));
  });

  it('stamps each poll with the current wall-clock time', () => {
    const sink = drain(createGenBackend('count=10'));
    const [sec, nsec] = sink.stamps[0];
    expect(Math.abs(sec * 1000 + nsec / 1e6 - Date.now())).toBeLessThan(2000);
    expect(nsec).toBeLessThan(1e9);
  });
});

describe('rate limit', () => {
  it('releases exactly rate x elapsed with a controlled clock, in pps and in bit/s', () => {
    let now = 0;
    const clock = (): number => now;
    const pps = new GenBackend('rate=100000pps', { clock });
    const sink = new RecordingSink();
    expect(pps.poll(sink, 1e6)).toBe(0); // nothing earned yet
    now = 5;
    expect(pps.poll(sink, 1e6)).toBe(500);
    now = 7.5;
    expect(pps.poll(sink, 1e6)).toBe(250);
    // An idle second banks only the burst (10 ms), not a second's worth.
    now = 1007.5;
    expect(pps.poll(sink, 1e6)).toBe(1000);

    now = 0;
    const bps = new GenBackend('rate=1g,size=1000', { clock });
    now = 10;
    expect(bps.poll(sink, 1e6)).toBe(1250); // 1e7 bits / 8000 bits per frame
  });

  it('holds a real rate within a loose bound', () => {
    const port = createGenBackend('rate=50000pps');
    const sink = { n: 0, push: () => ((sink.n++), true) };
    const t0 = performance.now();
    while (performance.now() - t0 < 300) port.poll(sink, 64);
    const rate = sink.n / ((performance.now() - t0) / 1000);
    expect(rate).toBeGreaterThan(50000 * 0.8);
    expect(rate).toBeLessThan(50000 * 1.2);
  });
});

describe('pcap replay and the tx side', () => {
  function capture(name: string, n: number): string {
    const path = join(dir, name);
    const w = new PcapWriter(path);
    for (let i = 0; i < n; i++) {
      const f = new Uint8Array(60 + i);
      f[0] = i;
      w.write(f, 0, f.length, i, 0);
    }
    w.close();
    return path;
  }

  it('replays a pcap loop times, then is exhausted', () => {
    const path = capture('replay.pcap', 5);
    const gen = new GenBackend(`pcap=${path},loop=3`);
    const sink = drain(gen, 4);
    expect(sink.frames.map((f) => f[0])).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(sink.frames.map((f) => f.length).slice(0, 5)).toEqual([60, 61, 62, 63, 64]);
    expect(gen.loops).toBe(3);
  });

  it('replays forever with loop=0 until count, and ends at once on an empty file', () => {
    const sink = drain(createGenBackend(`pcap=${capture('forever.pcap', 3)},loop=0,count=10`));
    expect(sink.frames.map((f) => f[0])).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    const empty = createGenBackend(`pcap=${capture('empty.pcap', 0)},loop=0`);
    expect(empty.poll(new RecordingSink(), 10)).toBe(0);
    expect(empty.exhausted).toBe(true);
    expect(() => createGenBackend(`pcap=${join(dir, 'missing.pcap')}`)).toThrow(/cannot open .*missing\.pcap/);
  });

  it('counts and discards what is sent to it', async () => {
    const port = createGenBackend('count=1');
    expect(port.kind).toBe('gen');
    expect(port.spec).toBe('gen:count=1');
    expect(port.send(new Uint8Array(100), 10, 90, -1, 0)).toBe(true);
    expect(port.send(new Uint8Array(100), 0, 60, -1, 0)).toBe(true);
    const fb = new FlitBuffer(256);
    expect(port.sendFlits?.(fb, 0, 256, 3, 200)).toBe(3);
    fb.release();
    port.flush();
    expect(port.stats()).toMatchObject({ txPackets: 5, txBytes: 350, txDropped: 0 });
    await port.close();
    await port.close();
    expect(port.exhausted).toBe(true);
    expect(port.poll(new RecordingSink(), 10)).toBe(0);
  });
});
