// Enso's ensogen: a packet generator. Transmits packets (from a pcap file, or synthesised 64-byte
// UDP packets) at RATE_NUM/RATE_DEN of the NIC's flit rate (Enso's 200e6 flits/s), receives what
// comes back on fallback pipes, and reports TX and RX rates and, with --rtt, the mean RTT measured
// by the NIC's timestamping.
//
//   node examples/ensogen.mjs [PCAP_FILE] RATE_NUM RATE_DEN [--port SPEC] [--count N] [--queues N] [--rtt] [--seconds S]
//
// The default port is `mem` with an in-process reflector on its far end (every frame sent comes
// straight back), so the example runs with no network; give --port afpacket:IFNAME for a real link.
import { Device, FlitBuffer, openPort, pktRtt, NS_PER_TIMESTAMP_CYCLE } from '@gnet/enso';
import { performance } from 'node:perf_hooks';
import { cli, exitWithUsage, runLoop, Stats } from './common.mjs';

const USAGE =
  'usage: node examples/ensogen.mjs [PCAP_FILE] RATE_NUM RATE_DEN [--port SPEC] [--count N] [--queues N] [--rtt] [--seconds S]';
const { values, positionals } = cli(USAGE, {
  port: { type: 'string', default: 'mem' },
  count: { type: 'string', default: '0' },
  rtt: { type: 'boolean', default: false },
});
if (values.help || positionals.length < 2 || positionals.length > 3) exitWithUsage(USAGE, values.help ? 0 : 1);
const [pcapFile, num, den] = positionals.length === 3 ? positionals : [null, ...positionals];

/** The frames to send, laid out back to back in flits. */
async function loadFrames() {
  const frames = [];
  if (pcapFile !== null) {
    const file = await openPort(`pcap:${pcapFile}`, 'rx');
    const sink = { push: (buf, off, len) => (frames.push(buf.slice(off, off + len)), true) };
    while (!file.exhausted) if (file.poll(sink, 1024) === 0) await new Promise((r) => setImmediate(r));
    await file.close();
  } else {
    for (let i = 0; i < 64; i++) {
      const f = new Uint8Array(64);
      f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17], 0);
      f.set([10, 0, 0, 1, 192, 168, 0, i & 3, 0x30, 0x39, 0x13, 0x88, 0, 30], 26);
      frames.push(f);
    }
  }
  if (frames.length === 0) throw new Error(`no packets in ${pcapFile}`);
  const bytes = frames.reduce((n, f) => n + ((f.length + 63) & ~63), 0);
  const block = new FlitBuffer(bytes);
  let at = 0;
  for (const f of frames) {
    block.data.set(f, at);
    block.lens[at >> 6] = f.length;
    block.tsSec[at >> 6] = 0xffffffff; // stamped with the send time
    at += (f.length + 63) & ~63;
  }
  return { block, bytes, count: frames.length };
}

const { block, bytes, count } = await loadFrames();
const dev = await Device.create({ ports: [values.port] });
const tx = dev.allocateTxPipe();
if (bytes > tx.maxCapacity) throw new Error(`the packets need ${bytes} bytes; a TX pipe holds ${tx.maxCapacity}`);
const pipes = [];
for (let i = 0; i < Number(values.queues); i++) pipes.push(dev.allocateRxPipe(true));
dev.enableRateLimiting(Number(num), Number(den));
if (values.rtt) dev.enableTimeStamping();

// With the default mem port, the far end sends every frame back.
const far = values.port === 'mem' ? dev.nic.ports[0].peer : null;
const reflect = { push: (buf, off, len, s, ns) => far.send(buf, off, len, s, ns) };

const limit = Number(values.count) || Infinity;
let txPkts = 0;
let rttSum = 0;
let idle = 0;
let lastRx = 0;
const t0 = performance.now();
const stats = new Stats();
const total = runLoop(Number(values.seconds), stats, () => {
  if (txPkts < limit && tx.tryExtendBuf() >= bytes) {
    tx.copyFrom(block, 0, bytes, tx.allocateBuf());
    tx.sendAndFree(bytes);
    txPkts += count;
  }
  if (far !== null) far.poll(reflect, 4096);
  let got = 0;
  for (const rx of pipes) {
    const batch = rx.recvPkts();
    for (let o = batch.first(); o >= 0; o = batch.next()) {
      if (values.rtt) rttSum += pktRtt(batch.buf, o);
      got++;
    }
    stats.bytes += batch.processedBytes;
    if (batch.processedBytes > 0) stats.batches++;
    rx.clear();
  }
  stats.pkts += got;
  if (got > 0) lastRx = performance.now();
  // Sent everything and nothing has come back for a while: done.
  idle = got === 0 && txPkts >= limit && !dev.nic.hasPendingTx ? idle + 1 : 0;
  return idle < 100_000;
});
const rttNs = stats.pkts > 0 ? (rttSum / stats.pkts) * NS_PER_TIMESTAMP_CYCLE : null;
// Rates over the time until the last packet came back (the idle tail is not counted).
const active = lastRx > 0 ? (lastRx - t0) / 1000 : total.seconds;
console.log(
  JSON.stringify({
    example: 'ensogen',
    txPkts,
    rxPkts: stats.pkts,
    seconds: active,
    txMpps: txPkts / active / 1e6,
    rxMpps: stats.pkts / active / 1e6,
    meanRttUs: values.rtt && rttNs !== null ? rttNs / 1000 : undefined,
    nic: dev.nic.stats(),
  }),
);
await dev.close();
