// Echo of 64 B UDP frames over a veth pair through gnet's AF_PACKET port, beside the Linux kernel
// forwarding the same traffic. Needs root; everything runs in namespaces `gnet-afp-bench-*` that
// this script creates and removes.
//
// Topology, for both rows: namespace gen (veth gen0) <-> namespace fwd (veth fwd0).
// - A generator process pinned to CPU 0 blasts 60-byte frames (64 B on the wire with the FCS) into
//   gen0 through an AF_PACKET TX ring; 256 flows (source ports).
// - The forwarder works on CPU 1: RPS steers fwd0's receive processing there, and
//   - gnet: an echo process pinned to CPU 1 opens fwd0 as an afpacket port and sends every frame
//     straight back (pollFlits -> sendFlits; the raw AfPacketSocket rxFlits/txFlits when
//     @gnet/enso does not export the port yet). Frames are addressed to a MAC nobody has, so the
//     fwd kernel drops them early and only gnet's promiscuous socket handles them;
//   - linux kernel forwarding: ip_forward=1 in fwd, frames addressed to fwd0 and routed back out
//     of fwd0 towards a next hop in gen's subnet.
// - Both return paths end at gen0 as frames for another host (dropped early by gen's kernel);
//   the rate is gen0's rx_packets counter over the measured window. Latency: one frame at a time
//   from a generator socket that waits for it to come back (round trip, median of many).
import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AfPacketSocket } from '@gnet/manager-native';

const SELF = fileURLToPath(import.meta.url);
const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = QUICK ? 1 : 3;
const WARMUP_SECONDS = QUICK ? 0.3 : 0.7;
const PINGS = QUICK ? 300 : 2000;
const PREFIX = 'gnet-afp-bench-';
const GEN_NS = `${PREFIX}gen`;
const FWD_NS = `${PREFIX}fwd`;
const NOBODY_MAC = '02:00:00:00:00:01'; // frames the kernel drops as "for another host"
const NEXT_HOP_MAC = '02:00:00:00:00:02';
const FRAME = 60;
const FLOWS = 256;
const GROUP = 'afpacket: 64 B UDP echo over a veth pair';

// ---- roles (child processes) ----

/** Writes FLOWS frames of FRAME bytes in flit layout; returns { data, lens, bytes }. */
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
  return { data, lens, bytes: count * 64 };
}

async function generate({ ns, ifname, dstMac, srcMac, seconds }) {
  const sock = AfPacketSocket.open(ifname, { netns: ns, rx: false, txFrames: 4096 });
  const { data, lens, bytes } = buildFrames(dstMac, srcMac);
  const until = performance.now() + seconds * 1000;
  let queued = 0;
  while (performance.now() < until) queued += sock.txFlits(data, 0, bytes, lens, FLOWS);
  const st = sock.stats();
  sock.close();
  console.log(JSON.stringify({ queued, ringFull: st.txRingFull }));
}

async function echo({ ns, ifname, seconds }) {
  let createAfPacketBackend;
  try {
    ({ createAfPacketBackend } = await import('@gnet/enso'));
  } catch {
    createAfPacketBackend = undefined;
  }
  const until = performance.now() + seconds * 1000;
  let path;
  let stats;
  if (typeof createAfPacketBackend === 'function') {
    path = 'afpacket port pollFlits -> sendFlits';
    const port = createAfPacketBackend(ifname, 'rxtx', { netns: ns });
    // A wire: every block the port offers goes straight back out of it. The block lies in the
    // port's staging FlitBuffer; sendFlits reads its data and lens.
    let staged = null;
    const wire = {
      lastFrames: 0,
      lastFrameBytes: 0,
      push: () => false,
      pushFlits(buf, offset, nbBytes, lens, tsSec, tsNsec) {
        let frames = 0;
        let frameBytes = 0;
        for (let o = offset; o < offset + nbBytes; o += (lens[o >> 6] + 63) & ~63) {
          frames++;
          frameBytes += lens[o >> 6];
        }
        if (staged?.data !== buf) staged = { data: buf, lens, tsSec, tsNsec };
        port.sendFlits(staged, offset, nbBytes, frames, frameBytes);
        this.lastFrames = frames;
        this.lastFrameBytes = frameBytes;
        return nbBytes;
      },
    };
    console.log(JSON.stringify({ ready: true }));
    // Idle policy: an empty ring means the kernel's receive processing (softirq, on this same CPU)
    // is behind, so sleep until a block retires instead of spinning against it.
    let emptyPolls = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 64; i++) {
        if (port.pollFlits(wire) === 0) {
          emptyPolls++;
          port.wait(1);
        }
      }
    }
    const [s] = port.socketStats();
    stats = { echoed: s.txPackets, kernelDrops: s.kernelDrops, ringFull: s.txRingFull, emptyPolls };
    await port.close();
  } else {
    path = 'AfPacketSocket rxFlits -> txFlits (@gnet/enso does not export createAfPacketBackend)';
    const sock = AfPacketSocket.open(ifname, { netns: ns });
    const data = new Uint8Array(256 * 2048 + 65536);
    const lens = new Uint16Array(data.length >> 6);
    const tsSec = new Uint32Array(lens.length);
    const tsNsec = new Uint32Array(lens.length);
    console.log(JSON.stringify({ ready: true }));
    while (performance.now() < until) {
      for (let i = 0; i < 64; i++) {
        const bytes = sock.rxFlits(data, lens, tsSec, tsNsec, 256);
        if (bytes > 0) sock.txFlits(data, 0, bytes, lens);
      }
    }
    const s = sock.stats();
    stats = { echoed: s.txPackets, kernelDrops: s.kernelDrops, ringFull: s.txRingFull };
    sock.close();
  }
  console.log(JSON.stringify({ path, ...stats }));
}

async function ping({ ns, ifname, dstMac, srcMac, count }) {
  const sock = AfPacketSocket.open(ifname, { netns: ns, retireTimeoutMs: 1 });
  const { data, lens } = buildFrames(dstMac, srcMac, 1);
  const rx = new Uint8Array(1 << 16);
  const rl = new Uint16Array(rx.length >> 6);
  const s = new Uint32Array(rl.length);
  const n = new Uint32Array(rl.length);
  const rtts = [];
  let lost = 0;
  for (let i = 0; i < count; i++) {
    data[42] = i & 0xff; // payload byte: which ping this is
    data[43] = (i >> 8) & 0xff;
    const t0 = performance.now();
    sock.txFlits(data, 0, 64, lens, 1);
    let back = false;
    while (!back && performance.now() - t0 < 100) {
      const bytes = sock.rxFlits(rx, rl, s, n);
      for (let o = 0; o < bytes; o += (rl[o >> 6] + 63) & ~63) {
        if (rl[o >> 6] === FRAME && rx[o + 42] === data[42] && rx[o + 43] === data[43]) back = true;
      }
    }
    if (back) rtts.push((performance.now() - t0) * 1000);
    else lost++;
  }
  sock.close();
  rtts.sort((a, b) => a - b);
  const at = (q) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? null;
  console.log(JSON.stringify({ median: at(0.5), p99: at(0.99), lost }));
}

// ---- orchestration ----

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
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

/** Starts this script in another role, pinned to `cpu` when pinning. */
function child(roleArg, args, cpu, pin) {
  const argv = [process.execPath, SELF, roleArg, JSON.stringify(args)];
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
    proc,
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
    stop() {
      if (!exited) proc.kill('SIGKILL');
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runCase(kernel, pin) {
  const { genMac, fwdMac } = setup(kernel, pin);
  const dstMac = kernel ? fwdMac : NOBODY_MAC;
  const kids = [];
  try {
    let echoer = null;
    if (!kernel) {
      echoer = child('--echo', { ns: FWD_NS, ifname: 'fwd0', seconds: WARMUP_SECONDS + SECONDS + 1.5 }, 1, pin);
      kids.push(echoer);
      await echoer.next(); // ready
    }
    const total = WARMUP_SECONDS + SECONDS + 0.5;
    const gen = child('--gen', { ns: GEN_NS, ifname: 'gen0', dstMac, srcMac: genMac, seconds: total }, 0, pin);
    kids.push(gen);
    await sleep(WARMUP_SECONDS * 1000);
    const c0 = counters(GEN_NS, 'gen0');
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const c1 = counters(GEN_NS, 'gen0');
    const ms = performance.now() - t0;
    const genReport = await gen.next();
    const echoReport = echoer ? await echoer.next() : null;

    // Latency on an idle path, after the load.
    if (!kernel) {
      const echo2 = child('--echo', { ns: FWD_NS, ifname: 'fwd0', seconds: 30 }, 1, pin);
      kids.push(echo2);
      await echo2.next(); // ready
    }
    const pinger = child('--ping', { ns: GEN_NS, ifname: 'gen0', dstMac, srcMac: genMac, count: PINGS }, 0, pin);
    kids.push(pinger);
    const lat = await pinger.next(60_000);
    return {
      mpps: (c1.rx.packets - c0.rx.packets) / ms / 1000,
      offeredMpps: (c1.tx.packets - c0.tx.packets) / ms / 1000,
      gen: genReport,
      echo: echoReport,
      lat,
    };
  } finally {
    for (const k of kids) k.stop();
    cleanup();
  }
}

async function main() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || spawnSync('ip', ['-V']).status !== 0) {
    console.log('afpacket bench skipped: needs Linux, root and iproute2 (network namespaces, CAP_NET_RAW)');
    return;
  }
  const pin = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
  const where = pin ? 'generator on CPU 0, forwarder on CPU 1' : 'unpinned (one CPU or no taskset)';
  const gbps = (mpps) => (mpps * 64 * 8) / 1000; // 64 B frames incl. FCS
  try {
    const g = await runCase(false, pin);
    console.log(
      `BENCH ${JSON.stringify({
        group: GROUP,
        case: '64 B, 1 queue',
        impl: 'gnet',
        mpps: g.mpps,
        gbps: gbps(g.mpps),
        latencyUs: g.lat.median,
        notes:
          `${g.echo.path}; offered ${g.offeredMpps.toFixed(2)} Mpps; ring drops ${g.echo.kernelDrops}; ` +
          `RTT p99 ${g.lat.p99?.toFixed(0)} µs, lost ${g.lat.lost}; ${where}`,
      })}`,
    );
    const k = await runCase(true, pin);
    console.log(
      `BENCH ${JSON.stringify({
        group: GROUP,
        case: '64 B, 1 queue',
        impl: 'linux kernel forwarding',
        mpps: k.mpps,
        gbps: gbps(k.mpps),
        latencyUs: k.lat.median,
        notes:
          `ip_forward back out of the ingress veth; offered ${k.offeredMpps.toFixed(2)} Mpps; ` +
          `RTT p99 ${k.lat.p99?.toFixed(0)} µs, lost ${k.lat.lost}; ${where}`,
      })}`,
    );
  } finally {
    cleanup();
  }
}

// One file, several roles: the bench runner starts it with no argument (main), main starts the rest.
const role = process.argv[2];
if (role === '--gen') await generate(JSON.parse(process.argv[3]));
else if (role === '--echo') await echo(JSON.parse(process.argv[3]));
else if (role === '--ping') await ping(JSON.parse(process.argv[3]));
else await main();
