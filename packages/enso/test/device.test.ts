import { describe, expect, it } from 'vitest';
import { createMemPair, MemBackend } from '../src/backends/mem.js';
import type { FrameSink, WireBackend } from '../src/backends/types.js';
import { emptyWireStats } from '../src/backends/types.js';
import { Device } from '../src/device.js';
import { ipv4ToNumber } from '../src/helpers.js';
import { SoftNic } from '../src/nic.js';
import { ipv4Frame } from './frames.js';
import { inject, rig, walk } from './harness.js';

describe('Device', () => {
  it('defaults to one mem port whose far end is reachable as peer', async () => {
    const dev = await Device.create({ pipeSize: 8192 });
    expect(dev.nic.ports).toHaveLength(1);
    const port = dev.nic.ports[0] as MemBackend;
    expect(port.kind).toBe('mem');
    const p = dev.allocateRxPipe(true);
    inject(port.peer, ipv4Frame());
    expect(walk(p.peekPkts())).toHaveLength(1);
    await dev.close();
  });

  it('several devices share one NIC, each with its own pipes and notifications', async () => {
    const [port, wire] = createMemPair();
    const nic = new SoftNic([port]);
    const a = await Device.create({ nic, pipeSize: 8192 });
    const b = await Device.create({ nic, pipeSize: 8192 });
    const pa = a.allocateRxPipe();
    const pb = b.allocateRxPipe();
    expect(pa.id).not.toBe(pb.id);
    pa.bind(1, 0, ipv4ToNumber('10.0.0.1'), 0, 17);
    pb.bind(2, 0, ipv4ToNumber('10.0.0.1'), 0, 17);
    inject(wire, ipv4Frame({ dport: 2 }), ipv4Frame({ dport: 1 }));
    // Either device's poll moves frames for both.
    expect(a.nextRxPipeToRecv()).toBe(pa);
    expect(a.nextRxPipeToRecv()).toBeNull();
    expect(b.nextRxPipeToRecv()).toBe(pb);
    // Closing b releases its pipe and flow but leaves the shared NIC running.
    await b.close();
    inject(wire, ipv4Frame({ dport: 2 }), ipv4Frame({ dport: 1 }));
    walk(pa.recvPkts());
    expect(nic.stats().rxNoPipe).toBe(1);
    expect(port.exhausted).toBe(false);
    await a.close();
    await nic.close();
    expect(port.exhausted).toBe(true);
  });

  it('settings are NIC-wide', async () => {
    const nic = new SoftNic([createMemPair()[0]]);
    const a = await Device.create({ nic });
    const b = await Device.create({ nic });
    a.enableRoundRobin();
    expect(b.getRoundRobinStatus()).toBe(true);
    await nic.close();
  });

  it('closing releases pipes: later calls throw, pipe ids and memory are reused', async () => {
    const [port, wire] = createMemPair();
    const nic = new SoftNic([port]);
    const dev = await Device.create({ nic, pipeSize: 8192 });
    const p = dev.allocateRxPipe(true);
    const tx = dev.allocateTxPipe();
    const rxtx = dev.allocateRxTxPipe();
    const ids = [p.id, rxtx.rxId];
    await dev.close();
    await dev.close();
    expect(() => p.recvPkts()).toThrow(/closed/);
    expect(() => tx.allocateBuf()).toThrow(/closed/);
    expect(() => rxtx.sendAndFree(0)).toThrow(/closed/);
    expect(() => dev.allocateRxPipe()).toThrow(/closed/);
    expect(() => dev.nextRxPipeToRecv()).toThrow(/closed/);
    // The released fallback pipe no longer receives; its ids serve the next pipes.
    expect(nic.fallbackQueues).toBe(0);
    inject(wire, ipv4Frame());
    nic.poll();
    expect(nic.stats().rxNoPipe).toBe(1);
    const again = await Device.create({ nic, pipeSize: 8192 });
    expect([again.allocateRxPipe().id, again.allocateRxPipe().id].sort()).toEqual([...ids].sort());
    await again.close();
    await nic.close();
  });

  it('limits the number of RX pipes per NIC', async () => {
    const { dev } = await rig({ maxRxPipes: 2 });
    dev.allocateRxPipe();
    dev.allocateRxTxPipe();
    expect(() => dev.allocateRxPipe()).toThrow(/no RX pipe left/);
    await dev.close();
  });

  it('rejects bad options clearly', async () => {
    await expect(Device.create({ pipeSize: 5000 })).rejects.toThrow(/pipeSize/);
    await expect(Device.create({ ports: ['nope:x'] })).rejects.toThrow(/unknown port kind 'nope'/);
    await expect(Device.create({ ports: [] })).rejects.toThrow(/at least one port/);
    await expect(Device.create({ rxBurst: 0 })).rejects.toThrow(/rxBurst/);
  });

  it('receive-only ports cannot carry TX pipes and are polled', async () => {
    const nic = await SoftNic.open([{ spec: 'mem:ro-test', role: 'rx' }, 'mem:ro-test']);
    const dev = await Device.create({ nic, pipeSize: 8192 });
    expect(() => dev.allocateTxPipe()).toThrow(/receive only/);
    const tx = dev.allocateTxPipe({ port: 1 });
    const rx = dev.allocateRxPipe(true);
    // Port 1 is the far end of port 0: what TX sends on 1 arrives on 0.
    tx.writeFrame(tx.allocateBuf(), ipv4Frame({ tag: 5 }), 0, 64);
    tx.sendAndFree(64);
    const b = rx.peekPkts();
    expect(walk(b).map(([o]) => b.buf[o + 63])).toEqual([5]);
    await dev.close();
    await nic.close();
  });
});

/** A port that hands the NIC malformed frames, one by one. */
class BadPort implements WireBackend {
  readonly spec = 'bad';
  readonly kind = 'bad';
  readonly exhausted = false;
  private readonly frames: [Uint8Array, number, number][];
  constructor(frames: [Uint8Array, number, number][]) {
    this.frames = frames;
  }
  poll(sink: FrameSink, max: number): number {
    let n = 0;
    while (n < max && this.frames.length > 0) {
      const [buf, off, len] = this.frames.shift() as [Uint8Array, number, number];
      sink.push(buf, off, len, -1, 0);
      n++;
    }
    return n;
  }
  send(): boolean {
    return true;
  }
  flush(): void {}
  async close(): Promise<void> {}
  stats() {
    return emptyWireStats();
  }
}

describe('bad input from a port', () => {
  it('is counted and dropped, never crashes', async () => {
    const good = ipv4Frame({ tag: 1 });
    const unaligned = new Uint8Array(101);
    unaligned.set(ipv4Frame({ tag: 2 }), 3);
    const port = new BadPort([
      [new Uint8Array(10), 0, 10], // runt
      [new Uint8Array(70000), 0, 70000], // longer than 65535
      [good, 0, 1000], // runs past its buffer
      [good, 0, 64],
      [unaligned, 3, 64], // foreign, unaligned source
    ]);
    const nic = new SoftNic([port]);
    const dev = await Device.create({ nic, pipeSize: 8192 });
    const p = dev.allocateRxPipe(true);
    const b = p.peekPkts();
    expect(walk(b).map(([o]) => b.buf[o + 63])).toEqual([1, 2]);
    expect(nic.stats().rxInvalid).toBe(3);
    await dev.close();
    await nic.close();
  });
});
