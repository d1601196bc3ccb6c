// ESP tunnel gateway throughput per core beside its peer, in the same run:
// (1) the peer: `openssl speed -evp aes-128-ctr` and `openssl speed -hmac sha1` at 64, 512 and 1400 B
//     on this machine, and the bound they set for encrypt-then-MAC on one core: 1 / (1/aes + 1/hmac);
// (2) gnet's crypto core alone: EspCryptoBatch (OpenSSL through the addon, one call per batch of 32)
//     on ESP packets whose inner IPv4 packet is N bytes (goal: >= 0.8x the bound);
// (3) gnet's cpu-mode gateway work per batch (prepare + crypto + finish, outbound then inbound) with
//     the OpenSSL back end (goal: >= 0.8x the bound) and with the node:crypto fallback;
// (4) the NF end to end through the manager (gen -> ipsec worker -> null), cpu mode (and gpu mode):
//     the wall-clock rate, and the NF thread's own rate per second of its busy time;
// (5) with a CUDA GPU: kernels/esp.cu alone on 4096, 16384 and 65536 packets per launch (goal: >= 100 Gb/s
//     at 1400 B).
// Sizes are inner IPv4 packet bytes (what the tunnel carries); gbps counts those bytes. Rows (1)-(3)
// are per CPU second (openssl speed divides by user CPU time by default; gnet's rows by this process's
// CPU time), so they are per core and robust to time-sharing; the peer and gnet's rows (1)-(3) are
// measured in alternating rounds and each reports its best round, so that what else runs on this
// shared machine (caches, memory bandwidth) weighs on both sides alike.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EspCryptoBatch, GpuDevice, KernelArgs, espCryptoInfo, gpuInfo } from '@gnet/manager-native';
import { Manager } from '@gnet/nflib';
import { ESP_KERNEL_ENTRY, EspGateway, EspJobs, cpuCrypto, espPtxPath, kernelKeyTable, nativeKeyTable, parseIpsecConfig } from '@gnet/nf-ipsec';

const quick = process.env.BENCH_QUICK === '1';
const SIZES = [64, 512, 1400];
const BURST = 32;
const print = (group, row) => console.log(`BENCH ${JSON.stringify({ group, ...row })}`);
const G = 'ipsec ESP (AES-128-CTR + HMAC-SHA1-96), per core';

const SA = (spi, src, dst) => ({
  spi,
  tunnelSrc: '192.0.2.1',
  tunnelDst: '198.51.100.1',
  encKey: '000102030405060708090a0b0c0d0e0f',
  nonce: 'a0a1a2a3',
  authKey: '101112131415161718191a1b1c1d1e1f20212223',
  selector: { src, dst },
});
const outSection = { direction: 'outbound', sas: [SA(4096, '10.1.0.0/16', '10.2.0.0/16')] };
const inSection = { direction: 'inbound', sas: [SA(4096, '10.1.0.0/16', '10.2.0.0/16')] };

// A machine without the openssl CLI (a lent GPU box) still measures gnet's rows; the peer rows say why not.
const opensslMissing = spawnSync('openssl', ['version']).error ? 'not run: the openssl command is not installed here' : null;

/** openssl speed's rate in bytes/s for one size (`-bytes N -seconds S`), from its last table row. */
function opensslSpeed(args, n) {
  if (opensslMissing) return Number.NaN;
  const r = spawnSync('openssl', ['speed', ...args, '-bytes', String(n), '-seconds', '1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl speed ${args.join(' ')}: ${r.stderr}`);
  // last line: "<name>   <rate>k" (in 1000s of bytes per second)
  const line = r.stdout.trim().split('\n').pop();
  const m = /([\d.]+)k\s*$/.exec(line);
  if (!m) throw new Error(`cannot parse openssl speed output: ${line}`);
  return Number(m[1]) * 1000;
}

/**
 * A batch with `BURST` inner IPv4/UDP frames of `n` IP bytes from 10.1/16 to 10.2/16, in a
 * SharedArrayBuffer as the embedded manager's packet pool is (V8 copies shared memory more slowly).
 */
function makeBatch(n) {
  const slot = 2048;
  const data = new Uint8Array(new SharedArrayBuffer(BURST * slot));
  const b = {
    data,
    view: new DataView(data.buffer),
    offsets: new Uint32Array(BURST),
    lengths: new Uint32Array(BURST),
    capacity: slot,
    action: new Uint8Array(BURST),
    destination: new Uint16Array(BURST),
    count: BURST,
  };
  for (let i = 0; i < BURST; i++) {
    const o = i * slot;
    b.offsets[i] = o;
    b.lengths[i] = 14 + n;
    data.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0, n >> 8, n & 0xff, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, i, 10, 2, 0, 1], o);
    for (let k = 34; k < 14 + n; k++) data[o + k] = (k * 7 + i) & 0xff;
  }
  return b;
}

/** Runs fn for `seconds` of wall time; returns iterations and the CPU seconds this process used. */
function timeIt(seconds, fn) {
  let iters = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < 50; k++) fn();
    iters += 50;
  }
  const c = process.cpuUsage(c0);
  return { iters, s: (c.user + c.system) / 1e6 };
}

const row = (kase, impl, bytesPerS, n, extra = {}) =>
  print(G, { case: kase, impl, mpps: bytesPerS / n / 1e6, gbps: (bytesPerS * 8) / 1e9, latencyUs: null, ...extra });

const info = espCryptoInfo();
const secs = quick ? 0.5 : 1;
const ROUNDS = quick ? 1 : 3;
const bounds = {};

/** The crypto core alone on ESP regions of an n-byte inner packet: one native call per batch; bytes/s per CPU second. */
function coreRunner(n) {
  const pad = (4 - ((n + 2) & 3)) & 3;
  const len = 16 + n + pad + 2;
  const data = new Uint8Array(BURST * 2048);
  const off = Uint32Array.from({ length: BURST }, (_, i) => i * 2048 + 34);
  const lens = new Uint32Array(BURST).fill(len);
  const sa = new Int32Array(BURST);
  const ok = new Uint8Array(BURST);
  const c = new EspCryptoBatch(nativeKeyTable(parseIpsecConfig(outSection, 'bench').outbound));
  return () => {
    const { iters, s } = timeIt(secs, () => c.run(true, data, sa, off, lens, BURST, ok));
    if (ok[0] !== 1) throw new Error('EspCryptoBatch did not encrypt');
    return (iters * BURST * n) / s;
  };
}

/** Gateway work per batch, outbound (encap) then inbound (decap restores the packets); bytes/s per CPU second of each. */
function gatewayRunner(n, want) {
  const oc = parseIpsecConfig({ ...outSection, cpuCrypto: want }, 'bench');
  const ic = parseIpsecConfig({ ...inSection, cpuCrypto: want }, 'bench');
  const og = new EspGateway(oc);
  const ig = new EspGateway(ic);
  const ocr = cpuCrypto(want, og.sas, BURST, 2048).crypto;
  const icr = cpuCrypto(want, ig.sas, BURST, 2048).crypto;
  const oj = new EspJobs(BURST);
  const ij = new EspJobs(BURST);
  const b = makeBatch(n);
  let total = 0;
  return () => {
    // Encap and decap alternate; their CPU times are split by wall share.
    let tOut = 0;
    let tIn = 0;
    const { iters, s } = timeIt(secs, () => {
      const t0 = performance.now();
      og.prepare(b, oj);
      ocr.run(oj, b);
      og.finish(b, oj);
      const t1 = performance.now();
      ig.prepare(b, ij);
      icr.run(ij, b);
      ig.finish(b, ij);
      tOut += t1 - t0;
      tIn += performance.now() - t1;
    });
    total += iters * BURST;
    if (ig.counters[1] !== total) throw new Error(`decap lost packets: ${ig.counters[1]} of ${total}`);
    return { enc: (iters * BURST * n) / ((s * tOut) / (tOut + tIn)), dec: (iters * BURST * n) / ((s * tIn) / (tOut + tIn)) };
  };
}

const ENCAP_NOTE = 'prepare + crypto + finish per batch of 32, no I/O';
const DECAP_NOTE = 'verify ICV, decrypt, anti-replay, strip';
const goal = (x) => `goal >= 0.8x bound: ${x >= 0.8 ? 'met' : Number.isNaN(x) ? 'no peer on this machine' : 'not met'}`;
for (const n of SIZES) {
  // (1)-(3) in alternating rounds, best round of each.
  const core = info.available ? coreRunner(n) : null;
  const gw = info.available ? gatewayRunner(n, 'native') : null;
  const best = { aes: 0, hmac: 0, core: 0, enc: 0, dec: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    best.aes = Math.max(best.aes, opensslSpeed(['-evp', 'aes-128-ctr'], n)); // NaN without the peer
    best.hmac = Math.max(best.hmac, opensslSpeed(['-hmac', 'sha1'], n));
    if (!core || !gw) continue;
    best.core = Math.max(best.core, core());
    const g = gw();
    best.enc = Math.max(best.enc, g.enc);
    best.dec = Math.max(best.dec, g.dec);
  }
  const bound = 1 / (1 / best.aes + 1 / best.hmac);
  bounds[n] = bound;
  const of = `best of ${ROUNDS} rounds`;
  row(`${n} B`, 'openssl speed -evp aes-128-ctr', best.aes, n, { notes: opensslMissing ?? `peer: AES-CTR alone, one core; ${of}` });
  row(`${n} B`, 'openssl speed -hmac sha1', best.hmac, n, { notes: opensslMissing ?? `peer: HMAC-SHA1 alone, one core; ${of}` });
  row(`${n} B`, 'OpenSSL bound 1/(1/aes+1/hmac)', bound, n, { notes: opensslMissing ?? 'peer: encrypt-then-MAC bound per core' });
  if (core && gw) {
    row(`${n} B`, 'gnet cpu: EspCryptoBatch (OpenSSL, batch of 32)', best.core, n, { xBound: best.core / bound, notes: `crypto core alone; ${goal(best.core / bound)}; ${of}` });
    row(`${n} B`, 'gnet cpu: gateway encap (OpenSSL batch)', best.enc, n, { xBound: best.enc / bound, notes: `${ENCAP_NOTE}; ${goal(best.enc / bound)}; ${of}` });
    row(`${n} B`, 'gnet cpu: gateway decap (OpenSSL batch)', best.dec, n, { xBound: best.dec / bound, notes: `${DECAP_NOTE}; ${goal(best.dec / bound)}; ${of}` });
  }
  if (!core || !gw) {
    for (const impl of ['gnet cpu: EspCryptoBatch (OpenSSL, batch of 32)', 'gnet cpu: gateway encap (OpenSSL batch)', 'gnet cpu: gateway decap (OpenSSL batch)']) {
      print(G, { case: `${n} B`, impl, mpps: null, gbps: null, latencyUs: null, notes: `not run: ${info.library}` });
    }
  }
  // The node:crypto fallback (no goal): one round.
  const g = gatewayRunner(n, 'node')();
  row(`${n} B`, 'gnet cpu: gateway encap (node:crypto fallback)', g.enc, n, { xBound: g.enc / bound, notes: ENCAP_NOTE });
  row(`${n} B`, 'gnet cpu: gateway decap (node:crypto fallback)', g.dec, n, { xBound: g.dec / bound, notes: DECAP_NOTE });
}

// (4) The NF end to end through the manager: gen (inner frames 10.1/16 -> 10.2/16) -> ipsec -> null,
// at the manager's default burst. The main number is the wall-clock rate (the manager and the NF
// thread run on their own cores); nfMpps is the NF thread's rate per second of its busy time (its
// loop and handler, idle excluded: `busyUs` in the stats), i.e. per NF core.
const nfModule = fileURLToPath(new URL('../dist/nf.js', import.meta.url));
const packets = quick ? 200_000 : 1_000_000;
const closing = [];
const gpu = gpuInfo();
const GPU_MODE = process.env.BENCH_IPSEC_DEVICE ?? 'gpu'; // 'emulated' exercises this code without a GPU
// On the GPU also with batches of 2048 (G-NET's large batches; the NF's default is 1024): a 1400-byte
// launch takes about 0.5 ms whatever its size, so the packets in flight (3 batches per worker) set the rate.
const runs = [...SIZES.map((n) => [n, 'cpu', 0]), ...(gpu.available ? SIZES.flatMap((n) => [[n, 'gpu', 0], [n, 'gpu', 2048]]) : [])];
for (const [n, mode, maxBatch] of runs) {
  const m = await Manager.create({
    ...(maxBatch ? { maxInFlight: 4 * maxBatch } : {}),
    ports: [
      { spec: `gen:count=${packets},size=${n + 14},flows=1024,src=10.1.0.0/16,dst=10.2.0.0/16`, role: 'rx' },
      { spec: 'null', role: 'tx' },
    ],
    nfs: [{ tag: 'ipsec', module: nfModule, serviceId: 1, config: { ...outSection, mode, workers: 1, ...(maxBatch ? { maxBatch } : {}) }, nfArgs: [] }],
  });
  // The clock starts at the first packet out (the manager yields every few ms, so a 1 ms timer samples).
  let t0 = 0n;
  let tx0 = 0;
  let nf0;
  const timer = setInterval(() => {
    if (t0 !== 0n) return;
    const tx = m.accounting().transmitted;
    if (tx > 0) {
      t0 = process.hrtime.bigint();
      tx0 = tx;
      nf0 = m.snapshot().nfs[0];
    }
  }, 1);
  await m.run({ untilDrained: true });
  const t1 = process.hrtime.bigint();
  clearInterval(timer);
  const a = m.accounting();
  const nf = m.snapshot().nfs[0];
  if (t0 === 0n || a.transmitted - tx0 <= 0) throw new Error(`no packets forwarded (${JSON.stringify(a)})`);
  const wallPps = (a.transmitted - tx0) / (Number(t1 - t0) / 1e9);
  const nfPps = (nf.rxPackets - nf0.rxPackets) / ((nf.busyUs - nf0.busyUs) / 1e6);
  closing.push(m.close());
  row(`${n} B`, `gnet ${mode}: ipsec NF through the manager${maxBatch ? `, batches of ${maxBatch}` : ''}`, wallPps * n, n, {
    xBound: (wallPps * n) / bounds[n],
    nfMpps: nfPps / 1e6,
    nfXBound: (nfPps * n) / bounds[n],
    notes: `gen -> ipsec (outbound, ${mode === 'gpu' ? 'kernels/esp.cu' : info.available ? 'OpenSSL' : 'node:crypto'}) -> null, ${maxBatch ? `device batches of ${maxBatch} (maxBatch), manager in-flight ${4 * maxBatch}` : mode === 'gpu' ? "device batches of up to 1024 (the NF's default maxBatch)" : "the manager's default burst"}; wall clock (nfMpps: per second of the NF thread's busy time); ${packets} pkts, ${((100 * a.transmitted) / packets).toFixed(1)}% forwarded`,
  });
}
await Promise.all(closing);

// (5) The kernel alone on a device: batches of ESP packets, wall time over many launches.
if (gpu.available || GPU_MODE === 'emulated') {
  const dev = GpuDevice.open({ mode: GPU_MODE });
  try {
    const mod = dev.loadModule(espPtxPath());
    const keys = kernelKeyTable(parseIpsecConfig(outSection, 'bench').outbound);
    const dKeys = dev.malloc(keys.byteLength);
    dev.memcpyHtoD(dKeys, keys, 0, keys.byteLength);
    // 16384 is the row the goal reads; the other batch sizes show how the rate grows with the batch.
    const batches = GPU_MODE === 'emulated' ? [1024] : [4096, 16384, 65536];
    for (const [n, N] of SIZES.flatMap((n) => batches.map((N) => [n, N]))) {
      const pad = (4 - ((n + 2) & 3)) & 3;
      const len = 16 + n + pad + 2;
      const stride = len + 12;
      const hOff = dev.hostAlloc(N * 4);
      const hLen = dev.hostAlloc(N * 4);
      const hJob = dev.hostAlloc(N * 4);
      new Uint32Array(hOff.buffer).forEach((_, i, a) => (a[i] = i * stride));
      new Uint32Array(hLen.buffer).fill(len);
      new Int32Array(hJob.buffer).fill(0);
      const d = { pkts: dev.malloc(N * stride), off: dev.malloc(N * 4), len: dev.malloc(N * 4), job: dev.malloc(N * 4), ok: dev.malloc(N) };
      dev.memset(d.pkts, 0x5a, N * stride);
      dev.memcpyHtoD(d.off, hOff.buffer, 0, N * 4);
      dev.memcpyHtoD(d.len, hLen.buffer, 0, N * 4);
      dev.memcpyHtoD(d.job, hJob.buffer, 0, N * 4);
      const s = dev.stream(7);
      const args = new KernelArgs();
      args.ptr(dKeys).ptr(d.pkts).ptr(d.off).ptr(d.len).ptr(d.job).ptr(d.ok).u32(N);
      const shape = { grid: Math.ceil(N / 128), block: 128 };
      s.launch(mod, ESP_KERNEL_ENTRY, shape, args).submitSync(); // warm-up (JIT, caches)
      const reps = GPU_MODE === 'emulated' ? 3 : quick ? 50 : 200;
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) s.launch(mod, ESP_KERNEL_ENTRY, shape, args);
      s.submitSync();
      const sec = (performance.now() - t0) / 1000;
      const rate = (reps * N * n) / sec;
      row(`${n} B`, `gnet ${GPU_MODE}: kernels/esp.cu alone, ${N} per launch`, rate, n, {
        notes: `${N} packets per launch, one per thread, ${reps} launches, no copies; goal at 1400 B on H100: >= 100 Gb/s${GPU_MODE === 'emulated' ? ' (emulated device: not a GPU number)' : ''}; ${gpu.devices[0]?.name ?? GPU_MODE}`,
      });
      for (const p of Object.values(d)) dev.free(p);
      for (const h of [hOff, hLen, hJob]) dev.free(h.ptr);
    }
  } finally {
    dev.close();
  }
}
