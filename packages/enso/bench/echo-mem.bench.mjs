// Echo over a `mem` port on one core: Enso's echo example on gnet's software NIC.
//
// The producer (the far end of the mem pair) injects a burst of UDP frames into the port's queue
// with one block copy; the echo loop then does exactly what Enso's echo does — peekPkts on an
// RX/TX pipe bound to the flow, touch each packet (++pkt[63]), confirmBytes, sendAndFree — until
// the whole burst went back out; the far end then discards what it got. `mpps`/`gbps` time the
// echo loop alone (NIC poll + steering + copy into the pipe, the walk, the send and its copy into
// the far end's queue); `endToEndMpps` also counts the producer's inject and the far end's drain.
// Rounds of the echo alternate with rounds of its peer; each reports its best round, to filter out
// interference from other processes, and its median.
//
// Peer, in the same run: "memcpy bound", the same bytes the echo moves (two copies of every
// frame: queue → pipe, pipe → queue) done with Uint8Array.prototype.copyWithin on one buffer of
// the same footprint, i.e. what the copies alone cost in JS with no per-packet work at all.
import { performance } from 'node:perf_hooks';
import { createMemPair, Device, FlitBuffer, ipv4ToNumber } from '@gnet/enso';

const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = QUICK ? 0.6 : 5; // per side, spread over the rounds
const WARMUP_SECONDS = QUICK ? 0.2 : 1;
const ROUNDS = QUICK ? 3 : 20;
const BURST_BYTES = 256 * 1024;
const RING = 4 * 1024 * 1024;
const DST_IP = ipv4ToNumber('10.0.0.1');
const DST_PORT = 5000;

/** A block of `count` UDP frames of `size` bytes laid out in flits, ready for sendFlits. */
function buildBurst(size, count) {
  const step = (size + 63) & ~63;
  const block = new FlitBuffer(step * count);
  for (let i = 0; i < count; i++) {
    const o = i * step;
    const f = block.data;
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], o); // dst MAC, src MAC, IPv4
    f[o + 14] = 0x45;
    f[o + 16] = (size - 14) >> 8;
    f[o + 17] = (size - 14) & 255;
    f[o + 22] = 64;
    f[o + 23] = 17;
    f.set([10, 0, 1, (i & 127) + 1], o + 26);
    f.set([10, 0, 0, 1], o + 30);
    f[o + 34] = 0x30;
    f[o + 35] = 0x39;
    f[o + 36] = DST_PORT >> 8;
    f[o + 37] = DST_PORT & 255;
    f[o + 38] = (size - 34) >> 8;
    f[o + 39] = (size - 34) & 255;
    block.lens[o >> 6] = size;
  }
  return { block, bytes: step * count, frameBytes: size * count, count };
}

/** The echo on one RX/TX pipe; `round(seconds)` runs it and returns what it measured. */
async function echoRig(size) {
  const [port, far] = createMemPair('bench', { queueBytes: RING });
  const dev = await Device.create({ ports: [port], pipeSize: RING });
  const pipe = dev.allocateRxTxPipe();
  pipe.bind(DST_PORT, 0, DST_IP, 0, 17);
  const count = Math.max(1, Math.floor(BURST_BYTES / ((size + 63) & ~63)));
  const { block, bytes, frameBytes } = buildBurst(size, count);
  const round = (seconds) => {
    let echoMs = 0;
    let totalMs = 0;
    let frames = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const t0 = performance.now();
      far.sendFlits(block, 0, bytes, count, frameBytes);
      const t1 = performance.now();
      let left = count;
      while (left > 0) {
        const batch = pipe.peekPkts();
        const buf = batch.buf;
        let n = 0;
        for (let o = batch.first(); o >= 0; o = batch.next()) {
          buf[o + 63]++;
          n++;
        }
        const len = batch.processedBytes;
        pipe.confirmBytes(len);
        pipe.sendAndFree(len);
        left -= n;
      }
      const t2 = performance.now();
      far.discardQueued();
      const t3 = performance.now();
      echoMs += t2 - t1;
      totalMs += t3 - t0;
      frames += count;
    }
    return { mpps: frames / echoMs / 1000, gbps: (frames * size * 8) / echoMs / 1e6, endToEndMpps: frames / totalMs / 1000, nsPerPkt: (echoMs * 1e6) / frames };
  };
  const close = async () => {
    const stats = dev.nic.stats();
    if (stats.rxNoPipe + stats.rxPipeFull + stats.txDropped > 0) throw new Error(`echo dropped frames: ${JSON.stringify(stats)}`);
    await dev.close();
    await far.close();
  };
  return { round, close, burst: count };
}

/** Two copyWithin per burst over a buffer as large as the echo's rings: the copy floor. */
function memcpyRig(size) {
  const step = (size + 63) & ~63;
  const count = Math.max(1, Math.floor(BURST_BYTES / step));
  const bytes = step * count;
  const mem = new Uint8Array(new SharedArrayBuffer(RING * 2));
  let a = 0;
  let b = RING;
  const round = (seconds) => {
    let frames = 0;
    let ms = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const t0 = performance.now();
      mem.copyWithin(b, a, a + bytes); // queue → pipe
      mem.copyWithin(a, b, b + bytes); // pipe → queue
      ms += performance.now() - t0;
      frames += count;
      a = (a + bytes) % (RING - bytes);
      b = RING + ((b - RING + bytes) % (RING - bytes));
    }
    return { mpps: frames / ms / 1000, gbps: (frames * size * 8) / ms / 1e6, nsPerPkt: (ms * 1e6) / frames };
  };
  return { round, burst: count };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

for (const size of [64, 1500]) {
  // The echo and its peer take turns, round by round, so both see the same machine; each reports
  // its best round (the one least disturbed by other processes) and the median in the notes.
  const e = await echoRig(size);
  const m = memcpyRig(size);
  e.round(WARMUP_SECONDS);
  m.round(WARMUP_SECONDS / 2);
  const er = [];
  const mr = [];
  for (let r = 0; r < ROUNDS; r++) {
    er.push(e.round(SECONDS / ROUNDS));
    mr.push(m.round(SECONDS / ROUNDS));
  }
  await e.close();
  const g = er.reduce((x, y) => (y.mpps > x.mpps ? y : x));
  const c = mr.reduce((x, y) => (y.mpps > x.mpps ? y : x));
  console.log(
    `BENCH ${JSON.stringify({
      group: 'enso echo over mem (one core)',
      case: `${size} B`,
      impl: 'gnet',
      mpps: +g.mpps.toFixed(2),
      gbps: +g.gbps.toFixed(2),
      latencyUs: null,
      endToEndMpps: +g.endToEndMpps.toFixed(2),
      nsPerPkt: +g.nsPerPkt.toFixed(1),
      notes:
        `RxTxPipe peekPkts/confirmBytes/sendAndFree, bound UDP flow, bursts of ${e.burst}, best of ${ROUNDS} rounds ` +
        `alternating with the memcpy bound's (median ${median(er.map((x) => x.mpps)).toFixed(1)} Mpps)`,
    })}`,
  );
  console.log(
    `BENCH ${JSON.stringify({
      group: 'enso echo over mem (one core)',
      case: `${size} B`,
      impl: 'memcpy bound',
      mpps: +c.mpps.toFixed(2),
      gbps: +c.gbps.toFixed(2),
      latencyUs: null,
      nsPerPkt: +c.nsPerPkt.toFixed(1),
      notes:
        `2 x copyWithin of each ${m.burst}-frame burst, same footprint, no per-packet work, best of ${ROUNDS} rounds ` +
        `(median ${median(mr.map((x) => x.mpps)).toFixed(1)} Mpps)`,
    })}`,
  );
}
