/**
 * The manager's side of one NF instance in embedded mode: its rings and control block in
 * SharedArrayBuffers, and the worker_thread it runs in.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { SpscRing } from '../ring/index.js';
import { NAMED_BLOCK_BYTES, NamedCountersReader } from './named-counters.js';
import { ATTACH_KEY, EMBEDDED_NAMED_OFFSET, COUNTERS_OFFSET, ControlWord, NfState, type NfAttach } from './attach.js';
import { NfEndpoint } from './instance.js';

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
}

/** Manager-side record of an NF instance running in a worker_thread. */
export class NfInstance extends NfEndpoint {
  /** How the instance was started. */
  readonly spec: NfSpec;
  /** The worker running the NF, once started. */
  worker: Worker | null = null;
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
    };
  }

  /**
   * Starts the NF script in a worker_thread; resolves when it reports RUNNING (its `init()` ran),
   * rejects when it exits or throws first.
   */
  start(
    poolBuffer: SharedArrayBuffer,
    burst: number,
    configSource: string,
    managerBell: SharedArrayBuffer,
    onExit: (inst: NfInstance, reason: string) => void,
    onMessage: (inst: NfInstance, to: number, body: unknown) => void,
  ): Promise<void> {
    const worker = new Worker(new URL(this.spec.module.startsWith('file:') ? this.spec.module : `file://${this.spec.module}`), {
      workerData: { [ATTACH_KEY]: this.attach(poolBuffer, burst, configSource, managerBell) },
      argv: ['--', ...(this.spec.nfArgs ?? [])],
    });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      // The NF posts its tag ('gnet:hello', in init) before it marks itself running, but the message
      // comes through this thread's event loop and may trail the state word: a run over a few
      // packets then reported the NF under the file's name. So started means running and hello
      // seen (or running for 500 ms without one: a worker that never says hello).
      let hello = false;
      let runningPolls = 0;
      const poll = setInterval(() => {
        if (Atomics.load(this.ctl, ControlWord.STATE) === NfState.RUNNING && (hello || ++runningPolls > 250)) {
          started = true;
          clearInterval(poll);
          resolve();
        }
      }, 2);
      worker.on('message', (m: { type?: string; tag?: string; to?: number; body?: unknown; key?: string; value?: unknown }) => {
        if (m?.type === 'gnet:hello' && typeof m.tag === 'string') {
          this.tag = m.tag;
          hello = true;
        }
        else if (m?.type === 'gnet:meta' && typeof m.key === 'string') this.meta[m.key] = m.value;
        else if (m?.type === 'gnet:msg' && typeof m.to === 'number') onMessage(this, m.to, m.body);
      });
      worker.on('error', (err) => {
        this.exitReason = `threw: ${err.message}`;
        this.exitError = err;
      });
      worker.on('exit', (code) => {
        clearInterval(poll);
        const reason = this.exitReason || `exited with code ${code}`;
        this.dead = true;
        // A config error keeps its identity (the CLI exits 3 with its file:line: field message).
        if (!started) reject(this.exitError?.name === 'ConfigError' ? this.exitError : new Error(`NF ${this.spec.tag} (${this.spec.module}) failed to start: ${reason}`));
        else onExit(this, reason);
      });
    });
  }

  /** Delivers a message from another NF (service `from`) to this instance's message callback. */
  deliver(from: number, body: unknown): void {
    if (!this.dead) this.worker?.postMessage({ type: 'gnet:msg', from, body });
  }

  /** Waits for the worker to exit; terminates it after `timeoutMs`. */
  async whenStopped(timeoutMs: number): Promise<void> {
    const w = this.worker;
    if (!w || this.dead) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    const timer = setTimeout(() => void w.terminate(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
