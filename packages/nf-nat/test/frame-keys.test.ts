// The addon's FlowProbe.frameKeys (the native key pass of processBatch) against NatEngine.keyOf, the
// JavaScript it stands in for: on valid TCP/UDP/ICMP frames in both directions, and on the same
// frames broken in every header field keyOf looks at (truncated, options, fragments, other
// protocols and ether types, lengths past the frame or past the buffer, foreign ports), the keys of
// every frame it does not leave to keyOf must be keyOf's, bit for bit. And FlowProbe.forward (the
// native short path; its results are held to process() in batch.test.ts) fed garbage: it must stay
// inside its buffers.
import { describe, expect, it } from 'vitest';
import { createFlowProbe } from '@gnet/manager-native';
import { NatEngine, parseNatConfig } from '../src/index.js';
import { eth, ipPacket, type L4 } from './frames.js';

const SLOT = 128;
const N = 256;

describe('FlowProbe.frameKeys', () => {
  it('gives keyOf\'s key for every frame it keys, and leaves exactly the ICMP frames and those past the buffer to keyOf', () => {
    const cfg = parseNatConfig({ external: ['203.0.113.1'], maxFlows: 64, insidePort: 0, outsidePort: 1 });
    const nat = new NatEngine(cfg, { nativeProbe: false });
    // The batch arrays live at an offset inside shared buffers, as a pool's descriptors do.
    const meta = new SharedArrayBuffer(4096 + N * 10);
    const offsets = new Uint32Array(meta, 1024, N);
    const lengths = new Uint32Array(meta, 1024 + N * 4, N);
    const ports = new Uint16Array(meta, 1024 + N * 8, N);
    const data = new Uint8Array(new SharedArrayBuffer(64 + N * SLOT), 64);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const keys = new Uint32Array(4 * N);
    const homes = new Int32Array(N);
    const probe = createFlowProbe({ slots: new Int32Array(8 * 64), keys, homes, found: new Int32Array(N) });
    probe.bindFrames(data, new Uint8Array(meta), new Uint8Array(meta), new Uint8Array(meta));

    let x = 7;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    let keyed = 0;
    let left = 0;
    for (let round = 0; round < 40; round++) {
      const expectLeft: boolean[] = [];
      for (let i = 0; i < N; i++) {
        const proto = (['udp', 'tcp', 'icmp'] as const)[rnd(3)];
        const l4: L4 = { proto, sport: 1 + rnd(65535), dport: 1 + rnd(65535), type: [8, 0, 3, 11][rnd(4)], id: rnd(65536), flags: 0x10 };
        const f = eth(ipPacket(`10.0.${rnd(4)}.${1 + rnd(250)}`, `198.51.100.${1 + rnd(250)}`, l4));
        let len = f.length;
        // Break one field keyOf reads, most of the time.
        switch (rnd(14)) {
          case 0: len = rnd(34); break; // truncated frame
          case 1: f[12] = 0x86; f[13] = 0xdd; break; // IPv6 ether type
          case 2: f[12] = 0x08; f[13] = 0x06; break; // ARP
          case 3: f[14] = 0x65; break; // IP version 6
          case 4: f[14] = 0x40 | rnd(5); break; // IHL below 5
          case 5: f[14] = 0x46; break; // IHL 6: options (the L4 header moves)
          case 6: f[20] = rnd(2) ? 0x20 : 0; f[21] = rnd(2); break; // more fragments / an offset
          case 7: f[16] = 0; f[17] = rnd(40); break; // total length below the header or L4 header
          case 8: f[16] = 0x05; break; // total length past the frame
          case 9: f[23] = [47, 50, 132, 0][rnd(4)]; break; // GRE, ESP, SCTP, hop-by-hop
          case 10: if (proto === 'tcp') f[46] = rnd(5) << 4; break; // TCP data offset below 5
          case 11: len = 34 + rnd(f.length - 34); break; // frame shorter than its IP length
          default: break; // valid
        }
        const off = i * SLOT;
        data.fill(0, off, off + SLOT);
        data.set(f.subarray(0, Math.min(f.length, SLOT)), off);
        offsets[i] = off;
        lengths[i] = len;
        ports[i] = [0, 1, 2][rnd(3)];
        // A few frames reaching past the end of the bound data: keyOf's (it may throw there).
        const past = rnd(50) === 0;
        if (past) {
          offsets[i] = data.length - 20;
          lengths[i] = 60;
        }
        expectLeft.push(past || (f[23] === 1 && len >= 34 && f[12] === 8 && f[13] === 0));
      }
      const n = probe.frameKeys(N, offsets.byteOffset, lengths.byteOffset, ports.byteOffset, 0, 1);
      let marked = 0;
      const want = new Uint32Array(4);
      for (let i = 0; i < N; i++) {
        if (homes[i] === -2) {
          marked++;
          expect(expectLeft[i] || offsets[i] + lengths[i] > data.length, `frame ${i} left to keyOf`).toBe(true);
          continue;
        }
        expect(homes[i]).toBe(-1);
        nat.keyOf(view, data, offsets[i], lengths[i], ports[i], want, 0);
        // No key is word 3 = 0 (keyOf leaves the other words as they were).
        if (want[3] === 0) expect(keys[4 * i + 3], `frame ${i} (round ${round}): no key`).toBe(0);
        else {
          expect([...keys.subarray(4 * i, 4 * i + 4)], `frame ${i} (round ${round})`).toEqual([...want]);
          keyed++;
        }
      }
      expect(n).toBe(marked);
      left += marked;
    }
    // The corpus reached both outcomes plenty of times.
    expect(keyed).toBeGreaterThan(800);
    expect(left).toBeGreaterThan(500);
  });

  it('refuses a batch past the bound buffers and a call before bindFrames', () => {
    const probe = createFlowProbe({ slots: new Int32Array(16), keys: new Uint32Array(16), homes: new Int32Array(4), found: new Int32Array(4) });
    expect(() => probe.frameKeys(1, 0, 0, 0, 0, 1)).toThrow(/bindFrames first/);
    probe.bindFrames(new Uint8Array(64), new Uint8Array(16), new Uint8Array(16), new Uint8Array(8));
    expect(() => probe.frameKeys(4, 4, 0, 0, 0, 1)).toThrow(RangeError);
    expect(() => probe.frameKeys(5, 0, 0, 0, 0, 1)).toThrow(RangeError);
    expect(probe.frameKeys(4, 0, 0, 0, 0, 1)).toBe(0);
  });
});

describe('FlowProbe.forward', () => {
  it('with arbitrary keys, slots, offsets and frames, writes only inside the bound buffers and throws for a batch past them', () => {
    // Whatever the caller leaves in keys, found and homes (they are plain writable arrays), and frames
    // that end at the buffer's edge: every write must land in the frames, the table, or the batch's
    // actions and destinations, never in the guard bytes around them.
    const N2 = 64;
    const GUARD = 256;
    const guarded = (n: number) => {
      const all = new Uint8Array(n + 2 * GUARD).fill(0xa5);
      return { all, inner: all.subarray(GUARD, GUARD + n) };
    };
    const frames = guarded(N2 * 40 + 3); // frames 40 bytes apart: the last lines reach past the end
    const act = guarded(N2);
    const dest = guarded(2 * N2);
    const meta = new Uint8Array(N2 * 10);
    const offsets = new Uint32Array(meta.buffer, 0, N2);
    const lengths = new Uint32Array(meta.buffer, N2 * 4, N2);
    const ports = new Uint16Array(meta.buffer, N2 * 8, N2);
    const slots = new Int32Array(8 * 128);
    const keys = new Uint32Array(4 * N2);
    const homes = new Int32Array(N2);
    const found = new Int32Array(N2);
    const probe = createFlowProbe({ slots, keys, homes, found });
    probe.bindFrames(frames.inner, meta, meta, meta);
    const params = new Int32Array(21);
    params.set([0, 0x3f, 300, 7440, 240, 0, 1, 3], 0); // every flag, so every path is open
    params[17] = 1; // one external address
    params[18] = 0; // no subnets
    params[19] = 0x01020304;
    probe.bindNat(params, act.inner, dest.inner);
    let x = 99;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    let translated = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < frames.inner.length; i++) frames.inner[i] = rnd(256);
      for (let i = 0; i < N2; i++) {
        offsets[i] = rnd(3) === 0 ? frames.inner.length - rnd(80) : i * 40;
        lengths[i] = rnd(2000);
        ports[i] = rnd(2);
        for (let w = 0; w < 4; w++) keys[4 * i + w] = (rnd(65536) << 16) | rnd(65536);
        keys[4 * i + 3] = [6, 17, 1][rnd(3)] | ((1 + rnd(2)) << 8);
        homes[i] = rnd(4) - 1;
        found[i] = rnd(200) - 20; // slots past the table too
        // A live session in the slot (or not) with a random translation.
        const f = found[i];
        if (f >= 0 && f < 128) for (let w = 0; w < 8; w++) slots[8 * f + w] = w === 6 ? rnd(2) * 1000 : (rnd(65536) << 16) | rnd(65536);
      }
      params[0] = 1000;
      translated += probe.forward(N2, 0, 0, 0);
    }
    expect(translated).toBeGreaterThan(0); // the paths that write were taken
    for (const g of [frames, act, dest]) {
      expect(g.all.subarray(0, GUARD).every((b) => b === 0xa5)).toBe(true);
      expect(g.all.subarray(GUARD + g.inner.length).every((b) => b === 0xa5)).toBe(true);
    }
    expect(() => probe.forward(N2 + 1, 0, 0, 0)).toThrow(RangeError);
    expect(() => probe.forward(N2, 0, 1, 0)).toThrow(RangeError); // actions past the bound buffer
    expect(() => probe.forward(N2, 0, 0, 2)).toThrow(RangeError); // destinations past it
    const short = new Int32Array(21);
    short[17] = 5; // five external addresses declared, room for two
    expect(() => probe.bindNat(short, act.inner, dest.inner)).toThrow(RangeError);
    expect(() => probe.bindNat(new Int32Array(18), act.inner, dest.inner)).toThrow(RangeError);
  });
});
