import { describe, expect, it } from 'vitest';
import { createMemPair, MemBackend } from '../src/backends/mem.js';
import { openPort, parsePortSpec, registerBackend, registeredBackends } from '../src/backends/registry.js';
import type { FlitSink, FrameSink } from '../src/backends/types.js';
import { FlitBuffer } from '../src/flit-buffer.js';
import { arpFrame, ipv4Frame } from './frames.js';
import { collect } from './harness.js';

describe('mem port', () => {
  it('delivers what one end sends to the other, both ways', () => {
    const [a, b] = createMemPair('x');
    expect(a.spec).toBe('mem:x');
    expect(a.peer).toBe(b);
    expect(a.send(ipv4Frame({ tag: 1 }), 0, 64, 10, 20)).toBe(true);
    expect(b.send(arpFrame(2), 0, 60, -1, 0)).toBe(true);
    expect(a.queuedFrames).toBe(1);
    const atB = collect(b);
    expect(atB).toHaveLength(1);
    expect(atB[0]).toMatchObject({ bytes: ipv4Frame({ tag: 1 }), tsSec: 10, tsNsec: 20 });
    expect(collect(a)[0].bytes).toEqual(arpFrame(2));
    expect(a.stats()).toMatchObject({ txPackets: 1, txBytes: 64, rxPackets: 1, rxBytes: 60 });
  });

  it('bounds its queue: frames that do not fit are dropped and counted', () => {
    const [a, b] = createMemPair('', { queueBytes: 4096 });
    let ok = 0;
    for (let i = 0; i < 80; i++) if (a.send(ipv4Frame(), 0, 64, -1, 0)) ok++;
    expect(ok).toBe(63);
    expect(a.stats().txDropped).toBe(17);
    expect(b.discardQueued()).toBe(63);
    expect(b.stats().rxDropped).toBe(63);
    expect(a.send(ipv4Frame(), 0, 64, -1, 0)).toBe(true);
    expect(a.send(new Uint8Array(10), 0, 10, -1, 0)).toBe(false);
    expect(a.stats().errors).toBe(1);
    expect(() => createMemPair('', { queueBytes: 1000 })).toThrow(RangeError);
  });

  it('moves flit blocks with sendFlits and pollFlits, splitting only when the queue is short', () => {
    const [a, b] = createMemPair('', { queueBytes: 4096 });
    const block = new FlitBuffer(1024);
    for (let i = 0; i < 8; i++) {
      block.data.set(ipv4Frame({ size: 100, tag: i }), i * 128);
      block.lens[i * 2] = 100;
      block.tsSec[i * 2] = i;
    }
    expect(a.sendFlits(block, 0, 1024, 8, 800)).toBe(8);
    expect(a.sendFlits(block, 0, 1024, 8, 800)).toBe(8);
    expect(a.sendFlits(block, 0, 1024, 8, 800)).toBe(8);
    // 3 KiB queued of 4 KiB: the next block does not fit whole, the frames that fit still go.
    expect(a.sendFlits(block, 0, 1024, 8, 800)).toBe(7);
    expect(a.stats()).toMatchObject({ txPackets: 31, txDropped: 1, txBytes: 3100 });
    const seen: number[] = [];
    /** Takes whole blocks, checking each frame's tag against its timestamp. */
    class CheckingSink implements FlitSink {
      lastFrames = 0;
      lastFrameBytes = 0;
      push(): boolean {
        return true;
      }
      pushFlits(buf: Uint8Array, offset: number, nbBytes: number, lens: Uint16Array, tsSec: Uint32Array): number {
        let n = 0;
        let bytes = 0;
        for (let o = offset; o < offset + nbBytes; o += (lens[o >> 6] + 63) & ~63) {
          seen.push(tsSec[o >> 6]);
          expect(buf[o + 63]).toBe(tsSec[o >> 6]);
          n++;
          bytes += lens[o >> 6];
        }
        this.lastFrames = n;
        this.lastFrameBytes = bytes;
        return nbBytes;
      }
    }
    const sink = new CheckingSink();
    let frames = 0;
    for (let n = b.pollFlits(sink); n > 0; n = b.pollFlits(sink)) frames += n;
    expect(frames).toBe(31);
    expect(seen.slice(0, 9)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0]);
    expect(b.stats()).toMatchObject({ rxPackets: 31, rxBytes: 3100 });
  });

  it('poll respects its frame budget', () => {
    const [a, b] = createMemPair();
    for (let i = 0; i < 5; i++) a.send(ipv4Frame(), 0, 64, -1, 0);
    const sink: FrameSink = { push: () => true };
    expect(b.poll(sink, 3)).toBe(3);
    expect(b.poll(sink, 3)).toBe(2);
    expect(b.poll(sink, 3)).toBe(0);
  });

  it('is exhausted once closed, or once the peer closed and the queue is drained', async () => {
    const [a, b] = createMemPair();
    a.send(ipv4Frame(), 0, 64, -1, 0);
    await a.close();
    expect(a.exhausted).toBe(true);
    expect(b.exhausted).toBe(false);
    expect(collect(b)).toHaveLength(1);
    expect(b.exhausted).toBe(true);
    expect(b.send(ipv4Frame(), 0, 64, -1, 0)).toBe(false);
    expect(b.stats().txDropped).toBe(1);
    await b.close();
  });
});

describe('port registry', () => {
  it('parses KIND and KIND:TARGET specs', () => {
    expect(parsePortSpec('mem')).toEqual({ kind: 'mem', target: '' });
    expect(parsePortSpec('pcap:/tmp/a:b.pcap')).toEqual({ kind: 'pcap', target: '/tmp/a:b.pcap' });
    expect(() => parsePortSpec(':x')).toThrow(/bad port spec/);
    expect(() => parsePortSpec('Bad')).toThrow(/valid specs/);
  });

  it('opens mem ports: two opens of one name are the two ends of a pair', async () => {
    const a = await openPort('mem:reg-pair');
    const b = await openPort('mem:reg-pair');
    expect(a).toBeInstanceOf(MemBackend);
    expect((a as MemBackend).peer).toBe(b);
    const c = await openPort('mem');
    expect((c as MemBackend).peer).not.toBe(a);
    expect(registeredBackends()).toContain('mem');
  });

  it('lists the valid specs when a kind is unknown', async () => {
    await expect(openPort('bogus:1')).rejects.toThrow(/unknown port kind 'bogus'[\s\S]*mem\[:NAME\]/);
  });

  it('takes new kinds through registerBackend', async () => {
    const made: string[] = [];
    registerBackend('test-kind', (target, role) => {
      made.push(`${target}/${role}`);
      return createMemPair()[0];
    });
    const port = await openPort('test-kind:abc', 'tx', { anything: 1 });
    expect(port.kind).toBe('mem');
    expect(made).toEqual(['abc/tx']);
    expect(() => registerBackend('Bad Kind', () => createMemPair()[0])).toThrow(TypeError);
  });
});
