// pcap read rate: gnet's streaming reader (a `pcap:` RX port polled into a counting sink) against
// Wireshark's tools reading the same file in the same run, for 64 B and 1500 B UDP frames, the
// file in the page cache. Peers:
// - capinfos -c: libwiretap reading every record, no dissection (the closest like-for-like reader);
// - tshark -T fields -e frame.number: the full dissection path, run on the first packets only
//   (`-c`) because it is slow; its rate is over those packets.
// Each peer's process start-up, measured on a header-only file, is subtracted from its time.
// Also: the generator's 64 B rate into a counting sink beside the memcpy bound for the same bytes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createGenBackend, createPcapBackend, PcapWriter } from '@gnet/enso';

const QUICK = process.env.BENCH_QUICK === '1';
const CASES = [
  { name: '64B', size: 64, packets: QUICK ? 300_000 : 4_000_000 },
  { name: '1500B', size: 1500, packets: QUICK ? 40_000 : 400_000 },
];
const GNET_RUNS = QUICK ? 2 : 4;
const TSHARK_PACKETS = QUICK ? 20_000 : 100_000;
const TSHARK = '/usr/bin/tshark';
const CAPINFOS = '/usr/bin/capinfos';

const dir = mkdtempSync(join(tmpdir(), 'gnet-pcap-bench-'));

function bench(row) {
  console.log(`BENCH ${JSON.stringify(row)}`);
}

/** Writes `packets` generated UDP frames of `size` bytes (1024 flows) to a new pcap file. */
function makeFile(path, size, packets) {
  const gen = createGenBackend(`count=${packets},size=${size},flows=1024,proto=udp`);
  const w = new PcapWriter(path);
  const sink = {
    push(buf, off, len, sec, nsec) {
      w.write(buf, off, len, sec, nsec);
      return true;
    },
  };
  while (!gen.exhausted) gen.poll(sink, 4096);
  w.close();
}

/** Best-of-runs read of `path` through a pcap RX port; the sink reads one byte of every frame. */
async function gnetRead(path) {
  let best = Infinity;
  let frames = 0;
  let bytes = 0;
  for (let run = 0; run < GNET_RUNS; run++) {
    const port = createPcapBackend(path, 'rx');
    const sink = {
      n: 0,
      bytes: 0,
      check: 0,
      push(buf, off, len) {
        this.n++;
        this.bytes += len;
        this.check ^= buf[off + len - 1];
        return true;
      },
    };
    const t0 = performance.now();
    while (!port.exhausted) port.poll(sink, 256);
    const ms = performance.now() - t0;
    await port.close();
    if (port.stats().errors !== 0) throw new Error(`gnet read errors on ${path}`);
    if (ms < best) best = ms;
    frames = sink.n;
    bytes = sink.bytes;
  }
  return { ms: best, frames, bytes };
}

/** Milliseconds a command takes (best of `runs`), or null when it fails. */
function timeCommand(cmd, args, runs) {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    const ms = performance.now() - t0;
    if (r.status !== 0) return null;
    best = Math.min(best, ms);
  }
  return best;
}

function rate(frames, bytes, ms) {
  const s = ms / 1000;
  return { mpps: +(frames / s / 1e6).toFixed(3), gbps: +((bytes * 8) / s / 1e9).toFixed(3) };
}

try {
  const empty = join(dir, 'empty.pcap');
  new PcapWriter(empty).close();
  const haveTshark = existsSync(TSHARK);
  const haveCapinfos = existsSync(CAPINFOS);
  const tsharkArgs = (file, count) => ['-n', '-r', file, ...(count ? ['-c', String(count)] : []), '-T', 'fields', '-e', 'frame.number'];
  const tsharkStart = haveTshark ? timeCommand(TSHARK, tsharkArgs(empty, 0), 2) : null;
  const capinfosStart = haveCapinfos ? timeCommand(CAPINFOS, ['-c', empty], 3) : null;

  for (const c of CASES) {
    const path = join(dir, `${c.name}.pcap`);
    makeFile(path, c.size, c.packets);
    const g = await gnetRead(path); // the first run also pulls the file into the page cache
    bench({
      group: 'pcap read',
      case: c.name,
      impl: 'gnet',
      ...rate(g.frames, g.bytes, g.ms),
      latencyUs: null,
      notes: `${g.frames} frames, pcap: RX port polled 256 at a time, best of ${GNET_RUNS}`,
    });

    const frameBytes = c.packets * c.size;
    if (haveCapinfos && capinfosStart !== null) {
      const ms = timeCommand(CAPINFOS, ['-c', path], QUICK ? 1 : 2);
      if (ms !== null) {
        bench({
          group: 'pcap read',
          case: c.name,
          impl: 'capinfos',
          ...rate(c.packets, frameBytes, Math.max(ms - capinfosStart, 0.001)),
          latencyUs: null,
          notes: `capinfos -c, whole file, ${capinfosStart.toFixed(0)} ms start-up subtracted`,
        });
      }
    } else {
      console.log(`pcap bench: ${CAPINFOS} not found; capinfos row skipped`);
    }
    if (haveTshark && tsharkStart !== null) {
      const count = Math.min(TSHARK_PACKETS, c.packets);
      const ms = timeCommand(TSHARK, tsharkArgs(path, count), 1);
      if (ms !== null) {
        bench({
          group: 'pcap read',
          case: c.name,
          impl: 'tshark',
          ...rate(count, count * c.size, Math.max(ms - tsharkStart, 0.001)),
          latencyUs: null,
          notes: `tshark -n -T fields -e frame.number over the first ${count} frames, ${tsharkStart.toFixed(0)} ms start-up subtracted`,
        });
      }
    } else {
      console.log(`pcap bench: ${TSHARK} not found; tshark row skipped`);
    }
    rmSync(path, { force: true });
  }

  // Generator: 64 B frames from the template arena into a sink that reads one byte per frame.
  const seconds = QUICK ? 0.5 : 2;
  const gen = createGenBackend('size=64,flows=1024,proto=udp');
  const sink = {
    n: 0,
    check: 0,
    push(buf, off, len) {
      this.n++;
      this.check ^= buf[off + len - 1];
      return true;
    },
  };
  let t0 = performance.now();
  while (performance.now() - t0 < 200) gen.poll(sink, 256); // warm-up
  sink.n = 0;
  t0 = performance.now();
  let ms = 0;
  while ((ms = performance.now() - t0) < seconds * 1000) gen.poll(sink, 256);
  bench({
    group: 'gen',
    case: '64B',
    impl: 'gnet',
    ...rate(sink.n, sink.n * 64, ms),
    latencyUs: null,
    notes: 'gen:size=64,flows=1024 polled 256 at a time into a counting sink (no copy)',
  });

  // The memcpy bound: the same bytes moved in 256-frame blocks by copyWithin (no per-frame work).
  const ring = new Uint8Array(64 << 20);
  const block = 256 * 64;
  let copied = 0;
  t0 = performance.now();
  for (let at = 0; (ms = performance.now() - t0) < seconds * 1000; at = (at + block) % (ring.length / 2)) {
    ring.copyWithin(ring.length / 2 + at, at, at + block);
    copied += 256;
  }
  bench({
    group: 'gen',
    case: '64B',
    impl: 'memcpy bound',
    ...rate(copied, copied * 64, ms),
    latencyUs: null,
    notes: 'copyWithin of 16 KiB blocks (256 x 64 B frames) inside one buffer',
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
