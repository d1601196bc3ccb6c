/**
 * The manager's side of one NF instance in embedded mode: its rings and control block in
 * SharedArrayBuffers, and the worker_thread it runs in.
 * @module
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SpscRing } from '../ring/index.js';
import { NAMED_BLOCK_BYTES, NamedCountersReader } from './named-counters.js';
import { ATTACH_KEY, EMBEDDED_NAMED_OFFSET, COUNTERS_OFFSET, ControlWord, NfState, type NfAttach } from './attach.js';
import { NfEndpoint } from './instance.js';
import { ManagerBell } from './manager-bell.js';
import { THREAD_KEY, type ThreadData } from './thread-group.js';

/** How to start an NF. */
export interface NfSpec {
  /** Name in stats (`router`, or the file name). */
  tag: string;
  /** Absolute path (or file URL) of the NF script. */
  module: string;
  /** Service id it is started as. */
  serviceId: number;
  /** Arguments after `--` for the NF. */
  nfArgs?: string[];
  /** Its section of the config. */
  config?: unknown;
  /**
   * NFs given the same `thread` name run in one worker_thread, their loops taking turns (`gnet run
   * --chain a+b`): with more NFs than cores, a chain then moves batches from NF to NF without a
   * thread wake-up per hop. The manager's batches then default to `SHARED_THREAD_BURST` (1024)
   * packets, so each hop's ring round trip through the manager costs less per packet. Default: a
   * thread of its own.
   */
  thread?: string;
}

/** Manager-side record of an NF instance running in a worker_thread (alone, or with others: {@link NfThread}). */
export class NfInstance extends NfEndpoint {
  /** How the instance was started. */
  readonly spec: NfSpec;
  /** The thread it runs in (set by {@link NfThread}). */
  thread: NfThread | null = null;
  /** Its index among the NFs of its thread (undefined when it has the thread alone). */
  member: number | undefined = undefined;
  /** A worker_thread shares the manager's memory: it rings the doorbell. */
  readonly ringsBell = true;
  private readonly control: SharedArrayBuffer;

  /** Creates the rings (`ringSize` entries each) and control block of instance `instanceId` of `spec`. */
  constructor(index: number, spec: NfSpec, instanceId: number, ringSize: number) {
    const control = new SharedArrayBuffer(EMBEDDED_NAMED_OFFSET + NAMED_BLOCK_BYTES);
    super(
      index,
      spec.serviceId,
      instanceId,
      spec.tag,
      SpscRing.create(ringSize),
      SpscRing.create(ringSize),
      new Int32Array(control, 0, COUNTERS_OFFSET / 4),
      new Float64Array(control, COUNTERS_OFFSET, 8),
      new NamedCountersReader(control, EMBEDDED_NAMED_OFFSET),
    );
    this.spec = spec;
    this.control = control;
  }

  /** The worker running the NF, once started. */
  get worker(): Worker | null {
    return this.thread?.worker ?? null;
  }

  /** The thread: NFs sharing one count once against the cores. */
  override get threadKey(): object {
    return this.thread ?? this;
  }

  /** A thread shared by several NFs sleeps on its own doorbell, not on this NF's ring: ring it. */
  override wake(): void {
    this.thread?.bell?.ring();
  }

  /** Attach record for the NF's `init()`. */
  attach(poolBuffer: SharedArrayBuffer, burst: number, configSource: string, managerBell: SharedArrayBuffer): NfAttach {
    return {
      poolBuffer,
      managerBell,
      rxRing: { buffer: this.rx.buffer as SharedArrayBuffer, byteOffset: this.rx.byteOffset },
      txRing: { buffer: this.tx.buffer as SharedArrayBuffer, byteOffset: this.tx.byteOffset },
      control: this.control,
      serviceId: this.spec.serviceId,
      instanceId: this.instanceId,
      tag: this.spec.tag,
      config: this.spec.config,
      configSource,
      nfArgs: this.spec.nfArgs ?? [],
      burst,
      ...(this.member !== undefined ? { member: this.member } : {}),
    };
  }

  /** Delivers a message from another NF (service `from`) to this instance's message callback. */
  deliver(from: number, body: unknown): void {
    if (!this.dead) this.worker?.postMessage({ type: 'gnet:msg', from, body, member: this.member });
  }

  /** Waits for the NF's thread to exit; terminates it after `timeoutMs`. */
  async whenStopped(timeoutMs: number): Promise<void> {
    if (!this.dead) await this.thread?.whenStopped(timeoutMs);
  }
}

/** What the manager does when an NF of a thread ends or speaks. */
export interface NfThreadEvents {
  /** An NF ended after it started (its thread exited, or its module failed on its own). */
  onExit(inst: NfInstance, reason: string): void;
  /** An NF asked for `body` to be delivered to service `to`. */
  onMessage(inst: NfInstance, to: number, body: unknown): void;
}

/**
 * One worker_thread and the NF instances it runs: one (the NF's script is the thread's entry), or
 * several (`--chain a+b`: the thread host imports each, and their loops take turns on the thread,
 * see `runtime/thread-group.ts`). The thread's doorbell lets the manager wake a shared thread
 * that sleeps waiting for any of its NFs.
 */
export class NfThread {
  /** The NFs of the thread, in chain order. */
  readonly members: NfInstance[];
  /**
   * The shared thread's doorbell (null for a thread with one NF: it sleeps on its own ring).
   * @internal
   */
  readonly bell: ManagerBell | null;
  /** The worker, once started. */
  worker: Worker | null = null;

  constructor(members: NfInstance[]) {
    if (members.length === 0) throw new RangeError('a thread needs at least one NF');
    this.members = members;
    this.bell = members.length > 1 ? new ManagerBell() : null;
    members.forEach((m, i) => {
      m.thread = this;
      m.member = members.length > 1 ? i : undefined;
    });
  }

  /**
   * Starts the thread; resolves when every NF reports RUNNING (its `init()` ran) and has said its
   * tag, rejects (ending the thread) when one exits or throws first.
   */
  start(poolBuffer: SharedArrayBuffer, burst: number, configSource: string, managerBell: SharedArrayBuffer, events: NfThreadEvents): Promise<void> {
    const members = this.members;
    const attaches = members.map((m) => m.attach(poolBuffer, burst, configSource, managerBell));
    const first = members[0].spec;
    const worker =
      members.length === 1
        ? new Worker(new URL(fileUrl(first.module)), { workerData: { [ATTACH_KEY]: attaches[0] }, argv: ['--', ...(first.nfArgs ?? [])] })
        : new Worker(new URL(threadHostUrl()), {
            workerData: { [THREAD_KEY]: { members: members.map((m, i) => ({ attach: attaches[i], module: m.spec.module })), bell: (this.bell as ManagerBell).buffer } satisfies ThreadData },
            argv: ['--'],
          });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      const started = members.map(() => false);
      // An NF posts its tag ('gnet:hello', in init) before it marks itself running, but the message
      // comes through this thread's event loop and may trail the state word: a run over a few
      // packets then reported the NF under the file's name. So started means running and hello
      // seen (or running for 500 ms without one: a worker that never says hello).
      const hello = members.map(() => false);
      const runningPolls = members.map(() => 0);
      // In a shared thread the host also says when an NF's module got past its start without
      // throwing ('gnet:ready'): one that throws right after init() must fail the start.
      const shared = members.length > 1;
      const ready = members.map(() => !shared);
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        reject(err);
        void worker.terminate();
      };
      const poll = setInterval(() => {
        members.forEach((m, i) => {
          if (!started[i] && !m.dead && ready[i] && Atomics.load(m.ctl, ControlWord.STATE) === NfState.RUNNING && (hello[i] || ++runningPolls[i] > 250)) started[i] = true;
        });
        if (!settled && started.every(Boolean)) {
          settled = true;
          clearInterval(poll);
          resolve();
        }
      }, 2);
      /** NF `i` ended: before the thread started, the start fails; after, the manager hears of it. */
      const ended = (i: number) => {
        const m = members[i];
        if (m.dead) return;
        m.dead = true;
        if (!started[i] || !settled) {
          // A config error keeps its identity (the CLI exits 3 with its file:line: field message).
          fail(m.exitError?.name === 'ConfigError' ? m.exitError : new Error(`NF ${m.spec.tag} (${m.spec.module}) failed to start: ${m.exitReason}`));
        } else events.onExit(m, m.exitReason);
      };
      worker.on('message', (msg: { type?: string; member?: number; tag?: string; to?: number; body?: unknown; key?: string; value?: unknown; name?: string; message?: string; stack?: string }) => {
        const i = msg?.member ?? 0;
        const m = members[i];
        if (m === undefined) return;
        if (msg.type === 'gnet:hello' && typeof msg.tag === 'string') {
          m.tag = msg.tag;
          hello[i] = true;
        } else if (msg.type === 'gnet:meta' && typeof msg.key === 'string') m.meta[msg.key] = msg.value;
        else if (msg.type === 'gnet:msg' && typeof msg.to === 'number') events.onMessage(m, msg.to, msg.body);
        else if (msg.type === 'gnet:ready') ready[i] = true;
        else if (msg.type === 'gnet:exit') {
          const err = Object.assign(new Error(msg.message ?? 'failed'), { name: msg.name ?? 'Error', stack: msg.stack });
          m.exitReason = `threw: ${err.message}`;
          m.exitError = err;
          ended(i);
        }
      });
      worker.on('error', (err) => {
        for (const m of members) {
          if (m.dead) continue;
          m.exitReason = `threw: ${err.message}`;
          m.exitError = err;
        }
      });
      worker.on('exit', (code) => {
        clearInterval(poll);
        members.forEach((m, i) => {
          if (!m.exitReason) m.exitReason = `exited with code ${code}`;
          ended(i);
        });
      });
    });
  }

  /** Waits for the worker to exit; terminates it after `timeoutMs`. */
  async whenStopped(timeoutMs: number): Promise<void> {
    const w = this.worker;
    if (!w || this.members.every((m) => m.dead)) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    const timer = setTimeout(() => void w.terminate(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** A module path as a file URL. */
function fileUrl(module: string): string {
  return module.startsWith('file:') ? module : pathToFileURL(module).href;
}

/** The shared thread's entry script, `@gnet/nflib/thread-host` (resolved like any import of the package). */
function threadHostUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('@gnet/nflib/thread-host')).href;
}
