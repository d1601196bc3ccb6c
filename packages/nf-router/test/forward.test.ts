// The Forwarder on batches over plain memory: its inline path for common frames and its full
// per-frame path together give what an independent model of a router says for every kind of frame,
// at any alignment of the frames, whole (routeBatch) or split around the lookup as the GPU path
// does; and the TTL checksum update equals nflib's decrementIp4Ttl for every checksum value.
import { describe, expect, it } from 'vitest';
import { Action, decrementIp4Ttl, type PacketBatch } from '@gnet/nflib';
import { batchOfFrames } from '@gnet/nflib/testing';
import { Forwarder, ROUTER_COUNTERS } from '../src/forward.js';
import { Lpm } from '../src/lpm.js';
import type { RouterConfig } from '../src/config.js';
import { ipChecksum } from './util.js';

const SLOT = 2048;
const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

/** A batch of `frames`, frame i at slot i plus `shift(i)` bytes. */
const batchOf = (frames: Uint8Array[], shift: (i: number) => number = () => 0): PacketBatch => batchOfFrames(frames, { slotSize: SLOT, shift });

const frameOf = (b: PacketBatch, i: number) => b.data.slice(b.offsets[i], b.offsets[i] + b.lengths[i]);

/** An IPv4/UDP frame to `dst` with `ihl` words of header (NOP options beyond 5). */
function ipv4(dst: number, ttl: number, ihl = 5, payload = 18): Uint8Array {
  const hl = ihl * 4;
  const f = new Uint8Array(14 + hl + 8 + payload);
  f.set([0x02, 0x11, 0, 0, 0, 1, 0x02, 0x22, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x40 | ihl, 0, ((f.length - 14) >> 8) & 0xff, (f.length - 14) & 0xff, 0x12, 0x34, 0x40, 0, ttl, 17], 14);
  f.set([172, 16, 0, 1, dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], 26);
  f.fill(1, 34, 14 + hl);
  const c = ipChecksum(f, 14, hl);
  f[24] = c >> 8;
  f[25] = c & 0xff;
  return f;
}

const HOPS = new Map([
  [1, { port: 1, mac: 0x02000000a001 }],
  [2, { port: 2, mac: 0x02000000a002 }],
]);
const PORT_MACS = new Map([
  [1, 0x02000000b001],
  [2, 0x02000000b002],
]);
const ROUTES: [string, number, number][] = [
  ['10.0.0.0', 8, 1],
  ['10.1.2.128', 25, 2],
  ['192.168.0.0', 16, 9], // next hop 9 has no config entry
];

function config(): RouterConfig {
  const lpm = new Lpm({ tbl8Groups: 4 });
  for (const [a, len, hop] of ROUTES) lpm.add(ip(a), len, hop);
  return { lpm, nexthops: HOPS, portMacs: PORT_MACS, other: { action: 'out', port: 3 } };
}

type Kind = (typeof ROUTER_COUNTERS)[number];

/** What a router does with `f`: its counter, and the frame it sends (with the port) when forwarded. */
function model(f: Uint8Array): { kind: Kind; out?: Uint8Array; port?: number } {
  if (f.length < 14) return { kind: 'bad_header' };
  const type = (f[12] << 8) | f[13];
  if (type !== 0x0800) return { kind: type === 0x0806 ? 'arp' : type === 0x86dd ? 'ipv6' : 'other', out: f, port: 3 };
  const hl = (f[14] & 15) * 4;
  const total = (f[16] << 8) | f[17];
  if (f.length < 34 || f[14] >> 4 !== 4 || hl < 20 || total < hl || total > f.length - 14) return { kind: 'bad_header' };
  if (ipChecksum(f, 14, hl) !== 0) return { kind: 'bad_checksum' }; // a right one sums to 0 here
  if (f[22] <= 1) return { kind: 'ttl_expired' };
  const dst = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
  let hop = -1;
  let best = -1;
  for (const [a, len, h] of ROUTES) {
    if (len > best && dst >>> (32 - len) === ip(a) >>> (32 - len)) [hop, best] = [h, len];
  }
  if (hop < 0) return { kind: 'no_route' };
  const nh = HOPS.get(hop);
  if (!nh) return { kind: 'no_nexthop' };
  const out = f.slice();
  const mac = (m: number, at: number) => out.set([...Array(6)].map((_, k) => Math.floor(m / 2 ** (40 - 8 * k)) & 0xff), at);
  mac(nh.mac, 0);
  mac(PORT_MACS.get(nh.port)!, 6);
  out[22]--;
  out[24] = out[25] = 0;
  const c = ipChecksum(out, 14, hl);
  out[24] = c >> 8;
  out[25] = c & 0xff;
  return { kind: 'forwarded', out, port: nh.port };
}

/** Sets the header checksum of `f` right again (after an edit). */
function resum(f: Uint8Array): void {
  f[24] = f[25] = 0;
  const c = ipChecksum(f, 14, (f[14] & 15) * 4);
  f[24] = c >> 8;
  f[25] = c & 0xff;
}

/** Frames of every kind: good ones (with and without options) and each way a frame can be bad. */
function frames(): Uint8Array[] {
  const dsts = ['10.1.2.200', '10.1.2.5', '10.200.0.1', '192.168.3.4', '8.8.8.8'].map(ip);
  const out: Uint8Array[] = [];
  for (let i = 0; i < 600; i++) {
    const f = ipv4(dsts[i % dsts.length], [64, 2, 1, 0, 255][i % 5 === 0 ? (i / 5) % 5 : 0], i % 7 === 0 ? 6 : 5, i % 3 === 0 ? 1 : 18);
    const hl = (f[14] & 15) * 4;
    const edit = i % 13;
    if (edit === 1) f[14 + ((i >> 4) % hl)] ^= 1 << (i % 8); // a bit flipped somewhere in the header
    else if (edit === 2) f[14] = 0x65; // version 6
    else if (edit === 3) f[14] = 0x44; // IHL 4
    else if (edit === 4) {
      f[17] = i % 2 === 0 ? f[17] + 1 : hl - 1; // total length one past the frame, or one below the header
      resum(f);
    } else if (edit === 5) {
      f[17] = hl; // total length = the header alone: sound
      resum(f);
    } else if (edit === 6) {
      out.push(f.subarray(0, 33 + (i % 2))); // 33 B: too short; 34 B: total length past it
      continue;
    } else if (edit === 7) {
      out.push(f.subarray(0, i % 14)); // shorter than an Ethernet header
      continue;
    } else if (edit === 8) f.set([0x08, 0x06], 12); // ARP
    else if (edit === 9) f.set([0x86, 0xdd], 12); // IPv6
    else if (edit === 10) f.set([0x81, 0x00], 12); // VLAN tag
    out.push(f);
  }
  return out;
}

function expectModel(label: string, b: PacketBatch, input: Uint8Array[], counters: Float64Array): void {
  const want: Record<string, number> = {};
  input.forEach((f, i) => {
    const m = model(f);
    want[m.kind] = (want[m.kind] ?? 0) + 1;
    const got = { action: b.action[i], port: b.destination[i], frame: Array.from(frameOf(b, i)) };
    if (m.out) expect(got, `${label}: frame ${i} (${m.kind})`).toEqual({ action: Action.OUT, port: m.port, frame: Array.from(m.out) });
    else expect(b.action[i], `${label}: frame ${i} (${m.kind})`).toBe(Action.DROP);
  });
  expect(Object.fromEntries(ROUTER_COUNTERS.map((k, i) => [k, counters[i]]).filter(([, v]) => v !== 0)), label).toEqual(want);
}

describe('Forwarder', () => {
  const input = frames();
  for (const [label, shift] of [
    ['aligned', () => 0],
    ['odd offsets', (i: number) => 1 + (i % 7)],
  ] as const) {
    it(`routes every kind of frame like the model: routeBatch, ${label}`, () => {
      const fwd = new Forwarder(config());
      const b = batchOf(input, shift);
      fwd.routeBatch(b);
      expectModel(label, b, input, fwd.counters);
    });
  }

  it('gives the same when split around the lookup (the GPU path), in batches of any size', () => {
    const fwd = new Forwarder(config());
    const b = batchOf(input, (i) => i % 4);
    const addrs = new Uint32Array(b.count);
    const hops = new Int32Array(b.count);
    const index = new Uint16Array(b.count);
    const n = fwd.classifyBatch(b, addrs, index);
    fwd.lpm.lookupBatch(addrs, hops, n);
    fwd.forwardBatch(b, hops, index, n);
    expectModel('split', b, input, fwd.counters);
    // A batch larger than the table's own batch arrays goes through the Forwarder's scratch.
    const big = Array.from({ length: fwd.lpm.batchAddrs.length + 3 }, (_, i) => input[i % input.length]);
    const fwd2 = new Forwarder(config());
    const bb = batchOf(big);
    fwd2.routeBatch(bb);
    expectModel('large batch', bb, big, fwd2.counters);
  });

  it("decrements the TTL with the checksum nflib's decrementIp4Ttl gives, for every checksum value", () => {
    const fwd = new Forwarder(config());
    const f = ipv4(ip('10.9.9.9'), 64);
    const batch = batchOf(Array.from({ length: 4096 }, () => f));
    const ref = new DataView(f.slice().buffer);
    const hops = new Int32Array(4096).fill(1);
    const index = Uint16Array.from({ length: 4096 }, (_, i) => i);
    for (let c0 = 0; c0 < 0x10000; c0 += 4096) {
      for (let i = 0; i < 4096; i++) {
        const o = batch.offsets[i];
        batch.data[o + 22] = 64 + (i % 100);
        batch.view.setUint16(o + 24, c0 + i);
      }
      fwd.forwardBatch(batch, hops, index, 4096);
      for (let i = 0; i < 4096; i++) {
        ref.setUint8(22, 64 + (i % 100));
        ref.setUint16(24, c0 + i);
        decrementIp4Ttl(ref, 14);
        const o = batch.offsets[i];
        if (batch.view.getUint16(o + 22) !== ref.getUint16(22) || batch.view.getUint16(o + 24) !== ref.getUint16(24)) {
          expect({ checksum: c0 + i, ttlProto: batch.view.getUint16(o + 22), sum: batch.view.getUint16(o + 24) }).toEqual({ checksum: c0 + i, ttlProto: ref.getUint16(22), sum: ref.getUint16(24) });
        }
      }
    }
  });
});
