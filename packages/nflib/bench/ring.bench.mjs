// Two-thread ring throughput: a producer thread moves u32 entries to a consumer thread in bursts of
// 32, through gnet's SpscRing (impl "gnet") or through a Node MessagePort carrying the same batches
// as Uint32Array messages (impl "MessagePort"). Both get the same in-flight window, so neither side
// runs ahead without bound. Prints one BENCH line per impl; M entries/s is reported as "mpps".
//
//   node packages/nflib/bench/ring.bench.mjs            (after `npm run build`)
//   GNET_NFLIB_MODULE=/path/to/index.js node ...        (another build of @gnet/nflib)
//   GNET_BENCH_SCALE=0.2 node ...                        (fewer entries, for a quick look)
import { MessageChannel, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const BURST = 32;
const WINDOW = 4096; // entries in flight: the ring's capacity, or MessagePort batches × 32
const moduleUrl = process.env.GNET_NFLIB_MODULE
  ? pathToFileURL(process.env.GNET_NFLIB_MODULE).href
  : new URL('../dist/index.js', import.meta.url).href;

/** Sleeps until the shared start word is set, so both threads begin together. */
function awaitStart(ctl) {
  Atomics.add(ctl, 1, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1);
}

async function ringWorker({ role, sab, ctl, total }) {
  const { SpscRing } = await import(moduleUrl);
  const ring = SpscRing.attach(sab, 0);
  const buf = new Uint32Array(BURST);
  awaitStart(ctl);
  if (role === 'producer') {
    let next = 0;
    while (next < total) {
      const n = Math.min(BURST, total - next);
      for (let k = 0; k < n; k++) buf[k] = next + k;
      // A full ring takes what fits; move the rest to the front and retry (a benchmark drops nothing).
      let left = n;
      for (;;) {
        const m = ring.enqueueBurst(buf, left);
        left -= m;
        if (left === 0) break;
        if (m > 0) buf.copyWithin(0, m, m + left);
      }
      next += n;
    }
    return { sent: next };
  }
  let got = 0;
  let bad = 0;
  while (got < total) {
    const n = ring.dequeueBurst(buf, BURST);
    for (let k = 0; k < n; k++) if (buf[k] !== got + k) bad++;
    got += n;
  }
  return { got, bad };
}

async function portWorker({ role, port, ctl, total }) {
  awaitStart(ctl);
  if (role === 'producer') {
    // ctl[2]: batches consumed so far; keep at most WINDOW / BURST batches in flight.
    const windowBatches = WINDOW / BURST;
    let sent = 0;
    let batches = 0;
    // postMessage clones synchronously, so one batch array can be refilled for every message.
    const full = new Uint32Array(BURST);
    while (sent < total) {
      while (batches - Atomics.load(ctl, 2) >= windowBatches) {
        /* spin: same policy as the ring producer */
      }
      const n = Math.min(BURST, total - sent);
      const batch = n === BURST ? full : new Uint32Array(n);
      for (let k = 0; k < n; k++) batch[k] = sent + k;
      port.postMessage(batch);
      sent += n;
      batches++;
    }
    return { sent };
  }
  return new Promise((resolve) => {
    let got = 0;
    let bad = 0;
    port.on('message', (batch) => {
      for (let k = 0; k < batch.length; k++) if (batch[k] !== got + k) bad++;
      got += batch.length;
      Atomics.add(ctl, 2, 1);
      if (got >= total) {
        port.close();
        resolve({ got, bad });
      }
    });
  });
}

if (!isMainThread) {
  const run = workerData.kind === 'ring' ? ringWorker : portWorker;
  parentPort.postMessage(await run(workerData));
} else {
  await main();
}

/** Starts producer and consumer threads, times the transfer, and prints a BENCH line. */
async function runCase(impl, total, makeData) {
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const [prodData, consData, transfer] = makeData(ctl);
  const start = (data, list) => {
    const w = new Worker(new URL(import.meta.url), { workerData: data, transferList: list });
    return new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  };
  const consumer = start(consData, transfer[1]);
  const producer = start(prodData, transfer[0]);
  while (Atomics.load(ctl, 1) < 2) await new Promise((r) => setTimeout(r, 1));
  const t0 = process.hrtime.bigint();
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  const [p, c] = await Promise.all([producer, consumer]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (c.got !== total || c.bad !== 0 || p.sent !== total) {
    throw new Error(`${impl}: moved ${c.got} of ${total} entries, ${c.bad} out of order`);
  }
  const line = {
    group: 'ring',
    case: 'spsc-2thread-burst32',
    impl,
    mpps: Number((total / seconds / 1e6).toFixed(2)),
    entries: total,
    seconds: Number(seconds.toFixed(3)),
    window: WINDOW,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
}

async function main() {
  const mod = await import(moduleUrl).catch((e) => ({ loadError: e }));
  if (!mod.SpscRing) {
    console.error(`ring.bench: ${moduleUrl} does not export SpscRing (${mod.loadError?.message ?? 'not built yet?'}); run \`npm run build\` first`);
    process.exit(1);
  }
  const scale = Number(process.env.GNET_BENCH_SCALE ?? 1);
  const ringTotal = Math.max(BURST, Math.round(40_000_000 * scale));
  const portTotal = Math.max(BURST, Math.round(4_000_000 * scale));
  await runCase('gnet', ringTotal, (ctl) => {
    const ring = mod.SpscRing.create(WINDOW);
    const base = { kind: 'ring', sab: ring.buffer, ctl, total: ringTotal };
    return [{ ...base, role: 'producer' }, { ...base, role: 'consumer' }, [[], []]];
  });
  await runCase('MessagePort', portTotal, (ctl) => {
    const { port1, port2 } = new MessageChannel();
    const base = { kind: 'port', ctl, total: portTotal };
    return [{ ...base, role: 'producer', port: port1 }, { ...base, role: 'consumer', port: port2 }, [[port1], [port2]]];
  });
}
