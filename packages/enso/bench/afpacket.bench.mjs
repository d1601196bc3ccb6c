// Echo of 64 B UDP frames over a veth pair through gnet's AF_PACKET port, beside the Linux kernel
// forwarding the same traffic: the highest rate each sustains without loss, and, at a moderate rate,
// the round-trip latency and the forwarding CPU's time per frame. Needs root; all traffic stays in
// namespaces `gnet-afp-bench-*`, which this script creates and removes (also when it fails).
//
// Topology, for both rows: namespace gen (veth gen0) <-> namespace fwd (veth fwd0).
// - A generator process pinned to CPU 0 sends 60-byte frames (64 B on the wire with the FCS) into
//   gen0 with sendmmsg at a fixed rate (paced in small bursts); 256 flows.
// - The forwarder works on CPU 1: RPS steers fwd0's receive processing there, and
//   - gnet: an Enso echo pinned to CPU 1 (Device on `afpacket:fwd0` with its default options, one
//     fallback RX/TX pipe: peekPkts -> confirmBytes -> sendAndFree, sleeping in the port's wait()
//     when idle). Frames are addressed to a MAC nobody has, so the fwd kernel drops them early and
//     only gnet's promiscuous socket handles them;
//   - linux kernel forwarding: ip_forward=1 in fwd, frames addressed to fwd0 and routed back out of
//     fwd0 towards a next hop in gen's subnet.
// - Both return paths end at gen0 as frames for another host (dropped early by gen's kernel).
// The generator and gnet's echo run at nice -20, so other processes on a shared machine disturb
// them less; the kernel's forwarding runs in softirq context, ahead of every process anyway.
//
// No-loss rate (RFC 2544 style): a trial offers a fixed rate for a while; loss is 1 - (gen0's
// rx_packets / gen0's tx_packets) over the trial, read after the path has drained. A binary search
// finds the highest rate with loss <= 0.1% (a failed trial is repeated once, since other processes
// share this machine); the rate reported is what that trial offered. The generator's own ceiling
// (unpaced) bounds the search. The generator's socket send buffer holds back a sender whose frames
// are not yet consumed, so a trial never offers much more than the path drains: for the kernel,
// whose only queue is that backlog, the ceiling is its forwarding rate; for gnet, frames are lost
// where its RX ring overflows. Both searches run in the same invocation, one after the other.
//
// At a quarter of the lower of the two no-loss rates (the same rate for both rows):
// - CPU: CPU 1's softirq time plus the echo process's time per forwarded frame (tick-based
//   accounting, so processes of others on CPU 1 do not count; approximate);
// - latency: the generator stamps each frame with its send time and reads the returning frames on
//   gen0; the RTT is the kernel's receive timestamp (TPACKET_V3 header) minus the stamp, so the
//   measuring socket's own block-retire delay does not count (the two clocks are related through a
//   second veth pair inside gen, see kernelClockOrigin). gnet's RX ring hands frames over a
//   block at a time: when the block fills or its retire timer (1 ms) runs out.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AfPacketSocket } from '@gnet/manager-native';

const SELF = fileURLToPath(import.meta.url);
const QUICK = process.env.BENCH_QUICK === '1';
const TRIAL_SECONDS = QUICK ? 0.4 : 1;
const SEARCH_STEPS = QUICK ? 4 : 7;
const LATENCY_SECONDS = QUICK ? 0.5 : 2;
const MAX_LOSS = 0.001;
const VERBOSE = process.env.BENCH_VERBOSE === '1'; // trials on stderr
const PREFIX = 'gnet-afp-bench-';
const GEN_NS = `${PREFIX}gen`;
const FWD_NS = `${PREFIX}fwd`;
const NOBODY_MAC = '02:00:00:00:00:01'; // frames the kernel drops as "for another host"
const NEXT_HOP_MAC = '02:00:00:00:00:02';
const FRAME = 60;
const FLOWS = 256;
const STAMP_AT = 42; // UDP payload: send time, float64 performance.now() ms
const GROUP = 'afpacket: 64 B UDP echo over a veth pair';
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

// ---- roles (child processes) ----

/** FLOWS frames of FRAME bytes in flit layout; returns { data, lens }. */
function buildFrames(dstMac, srcMac, count = FLOWS) {
  const data = new Uint8Array(count * 64);
  const lens = new Uint16Array(count);
  const mac = (m) => m.split(':').map((h) => parseInt(h, 16));
  for (let i = 0; i < count; i++) {
    const o = i * 64;
    data.set([...mac(dstMac), ...mac(srcMac), 0x08, 0x00], o);
    const ip = [0x45, 0, 0, FRAME - 14, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 88, 1, 1, 10, 88, 2, 1];
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += (ip[k] << 8) | ip[k + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = (~sum >> 8) & 0xff;
    ip[11] = ~sum & 0xff;
    data.set(ip, o + 14);
    const sport = 10000 + i;
    data.set([sport >> 8, sport & 0xff, 0x13, 0x88, 0, FRAME - 34, 0, 0], o + 34);
    lens[i] = FRAME;
  }
  return { data, lens };
}

/**
 * The kernel's wall clock (ms since the epoch, the clock of receive timestamps) at which
 * performance.now() reads 0. Measured, not taken from performance.timeOrigin or Date.now() (off by
 * up to a millisecond here): frames sent on cal0 are received on cal1, a veth pair inside `ns`, and
 * the smallest gap between a frame's kernel receive timestamp and performance.now() just before its
 * send is the offset, plus the few µs that path takes at best (by which RTTs read low).
 */
function kernelClockOrigin(ns, frame, lens) {
  const tx = AfPacketSocket.open('cal0', { netns: ns, rx: false, txCopy: true });
  const rx = AfPacketSocket.open('cal1', { netns: ns, tx: false });
  const buf = new Uint8Array(1 << 20);
  const rl = new Uint16Array(buf.length >> 6);
  const rs = new Uint32Array(rl.length);
  const rn = new Uint32Array(rl.length);
  let best = Infinity;
  for (let i = 0; i < 200; i++) {
    const before = performance.now();
    tx.txFlits(frame, 0, 64, lens, 1);
    for (let got = 0, until = before + 50; got === 0 && performance.now() < until; ) {
      got = rx.rxFlits(buf, rl, rs, rn);
      for (let o = 0; o < got; o += (rl[o >> 6] + 63) & ~63) {
        const gap = rs[o >> 6] * 1000 + rn[o >> 6] / 1e6 - before;
        if (gap < best) best = gap;
      }
    }
  }
  tx.close();
  rx.close();
  return best;
}

/**
 * Sends at `rate` frames/s (0: as fast as it can) for `seconds`, in bursts of what is due. With
 * `rtt`, stamps each frame and receives the returning ones on the same socket, reporting the RTTs.
 */
async function generate({ ns, ifname, dstMac, srcMac, rate, seconds, rtt }) {
  // sendmmsg rather than a TX ring: on veth it costs this CPU (and the one freeing the frames) less.
  const sock = AfPacketSocket.open(ifname, { netns: ns, rx: rtt, txCopy: true });
  const { data, lens } = buildFrames(dstMac, srcMac);
  const view = new DataView(data.buffer);
  const rx = rtt ? new Uint8Array(1 << 20) : null;
  const rl = rtt ? new Uint16Array(rx.length >> 6) : null;
  const rs = rtt ? new Uint32Array(rl.length) : null;
  const rn = rtt ? new Uint32Array(rl.length) : null;
  const rview = rtt ? new DataView(rx.buffer) : null;
  const rtts = [];
  const receive = () => {
    const got = sock.rxFlits(rx, rl, rs, rn);
    for (let o = 0; o < got; o += (rl[o >> 6] + 63) & ~63) {
      if (rl[o >> 6] !== FRAME) continue;
      const sent = rview.getFloat64(o + STAMP_AT, true);
      if (sent > 0) rtts.push((rs[o >> 6] * 1000 + rn[o >> 6] / 1e6 - origin - sent) * 1000);
    }
  };
  const origin = rtt ? kernelClockOrigin(ns, data, lens) : 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  let sent = 0;
  let at = 0; // next frame of the buffer
  for (let now = start; now < until; now = performance.now()) {
    let due = rate > 0 ? Math.floor(((now - start) * rate) / 1000) - sent : 64;
    if (due > 64) due = 64;
    if (due > 0) {
      const n = Math.min(due, FLOWS - at);
      if (rtt) for (let k = 0; k < n; k++) view.setFloat64((at + k) * 64 + STAMP_AT, performance.now(), true);
      sent += sock.txFlits(data, at * 64, n * 64, lens, n);
      at = (at + n) % FLOWS;
    }
    if (rtt) receive();
  }
  if (rtt) {
    const drainUntil = performance.now() + 100;
    while (performance.now() < drainUntil) receive();
  }
  const st = sock.stats();
  sock.close();
  rtts.sort((a, b) => a - b);
  const q = (p) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? null;
  const seconds_ = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ sent, seconds: seconds_, ringFull: st.txRingFull, txDropped: st.txDropped, rtt: rtt ? { median: q(0.5), p99: q(0.99), n: rtts.length } : null }));
}

/** gnet's Enso echo on `afpacket:<ifname>` until SIGTERM; then prints its counters. */
async function echo({ ns, ifname }) {
  const { Device } = await import('@gnet/enso');
  const dev = await Device.create({ ports: [{ spec: `afpacket:${ifname}`, options: { netns: ns } }] });
  const pipe = dev.allocateRxTxPipe(true); // the only fallback pipe: every frame comes here
  const port = dev.nic.ports[0];
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  const parent = process.ppid; // an orphaned echo would keep its namespace alive: stop with the bench
  console.log(JSON.stringify({ ready: true }));
  let idle = 0;
  while (!stop) {
    // Yield now and then so that SIGTERM is seen; between yields, a plain Enso echo loop.
    for (let until = performance.now() + 50; performance.now() < until; ) {
      const batch = pipe.peekPkts();
      const buf = batch.buf;
      for (let o = batch.first(); o >= 0; o = batch.next()) buf[o + 63]++;
      const n = batch.processedBytes;
      if (n === 0) {
        // Nothing ready: sleep until the kernel retires a block rather than spin against its
        // receive processing, which runs on this same CPU.
        idle++;
        port.wait(1);
        continue;
      }
      pipe.confirmBytes(n);
      pipe.sendAndFree(n);
    }
    await new Promise((r) => setImmediate(r));
    if (process.ppid !== parent) stop = true;
  }
  const [s] = port.socketStats();
  console.log(JSON.stringify({ echoed: s.txPackets, kernelDrops: s.kernelDrops, freezes: s.kernelFreezes, ringFull: s.txRingFull, txDropped: s.txDropped, idle, nic: dev.nic.stats() }));
  await dev.close();
  process.exit(0);
}

// ---- orchestration ----

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr ?? '').trim()}`);
  return r.stdout;
}

function cleanup() {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (name.startsWith(PREFIX)) spawnSync('ip', ['netns', 'del', name]);
  }
}

const sysctl = (ns, ...kv) => sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...kv]);
const macOf = (ns, ifname) => JSON.parse(sh('ip', ['-j', '-n', ns, 'link', 'show', ifname]))[0].address;
const counters = (ns, ifname) => JSON.parse(sh('ip', ['-s', '-j', '-n', ns, 'link', 'show', ifname]))[0].stats64;

/** gen <-> fwd over one veth pair; `kernel` turns fwd into a router that sends frames back out. */
function setup(kernel, pin) {
  cleanup();
  for (const ns of [GEN_NS, FWD_NS]) {
    sh('ip', ['netns', 'add', ns]);
    sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  }
  sh('ip', ['-n', GEN_NS, 'link', 'add', 'gen0', 'type', 'veth', 'peer', 'name', 'fwd0', 'netns', FWD_NS]);
  sh('ip', ['-n', GEN_NS, 'addr', 'add', '10.88.1.1/24', 'dev', 'gen0']);
  sh('ip', ['-n', FWD_NS, 'addr', 'add', '10.88.1.2/24', 'dev', 'fwd0']);
  sh('ip', ['-n', GEN_NS, 'link', 'set', 'gen0', 'up']);
  // A second pair inside gen, only for reading the kernel's clock (see kernelClockOrigin).
  sh('ip', ['-n', GEN_NS, 'link', 'add', 'cal0', 'type', 'veth', 'peer', 'name', 'cal1']);
  sh('ip', ['-n', GEN_NS, 'link', 'set', 'cal0', 'up']);
  sh('ip', ['-n', GEN_NS, 'link', 'set', 'cal1', 'up']);
  sh('ip', ['-n', FWD_NS, 'link', 'set', 'fwd0', 'up']);
  // The forwarder's receive processing runs on CPU 1, away from the generator.
  if (pin) sh('ip', ['netns', 'exec', FWD_NS, 'sh', '-c', 'echo 2 > /sys/class/net/fwd0/queues/rx-0/rps_cpus']);
  if (kernel) {
    sysctl(FWD_NS, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.fwd0.send_redirects=0');
    sysctl(FWD_NS, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.fwd0.rp_filter=0');
    sh('ip', ['-n', FWD_NS, 'route', 'add', '10.88.2.0/24', 'via', '10.88.1.3']);
    sh('ip', ['-n', FWD_NS, 'neigh', 'replace', '10.88.1.3', 'lladdr', NEXT_HOP_MAC, 'dev', 'fwd0', 'nud', 'permanent']);
  }
  return { genMac: macOf(GEN_NS, 'gen0'), fwdMac: macOf(FWD_NS, 'fwd0') };
}

/**
 * Starts this script in another role, pinned to `cpu` when pinning, at nice -20: other processes on
 * a shared machine then disturb the generator and gnet's forwarder less (the kernel's forwarding
 * runs in softirq context, ahead of every process anyway). Reads the child's JSON lines.
 */
function child(roleArg, args, cpu, pin) {
  const argv = ['nice', '-n', '-20', process.execPath, SELF, roleArg, JSON.stringify(args)];
  const [cmd, ...rest] = pin ? ['taskset', '-c', String(cpu), ...argv] : argv;
  const proc = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let err = '';
  let buf = '';
  const waiters = [];
  proc.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  proc.stderr.on('data', (d) => (err += d));
  let exited = false;
  proc.on('close', () => {
    exited = true;
    waiters.splice(0).forEach((w) => w());
  });
  return {
    pid: proc.pid,
    async next(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length === 0) {
        if (exited) throw new Error(`${roleArg} exited: ${err.trim()}`);
        if (Date.now() > deadline) throw new Error(`${roleArg} timed out: ${err.trim()}`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return lines.shift();
    },
    terminate() {
      if (!exited) proc.kill('SIGTERM');
    },
    stop() {
      if (!exited) proc.kill('SIGKILL');
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Clock ticks (USER_HZ) CPU 1 spent in softirqs, and those `pid` spent (0 without a pid). */
function cpuTicks(pid) {
  const cpu1 = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu1 '))
    .split(/\s+/);
  // /proc/<pid>/stat: fields after the command name; utime and stime are the 14th and 15th.
  const task = pid ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ') : null;
  return Number(cpu1[7]) + (task ? Number(task[11]) + Number(task[12]) : 0);
}

/**
 * One forwarder (gnet or the kernel) set up in fresh namespaces; `trial(rate)` measures loss,
 * `cpu(rate)` the forwarding CPU's time per frame, `latency(rate)` the RTTs.
 */
async function forwarder(kernel, pin) {
  const { genMac, fwdMac } = setup(kernel, pin);
  const dstMac = kernel ? fwdMac : NOBODY_MAC;
  const kids = [];
  let echoer = null;
  if (!kernel) {
    echoer = child('--echo', { ns: FWD_NS, ifname: 'fwd0' }, 1, pin);
    kids.push(echoer);
    await echoer.next(); // ready
  }
  const gen = (rate, seconds, rtt = false) => {
    const g = child('--gen', { ns: GEN_NS, ifname: 'gen0', dstMac, srcMac: genMac, rate, seconds, rtt }, 0, pin);
    kids.push(g);
    return g.next(60_000);
  };
  return {
    /** Offers `rate` frames/s (0: unpaced) for `seconds`; returns the offered rate and the loss. */
    async trial(rate, seconds = TRIAL_SECONDS) {
      const c0 = counters(GEN_NS, 'gen0');
      const g = await gen(rate, seconds);
      await sleep(100); // let the path drain
      const c1 = counters(GEN_NS, 'gen0');
      const tx = c1.tx.packets - c0.tx.packets;
      const rx = c1.rx.packets - c0.rx.packets;
      return { offered: tx / g.seconds, loss: tx > 0 ? Math.max(0, 1 - rx / tx) : 1 };
    },
    /**
     * µs of CPU 1 per forwarded frame at `rate`: its softirq time (the kernel's receive, forward
     * and transmit work, whoever it interrupted) plus the echo process's own time, from tick-based
     * accounting, so other processes on CPU 1 do not count.
     */
    async cpu(rate, seconds = 2 * TRIAL_SECONDS) {
      const c0 = counters(GEN_NS, 'gen0');
      const t0 = cpuTicks(echoer?.pid);
      const g = await gen(rate, seconds);
      const t1 = cpuTicks(echoer?.pid);
      await sleep(100);
      const rx = counters(GEN_NS, 'gen0').rx.packets - c0.rx.packets;
      return { usPerFrame: ((t1 - t0) * (1e6 / CLOCK_TICKS)) / rx, offered: g.sent / g.seconds };
    },
    /** RTTs of stamped frames at `rate`. */
    async latency(rate) {
      return (await gen(rate, LATENCY_SECONDS, true)).rtt;
    },
    async close() {
      let echo = null;
      if (echoer) {
        echoer.terminate();
        echo = await echoer.next(5000).catch(() => null);
      }
      for (const k of kids) k.stop();
      cleanup();
      return echo;
    },
  };
}

/** Highest offered rate with loss <= MAX_LOSS (binary search up to the generator's ceiling). */
async function noLossRate(fwd) {
  await fwd.trial(20_000, 0.3); // warm up the forwarder (JIT, ring pages)
  const ceiling = (await fwd.trial(0)).offered;
  if (VERBOSE) console.error(`  generator ceiling ${(ceiling / 1e6).toFixed(3)} Mpps`);
  const passes = async (rate) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const t = await fwd.trial(rate);
      if (VERBOSE) console.error(`  trial ${(rate / 1e6).toFixed(3)} Mpps: offered ${(t.offered / 1e6).toFixed(3)}, loss ${(t.loss * 100).toFixed(3)}%`);
      if (t.loss <= MAX_LOSS) return t;
    }
    return null;
  };
  const top = await passes(ceiling);
  if (top) return { rate: top.offered, loss: top.loss, ceiling, generatorBound: true };
  let lo = 0;
  let hi = ceiling;
  let best = { offered: 0, loss: 0 };
  for (let step = 0; step < SEARCH_STEPS; step++) {
    const mid = (lo + hi) / 2;
    const t = await passes(mid);
    if (t) {
      lo = mid;
      if (t.offered > best.offered) best = t;
    } else {
      hi = mid;
    }
  }
  return { rate: best.offered, loss: best.loss, ceiling, generatorBound: false };
}

async function main() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || spawnSync('ip', ['-V']).status !== 0) {
    console.log('afpacket bench skipped: needs Linux, root and iproute2 (network namespaces, CAP_NET_RAW)');
    return;
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  const pin = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
  const where = pin ? 'generator on CPU 0, forwarder on CPU 1' : 'unpinned (one CPU or no taskset)';
  const impls = [
    { kernel: false, impl: 'gnet', path: 'Enso echo: Device on afpacket:fwd0, fallback RxTxPipe peekPkts/confirmBytes/sendAndFree' },
    { kernel: true, impl: 'linux kernel forwarding', path: 'ip_forward back out of the ingress veth' },
  ];
  let latencyRate = 0;
  try {
    for (const x of impls) {
      const fwd = await forwarder(x.kernel, pin);
      try {
        x.search = await noLossRate(fwd);
      } finally {
        x.echo = await fwd.close();
        if (VERBOSE) console.error(`${x.impl}: ${JSON.stringify(x.search)} ${JSON.stringify(x.echo)}`);
      }
    }
    latencyRate = Math.max(1000, Math.min(...impls.map((x) => x.search.rate)) / 4);
    for (const x of impls) {
      const fwd = await forwarder(x.kernel, pin);
      try {
        await fwd.trial(20_000, 0.3);
        x.cpu = await fwd.cpu(latencyRate);
        x.rtt = await fwd.latency(latencyRate);
      } finally {
        await fwd.close();
      }
    }
  } finally {
    cleanup();
  }
  for (const x of impls) {
    const s = x.search;
    const mpps = s.rate / 1e6;
    console.log(
      `BENCH ${JSON.stringify({
        group: GROUP,
        case: '64 B, 1 queue, no-loss rate',
        impl: x.impl,
        mpps,
        gbps: (mpps * 64 * 8) / 1000, // 64 B frames incl. FCS
        latencyUs: x.rtt.median,
        cpuUsPerPkt: +x.cpu.usPerFrame.toFixed(2),
        notes:
          `${x.path}; highest offered rate with loss <= ${MAX_LOSS * 100}% (binary search, ${TRIAL_SECONDS} s trials; ` +
          `loss there ${(s.loss * 100).toFixed(3)}%)` +
          (s.generatorBound
            ? `, passed at the generator's ceiling (unpaced, ${(s.ceiling / 1e6).toFixed(3)} Mpps, held back by the path)`
            : `; generator ceiling ${(s.ceiling / 1e6).toFixed(3)} Mpps`) +
          `; at ${(latencyRate / 1e6).toFixed(3)} Mpps: RTT median/p99 ${x.rtt.median?.toFixed(0)}/${x.rtt.p99?.toFixed(0)} µs, ` +
          `CPU 1 busy ${x.cpu.usPerFrame.toFixed(2)} µs per frame (softirq + forwarder process)` +
          `; ${where}`,
      })}`,
    );
  }
}

// One file, several roles: the bench runner starts it with no argument (main), main starts the rest.
const role = process.argv[2];
if (role === '--gen') await generate(JSON.parse(process.argv[3]));
else if (role === '--echo') await echo(JSON.parse(process.argv[3]));
else await main();
