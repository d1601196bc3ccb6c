// Live test of the afpacket backend: two network namespaces joined by a veth pair. The kernel in
// namespace A sends real UDP and TCP to veth-b, which gnet opens in namespace B; gnet transmits
// frames that a kernel UDP socket in A receives. Nothing leaves these namespaces.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAfPacketBackend, type AfPacketBackend } from '../src/backends/afpacket.js';
import type { FlitSink, FrameSink } from '../src/backends/types.js';
import { FlitBuffer } from '../src/flit-buffer.js';
import { parseFrame, writeUdpFrame, type ParsedFrame } from './afpacket-frames.js';
import {
  JsonLines,
  createVethPair,
  deleteNamespaces,
  liveSkipReason,
  nodeInNs,
  type VethEnd,
} from './afpacket-netns.js';

const PREFIX = 'gnet-afp-e-';
const skip = liveSkipReason();
if (skip !== null) console.log(`enso afpacket live tests skipped: ${skip}`);

// Sends `perFlow` rounds of one UDP datagram per flow (source ports sportBase..), payload
// `seq=<n>;` padded to sizes[n % sizes.length], then `syns` TCP connects to a closed port.
const SENDER = `
const dgram = require('node:dgram'); const net = require('node:net');
const cfg = JSON.parse(process.argv[1]);
(async () => {
  const socks = [];
  for (let f = 0; f < cfg.flows; f++) {
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(cfg.sportBase + f, cfg.srcIp, r));
    socks.push(s);
  }
  let seq = 0, bytes = 0;
  for (let i = 0; i < cfg.perFlow; i++) for (let f = 0; f < cfg.flows; f++) {
    const p = Buffer.alloc(cfg.sizes[seq % cfg.sizes.length], 0x2e); p.write('seq=' + seq + ';');
    await new Promise((r, j) => socks[f].send(p, cfg.dport, cfg.dstIp, (e) => (e ? j(e) : r())));
    bytes += 14 + 20 + 8 + p.length; seq++;
  }
  for (const s of socks) s.close();
  for (let k = 0; k < cfg.syns; k++) await new Promise((r) => {
    const c = net.connect({ host: cfg.dstIp, port: cfg.synPort, localAddress: cfg.srcIp });
    c.on('error', r); c.on('connect', () => { c.destroy(); r(); });
  });
  console.log(JSON.stringify({ datagrams: seq, bytes }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

// A UDP server: prints {"ready":true}, then {"got":[[payload, srcIp, srcPort], ...]} once `expect`
// datagrams arrived or traffic stopped for 2 s.
const RECEIVER = `
const dgram = require('node:dgram');
const cfg = JSON.parse(process.argv[1]);
// A large receive buffer: a block of frames sent with one sendmmsg arrives faster than it is read.
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 22 }); const got = []; let done = false, quiet;
const finish = () => { if (done) return; done = true; console.log(JSON.stringify({ got })); s.close(); process.exit(0); };
s.on('message', (m, r) => {
  got.push([m.toString('latin1'), r.address, r.port]);
  clearTimeout(quiet);
  if (got.length >= cfg.expect) finish(); else quiet = setTimeout(finish, 2000);
});
s.bind(cfg.port, cfg.ip, () => console.log(JSON.stringify({ ready: true })));
setTimeout(finish, cfg.maxMs);
`;

/** Records what the NIC would get: each frame parsed on push (the sink copies before returning). */
class RecordingSink implements FrameSink {
  readonly frames: ParsedFrame[] = [];
  bytes = 0;
  badTimestamps = 0;
  push(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean {
    this.frames.push(parseFrame(buf, offset, length));
    this.bytes += length;
    if (tsNsec >= 1e9 || Math.abs(tsSec - Date.now() / 1000) > 60) this.badTimestamps++;
    return true;
  }
}

/**
 * Takes flit-laid-out blocks as the NIC does, at most `perCall` frames per call, so the port must
 * keep the rest for the next poll.
 */
class RecordingFlitSink extends RecordingSink implements FlitSink {
  lastFrames = 0;
  lastFrameBytes = 0;
  misaligned = 0;
  constructor(private readonly perCall: number) {
    super();
  }
  pushFlits(buf: Uint8Array, offset: number, nbBytes: number, lens: Uint16Array, tsSec: Uint32Array, tsNsec: Uint32Array): number {
    const end = offset + nbBytes;
    let o = offset;
    let frames = 0;
    let bytes = 0;
    while (o < end && frames < this.perCall) {
      const fi = o >>> 6;
      const len = lens[fi];
      if ((o & 63) !== 0 || len < 14 || o + len > end) this.misaligned++;
      this.push(buf, o, len, tsSec[fi], tsNsec[fi]);
      frames++;
      bytes += len;
      o += (len + 63) & ~63;
    }
    this.lastFrames = frames;
    this.lastFrameBytes = bytes;
    return o - offset;
  }
}

type Poller = () => number;
/** Frame-by-frame polling of `port` into `sink`. */
const byFrame = (port: AfPacketBackend, sink: FrameSink): Poller => () => port.poll(sink, 256);
/** Block polling of `port` into `sink`. */
const byBlock = (port: AfPacketBackend, sink: FlitSink): Poller => () => port.pollFlits?.(sink) ?? 0;

/** Runs the pollers until `done()` or the timeout; yields to the event loop when idle. */
async function pollUntil(pollers: Poller[], done: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) {
    let got = 0;
    for (const p of pollers) got += p();
    if (got === 0) await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Runs the sender in `ns` while polling, as a NIC would, until the sender reported and `done()`
 * holds (or the timeout). Returns the sender's report.
 */
async function sendWhilePolling(
  ns: string,
  args: object,
  pollers: Poller[],
  done: () => boolean,
  timeoutMs: number,
): Promise<{ datagrams: number; bytes: number }> {
  const lines = new JsonLines(nodeInNs(ns, SENDER, args));
  let report: unknown;
  await pollUntil(
    pollers,
    () => {
      report ??= lines.take();
      if (report === undefined && lines.ended) throw new Error(`sender failed: ${lines.errors}`);
      return report !== undefined && done();
    },
    timeoutMs,
  );
  if (report === undefined) throw new Error(`sender did not finish: ${lines.errors}`);
  return report as { datagrams: number; bytes: number };
}

describe.skipIf(skip !== null)('afpacket backend on a veth pair between two namespaces', () => {
  let a: VethEnd;
  let b: VethEnd;
  const opened: AfPacketBackend[] = [];
  const open = (role: 'rx' | 'tx' | 'rxtx', options: Parameters<typeof createAfPacketBackend>[2] = {}) => {
    const port = createAfPacketBackend(b.ifname, role, { netns: b.ns, ...options });
    opened.push(port);
    return port;
  };

  beforeAll(() => {
    deleteNamespaces(PREFIX);
    [a, b] = createVethPair(
      { ns: `${PREFIX}a`, ifname: 'veth-a', ip: '10.77.1.1' },
      { ns: `${PREFIX}b`, ifname: 'veth-b', ip: '10.77.1.2' },
    );
  });

  afterAll(async () => {
    try {
      for (const port of opened) await port.close();
    } finally {
      deleteNamespaces(PREFIX);
    }
  });

  it('receives every frame the kernel sends, UDP and TCP SYNs, and none of its own namespace’s replies', async () => {
    const port = open('rxtx');
    expect(port.kind).toBe('afpacket');
    expect(port.spec).toBe('afpacket:veth-b');
    expect(port.exhausted).toBe(false);
    const sink = new RecordingSink();
    const udp = () => sink.frames.filter((f) => f.proto === 17);
    const syns = () => sink.frames.filter((f) => f.proto === 6 && (f.tcpFlags & 0x12) === 0x02);
    const sent = await sendWhilePolling(
      a.ns,
      { flows: 3, perFlow: 100, sportBase: 40000, srcIp: a.ip, dstIp: b.ip, dport: 9,
        sizes: [18, 64, 200, 512, 1000, 1472], syns: 5, synPort: 7 },
      [byFrame(port, sink)],
      () => udp().length >= 300 && syns().length >= 5,
      10_000,
    );
    expect(sent.datagrams).toBe(300);

    // Every datagram exactly once, with the kernel's byte count.
    const seqs = udp().map((f) => Number(/^seq=(\d+);/.exec(f.payload)?.[1]));
    expect(new Set(seqs).size).toBe(300);
    expect(Math.min(...seqs)).toBe(0);
    expect(Math.max(...seqs)).toBe(299);
    expect(udp().reduce((n, f) => n + 14 + 20 + 8 + f.payload.length, 0)).toBe(sent.bytes);
    expect(syns().length).toBe(5);
    // Only what A sent: B's ICMP unreachables and TCP resets go out on veth-b and must not come back.
    expect(sink.frames.every((f) => f.srcIp === a.ip)).toBe(true);
    expect(sink.frames.length).toBe(305);
    expect(sink.badTimestamps).toBe(0);

    const st = port.stats();
    expect(st.rxPackets).toBe(sink.frames.length);
    expect(st.rxBytes).toBe(sink.bytes);
    expect(st.rxDropped).toBe(0);
  });

  it('transmits frames that a kernel UDP socket receives intact, copied at send time', async () => {
    const port = opened[0] ?? open('rxtx');
    const server = nodeInNs(a.ns, RECEIVER, { ip: a.ip, port: 5555, expect: 200, maxMs: 8000 });
    const lines = new JsonLines(server);
    expect(await lines.next(5000)).toEqual({ ready: true });

    const src = new Uint8Array(4096);
    const before = port.stats();
    let bytes = 0;
    const payloads: string[] = [];
    for (let seq = 0; seq < 200; seq++) {
      const size = [16, 100, 333, 1000, 1472][seq % 5];
      const payload = Buffer.alloc(size, 0x41 + (seq % 26));
      payload.write(`gnet-tx-${seq};`);
      payloads.push(payload.toString('latin1'));
      const at = seq % 3 === 0 ? 1 : 64; // unaligned and aligned sources
      const len = writeUdpFrame(src, at, {
        dstMac: a.mac, srcMac: b.mac, srcIp: b.ip, dstIp: a.ip, sport: 50000, dport: 5555, payload,
      });
      expect(port.send(src, at, len, -1, -1)).toBe(true);
      bytes += len;
      src.fill(0xee); // the port must have copied the frame already
      if (seq % 50 === 49) port.flush();
    }
    port.flush();

    const result = (await lines.next(10_000)) as { got: [string, string, number][] };
    expect(result.got.length).toBe(200);
    expect(result.got.map((g) => g[0]).sort()).toEqual([...payloads].sort());
    expect(result.got.every((g) => g[1] === b.ip && g[2] === 50000)).toBe(true);

    const after = port.stats();
    expect(after.txPackets - before.txPackets).toBe(200);
    expect(after.txBytes - before.txBytes).toBe(bytes);
    expect(after.txDropped).toBe(0);
    // Its own transmissions never come back on its receive ring.
    const echo = new RecordingSink();
    await pollUntil([byFrame(port, echo)], () => false, 100);
    expect(echo.frames.length).toBe(0);
  });

  it('pollFlits offers flit-laid-out blocks and keeps what the sink did not take for the next poll', async () => {
    const port = open('rx');
    const sink = new RecordingFlitSink(7);
    const udp = () => sink.frames.filter((f) => f.proto === 17);
    const sent = await sendWhilePolling(
      a.ns,
      { flows: 4, perFlow: 50, sportBase: 42000, srcIp: a.ip, dstIp: b.ip, dport: 9, sizes: [18, 300, 1472], syns: 0, synPort: 7 },
      [byBlock(port, sink)],
      () => udp().length >= 200,
      10_000,
    );
    expect(sink.misaligned).toBe(0);
    const seqs = udp().map((f) => f.payload.split(';')[0]);
    expect(new Set(seqs).size).toBe(200);
    expect(udp().reduce((n, f) => n + 14 + 20 + 8 + f.payload.length, 0)).toBe(sent.bytes);
    expect(sink.badTimestamps).toBe(0);
    expect(port.stats().rxPackets).toBe(sink.frames.length);
    expect(port.stats().rxBytes).toBe(sink.bytes);
  });

  it('wait sleeps on the receive queues and says whether frames wait; a transmit-only port has none', async () => {
    expect(open('tx').wait(0)).toBe(false);
    const port = open('rx');
    const sink = new RecordingFlitSink(1 << 20);
    let ready = 0;
    // Poll only after wait reports frames: every block the sink gets was announced by wait.
    const waitThenPoll: Poller = () => (port.wait(2) ? (ready++, port.pollFlits!(sink)) : 0);
    await sendWhilePolling(
      a.ns,
      { flows: 1, perFlow: 20, sportBase: 43000, srcIp: a.ip, dstIp: b.ip, dport: 9, sizes: [18], syns: 0, synPort: 7 },
      [waitThenPoll],
      () => sink.frames.filter((f) => f.proto === 17).length >= 20,
      10_000,
    );
    expect(ready).toBeGreaterThan(0);
    expect(sink.frames.filter((f) => f.proto === 17).length).toBe(20);
  });

  it('sendFlits hands a block of frames from pipe memory to the kernel in one call', async () => {
    const port = open('tx');
    const server = nodeInNs(a.ns, RECEIVER, { ip: a.ip, port: 5556, expect: 120, maxMs: 8000 });
    const lines = new JsonLines(server);
    expect(await lines.next(5000)).toEqual({ ready: true });

    // Pipe memory: frames back to back on 64-byte flits, lengths per flit.
    const pipe = new FlitBuffer(256 * 1024);
    const { data, lens } = pipe;
    const payloads: string[] = [];
    const start = 128;
    let o = start;
    let frameBytes = 0;
    for (let seq = 0; seq < 120; seq++) {
      const payload = Buffer.alloc([20, 700, 1472][seq % 3], 0x61);
      payload.write(`flits-${seq};`);
      payloads.push(payload.toString('latin1'));
      const len = writeUdpFrame(data, o, {
        dstMac: a.mac, srcMac: b.mac, srcIp: b.ip, dstIp: a.ip, sport: 50001, dport: 5556, payload,
      });
      lens[o >> 6] = len;
      frameBytes += len;
      o += (len + 63) & ~63;
    }
    const queued = port.sendFlits?.(pipe, start, o - start, 120, frameBytes);
    expect(queued).toBe(120);
    port.flush();
    pipe.release();

    const result = (await lines.next(10_000)) as { got: [string, string, number][] };
    expect(result.got.map((g) => g[0]).sort()).toEqual([...payloads].sort());
    const st = port.stats();
    expect(st.txPackets).toBe(120);
    expect(st.txBytes).toBe(frameBytes);
    expect(st.txDropped).toBe(0);
  });

  it('sends with sendmmsg by default: frames the kernel refuses (link down) are dropped and counted, not kept', () => {
    const frame = new Uint8Array(64);
    frame.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5], 0);
    // A pair of its own: taking a link down must not disturb the other tests' traffic.
    const [, d] = createVethPair(
      { ns: `${PREFIX}c`, ifname: 'veth-c', ip: '10.77.2.1' },
      { ns: `${PREFIX}d`, ifname: 'veth-d', ip: '10.77.2.2' },
    );
    const openD = (options: Parameters<typeof createAfPacketBackend>[2]) => {
      const port = createAfPacketBackend(d.ifname, 'tx', { netns: d.ns, ...options });
      opened.push(port);
      return port;
    };
    const copying = openD({});
    const ring = openD({ txCopy: false });
    spawnSync('ip', ['-n', d.ns, 'link', 'set', d.ifname, 'down']);
    try {
      expect(copying.send(frame, 0, 60, -1, -1)).toBe(true); // staged; refused at flush
      copying.flush();
      expect(copying.socketStats()[0]).toMatchObject({ txPackets: 0, txDropped: 1 });
      expect(copying.stats().txDropped).toBe(1);
      expect(ring.send(frame, 0, 60, -1, -1)).toBe(true);
      ring.flush();
      expect(ring.socketStats()[0]).toMatchObject({ txPackets: 1, txDropped: 0 }); // queued in the ring
    } finally {
      spawnSync('ip', ['-n', d.ns, 'link', 'set', d.ifname, 'up']);
    }
  });

  it('refuses frames it cannot send and counts them', () => {
    const port = open('tx');
    expect(port.queues).toBe(0);
    const buf = new Uint8Array(4000);
    expect(port.send(buf, 0, 10, -1, -1)).toBe(false); // runt
    expect(port.send(buf, 0, 1600, -1, -1)).toBe(false); // above MTU 1500 + 14
    expect(port.send(buf, 3990, 60, -1, -1)).toBe(false); // beyond the buffer
    expect(port.poll(new RecordingSink(), 64)).toBe(0);
    const st = port.stats();
    expect(st.txDropped).toBe(3);
    expect(st.errors).toBe(2);
    expect(st.txPackets).toBe(0);
  });

  it('fanout: queues of one group get disjoint subsets whose union is all frames, each flow on one queue', async () => {
    const p1 = open('rx', { fanoutMode: 'hash' });
    expect(p1.fanoutGroup).not.toBeNull();
    const p2 = open('rx', { fanoutGroup: p1.fanoutGroup as number });
    expect(p2.fanoutGroup).toBe(p1.fanoutGroup);
    // A second group, spread over two queues of one port: the kernel gives each group its own copy.
    const multi = open('rx', { queues: 2 });
    expect(multi.queues).toBe(2);
    expect(multi.fanoutGroup).not.toBe(p1.fanoutGroup);
    const s1 = new RecordingSink();
    const s2 = new RecordingSink();
    const sm = new RecordingSink();

    const flows = 32;
    const total = flows * 8;
    const count = (s: RecordingSink) => s.frames.filter((f) => f.proto === 17).length;
    await sendWhilePolling(
      a.ns,
      { flows, perFlow: 8, sportBase: 41000, srcIp: a.ip, dstIp: b.ip, dport: 9, sizes: [32, 90], syns: 0, synPort: 7 },
      [byFrame(p1, s1), byFrame(p2, s2), byFrame(multi, sm)],
      () => count(s1) + count(s2) >= total && count(sm) >= total,
      10_000,
    );

    const seqsOf = (s: RecordingSink) => s.frames.filter((f) => f.proto === 17).map((f) => f.payload.split(';')[0]);
    const q1 = new Set(seqsOf(s1));
    const q2 = new Set(seqsOf(s2));
    expect(q1.size + q2.size).toBe(total);
    expect([...q1].filter((x) => q2.has(x))).toEqual([]);
    expect(new Set([...q1, ...q2]).size).toBe(total);
    const flows1 = new Set(s1.frames.map((f) => f.sport));
    const flows2 = new Set(s2.frames.map((f) => f.sport));
    expect([...flows1].filter((p) => flows2.has(p))).toEqual([]); // no flow split across queues
    expect(flows1.size + flows2.size).toBe(flows);
    expect(flows1.size).toBeGreaterThan(0);
    expect(flows2.size).toBeGreaterThan(0);

    // B's ICMP port unreachables leave through veth-b: a fanout group must not receive them either.
    for (const s of [s1, s2, sm]) expect(s.frames.every((f) => f.srcIp === a.ip)).toBe(true);

    expect(new Set(seqsOf(sm)).size).toBe(total);
    const perQueue = multi.socketStats().map((s) => s.rxPackets);
    expect(perQueue.length).toBe(2);
    expect(perQueue[0] + perQueue[1]).toBe(total);
    expect(Math.min(...perQueue)).toBeGreaterThan(0);
  });
});
