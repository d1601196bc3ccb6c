// Firewall classification benchmark: gnet's decision trees (and the tuple-space candidate) beside
// DPDK's rte_acl (`dpdk-test-acl`, one core) on the same ClassBench rules and trace in the same run.
// Reports classifications/s per core (as mpps), gnet's build time and table bytes, and whether the
// two agree on every header's first match (dpdk-test-acl --verbose=2 prints its results).
// gnet and rte_acl are timed in alternating rounds (best of each), so that load from other work on a
// shared machine hits both alike; each rte_acl round classifies ~2e7 headers (not a few ms' worth).
// A second row per set times the firewall NF's cpu handler alone (`Firewall.process`: parse the
// 5-tuple of 64 B frames, classify, apply actions, counters and hits) on in-memory batches.
// Data: ../shared/data/classbench when present, else a generated ClassBench-like set.
// Run from the repo root: node --expose-gc packages/nf-firewall/bench/acl.bench.mjs  (BENCH_QUICK=1: short)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Classifier, Firewall, KEY_WORDS, linearClassify, packKey, parseRules, TupleSpaceClassifier } from '@gnet/nf-firewall';

const here = dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
const DATA = [join(here, '..', '..', '..', '..', 'shared', 'data', 'classbench'), '/work/shared/data/classbench'].find((d) => existsSync(d));
const SETS = ['acl1_1k', 'acl2_10k', 'fw1_10k'];
const tmp = mkdtempSync(join(tmpdir(), 'gnet-fw-bench-'));

function bench(line) {
  console.log('BENCH ' + JSON.stringify({ group: 'firewall classify', ...line }));
}

/** A ClassBench-like set when the real data is absent (same shapes as test/gen.ts, smaller variety). */
function generated(nRules, nTrace) {
  let a = 12345;
  const r = () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const clusters = Array.from({ length: 12 }, () => (r() * 2 ** 32) >>> 0);
  const ipText = (x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.');
  const lens = [0, 8, 16, 24, 24, 28, 32, 32];
  const ports = [[0, 65535], [0, 65535], [0, 1023], [80, 80], [443, 443], [53, 53], [1024, 65535]];
  const rules = [];
  const lines = [];
  for (let i = 0; i < nRules; i++) {
    const sl = lens[Math.floor(r() * lens.length)];
    const dl = lens[Math.floor(r() * lens.length)];
    const m = (l) => (l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0);
    const s = ((clusters[i % 12] ^ ((r() * 65536) >>> 0)) & m(sl)) >>> 0;
    const d = ((clusters[(i * 7) % 12] ^ ((r() * 65536) >>> 0)) & m(dl)) >>> 0;
    const sp = r() < 0.8 ? [0, 65535] : ports[Math.floor(r() * ports.length)];
    const dp = ports[Math.floor(r() * ports.length)];
    const [p, pm] = r() < 0.5 ? [6, 255] : r() < 0.8 ? [17, 255] : [0, 0];
    rules.push([s, sl, d, dl, sp, dp, p]);
    lines.push(`@${ipText(s)}/${sl}\t${ipText(d)}/${dl}\t${sp[0]} : ${sp[1]}\t${dp[0]} : ${dp[1]}\t0x${p.toString(16).padStart(2, '0')}/0x${pm.toString(16)}\t0x0000/0x0000`);
  }
  const trace = [];
  for (let i = 0; i < nTrace; i++) {
    const [s, sl, d, dl, sp, dp, p] = rules[Math.floor(r() * nRules)];
    const inP = (b, l) => (l === 0 ? (r() * 2 ** 32) >>> 0 : (b | ((r() * 2 ** (32 - l)) >>> 0)) >>> 0);
    trace.push(`${inP(s, sl)}\t${inP(d, dl)}\t${sp[0]}\t${dp[0]}\t${p || 6}\t0\t0`);
  }
  return { rulesText: lines.join('\n') + '\n', traceText: trace.join('\n') + '\n' };
}

function load(name) {
  if (DATA) {
    return {
      rulesText: gunzipSync(readFileSync(join(DATA, `${name}.gz`))).toString(),
      traceText: gunzipSync(readFileSync(join(DATA, `${name}_trace.gz`))).toString(),
      source: 'ClassBench (shared/data)',
    };
  }
  const n = name.includes('10k') ? 10000 : 1000;
  return { ...generated(n, n * 10), source: 'generated (shared/data absent)' };
}

/** Classifications per second over the whole trace in batches of 256, best of `reps` runs of ≥ `minMs`. */
function rate(classifier, keys, n, reps, minMs) {
  const out = new Int32Array(n);
  let best = 0;
  for (let rep = 0; rep < reps; rep++) {
    let done = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      for (let o = 0; o < n; o += 256) classifier.classifyBatch(keys.subarray(o * KEY_WORDS), out.subarray(o), Math.min(256, n - o));
      done += n;
      t = performance.now();
    } while (t - t0 < minMs);
    best = Math.max(best, done / ((t - t0) / 1000));
  }
  return { perSec: best, out };
}

/**
 * 64-byte frames (Ethernet + IPv4 + TCP/UDP ports) for the trace's headers, one per 2 KiB slot as
 * in nflib's packet pool, and a batch object with PacketBatch's fields.
 */
function framesOf(keys, n, burst) {
  const SLOT = 2048;
  const data = new Uint8Array(n * SLOT);
  const view = new DataView(data.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * SLOT;
    const k = i * KEY_WORDS;
    data.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45], o);
    view.setUint16(o + 16, 46); // IPv4 total length: 60-byte frame
    data[o + 22] = 64;
    data[o + 23] = keys[k + 3] & 0xff;
    view.setUint32(o + 26, keys[k]);
    view.setUint32(o + 30, keys[k + 1]);
    view.setUint32(o + 34, keys[k + 2]); // sport, dport (ICMP: type and code are read from here too)
  }
  const batch = {
    count: 0,
    data,
    view,
    offsets: new Uint32Array(burst),
    lengths: new Uint32Array(burst),
    capacity: SLOT,
    action: new Uint8Array(burst),
    destination: new Uint16Array(burst),
    port: new Uint16Array(burst),
    flowHash: new Uint32Array(burst),
    slots: new Uint32Array(burst),
  };
  return { batch, slot: SLOT };
}

/** Packets/s through `fw.process` over the frames in bursts (offsets and lengths set as the manager's gather does), one run of ≥ `minMs`. */
function handlerRate(fw, frames, n, burst, minMs) {
  const { batch, slot } = frames;
  let done = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    for (let s = 0; s + burst <= n; s += burst) {
      for (let j = 0; j < burst; j++) {
        batch.offsets[j] = (s + j) * slot;
        batch.lengths[j] = 60;
      }
      batch.action.fill(1);
      batch.count = burst;
      fw.process(batch);
    }
    done += n - (n % burst);
    t = performance.now();
  } while (t - t0 < minMs);
  return done / ((t - t0) / 1000);
}

function dpdk(rulesPath, tracePath, n, iters, verbose) {
  const r = spawnSync(
    'dpdk-test-acl',
    ['--no-huge', '-m', '1024', '--no-pci', '-l', '0', `--file-prefix=gnetfw${process.pid}`, '--log-level=lib.eal:error', '--', `--rulesf=${rulesPath}`, `--tracef=${tracePath}`, `--tracenum=${n}`, `--iter=${iters}`, `--verbose=${verbose}`],
    { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 300_000 },
  );
  if (r.status !== 0) return { error: (r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-2).join(' ') };
  const m = /([\d.]+) pkt\/sec/.exec(r.stdout);
  const alg = /alg=(\d+)/.exec(r.stdout)?.[1];
  const results = verbose >= 2 ? [...r.stdout.matchAll(/result: (\d+)/g)].map((x) => (Number(x[1]) === 4294967295 ? -1 : Number(x[1]))) : [];
  return { perSec: m ? Number(m[1]) : 0, alg, results };
}

const haveDpdk = spawnSync('dpdk-test-acl', ['--version']).error === undefined;
if (!haveDpdk) console.error('acl bench: dpdk-test-acl not found; gnet only');

// Rounds of similar length (gnet ≥ 0.5 s, rte_acl ~2e7 headers ≈ 0.4-2 s), so that either catches quiet moments alike.
const ROUNDS = QUICK ? 1 : 5;
const BURST = 32;

for (const name of SETS) {
  const { rulesText, traceText, source } = load(name);
  const rs = parseRules(rulesText, name);
  const lines = traceText.trim().split('\n');
  const n = lines.length;
  const keys = new Uint32Array(n * KEY_WORDS);
  lines.forEach((l, i) => {
    const t = l.split(/\s+/).map(Number);
    packKey(keys, i, t[0], t[1], t[2], t[3], t[4]);
  });
  globalThis.gc?.();
  const cls = new Classifier(rs);
  const first = rate(cls, keys, n, 1, 100);
  // Correctness: the linear-scan oracle on a sample.
  const sample = Math.min(n, QUICK ? 2000 : 20000);
  let wrong = 0;
  for (let i = 0; i < sample; i++) {
    const k = i * KEY_WORDS;
    if (linearClassify(rs, keys[k], keys[k + 1], keys[k + 2] >>> 16, keys[k + 2] & 0xffff, keys[k + 3]) !== first.out[i]) wrong++;
  }
  const rulesPath = join(tmp, `${name}.rules`);
  const tracePath = join(tmp, `${name}.trace`);
  writeFileSync(rulesPath, rulesText);
  writeFileSync(tracePath, traceText);
  // rte_acl's first match per header, and its build, once.
  let check = null;
  let dpdkWallMs = 0;
  if (haveDpdk) {
    const t0 = performance.now();
    check = dpdk(rulesPath, tracePath, n, 1, 2);
    dpdkWallMs = performance.now() - t0;
    if (check.error) console.error(`acl bench: dpdk-test-acl failed on ${name}: ${check.error}`);
  }
  const runDpdk = haveDpdk && !check.error;
  // Alternating rounds: gnet for ≥ 0.5 s, then rte_acl over ~2e7 headers; best of each.
  const dpdkIters = Math.max(5, Math.ceil((QUICK ? 2e6 : 2e7) / n));
  let gnetBest = 0;
  let dpdkBest = { perSec: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    gnetBest = Math.max(gnetBest, rate(cls, keys, n, 1, QUICK ? 300 : 500).perSec);
    if (!runDpdk) continue;
    const t = dpdk(rulesPath, tracePath, n, dpdkIters, 0);
    if (t.error) console.error(`acl bench: dpdk-test-acl failed on ${name}: ${t.error}`);
    else if (t.perSec > dpdkBest.perSec) dpdkBest = t;
  }
  let disagree = 0;
  if (runDpdk) for (let i = 0; i < n; i++) if (check.results[i] !== first.out[i]) disagree++;
  const ratio = dpdkBest.perSec > 0 ? gnetBest / dpdkBest.perSec : null;
  bench({
    case: name,
    impl: 'gnet cpu',
    mpps: +(gnetBest / 1e6).toFixed(3),
    rules: rs.count,
    headers: n,
    buildMs: +cls.buildMs.toFixed(1),
    tableBytes: cls.stats.bytes,
    trees: cls.stats.trees,
    notes: `decision trees (${cls.stats.trees}, depth ${cls.stats.depth}, replication ${cls.stats.replication.toFixed(2)}), batches of 256, best of ${ROUNDS} runs of ≥ ${QUICK ? 0.3 : 0.5} s alternating with rte_acl's; ${wrong} of ${sample} differ from the linear scan; ${source}`,
  });
  if (runDpdk) {
    bench({
      case: name,
      impl: 'DPDK rte_acl (dpdk-test-acl)',
      mpps: +(dpdkBest.perSec / 1e6).toFixed(3),
      ratio: ratio === null ? null : +ratio.toFixed(2),
      notes: `one lcore, alg ${dpdkBest.alg ?? check.alg ?? '?'} (default = best SIMD), ${dpdkIters} iterations over the trace per run, best of ${ROUNDS} runs; gnet/DPDK = ${ratio === null ? '?' : ratio.toFixed(2)}; first matches differ on ${disagree} of ${n} headers (${check.results.length} read); a verbose run with its build took ${dpdkWallMs.toFixed(0)} ms wall`,
    });
  }
  const tss = new TupleSpaceClassifier(rs);
  const t2 = rate(tss, keys, n, 1, QUICK ? 200 : 600);
  bench({ case: name, impl: 'gnet cpu (tuple space, candidate)', mpps: +(t2.perSec / 1e6).toFixed(3), buildMs: +tss.buildMs.toFixed(1), tableBytes: tss.bytes, notes: `${tss.tuples} tuples` });
  // The NF's handler alone: ClassBench actions are all accept, so every packet takes the rule path.
  const fw = new Firewall({ rulesFile: rulesPath, nonIpv4: 'accept', fragments: 'rules' });
  const nFrames = Math.min(n, 8192);
  const frames = framesOf(keys, nFrames, BURST);
  let handlerBest = 0;
  let noopBest = 0;
  const noop = { process() {} };
  for (let round = 0; round < ROUNDS; round++) {
    handlerBest = Math.max(handlerBest, handlerRate(fw, frames, nFrames, BURST, QUICK ? 300 : 500));
    noopBest = Math.max(noopBest, handlerRate(noop, frames, nFrames, BURST, QUICK ? 100 : 200));
  }
  bench({
    case: name,
    impl: 'no-op handler (peer)',
    mpps: +(noopBest / 1e6).toFixed(3),
    notes: `the same batch loop over the same frames with an empty handler: what the harness costs; best of ${ROUNDS} runs alternating with the handler's`,
  });
  bench({
    case: name,
    impl: 'gnet firewall NF handler (cpu)',
    mpps: +(handlerBest / 1e6).toFixed(3),
    notes: `Firewall.process (the cpu hook) on batches of ${BURST} 64 B TCP/UDP frames in 2 KiB slots (${nFrames} frames, ${((nFrames * frames.slot) / 2 ** 20).toFixed(0)} MiB): parse the 5-tuple, classify, apply the action, counters and per-rule hits; no manager; best of ${ROUNDS} runs of ≥ ${QUICK ? 0.3 : 0.5} s; the manager's target is ≥ 20 Mpps`,
  });
}
rmSync(tmp, { recursive: true, force: true });
