// Batch classification (key-run.ts) must steer exactly as classifying frame by frame does: the
// same block of frames goes into one NIC through pushFlits (runs of one key taken unsteered) and
// into another through push (every frame classified), and both must end up identical.
import { describe, expect, it } from 'vitest';
import { createMemPair } from '../src/backends/mem.js';
import { FlitBuffer } from '../src/flit-buffer.js';
import { ipv4ToNumber } from '../src/helpers.js';
import { KEY_RUN_FLOW, KEY_RUN_NONE, KEY_RUN_TUPLE, KeyRunScanner } from '../src/key-run.js';
import { SoftNic } from '../src/nic.js';
import type { RxRing } from '../src/rx-ring.js';
import { arpFrame, ipv4Frame, ipv6Frame, type Ipv4Frame } from './frames.js';

const DST = ipv4ToNumber('10.0.0.1');
const SRC = ipv4ToNumber('10.0.1.1');

/** Frame shapes runs are made of: bound, unbound, TCP with and without SYN, and shapes no run may take. */
const SHAPES: ((size: number, i: number) => Uint8Array)[] = [
  (size) => ipv4Frame({ size, dport: 5000 }), // UDP bound to pipe 0
  (size, i) => ipv4Frame({ size, dport: 5000, sport: 1000 + (i % 3), src: `10.0.9.${i % 2}` }), // same key, other sources
  (size) => ipv4Frame({ size, dport: 5000, dst: '10.0.0.2' }), // differs from pipe 0's key in one dst IP half
  (size) => ipv4Frame({ size, dport: 5000, dst: '10.1.0.1' }), // … and in the other
  (size) => ipv4Frame({ size, protocol: 6, tcpFlags: 0x10, dport: 5000, sport: 12345 }), // TCP, UDP's ports
  (size) => ipv4Frame({ size, dport: 6000 }), // UDP bound to pipe 1
  (size, i) => ipv4Frame({ size, dport: 7000, sport: 2000 + (i % 5) }), // UDP miss: fallback by tuple hash
  (size) => ipv4Frame({ size, protocol: 6, tcpFlags: 0x10, dport: 80, sport: 40000 }), // TCP 5-tuple bound to pipe 1
  (size) => ipv4Frame({ size, protocol: 6, tcpFlags: 0x02, dport: 80, sport: 40000 }), // same tuple, SYN: pipe 0 (listener)
  (size, i) => ipv4Frame({ size, protocol: 6, tcpFlags: 0x18, dport: 80, sport: 41000 + (i % 2) }), // TCP miss
  (size) => ipv4Frame({ size, dport: 5000, fragOffset: 8 }), // later fragment: no ports
  (size) => withOptions(ipv4Frame({ size, dport: 5000 })), // IHL 6
  () => ipv4Frame({ size: 44, dport: 5000 }), // too short for a run
  (size) => ipv4Frame({ size, protocol: 1 }), // other protocol, bound by dst IP to pipe 2
  () => arpFrame(),
  (size) => ipv6Frame(Math.max(size, 60)),
];

function withOptions(b: Uint8Array): Uint8Array {
  b[14] = 0x46;
  return b;
}

/**
 * A deterministic sequence of runs of one shape each (lengths varying or not within a run), in
 * which every shape is followed by every shape: where runs meet is where a run could overreach.
 */
function frames(seed: number): Uint8Array[] {
  let x = seed;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const out: Uint8Array[] = [];
  const run = (shape: (size: number, i: number) => Uint8Array): void => {
    const count = 1 + rnd(rnd(4) === 0 ? 12 : 4);
    const fixed = 60 + rnd(200);
    for (let k = 0; k < count; k++) {
      const f = shape(rnd(3) === 0 ? 60 + rnd(1400) : fixed, out.length);
      f[f.length - 1] = out.length & 255;
      out.push(f);
    }
  };
  for (const a of SHAPES) {
    for (const b of SHAPES) {
      run(a);
      run(b);
    }
  }
  return out;
}

/** The frames laid out in flits, as a port hands them to `pushFlits`. */
function block(list: Uint8Array[], arena: boolean): { data: Uint8Array; lens: Uint16Array; tsSec: Uint32Array; tsNsec: Uint32Array; bytes: number } {
  const bytes = list.reduce((n, f) => n + ((f.length + 63) & ~63), 0);
  const fb = arena ? new FlitBuffer(bytes) : null;
  const data = fb?.data ?? new Uint8Array(bytes);
  const lens = fb?.lens ?? new Uint16Array(bytes >> 6);
  const tsSec = fb?.tsSec ?? new Uint32Array(bytes >> 6);
  const tsNsec = fb?.tsNsec ?? new Uint32Array(bytes >> 6);
  let o = 0;
  list.forEach((f, i) => {
    data.set(f, o);
    lens[o >> 6] = f.length;
    tsSec[o >> 6] = 1000 + i;
    tsNsec[o >> 6] = i;
    o += (f.length + 63) & ~63;
  });
  return { data, lens, tsSec, tsNsec, bytes };
}

interface Setup {
  nic: SoftNic;
  rings: RxRing[];
}

function nicWithPipes(pipeSize: number, fallbacks: number, roundRobin: boolean): Setup {
  const nic = new SoftNic([createMemPair()[0]], { rxBurstBytes: 1 << 20 });
  const rings = [nic.allocateRxRing(pipeSize, false), nic.allocateRxRing(pipeSize, false), nic.allocateRxRing(pipeSize, false)];
  for (let i = 0; i < fallbacks; i++) rings.push(nic.allocateRxRing(pipeSize, true));
  nic.bind(rings[0], 5000, 0, DST, 0, 17);
  nic.bind(rings[1], 6000, 0, DST, 0, 17);
  nic.bind(rings[1], 80, 40000, DST, SRC, 6);
  nic.bind(rings[0], 80, 0, DST, 0, 6);
  nic.bind(rings[2], 0, 0, DST, 0, 0);
  nic.setRoundRobin(roundRobin);
  return { nic, rings };
}

/** Everything observable about a ring: offsets, counters, and each frame with its side entries. */
function snapshot(r: RxRing): unknown {
  const framesIn: string[] = [];
  const end = r.head >= r.recv ? r.head : r.wrapAt;
  for (let o = r.recv; o < end; o += (r.lens[o >> 6] + 63) & ~63) {
    const len = r.lens[o >> 6];
    framesIn.push(`${o}:${len}:${r.tsSec[o >> 6]}.${r.tsNsec[o >> 6]}:${Buffer.from(r.data.subarray(o, o + len)).toString('hex')}`);
  }
  if (r.head < r.recv) {
    for (let o = 0; o < r.head; o += (r.lens[o >> 6] + 63) & ~63) framesIn.push(`${o}:${r.lens[o >> 6]}`);
  }
  return { head: r.head, wrapAt: r.wrapAt, frames: r.frames, bytes: r.bytes, drops: r.drops, notified: r.notified, framesIn };
}

describe('batch classification steers as frame-by-frame classification does', () => {
  const cases = [
    { name: 'roomy pipes, hashed fallbacks', pipeSize: 1 << 20, fallbacks: 2, roundRobin: false },
    { name: 'roomy pipes, round robin', pipeSize: 1 << 20, fallbacks: 4, roundRobin: true },
    { name: 'no fallback pipe', pipeSize: 1 << 20, fallbacks: 0, roundRobin: false },
    { name: 'small pipes that fill, wrap early and drop', pipeSize: 8192, fallbacks: 2, roundRobin: false },
  ];
  for (const c of cases) {
    for (const arena of [true, false]) {
      it(`${c.name} (${arena ? 'arena' : 'foreign'} memory)`, () => {
        for (const seed of [1, 2]) {
          const list = frames(seed);
          const src = block(list, arena);
          const batched = nicWithPipes(c.pipeSize, c.fallbacks, c.roundRobin);
          const single = nicWithPipes(c.pipeSize, c.fallbacks, c.roundRobin);
          let taken = 0;
          while (taken < src.bytes) {
            const n = batched.nic.pushFlits(src.data, taken, src.bytes - taken, src.lens, src.tsSec, src.tsNsec);
            expect(n).toBeGreaterThan(0);
            taken += n;
          }
          for (let o = 0; o < src.bytes; o += (src.lens[o >> 6] + 63) & ~63) {
            single.nic.push(src.data, o, src.lens[o >> 6], src.tsSec[o >> 6], src.tsNsec[o >> 6]);
          }
          expect(batched.nic.stats()).toEqual(single.nic.stats());
          expect(batched.rings.map(snapshot)).toEqual(single.rings.map(snapshot));
        }
      });
    }
  }

  it('takes a run of one bound flow as one block, up to the per-poll budget', () => {
    const nic = new SoftNic([createMemPair()[0]], { rxBurstBytes: 64 * 100 });
    const ring = nic.allocateRxRing(1 << 20, false);
    nic.bind(ring, 5000, 0, DST, 0, 17);
    const f: Ipv4Frame = { dport: 5000 };
    const src = block(Array.from({ length: 300 }, (_, i) => ipv4Frame({ ...f, sport: i })), true);
    expect(nic.pushFlits(src.data, 0, src.bytes, src.lens, src.tsSec, src.tsNsec)).toBe(64 * 100);
    expect(nic.lastFrames).toBe(100);
    expect(ring.frames).toBe(100);
    expect(ring.head).toBe(64 * 100);
  });
});

describe('KeyRunScanner', () => {
  // Frame 0 is the run's first (already steered); the scan starts at frame 1.
  const scan = (list: Uint8Array[], how: number, stopEnd?: number, stopStart?: number) => {
    const b = block(list, false);
    const s = new KeyRunScanner();
    const first = (list[0].length + 63) & ~63;
    const end = s.scan(b.data, b.lens, 0, first, stopEnd ?? b.bytes, stopStart ?? b.bytes, how);
    return { end, first, frames: s.frames, bytes: s.bytes };
  };
  const udp = (dport: number, size = 100, sport = 1000) => ipv4Frame({ size, dport, sport });

  it('takes the frames behind the first that share its key, and stops at the first that does not', () => {
    const list = [udp(5000), udp(5000, 200, 1), udp(5000, 64, 2), udp(5000, 300), udp(6000), udp(5000)];
    // By flow-table key (UDP: dst IP and port), other source ports still belong to the run.
    const r = scan(list, KEY_RUN_FLOW);
    expect([r.frames, r.bytes]).toEqual([3, 200 + 64 + 300]);
    expect(r.end).toBe(r.first + 256 + 64 + 320);
    // By tuple hash the source port is part of the key: the run ends at the next frame.
    expect(scan(list, KEY_RUN_TUPLE).frames).toBe(0);
    expect(scan([udp(5000), udp(5000), udp(5000)], KEY_RUN_TUPLE).frames).toBe(2);
    expect(scan(list, KEY_RUN_NONE).frames).toBe(0);
  });

  it('ends a run at a TCP SYN, at a frame of another shape, and where the caller stops it', () => {
    const tcp = (flags: number) => ipv4Frame({ size: 80, protocol: 6, tcpFlags: flags, dport: 80, sport: 40000 });
    expect(scan([tcp(0x10), tcp(0x10), tcp(0x18), tcp(0x02), tcp(0x10)], KEY_RUN_FLOW).frames).toBe(2);
    const opts = udp(5000);
    opts[14] = 0x46;
    expect(scan([udp(5000), udp(5000), opts, udp(5000)], KEY_RUN_FLOW).frames).toBe(1);
    expect(scan([udp(5000), udp(5000), ipv4Frame({ size: 44, dport: 5000 })], KEY_RUN_FLOW).frames).toBe(1);
    // Five 128-byte frames behind the first: stopStart and stopEnd each cut the run.
    const five = [udp(5000), ...Array.from({ length: 5 }, () => udp(5000, 128))];
    expect(scan(five, KEY_RUN_FLOW, undefined, 128 + 2 * 128).frames).toBe(2); // starts before 384
    expect(scan(five, KEY_RUN_FLOW, 128 + 3 * 128 + 64).frames).toBe(3); // ends by 576
  });
});
