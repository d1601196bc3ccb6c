import { describe, expect, it } from 'vitest';
import { ipv4ToNumber } from '../src/helpers.js';
import { arpFrame, ipv4Frame, ipv6Frame } from './frames.js';
import { inject, rig, walk } from './harness.js';

const DST = ipv4ToNumber('10.0.0.1');

describe('steering through the flow table', () => {
  it('UDP: bound by dst IP + dst port, whatever the source', async () => {
    const { dev, wire } = await rig();
    const a = dev.allocateRxPipe();
    const b = dev.allocateRxPipe();
    a.bind(5000, 0, DST, 0, 17);
    b.bind(6000, 0, DST, 0, 17);
    inject(wire, ipv4Frame({ dport: 5000, src: '1.1.1.1', sport: 1 }), ipv4Frame({ dport: 6000 }), ipv4Frame({ dport: 5000, src: '2.2.2.2', sport: 2 }));
    expect(walk(a.peekPkts())).toHaveLength(2);
    expect(walk(b.peekPkts())).toHaveLength(1);
    await dev.close();
  });

  it('TCP: SYN goes to the listener (dst IP + port), the rest of the connection to its 5-tuple', async () => {
    const { dev, wire } = await rig();
    const listener = dev.allocateRxPipe();
    const conn = dev.allocateRxPipe();
    listener.bind(80, 0, DST, 0, 6);
    conn.bind(80, 40000, DST, ipv4ToNumber('10.0.1.1'), 6);
    inject(
      wire,
      ipv4Frame({ protocol: 6, tcpFlags: 0x02, sport: 40000, dport: 80 }), // SYN → listener
      ipv4Frame({ protocol: 6, tcpFlags: 0x10, sport: 40000, dport: 80 }), // ACK → conn
      ipv4Frame({ protocol: 6, tcpFlags: 0x10, sport: 40001, dport: 80 }), // unknown conn → no pipe
    );
    expect(walk(listener.peekPkts())).toHaveLength(1);
    expect(walk(conn.peekPkts())).toHaveLength(1);
    expect(dev.nic.stats().rxNoPipe).toBe(1);
    await dev.close();
  });

  it('other protocols: matched by dst IP alone', async () => {
    const { dev, wire } = await rig();
    const icmp = dev.allocateRxPipe();
    icmp.bind(0, 0, DST, 0, 0);
    inject(wire, ipv4Frame({ protocol: 1, src: '7.7.7.7' }), ipv4Frame({ protocol: 47, dst: '10.0.0.2' }));
    expect(walk(icmp.peekPkts())).toHaveLength(1);
    expect(dev.nic.stats().rxNoPipe).toBe(1);
    await dev.close();
  });

  it('a miss with no fallback pipe is dropped and counted', async () => {
    const { dev, wire } = await rig();
    dev.allocateRxPipe().bind(1, 0, DST, 0, 17);
    inject(wire, ipv4Frame({ dport: 2 }), arpFrame());
    dev.nextRxPipeToRecv();
    expect(dev.nic.stats()).toMatchObject({ rxNoPipe: 2, rxFrames: 0 });
    expect(dev.getNbFallbackQueues()).toBe(0);
    await dev.close();
  });

  it('bind rejects out-of-range fields', async () => {
    const { dev } = await rig();
    const p = dev.allocateRxPipe();
    expect(() => p.bind(70000, 0, DST, 0, 17)).toThrow(/dstPort/);
    expect(() => p.bind(1, 0, -1, 0, 17)).toThrow(/dstIp/);
    expect(() => p.bind(1, 0, DST, 0, 256)).toThrow(/protocol/);
    await dev.close();
  });
});

describe('the one-flow cache', () => {
  it('steers interleaved flows each by its own key', async () => {
    const { dev, wire } = await rig({ pipeSize: 65536 }, 1 << 18);
    const udpA = dev.allocateRxPipe();
    const udpB = dev.allocateRxPipe();
    const tcpConn = dev.allocateRxPipe();
    const listener = dev.allocateRxPipe();
    const fb = dev.allocateRxPipe(true);
    udpA.bind(5000, 0, DST, 0, 17);
    udpB.bind(5001, 0, DST, 0, 17);
    tcpConn.bind(80, 40000, DST, ipv4ToNumber('10.0.1.1'), 6);
    listener.bind(80, 0, DST, 0, 6);
    const seq = [
      ipv4Frame({ dport: 5000 }),
      ipv4Frame({ dport: 5000, src: '9.9.9.9' }), // same UDP key
      ipv4Frame({ dport: 5001 }),
      ipv4Frame({ dport: 5000, protocol: 6, tcpFlags: 0x10 }), // TCP, not UDP: other key
      ipv4Frame({ protocol: 6, tcpFlags: 0x10, sport: 40000, dport: 80 }),
      ipv4Frame({ protocol: 6, tcpFlags: 0x10, sport: 40000, dport: 80, src: '10.0.1.2' }), // other source
      ipv4Frame({ protocol: 6, tcpFlags: 0x10, sport: 40001, dport: 80 }), // other source port
      ipv4Frame({ protocol: 6, tcpFlags: 0x02, sport: 40000, dport: 80 }), // SYN of the same tuple
      ipv4Frame({ protocol: 6, tcpFlags: 0x10, sport: 40000, dport: 80 }),
      ipv4Frame({ dport: 5000, fragOffset: 8 }), // non-first fragment: no ports
      ipv4Frame({ dport: 5000, dst: '10.0.0.2' }),
    ];
    seq.forEach((f, i) => (f[f.length - 1] = i));
    inject(wire, ...seq);
    const tags = (p: { peekPkts(): { buf: Uint8Array; first(): number; next(): number; length(o: number): number } }): number[] => {
      const b = p.peekPkts();
      return walk(b).map(([o, len]) => b.buf[o + len - 1]);
    };
    expect(tags(udpA)).toEqual([0, 1]);
    expect(tags(udpB)).toEqual([2]);
    expect(tags(tcpConn)).toEqual([4, 8]);
    expect(tags(listener)).toEqual([7]);
    expect(tags(fb)).toEqual([3, 5, 6, 9, 10]);
    await dev.close();
  });

  it('sees a new bind at once', async () => {
    const { dev, wire } = await rig();
    const fb = dev.allocateRxPipe(true);
    const p = dev.allocateRxPipe();
    inject(wire, ipv4Frame());
    walk(fb.recvPkts());
    p.bind(5000, 0, DST, 0, 17);
    inject(wire, ipv4Frame());
    expect(walk(p.peekPkts())).toHaveLength(1);
    await dev.close();
  });
});

describe('fallback pipes', () => {
  it('hash: a flow always lands on the same fallback pipe, and flows spread over all of them', async () => {
    const { dev, wire } = await rig({ pipeSize: 65536 }, 1 << 18);
    const fb = [dev.allocateRxPipe(true), dev.allocateRxPipe(true)];
    expect(dev.getNbFallbackQueues()).toBe(2);
    expect(dev.getRoundRobinStatus()).toBe(false);
    for (let rep = 0; rep < 3; rep++) for (let p = 0; p < 40; p++) inject(wire, ipv4Frame({ sport: 1000 + p, tag: p }));
    const flowsOn = fb.map((pipe) => {
      const batch = pipe.recvPkts();
      const tags = walk(batch).map(([o]) => batch.buf[o + 63]);
      pipe.clear();
      return tags;
    });
    expect(flowsOn[0].length + flowsOn[1].length).toBe(120);
    expect(flowsOn[0].length).toBeGreaterThan(0);
    expect(flowsOn[1].length).toBeGreaterThan(0);
    // No flow is split between pipes, and each of its 3 packets arrived.
    const on0 = new Set(flowsOn[0]);
    for (const t of flowsOn[1]) expect(on0.has(t)).toBe(false);
    for (const tags of flowsOn) for (const t of new Set(tags)) expect(tags.filter((x) => x === t)).toHaveLength(3);
    await dev.close();
  });

  it('only the first power-of-two many fallback pipes are used', async () => {
    const { dev, wire } = await rig({ pipeSize: 65536 }, 1 << 18);
    const fb = [dev.allocateRxPipe(true), dev.allocateRxPipe(true), dev.allocateRxPipe(true)];
    expect(dev.getNbFallbackQueues()).toBe(2);
    for (let p = 0; p < 100; p++) inject(wire, ipv4Frame({ sport: p }));
    const counts = fb.map((pipe) => walk(pipe.peekPkts()).length);
    expect(counts[0] + counts[1]).toBe(100);
    expect(counts[2]).toBe(0);
    dev.allocateRxPipe(true);
    expect(dev.getNbFallbackQueues()).toBe(4);
    await dev.close();
  });

  it('round robin: misses alternate over the fallback pipes packet by packet', async () => {
    const { dev, wire } = await rig();
    const fb = [dev.allocateRxPipe(true), dev.allocateRxPipe(true)];
    const bound = dev.allocateRxPipe();
    bound.bind(9, 0, DST, 0, 17);
    dev.enableRoundRobin();
    expect(dev.getRoundRobinStatus()).toBe(true);
    for (let i = 0; i < 6; i++) inject(wire, ipv4Frame({ sport: 7, tag: i }));
    inject(wire, ipv4Frame({ dport: 9 }));
    const tags = fb.map((pipe) => {
      const b = pipe.peekPkts();
      return walk(b).map(([o]) => b.buf[o + 63]);
    });
    expect(tags).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);
    // A bound flow still goes to its own pipe.
    expect(walk(bound.peekPkts())).toHaveLength(1);
    dev.disableRoundRobin();
    expect(dev.getRoundRobinStatus()).toBe(false);
    await dev.close();
  });

  it('fallback pipes also receive the flows they bind, and non-IPv4 frames', async () => {
    const { dev, wire } = await rig();
    const fb = dev.allocateRxPipe(true);
    const other = dev.allocateRxPipe();
    other.bind(5000, 0, DST, 0, 17);
    fb.bind(6000, 0, DST, 0, 17);
    inject(wire, ipv4Frame({ dport: 6000 }), arpFrame(), ipv6Frame(), ipv4Frame({ dport: 5000 }));
    expect(walk(fb.peekPkts()).map(([, len]) => len)).toEqual([64, 60, 90]);
    expect(walk(other.peekPkts())).toHaveLength(1);
    await dev.close();
  });
});
