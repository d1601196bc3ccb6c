// The manager's receive copies: deferred to one native call per burst for backends whose frames
// stay put while they poll (`WireBackend.stableFrames`), made inside `push` for the others. Either
// way every frame leaves byte for byte as it came, also when a backend reuses its buffer mid-poll
// (a pcap window refilling, a generator stamping a template again, a backend with one buffer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPcapBackend, openPort, registerBackend, type FrameSink, type WireBackend, type WireStats } from '@gnet/enso';
import { afterAll, describe, expect, it } from 'vitest';
import { hashTuple } from '../src/chain/flow-director.js';
import { Manager, type ManagerOptions } from '../src/index.js';
import { PacketPool } from '../src/pool/index.js';
import type { ManagerPort } from '../src/runtime/manager-port.js';
import { RxFiller, SlotCache } from '../src/runtime/rx-filler.js';
import { framesAt, ipv4Frame, readPcap, writePcap } from './pcap-util.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-rxcopy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Frame `i`: UDP of flow `i % 7`, 60-300 bytes, its number in the payload. */
function frame(i: number): Uint8Array {
  const payload = new Uint8Array(18 + ((i * 37) % 240));
  for (let k = 0; k < payload.length; k++) payload[k] = (i * 7 + k) & 0xff;
  payload[0] = i >> 8;
  payload[1] = i & 0xff;
  return ipv4Frame({ src: 0x0a000000 + (i % 7), sport: 1000 + (i % 7), payload });
}

/**
 * A backend that hands out `frames` from one buffer it rewrites for every frame. With `stable` it
 * declares `stableFrames` and settles the sink before each rewrite, as the contract asks.
 */
class OneBufferBackend implements WireBackend {
  readonly kind = 'onebuf';
  readonly spec: string;
  readonly stableFrames: boolean;
  readonly lossless = true;
  private readonly buf = new Uint8Array(2048);
  private next = 0;
  constructor(
    private readonly frames: Uint8Array[],
    stable: boolean,
  ) {
    this.spec = `onebuf:${stable ? 'stable' : 'copy'}`;
    this.stableFrames = stable;
  }
  get exhausted(): boolean {
    return this.next >= this.frames.length;
  }
  poll(sink: FrameSink, max: number): number {
    let n = 0;
    while (n < max && this.next < this.frames.length) {
      if (n > 0 && this.stableFrames) sink.settle?.();
      const f = this.frames[this.next++];
      this.buf.fill(0xee);
      this.buf.set(f, 64);
      sink.push(this.buf, 64, f.length, 1_700_000_000, 0);
      n++;
    }
    return n;
  }
  send(): boolean {
    return false;
  }
  flush(): void {}
  async close(): Promise<void> {}
  stats(): WireStats {
    return { rxPackets: this.next, rxBytes: 0, txPackets: 0, txBytes: 0, rxDropped: 0, txDropped: 0, errors: 0 };
  }
}

const input = Array.from({ length: 1500 }, (_, i) => frame(i));
registerBackend('onebuf', (target) => new OneBufferBackend(input, target === 'stable'));
// A pcap reader with a 256-byte window: it refills (moving the bytes of frames already pushed) many
// times in every poll.
registerBackend('tinypcap', (target, role) => createPcapBackend(target, role, { chunkSize: 256 }));

/** Runs `inSpec` through a wire (no NF) into a pcap; returns the frames written. */
async function wire(inSpec: string, extra: Partial<ManagerOptions> = {}): Promise<Uint8Array[]> {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.pcap`);
  const m = await Manager.create({ ports: [{ spec: inSpec, role: 'rx' }, { spec: `pcap:${out}`, role: 'tx' }], burst: 64, ...extra });
  await m.run({ untilDrained: true });
  await m.close();
  return readPcap(out).map((f) => f.bytes);
}

describe('the manager copies received frames', () => {
  it('out of a pcap whose read window refills within a burst, byte for byte', async () => {
    const path = join(dir, 'in.pcap');
    writePcap(path, framesAt(input));
    expect(await wire(`tinypcap:${path}`)).toEqual(input);
  });

  it('from a backend that rewrites one buffer per frame, with and without stableFrames', async () => {
    expect(await wire('onebuf:copy')).toEqual(input);
    expect(await wire('onebuf:stable')).toEqual(input);
  });

  it('from a mem port in bursts, with the receive time of each frame', async () => {
    const feed = await openPort('mem:rxcopy', 'rxtx'); // the first end; the manager opens the second
    const frames = input.slice(0, 700);
    frames.forEach((f, i) => expect(feed.send(f, 0, f.length, 1_700_000_000 + (i >> 4), (i * 1237) % 1_000_000_000)).toBe(true));
    const out = join(dir, 'mem-out.pcap');
    const m = await Manager.create({ ports: [{ spec: 'mem:rxcopy', role: 'rx' }, { spec: `pcap:${out}`, role: 'tx' }], burst: 64 });
    await feed.close(); // the port is exhausted once its queue is read
    await m.run({ untilDrained: true });
    await m.close();
    const got = readPcap(out);
    expect(got.map((f) => f.bytes)).toEqual(frames);
    // pcap keeps microseconds: each frame's own time went through the pool.
    expect(got.map((f) => [f.sec, f.usec])).toEqual(frames.map((_, i) => [1_700_000_000 + (i >> 4), Math.floor(((i * 1237) % 1_000_000_000) / 1000)]));
  });

  it('from a generator that stamps its templates again within a burst (stamp=seq, few flows)', async () => {
    for (const flows of [1, 2, 3, 70]) {
      const frames = await wire(`gen:count=500,size=64,flows=${flows},stamp=seq`, { burst: 256 });
      expect(frames.length).toBe(500);
      // UDP: the stamp is the first payload word, after 42 bytes of headers.
      const seqs = frames.map((d) => ((d[42] << 24) | (d[43] << 16) | (d[44] << 8) | d[45]) >>> 0);
      expect(seqs, `flows=${flows}`).toEqual(Array.from({ length: 500 }, (_, i) => i));
    }
  });
});

describe('RxFiller', () => {
  function setup(stable: boolean) {
    const pool = PacketPool.create({ slotCount: 64, slotSize: 512, batchCount: 4, batchCapacity: 32 });
    const cache = new SlotCache(64);
    for (let i = 0; i < 64; i++) cache.slots[cache.count++] = i;
    const filler = new RxFiller(pool, cache, new Uint32Array(4 * 32));
    const port = { id: 3, rxInvalid: 0, rxNoBuffer: 0, backend: { stableFrames: stable } } as unknown as ManagerPort;
    filler.begin(1, port, 32, null);
    return { pool, filler, port };
  }

  it.each([true, false])('fills slots and descriptors the same with stableFrames %s, hashing the flow from the source', (stable) => {
    const { pool, filler } = setup(stable);
    const a = new Uint8Array(4096);
    const b = new Uint8Array(4096);
    const frames = input.slice(0, 10);
    // Frames 0-4 from buffer a, 5-9 from b: a sink that defers must copy a's before b's.
    frames.forEach((f, i) => {
      const src = i < 5 ? a : b;
      src.set(f, 320 * (i % 5));
      expect(filler.push(src, 320 * (i % 5), f.length, 1, 2)).toBe(true);
    });
    filler.settle();
    a.fill(0);
    b.fill(0);
    expect(filler.count).toBe(10);
    const t = pool.batches;
    const base = 1 * t.capacity;
    frames.forEach((f, i) => {
      const k = base + i;
      expect(t.length[k]).toBe(f.length);
      expect(t.port[k]).toBe(3);
      expect(pool.bytes.subarray(t.offset[k], t.offset[k] + f.length)).toEqual(f);
      const v = new DataView(f.buffer, f.byteOffset);
      expect(t.flowHash[k]).toBe(hashTuple(v.getInt32(26), v.getInt32(30), v.getInt32(34), 17));
    });
  });

  it('takes a burst in one native call with the same result as frame by frame', () => {
    // Every kind of frame the flow hash distinguishes, and ones refused as malformed.
    const v4 = (proto: number, ihl = 5) => {
      const f = ipv4Frame({ proto, src: 0xc0a80001, dst: 0x0a000002, sport: 4242, dport: 80, payload: 30 });
      if (ihl === 5) return f;
      const g = new Uint8Array(f.length + (ihl - 5) * 4);
      g.set(f.subarray(0, 34));
      g.set(f.subarray(34), 34 + (ihl - 5) * 4);
      g[14] = 0x40 | ihl;
      return g;
    };
    const tagged = (f: Uint8Array, tpid: number) => {
      const g = new Uint8Array(f.length + 4);
      g.set(f.subarray(0, 12));
      g[12] = tpid >> 8;
      g[13] = tpid & 0xff;
      g[14] = 0;
      g[15] = 7;
      g.set(f.subarray(12), 16);
      return g;
    };
    const v6 = (proto: number) => {
      const g = new Uint8Array(14 + 40 + 12);
      g.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]);
      g[14] = 0x60;
      g[20] = proto;
      for (let k = 22; k < 54; k++) g[k] = (k * 29) & 0xff;
      g.set([0x12, 0x34, 0x00, 0x35], 54);
      return g;
    };
    const frames = [
      v4(17), v4(6), v4(1), v4(47), v4(6, 7), v4(17, 15),
      tagged(v4(17), 0x8100), tagged(v4(6), 0x88a8), tagged(v6(6), 0x8100),
      v6(17), v6(6), v6(58), v6(17).subarray(0, 50),
      v4(17).subarray(0, 36), v4(17).subarray(0, 20), new Uint8Array(17), new Uint8Array(10), new Uint8Array(600),
      ...input.slice(0, 20),
    ];
    const src = new Uint8Array(64 * 1024);
    const offsets = new Uint32Array(frames.length);
    const lengths = new Uint32Array(frames.length);
    let at = 0;
    frames.forEach((f, i) => {
      src.set(f, at);
      offsets[i] = at;
      lengths[i] = f.length;
      at += (f.length + 63) & ~63;
    });
    lengths[frames.length - 1] = 70000; // past the source's end
    const run = (burst: boolean, slots: number, epochs: boolean) => {
      const pool = PacketPool.create({ slotCount: 64, slotSize: 512, batchCount: 4, batchCapacity: 64 });
      if (epochs) pool.trackEpochs();
      const cache = new SlotCache(64);
      for (let i = 0; i < slots; i++) cache.slots[cache.count++] = i;
      const slotOf = new Uint32Array(4 * 64);
      const filler = new RxFiller(pool, cache, slotOf);
      const port = { id: 5, rxInvalid: 0, rxNoBuffer: 0, backend: {} } as unknown as ManagerPort;
      filler.begin(2, port, 30, null);
      let took = 0;
      if (burst) took = filler.pushBurst(src, offsets, lengths, frames.length, 7, 8);
      else for (let i = 0; i < frames.length; i++) took += filler.push(src, offsets[i], lengths[i], 7, 8) ? 1 : 0;
      const t = pool.batches;
      return {
        took,
        count: filler.count,
        bytes: filler.bytes,
        counters: [port.rxInvalid, port.rxNoBuffer],
        cache: cache.count,
        table: [t.slot, t.offset, t.length, t.flowHash, t.port].map((a) => Array.from(a)),
        slotOf: Array.from(slotOf),
        meta: [pool.meta.tsSec, pool.meta.tsNsec, pool.meta.epoch].map((a) => Array.from(a)),
        data: Array.from(pool.bytes.subarray(pool.dataOffset)),
      };
    };
    for (const [slots, epochs] of [[64, false], [64, true], [12, false]] as const) {
      const one = run(false, slots, epochs);
      const burst = run(true, slots, epochs);
      expect(burst.took).toBe(one.took);
      expect(burst).toEqual(one);
      expect(one.counters[0]).toBe(3); // the 10-byte runt, the 600-byte frame (slots of 512), the one past the end
      // Refused for want of a slot (12 free) or of room in the burst (30).
      expect(one.counters[1]).toBe(frames.length - 3 - Math.min(slots, 30));
    }
    // Every kind with a 5-tuple hashes to non-zero (IPv4 cut inside its ports too: addresses and
    // protocol); the cut IPv6 header, 20 bytes of IPv4 and 17 bytes to 0. The refused frames take no
    // entry, so the 17-byte one is followed by the first of `input`.
    const hashes = run(true, 64, false).table[3].slice(2 * 64, 2 * 64 + 17);
    expect(hashes.map((h) => h !== 0)).toEqual([...Array(12).fill(true), false, true, false, false, true]);
  });

  it('refuses a frame that runs past the end of its buffer, counting it invalid', () => {
    const { filler, port } = setup(true);
    expect(filler.push(new Uint8Array(100), 40, 64, 0, 0)).toBe(false);
    expect(filler.count).toBe(0);
    expect(port.rxInvalid).toBe(1);
  });
});
