/**
 * The NF side of gnet (onvm_nflib's `onvm_nflib_init` / `run` / `stop`): an NF script calls
 * {@link init}, then {@link run} with a batch handler. The same script runs as a worker_thread of
 * `gnet run` (embedded mode) or as its own process joined to a `gnet manager` (multi-process mode:
 * `node my-nf.mjs -r 1 -m NAME`, or `GNET_MANAGER=NAME`).
 *
 * ```ts
 * import { init, run, Action } from '@gnet/nflib';
 * const ctx = init({ tag: 'counter' });
 * let seen = 0;
 * await run(ctx, (batch) => { seen += batch.count; });   // every packet: NEXT
 * ```
 * @module
 */
import { basename, extname } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ALL_NEXT } from '../pool/batch-table.js';
import { PacketPool } from '../pool/index.js';
import { IdleBackoff, SpscRing } from '../ring/index.js';
import { ManagerBell } from '../runtime/manager-bell.js';
import { defineNamedCounters } from '../runtime/named-counters.js';
import { ATTACH_KEY, COUNTERS_OFFSET, EMBEDDED_NAMED_OFFSET, ControlWord, NfCounter, NfState, type NfAttach } from '../runtime/attach.js';
import { joinThread, leaveThread, Step, takeAttach, threadGroup, type LoopStepper, type NfThreadGroup } from '../runtime/thread-group.js';
import { Action } from './actions.js';
import { parseNfArgs, type NfArgs } from './args.js';
import { BatchViews, type PacketBatch } from './batch.js';
import { joinManager } from './join.js';
import type { NfLink, NfMessage } from './link.js';

export type { NfMessage } from './link.js';

/** Options of {@link init}, overriding what the command line says. */
export interface NfOptions {
  /** The NF's name in stats and logs. */
  tag?: string;
  /** Service id the NF offers (`-r`). */
  serviceId?: number;
  /** Command line to parse (default `process.argv.slice(2)`). */
  argv?: string[];
}

/** The handle an NF gets from {@link init}. */
export interface NfContext {
  /** The NF's name. */
  readonly tag: string;
  /** Service id (chosen by the NF or the chain). */
  readonly serviceId: number;
  /** Instance id (assigned by the manager). */
  readonly instanceId: number;
  /** `embedded` (a worker_thread of `gnet run`) or `multi-process` (a process joined to `gnet manager`). */
  readonly mode: 'embedded' | 'multi-process';
  /** The NF's section of the manager config (`undefined` when none). */
  readonly config: unknown;
  /** The config file, for error messages. */
  readonly configSource: string;
  /** Parsed onvm flags and the NF's own arguments (after `--`). */
  readonly args: NfArgs;
  /** The shared packet pool. */
  readonly pool: PacketPool;
  /** Most packets per batch (the manager's burst). */
  readonly burst: number;
  /** Called once before the first batch. */
  onSetup?: (ctx: NfContext) => void | Promise<void>;
  /** Called with each message sent to this NF (between batches). */
  onMessage?: (msg: NfMessage, ctx: NfContext) => void;
  /**
   * Asks the manager to deliver `body` to every instance of service `serviceId`.
   * @throws Error in multi-process mode when the NF's outbox is full or the message too large.
   */
  sendMsgToNf(serviceId: number, body: unknown): void;
  /**
   * Defines named counters of the NF (drop reasons, per-SA or per-rule totals), before the first
   * batch, and returns their values: index i counts `names[i]`; bump them on the data path (`c[i]++`,
   * no allocation). Later calls add more names (the framework defines its own `fw.*` ones). Their sums
   * over instances appear in stats and in `gnet run`'s summary line under `nfs.<tag>.counters`.
   * @param names distinct names of `[a-z0-9_.:-]`, at most 31 characters each; at most 64 in all.
   * @throws Error for bad or duplicate names, or more than 64 in all.
   */
  defineCounters(names: readonly string[]): Float64Array;
  /**
   * Tells the manager something about this NF for its control plane and stats (e.g. the framework
   * publishes the NF's read/write sets, from which the scheduler computes the chain's data-sync
   * plan). Shown under the instance's `meta` in stats. In multi-process mode it travels through the
   * NF's outbox like a message.
   * @throws Error in multi-process mode when the outbox is full or the value too large.
   */
  publish(key: string, value: unknown): void;
  /** Packets per batch the manager's control-plane policy asks for now (0: none asked). */
  readonly batchTarget: number;
  /** SMs the manager's control-plane policy gives this NF's kernels now (0: no limit). */
  readonly smShare: number;
  /**
   * Which of the NF's device-resident fields the manager's policy lets it take from an earlier
   * NF's device copy now (bit k: its k-th; 0: copy them all). See `@gnet/framework`'s `residentFields`.
   */
  readonly residentMask: number;
  /** Packets handled so far. */
  readonly packets: number;
  /** True once {@link stop} was called or the manager asked the NF to stop. */
  readonly stopping: boolean;
}

/** A batch handler: read and rewrite packets, set `batch.action[i]` / `batch.destination[i]`. */
export type BatchHandler = (batch: PacketBatch, ctx: NfContext) => void;

/**
 * The NF handle behind {@link NfContext}, with the link to its manager.
 * @internal
 */
export class Context implements NfContext {
  readonly tag: string;
  readonly serviceId: number;
  readonly instanceId: number;
  readonly mode: 'embedded' | 'multi-process';
  readonly config: unknown;
  readonly configSource: string;
  readonly args: NfArgs;
  readonly pool: PacketPool;
  readonly burst: number;
  onSetup?: (ctx: NfContext) => void | Promise<void>;
  onMessage?: (msg: NfMessage, ctx: NfContext) => void;
  readonly link: NfLink;
  packets = 0;
  /** True while {@link run}'s loop runs (a signal then stops the loop instead of the process). */
  looping = false;
  /** Removes the signal handlers installed for multi-process mode. */
  detachSignals: () => void = () => undefined;

  constructor(link: NfLink, args: NfArgs) {
    this.link = link;
    this.tag = link.tag;
    this.serviceId = link.serviceId;
    this.instanceId = link.instanceId;
    this.mode = link.mode;
    this.config = link.config;
    this.configSource = link.configSource;
    this.args = args;
    this.pool = link.pool;
    this.burst = link.burst;
  }

  publish(key: string, value: unknown): void {
    this.link.publish(key, value);
  }

  get batchTarget(): number {
    return Atomics.load(this.link.ctl, ControlWord.BATCH_TARGET);
  }

  get smShare(): number {
    return Atomics.load(this.link.ctl, ControlWord.SM_SHARE);
  }

  get residentMask(): number {
    return Atomics.load(this.link.ctl, ControlWord.RESIDENT) >>> 0;
  }

  get stopping(): boolean {
    return Atomics.load(this.link.ctl, ControlWord.STOP) !== 0;
  }

  sendMsgToNf(serviceId: number, body: unknown): void {
    this.link.send(this.serviceId, serviceId, body);
  }

  private readonly namedSoFar: string[] = [];

  defineCounters(names: readonly string[]): Float64Array {
    const values = defineNamedCounters(this.link.named.buffer, this.link.named.byteOffset, names, this.namedSoFar);
    this.namedSoFar.push(...names);
    return values;
  }

  /** Hands a message to the NF's callback. */
  readonly deliver = (msg: NfMessage): void => {
    this.onMessage?.(msg, this);
  };
}

/**
 * Embedded mode: everything comes in the attach record; messages go through the worker port (in a
 * thread shared by several NFs, tagged with the NF's `member` index both ways).
 */
function workerLink(a: NfAttach, tag: string, group: NfThreadGroup | undefined): NfLink {
  const bell = new ManagerBell(a.managerBell);
  const member = a.member;
  return {
    mode: 'embedded',
    pool: PacketPool.attach(a.poolBuffer),
    rx: SpscRing.attach(a.rxRing.buffer, a.rxRing.byteOffset),
    tx: SpscRing.attach(a.txRing.buffer, a.txRing.byteOffset),
    ctl: new Int32Array(a.control, 0, COUNTERS_OFFSET / 4),
    counters: new Float64Array(a.control, COUNTERS_OFFSET, 8),
    named: { buffer: a.control, byteOffset: EMBEDDED_NAMED_OFFSET },
    burst: a.burst,
    serviceId: a.serviceId,
    instanceId: a.instanceId,
    tag,
    config: a.config,
    configSource: a.configSource,
    send: (from, to, body) => parentPort?.postMessage({ type: 'gnet:msg', to, from, body, member }),
    publish: (key, value) => parentPort?.postMessage({ type: 'gnet:meta', key, value, member }),
    wakeManager: () => bell.ring(),
    // Messages arrive as worker events; the manager thread outlives its workers.
    poll: () => null,
    // The message listener would keep the thread alive after its loop: let it end (the manager
    // waits for the worker to exit when it closes), once every NF of a shared thread has left.
    leave: () => (group ? leaveThread(group, member ?? 0) : parentPort?.unref()),
    group,
  };
}

/** The script's name without extension: the default tag of an NF process. */
function scriptTag(): string {
  const script = process.argv[1];
  return script ? basename(script, extname(script)) : 'nf';
}

/**
 * Joins a manager (onvm_nflib_init). In a worker_thread started by `gnet run`, the manager passes
 * the attach record in `workerData`. Run as a process, the NF joins the `gnet manager` named by
 * `-m NAME` or `GNET_MANAGER`, blocking until the manager accepts it; SIGINT and SIGTERM then stop
 * it cleanly (its loop ends, its packets are returned and its slot released).
 * @throws Error that says how to start the NF when there is no manager to join, or why the manager refused it.
 */
export function init(options: NfOptions = {}): NfContext {
  // A thread hosting several NFs hands each module its own record, in import order.
  const group = isMainThread ? undefined : threadGroup();
  const attach = group ? takeAttach(group) : ((workerData as Record<string, unknown> | null)?.[ATTACH_KEY] as NfAttach | undefined);
  const args = parseNfArgs(options.argv ?? attach?.nfArgs ?? process.argv.slice(2));
  if (options.serviceId !== undefined) args.serviceId = options.serviceId;
  if (attach && !isMainThread) {
    const ctx = new Context(workerLink(attach, options.tag ?? attach.tag, group), args);
    const member = attach.member;
    parentPort?.postMessage({ type: 'gnet:hello', tag: ctx.tag, member });
    Atomics.store(ctx.link.ctl, ControlWord.STATE, NfState.RUNNING);
    parentPort?.on('message', (m: { type?: string; from?: number; body?: unknown; member?: number }) => {
      if (m?.type === 'gnet:msg' && m.member === member) ctx.deliver({ from: m.from ?? 0, body: m.body });
    });
    return ctx;
  }
  if (!args.manager) {
    throw new Error(
      'gnet: this NF has no manager to join. Run it through the embedded manager: `gnet run --chain <this file> --in <port> --out <port>`, ' +
        'or join a running `gnet manager --name NAME ...`: `node <this file> -r <service id> -m NAME` (or set GNET_MANAGER=NAME).',
    );
  }
  const ctx = new Context(joinManager(args.manager, args, options.tag ?? scriptTag()), args);
  ctx.detachSignals = handleSignals(ctx);
  return ctx;
}

/** Multi-process mode: SIGINT/SIGTERM end the loop (or, outside it, leave and exit at once). */
function handleSignals(ctx: Context): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (ctx.looping && !ctx.stopping) {
      stop(ctx);
      return;
    }
    ctx.link.leave();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  // An NF that exits without finishing run() (an exception, process.exit) still hands its slot back.
  const onExit = () => ctx.link.leave();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}

/**
 * Runs the NF's packet loop until the manager stops it, {@link stop} is called, or `-l`/`-t` limits
 * are reached (onvm_nflib_run). Each turn takes the batches waiting in the NF's ring (each up to
 * `burst` packets, in a batch descriptor of the shared pool), calls `handler` once per batch on the
 * descriptor's arrays in place, and hands the batches back with their actions. A handler that
 * throws has its batch dropped and counted; the loop goes on. Idle, it sleeps on the ring (on its
 * doorbell in embedded mode, sleep-polling in multi-process mode); it yields to the event loop
 * every few milliseconds so messages and timers still run. In multi-process mode it ends by itself
 * when the manager is gone, and then gives its slot back.
 */
export async function run(ctx: NfContext, handler: BatchHandler): Promise<void> {
  const loop = await PacketLoop.begin(ctx);
  return loop.drive(batchStepper(loop, handler));
}

/** `run`'s loop, a turn at a time: each turn takes the batches waiting in the ring and hands them back. */
function batchStepper(loop: PacketLoop, handler: BatchHandler): LoopStepper {
  const c = loop.ctx;
  const { rx, ctl, counters, pool } = loop.link;
  const views = new BatchViews(pool);
  const table = pool.batches;
  const ids = new Uint32Array(64);
  const FINISHED = Step.FINISHED;
  const PROGRESS = Step.PROGRESS;
  const afterSlow = (ok: boolean): number => (ok && !loop.limitReached ? PROGRESS : FINISHED);
  return {
    loop,
    step(): number | Promise<number> {
      if (Atomics.load(ctl, ControlWord.STOP) !== 0) return FINISHED;
      const n = rx.dequeueBurst(ids, ids.length);
      Atomics.add(ctl, ControlWord.HEARTBEAT, 1);
      if (n === 0) return rx.closed ? FINISHED : Step.IDLE;
      const t0 = performance.now();
      let packets = 0;
      for (let k = 0; k < n; k++) {
        const d = ids[k];
        // A descriptor index the manager would never send: hand it back untouched (it ignores it).
        if (d >= table.batchCount) continue;
        const batch = views.get(d);
        const count = table.count[d];
        batch.begin(count <= table.capacity ? count : 0);
        packets += batch.count;
        // Counted on receipt: an NF killed inside its handler has received what it dies holding.
        counters[NfCounter.RX] += batch.count;
        try {
          handler(batch, c);
        } catch (err) {
          loop.handlerFailed(batch, err);
        }
      }
      const done = loop.complete(ids, n, packets);
      counters[NfCounter.BUSY_US] += (performance.now() - t0) * 1000;
      if (done !== true) return done.then(afterSlow);
      return loop.limitReached ? FINISHED : PROGRESS;
    },
    interrupt: () => true,
    idle: () => loop.idle.idle(rx),
    wakeBy: () => Infinity,
  };
}

/**
 * The machinery every NF packet loop shares ({@link run}, and `runPipelined` in `nf/pipeline.ts`):
 * setup and teardown of the loop state, returning a finished batch to the manager with its counters,
 * the `-l`/`-t` limits, and the periodic yield that delivers messages and notices a vanished manager.
 * @internal
 */
export class PacketLoop {
  /** The NF. */
  readonly ctx: Context;
  /** Its connection to the manager. */
  readonly link: NfLink;
  /**
   * The idle policy of the loop: spin as long as the manager's `SPIN_US` word allows (batches
   * arriving microseconds apart then never wake a sleeping thread), then sleep on the rx ring's
   * doorbell.
   */
  readonly idle = new IdleBackoff({ spins: 64, maxSleepMs: 2 });
  /** Why the NF must stop (its manager is gone), or null. */
  gone: string | null = null;
  private readonly limit: number;
  private readonly deadline: number;
  private lastYield = Date.now();

  private constructor(c: Context) {
    this.ctx = c;
    this.link = c.link;
    this.limit = c.args.packetLimit;
    this.deadline = c.args.timeToLive > 0 ? Date.now() + c.args.timeToLive * 1000 : Infinity;
    this.idle.spinUs = Atomics.load(c.link.ctl, ControlWord.SPIN_US);
  }

  /** Runs the NF's `onSetup`, marks it running and returns the loop state. */
  static async begin(ctx: NfContext): Promise<PacketLoop> {
    const c = ctx as Context;
    if (c.onSetup) await c.onSetup(c);
    const loop = new PacketLoop(c);
    Atomics.store(c.link.ctl, ControlWord.STATE, NfState.RUNNING);
    c.looping = true;
    return loop;
  }

  /** Whether the manager (or {@link stop}) asked the loop to end. */
  get stopRequested(): boolean {
    return Atomics.load(this.link.ctl, ControlWord.STOP) !== 0;
  }

  /** Whether `-l` packets were returned. */
  get limitReached(): boolean {
    return this.limit > 0 && this.ctx.packets >= this.limit;
  }

  /** A handler threw: the batch is dropped and counted (the first three are logged). */
  handlerFailed(batch: PacketBatch, err: unknown): void {
    const counters = this.link.counters;
    counters[NfCounter.HANDLER_ERRORS]++;
    batch.setAll(Action.DROP);
    if (counters[NfCounter.HANDLER_ERRORS] <= 3) console.error(`gnet: NF ${this.ctx.tag} handler threw (batch dropped): ${(err as Error).stack ?? err}`);
  }

  /**
   * Hands the batch descriptors `ids[0..n)`, holding `packets` packets with their actions set, back
   * to the manager. Returns `true` when they all went at once (no promise on that path); otherwise a
   * promise that waits for room in the ring and resolves to false when the manager is gone
   * ({@link PacketLoop.gone}).
   */
  complete(ids: Uint32Array, n: number, packets: number): true | Promise<boolean> {
    const { tx, counters } = this.link;
    counters[NfCounter.BATCHES] += n;
    this.markAllNext(ids, n);
    // Counted before the batches are published: once the manager has them it may end the run and
    // read this NF's counters at once (a summary taken then showed tx 1536 of 2000).
    this.sent(packets);
    const sent = n > 0 ? tx.enqueueBurst(ids, n) : 0;
    if (sent > 0) this.link.wakeManager();
    return sent === n ? true : this.completeSlow(ids, n, sent);
  }

  /** The manager drains the ring as fast as it fills; a full ring means it stalled: wait for room. */
  private async completeSlow(ids: Uint32Array, n: number, sent: number): Promise<boolean> {
    const { tx, ctl } = this.link;
    const rest = ids.slice(sent, n);
    let done = 0;
    while (done < rest.length) {
      Atomics.add(ctl, ControlWord.HEARTBEAT, 1);
      await new Promise((r) => setTimeout(r, 0));
      if ((this.gone = this.link.poll(this.ctx.deliver)) !== null) return false;
      done += tx.enqueueBurst(rest.subarray(done), rest.length - done);
      this.link.wakeManager();
    }
    return true;
  }

  /**
   * Flags each descriptor whose packets all say `NEXT` (`ALL_NEXT` in its count), so the manager
   * moves it on without reading its actions: here they are in this core's cache, there each line
   * would be a miss.
   */
  private markAllNext(ids: Uint32Array, n: number): void {
    const table = this.link.pool.batches;
    const count = table.count;
    const action = table.action;
    const cap = table.capacity;
    const NEXT = Action.NEXT;
    for (let k = 0; k < n; k++) {
      const d = ids[k];
      if (d >= table.batchCount) continue;
      const c = count[d];
      if (!(c > 0 && c <= cap)) continue;
      const base = d * cap;
      const end = base + c;
      let i = base;
      while (i < end && action[i] === NEXT) i++;
      if (i === end) count[d] = c | ALL_NEXT;
    }
  }

  private sent(packets: number): void {
    this.link.counters[NfCounter.TX] += packets;
    this.ctx.packets += packets;
  }

  /** Whether the loop should yield to the event loop now (every few milliseconds). */
  yieldDue(): boolean {
    const now = Date.now();
    if (now - this.lastYield < 5) return false;
    this.lastYield = now;
    this.idle.spinUs = Atomics.load(this.link.ctl, ControlWord.SPIN_US);
    return true;
  }

  /**
   * Checks the `-t` limit and the manager, delivers messages and yields to the event loop; returns
   * true when the loop must end.
   */
  async pause(): Promise<boolean> {
    if (this.mustEnd()) return true;
    await new Promise((r) => setImmediate(r));
    return false;
  }

  /** Checks the `-t` limit and the manager and delivers messages; true when the loop must end. */
  mustEnd(): boolean {
    if (this.lastYield >= this.deadline) return true;
    return (this.gone = this.link.poll(this.ctx.deliver)) !== null;
  }

  /**
   * Turns `stepper` until its loop ends, then ends the loop ({@link PacketLoop.end}). Alone on its
   * thread, the loop backs off on its own ring when idle and yields to the event loop every few
   * milliseconds; on a thread shared with other NFs it joins that thread's scheduler instead.
   */
  async drive(stepper: LoopStepper): Promise<void> {
    const group = this.link.group;
    if (group) return joinThread(group, stepper);
    let empty = 0;
    try {
      for (;;) {
        const s = stepper.step();
        const r = typeof s === 'number' ? s : await s;
        if (r === Step.FINISHED) break;
        if (r === Step.PROGRESS) this.idle.reset();
        else if (r === Step.IDLE) {
          stepper.idle();
          // An idle spin reads no clock: only every 64th empty turn looks whether a yield is due.
          if ((++empty & 63) !== 0) continue;
        }
        if (this.yieldDue() && (await this.pause()) && stepper.interrupt()) break;
      }
    } finally {
      this.end();
    }
  }

  /** Marks the NF stopped and gives its place back (the loop's `finally`). */
  end(): void {
    const c = this.ctx;
    c.looping = false;
    Atomics.store(this.link.ctl, ControlWord.STATE, NfState.STOPPED);
    this.link.leave();
    c.detachSignals();
    if (this.gone !== null) console.error(`gnet: NF ${c.tag} stopped: ${this.gone}`);
  }
}

/** Asks the NF's loop to finish its current batch and return (onvm_nflib_stop). */
export function stop(ctx: NfContext): void {
  const c = ctx as Context;
  Atomics.store(c.link.ctl, ControlWord.STOP, 1);
  Atomics.store(c.link.ctl, ControlWord.STATE, NfState.STOPPING);
}
