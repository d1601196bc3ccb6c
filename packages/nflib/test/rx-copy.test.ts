// The manager's receive copies: deferred to one native call per burst for backends whose frames
// stay put while they poll (`WireBackend.stableFrames`), made inside `push` for the others. Either
// way every frame leaves byte for byte as it came, also when a backend reuses its buffer mid-poll
// (a pcap window refilling, a generator stamping a template again, a backend with one buffer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPcapBackend, registerBackend, type FrameSink, type WireBackend, type WireStats } from '@gnet/enso';
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

  it('refuses a frame that runs past the end of its buffer, counting it invalid', () => {
    const { filler, port } = setup(true);
    expect(filler.push(new Uint8Array(100), 40, 64, 0, 0)).toBe(false);
    expect(filler.count).toBe(0);
    expect(port.rxInvalid).toBe(1);
  });
});
