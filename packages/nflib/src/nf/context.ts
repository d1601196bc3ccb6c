/**
 * The NF side of gnet (onvm_nflib's `onvm_nflib_init` / `run` / `stop`): an NF script calls
 * {@link init}, then {@link run} with a batch handler; the same script runs as a worker_thread of
 * `gnet run` (embedded mode).
 *
 * ```ts
 * import { init, run, Action } from '@gnet/nflib';
 * const ctx = init({ tag: 'counter' });
 * let seen = 0;
 * await run(ctx, (batch) => { seen += batch.count; });   // every packet: NEXT
 * ```
 * @module
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PacketPool } from '../pool/index.js';
import { IdleBackoff, SpscRing } from '../ring/index.js';
import { ATTACH_KEY, COUNTERS_OFFSET, ControlWord, NfCounter, NfState, type NfAttach } from '../runtime/attach.js';
import { parseNfArgs, type NfArgs } from './args.js';
import { PacketBatch } from './batch.js';

/** Options of {@link init}, overriding what the command line says. */
export interface NfOptions {
  /** The NF's name in stats and logs. */
  tag?: string;
  /** Service id the NF offers (`-r`). */
  serviceId?: number;
  /** Command line to parse (default `process.argv.slice(2)`). */
  argv?: string[];
}

/** A message between NFs (`sendMsgToNf`), delivered to the receiver's message callback. */
export interface NfMessage {
  /** Sender's service id. */
  from: number;
  /** Anything structured-clone can carry. */
  body: unknown;
}

/** The handle an NF gets from {@link init}. */
export interface NfContext {
  /** The NF's name. */
  readonly tag: string;
  /** Service id (chosen by the NF or the chain). */
  readonly serviceId: number;
  /** Instance id (assigned by the manager). */
  readonly instanceId: number;
  /** The NF's section of the manager config (`undefined` when none). */
  readonly config: unknown;
  /** The config file, for error messages. */
  readonly configSource: string;
  /** Parsed onvm flags and the NF's own arguments (after `--`). */
  readonly args: NfArgs;
  /** The shared packet pool. */
  readonly pool: PacketPool;
  /** Called once before the first batch. */
  onSetup?: (ctx: NfContext) => void | Promise<void>;
  /** Called with each message sent to this NF. */
  onMessage?: (msg: NfMessage, ctx: NfContext) => void;
  /** Asks the manager to deliver `body` to every instance of service `serviceId`. */
  sendMsgToNf(serviceId: number, body: unknown): void;
  /** Packets handled so far. */
  readonly packets: number;
  /** True once {@link stop} was called or the manager asked the NF to stop. */
  readonly stopping: boolean;
}

/** A batch handler: read and rewrite packets, set `batch.action[i]` / `batch.destination[i]`. */
export type BatchHandler = (batch: PacketBatch, ctx: NfContext) => void;

class Context implements NfContext {
  readonly tag: string;
  readonly serviceId: number;
  readonly instanceId: number;
  readonly config: unknown;
  readonly configSource: string;
  readonly args: NfArgs;
  readonly pool: PacketPool;
  onSetup?: (ctx: NfContext) => void | Promise<void>;
  onMessage?: (msg: NfMessage, ctx: NfContext) => void;
  readonly rx: SpscRing;
  readonly tx: SpscRing;
  readonly ctl: Int32Array;
  readonly counters: Float64Array;
  readonly burst: number;
  packets = 0;

  constructor(a: NfAttach, args: NfArgs, tag: string) {
    this.tag = tag;
    this.serviceId = a.serviceId;
    this.instanceId = a.instanceId;
    this.config = a.config;
    this.configSource = a.configSource;
    this.args = args;
    this.pool = PacketPool.attach(a.poolBuffer);
    this.rx = SpscRing.attach(a.rxRing.buffer, a.rxRing.byteOffset);
    this.tx = SpscRing.attach(a.txRing.buffer, a.txRing.byteOffset);
    this.ctl = new Int32Array(a.control, 0, COUNTERS_OFFSET / 4);
    this.counters = new Float64Array(a.control, COUNTERS_OFFSET, 8);
    this.burst = a.burst;
  }

  get stopping(): boolean {
    return Atomics.load(this.ctl, ControlWord.STOP) !== 0;
  }

  sendMsgToNf(serviceId: number, body: unknown): void {
    parentPort?.postMessage({ type: 'gnet:msg', to: serviceId, from: this.serviceId, body });
  }
}

/**
 * Joins the manager that started this NF (onvm_nflib_init). In embedded mode the manager passes the
 * attach record in `workerData`; run standalone, the NF has no manager to join.
 * @throws Error that says how to start the NF when there is no manager.
 */
export function init(options: NfOptions = {}): NfContext {
  const attach = (workerData as Record<string, unknown> | null)?.[ATTACH_KEY] as NfAttach | undefined;
  const args = parseNfArgs(options.argv ?? attach?.nfArgs ?? process.argv.slice(2));
  if (!attach || isMainThread) {
    throw new Error(
      'gnet: this NF has no manager to join. Run it through the manager: `gnet run --chain <this file> --in <port> --out <port>`.',
    );
  }
  const ctx = new Context(attach, args, options.tag ?? attach.tag);
  parentPort?.postMessage({ type: 'gnet:hello', tag: ctx.tag });
  Atomics.store(ctx.ctl, ControlWord.STATE, NfState.RUNNING);
  parentPort?.on('message', (m: { type?: string; from?: number; body?: unknown }) => {
    if (m?.type === 'gnet:msg' && ctx.onMessage) ctx.onMessage({ from: m.from ?? 0, body: m.body }, ctx);
  });
  return ctx;
}

/**
 * Runs the NF's packet loop until the manager stops it, {@link stop} is called, or `-l`/`-t` limits
 * are reached (onvm_nflib_run). Each turn takes up to `burst` packets from the NF's ring, calls
 * `handler` once for the batch, and returns the packets with their actions. A handler that throws
 * has its batch dropped and counted; the loop goes on. Idle, it sleeps on the ring's doorbell; it
 * yields to the event loop every few milliseconds so messages and timers still run.
 */
export async function run(ctx: NfContext, handler: BatchHandler): Promise<void> {
  const c = ctx as Context;
  if (c.onSetup) await c.onSetup(c);
  const batch = new PacketBatch(c.pool, c.burst);
  const idle = new IdleBackoff({ spins: 64, maxSleepMs: 2 });
  const { rx, tx, ctl, counters, pool } = c;
  const limit = c.args.packetLimit;
  const deadline = c.args.timeToLive > 0 ? Date.now() + c.args.timeToLive * 1000 : Infinity;
  let lastYield = Date.now();
  while (Atomics.load(ctl, ControlWord.STOP) === 0) {
    const n = rx.dequeueBurst(batch.slots, c.burst);
    Atomics.add(ctl, ControlWord.HEARTBEAT, 1);
    if (n > 0) {
      idle.reset();
      batch.gather(pool, n);
      counters[NfCounter.RX] += n;
      try {
        handler(batch, c);
      } catch (err) {
        counters[NfCounter.HANDLER_ERRORS]++;
        batch.setAll(0);
        if (counters[NfCounter.HANDLER_ERRORS] <= 3) console.error(`gnet: NF ${c.tag} handler threw (batch dropped): ${(err as Error).stack ?? err}`);
      }
      counters[NfCounter.DROPPED] += batch.scatter(pool);
      counters[NfCounter.BATCHES]++;
      // The manager drains this ring as fast as it fills; a full ring means it stalled: wait for room.
      let sent = 0;
      while (sent < n) {
        sent += tx.enqueueBurst(sent === 0 ? batch.slots : batch.slots.subarray(sent), n - sent);
        if (sent < n) await new Promise((r) => setTimeout(r, 0));
      }
      counters[NfCounter.TX] += n;
      c.packets += n;
      if (limit > 0 && c.packets >= limit) break;
    } else if (rx.closed) break;
    else idle.idle(rx);
    const now = Date.now();
    if (now - lastYield >= 5) {
      lastYield = now;
      if (now >= deadline) break;
      await new Promise((r) => setImmediate(r));
    }
  }
  Atomics.store(ctl, ControlWord.STATE, NfState.STOPPED);
}

/** Asks the NF's loop to finish its current batch and return (onvm_nflib_stop). */
export function stop(ctx: NfContext): void {
  const c = ctx as Context;
  Atomics.store(c.ctl, ControlWord.STOP, 1);
  Atomics.store(c.ctl, ControlWord.STATE, NfState.STOPPING);
}
