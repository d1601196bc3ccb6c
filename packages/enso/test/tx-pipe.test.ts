import { describe, expect, it } from 'vitest';
import { NO_TIMESTAMP } from '../src/constants.js';
import { FlitBuffer } from '../src/flit-buffer.js';
import { pktRtt } from '../src/helpers.js';
import { arpFrame, ipv4Frame, ipv6Frame, seededBytes } from './frames.js';
import { collect, inject, rig, walk } from './harness.js';

describe('TxPipe', () => {
  it('allocateBuf / writeFrame / sendAndFree put frames on the port with their lengths', async () => {
    const { dev, wire } = await rig();
    const tx = dev.allocateTxPipe();
    expect(tx.maxCapacity).toBe(8192 - 64);
    expect(tx.capacity).toBe(tx.maxCapacity);
    let at = tx.allocateBuf();
    const start = at;
    at += tx.writeFrame(at, ipv4Frame({ size: 70, tag: 1 }), 0, 70);
    at += tx.writeFrame(at, arpFrame(2), 0, 60, 1_600_000_000, 5);
    at += tx.writeFrame(at, ipv6Frame(90), 0, 90);
    tx.sendAndFree(at - start);
    const got = collect(wire);
    expect(got.map((g) => g.bytes.length)).toEqual([70, 60, 90]);
    expect(got[0].bytes).toEqual(ipv4Frame({ size: 70, tag: 1 }));
    expect(got[1].bytes).toEqual(arpFrame(2));
    expect([got[1].tsSec, got[1].tsNsec]).toEqual([1_600_000_000, 5]);
    expect(Math.abs(got[0].tsSec - Date.now() / 1000)).toBeLessThan(5);
    expect(tx.pendingTransmission).toBe(128 + 64 + 128);
    expect(tx.capacity).toBe(tx.maxCapacity - 320);
    expect(tx.tryExtendBuf()).toBe(tx.maxCapacity);
    expect(dev.nic.stats()).toMatchObject({ txFrames: 3, txBytes: 220 });
    await dev.close();
  });

  it('raw writes without a recorded length are sized by their IPv4 header, as in Enso', async () => {
    const { dev, wire } = await rig();
    const tx = dev.allocateTxPipe();
    const at = tx.allocateBuf(256);
    tx.buf.set(ipv4Frame({ size: 100, tag: 9 }), at);
    tx.buf.set(ipv4Frame({ size: 64 }), at + 128);
    tx.sendAndFree(192);
    expect(collect(wire).map((g) => g.bytes.length)).toEqual([100, 64]);
    await dev.close();
  });

  it('a frame whose length cannot be known ends the request, counted as txInvalid', async () => {
    const { dev, wire } = await rig();
    const tx = dev.allocateTxPipe();
    const at = tx.allocateBuf();
    tx.buf.set(ipv4Frame(), at);
    tx.buf.set(arpFrame(), at + 64); // raw ARP: no IPv4 length, no recorded length
    tx.buf.set(ipv4Frame(), at + 128);
    tx.sendAndFree(192);
    expect(collect(wire)).toHaveLength(1);
    expect(dev.nic.stats().txInvalid).toBe(1);
    // The side entries were reset: the pipe works normally afterwards.
    const next = tx.allocateBuf();
    tx.buf.set(ipv4Frame({ size: 80 }), next);
    tx.sendAndFree(128);
    expect(collect(wire).map((g) => g.bytes.length)).toEqual([80]);
    await dev.close();
  });

  it('checks counts and regions', async () => {
    const { dev } = await rig();
    const tx = dev.allocateTxPipe();
    expect(() => tx.sendAndFree(100)).toThrow(/multiple of 64/);
    expect(() => tx.sendAndFree(8192)).toThrow(/available/);
    expect(() => tx.extendBufToTarget(8192)).toThrow(/kMaxCapacity/);
    expect(() => tx.writeFrame(tx.allocateBuf() + 8, ipv4Frame(), 0, 64)).toThrow(RangeError);
    expect(() => tx.writeFrame(tx.allocateBuf(), ipv4Frame(), 0, 10)).toThrow(/frame length/);
    expect(() => tx.writeFrame(tx.allocateBuf(), ipv4Frame(), 10, 64)).toThrow(/source range/);
    expect(() => tx.setFrameLength(tx.allocateBuf() + 8192, 64)).toThrow(/outside the allocated buffer/);
    expect(() => dev.allocateTxPipe({ port: 3 })).toThrow(/port 3/);
    await dev.close();
  });

  it('a buffer that runs past the end of the ring stays contiguous (overflow area)', async () => {
    const { dev, wire } = await rig({}, 1 << 18);
    const tx = dev.allocateTxPipe();
    // Walk the buffer start to 7936, 256 bytes before the end of the 8 KiB ring.
    for (let i = 0; i < 31; i++) {
      const at = tx.allocateBuf(256);
      tx.writeFrame(at, ipv4Frame({ size: 200 }), 0, 200);
      tx.sendAndFree(256);
      tx.tryExtendBuf();
    }
    collect(wire);
    const at = tx.allocateBuf(1600);
    expect(at).toBe(7936);
    const big = ipv4Frame({ size: 1500 });
    big.set(seededBytes(1400, 3), 100);
    tx.writeFrame(at, big, 0, 1500);
    tx.sendAndFree(1536);
    expect(tx.allocateBuf()).toBe((7936 + 1536) % 8192);
    const got = collect(wire);
    expect(got).toHaveLength(1);
    expect(got[0].bytes).toEqual(big);
    await dev.close();
  });

  it('copyBatch copies received frames with their lengths and timestamps (echo-copy)', async () => {
    const { dev, wire } = await rig();
    const rx = dev.allocateRxPipe(true);
    const tx = dev.allocateTxPipe();
    const arp = arpFrame(3);
    wire.send(arp, 0, 60, 1_500_000_000, 42);
    inject(wire, ipv4Frame({ size: 333 }));
    const batch = rx.recvPkts();
    walk(batch);
    tx.allocateBuf(batch.processedBytes);
    expect(tx.copyBatch(batch, batch.processedBytes)).toBe(448);
    rx.clear();
    tx.sendAndFree(448);
    const got = collect(wire);
    expect(got.map((g) => g.bytes.length)).toEqual([60, 333]);
    expect(got[0]).toMatchObject({ bytes: arp, tsSec: 1_500_000_000, tsNsec: 42 });
    await dev.close();
  });

  it('copyFrom sends a prepared block of frames (a generator)', async () => {
    const { dev, wire } = await rig();
    const tx = dev.allocateTxPipe();
    const block = new FlitBuffer(256);
    block.data.set(ipv4Frame({ size: 100, tag: 1 }), 0);
    block.lens[0] = 100;
    block.tsSec[0] = NO_TIMESTAMP;
    block.data.set(arpFrame(2), 128);
    block.lens[2] = 60;
    block.tsSec[2] = 77;
    for (let i = 0; i < 3; i++) {
      expect(tx.copyFrom(block, 0, 192, tx.allocateBuf(192))).toBe(192);
      tx.sendAndFree(192);
    }
    const got = collect(wire);
    expect(got.map((g) => g.bytes.length)).toEqual([100, 60, 100, 60, 100, 60]);
    expect(got[1].tsSec).toBe(77);
    expect(() => tx.copyFrom(block, 64, 256)).toThrow(/outside the source/);
    await dev.close();
  });

  it('exposes side arrays reset after sending', async () => {
    const { dev, wire } = await rig();
    const tx = dev.allocateTxPipe();
    const at = tx.allocateBuf();
    tx.setFrameLength(at, 64);
    tx.buf.set(ipv4Frame(), at);
    expect(tx.lens[at >> 6]).toBe(64);
    tx.sendAndFree(64);
    collect(wire);
    expect(tx.lens[at >> 6]).toBe(0);
    await dev.close();
    expect(NO_TIMESTAMP).toBe(0xffffffff);
  });
});

describe('RxTxPipe', () => {
  it('echoes received packets in place and frees them once sent', async () => {
    const { dev, wire } = await rig({ pipeSize: 4096 }, 1 << 18);
    const p = dev.allocateRxTxPipe();
    p.bind(5000, 0, 0x0a000001, 0, 17);
    let echoed = 0;
    for (let round = 0; round < 100; round++) {
      inject(wire, ipv4Frame({ tag: round & 255 }), arpFrame(round & 255));
      const batch = p.peekPkts();
      const got = walk(batch);
      for (const [o, len] of got) batch.buf[o + len - 1]++;
      p.confirmBytes(batch.processedBytes);
      p.sendAndFree(batch.processedBytes);
      echoed += got.length;
    }
    // The ARP frames went to no pipe (no fallback); the UDP ones came back modified.
    const back = collect(wire);
    expect(back).toHaveLength(echoed);
    expect(back.every((g, i) => g.bytes.length === 64 && g.bytes[63] === ((i & 255) + 1) % 256)).toBe(true);
    expect(p.stats().drops).toBe(0);
    expect(p.rxId).toBeGreaterThanOrEqual(0);
    expect(p.txId).toBe(0);
    await dev.close();
  });

  it('sends only confirmed bytes; setFrameLength changes what leaves', async () => {
    const { dev, wire } = await rig();
    const p = dev.allocateRxTxPipe(true);
    inject(wire, ipv4Frame({ size: 120 }), ipv4Frame({ size: 64 }));
    const b = p.peekPkts();
    walk(b);
    expect(() => p.sendAndFree(64)).toThrow(/only 0 available/);
    p.confirmBytes(b.processedBytes);
    expect(() => p.setFrameLength(0, 129)).toThrow(/do not fit/);
    p.setFrameLength(0, 100);
    p.sendAndFree(192);
    expect(collect(wire).map((g) => g.bytes.length)).toEqual([100, 64]);
    await dev.close();
  });

  it('frees sent bytes on the next receive call, re-arming notifications', async () => {
    const { dev, wire } = await rig({ pipeSize: 4096 });
    const p = dev.allocateRxTxPipe(true);
    for (let i = 0; i < 40; i++) inject(wire, ipv4Frame());
    expect(dev.nextRxTxPipeToRecv()).toBe(p);
    const b = p.recvPkts(10);
    walk(b);
    p.sendAndFree(b.processedBytes);
    // Sent bytes come back as space; the remaining 30 packets are announced again.
    expect(dev.nextRxTxPipeToRecv()).toBe(p);
    const rest = p.recvPkts();
    expect(walk(rest)).toHaveLength(30);
    await dev.close();
  });
});

describe('NIC features', () => {
  it('rate limiting paces transmissions at num/den of the flit rate', async () => {
    // 20 000 flits/s at 1/1: 64-byte frames leave at 20 per millisecond.
    const { dev, wire } = await rig({ maxFlitRate: 20_000 }, 1 << 18);
    const tx = dev.allocateTxPipe();
    dev.enableRateLimiting(1, 1);
    expect(dev.nic.rateLimited).toBe(true);
    const at = tx.allocateBuf();
    for (let i = 0; i < 60; i++) tx.writeFrame(at + i * 64, ipv4Frame(), 0, 64);
    const t0 = performance.now();
    tx.sendAndFree(60 * 64);
    let sent = collect(wire).length;
    expect(sent).toBeLessThan(10);
    expect(tx.pendingTransmission).toBe(3840);
    while (sent < 60 && performance.now() - t0 < 5000) {
      dev.processCompletions();
      sent += collect(wire).length;
    }
    const ms = performance.now() - t0;
    expect(sent).toBe(60);
    expect(ms).toBeGreaterThan(2); // 59 frames after the first burst at 20/ms
    expect(tx.tryExtendBuf()).toBe(tx.maxCapacity);
    expect(() => dev.enableRateLimiting(0, 1)).toThrow(RangeError);
    expect(() => dev.enableRateLimiting(3, 2)).toThrow(/at most 1/);
    dev.disableRateLimiting();
    tx.writeFrame(tx.allocateBuf(), ipv4Frame(), 0, 64);
    tx.sendAndFree(64);
    expect(collect(wire)).toHaveLength(1);
    await dev.close();
  });

  it('timestamping: TX stamps the cycle counter, RX turns it into an RTT', async () => {
    const { dev, wire } = await rig();
    const tx = dev.allocateTxPipe();
    const rx = dev.allocateRxPipe(true);
    dev.enableTimeStamping();
    expect(dev.nic.timestampOffset).toBe(18);
    tx.writeFrame(tx.allocateBuf(), ipv4Frame(), 0, 64);
    tx.sendAndFree(64);
    const [out] = collect(wire);
    // Loop the stamped frame back in after a short wait.
    const until = performance.now() + 3;
    while (performance.now() < until);
    inject(wire, out.bytes);
    const b = rx.peekPkts();
    const rttCycles = pktRtt(b.buf, b.first());
    expect(rttCycles * 5).toBeGreaterThan(2_000_000); // > 2 ms in 5 ns cycles
    expect(rttCycles * 5).toBeLessThan(5_000_000_000);
    dev.disableTimeStamping();
    expect(() => dev.enableTimeStamping(61)).toThrow(RangeError);
    await dev.close();
  });
});
