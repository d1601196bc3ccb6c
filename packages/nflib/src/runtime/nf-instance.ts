/**
 * The manager's side of one NF instance: its rings, control block, staging of packets headed to
 * it, and the worker_thread it runs in (embedded mode).
 * @module
 */
import { Worker } from 'node:worker_threads';
import { SpscRing } from '../ring/index.js';
import { ATTACH_KEY, CONTROL_BYTES, COUNTERS_OFFSET, ControlWord, NfCounter, NfState, type NfAttach } from './attach.js';

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

/** Manager-side record of a running NF instance. */
export class NfInstance {
  /** Index in the manager's instance table (stable for the instance's life). */
  readonly index: number;
  readonly spec: NfSpec;
  readonly instanceId: number;
  /** Manager → NF. */
  readonly rx: SpscRing;
  /** NF → manager. */
  readonly tx: SpscRing;
  /** Control words (state, stop, heartbeat). */
  readonly ctl: Int32Array;
  /** NF-written counters. */
  readonly counters: Float64Array;
  /** Slots staged for {@link NfInstance.rx}, flushed once per manager turn. */
  readonly stage: Uint32Array;
  staged = 0;
  /** Packets sent to the NF and not yet back (in its ring or in its hands). */
  outstanding = 0;
  /** Drops attributed to this instance, by reason. */
  readonly drops: Record<string, number> = {};
  /** Set when the worker exited or crashed. */
  dead = false;
  /** Why the worker ended, if it did. */
  exitReason = '';
  worker: Worker | null = null;
  /** The NF's tag: the spec's, until the NF's `init()` reports its own. */
  tag: string;
  private readonly control: SharedArrayBuffer;

  constructor(index: number, spec: NfSpec, instanceId: number, ringSize: number) {
    this.index = index;
    this.spec = spec;
    this.instanceId = instanceId;
    this.rx = SpscRing.create(ringSize);
    this.tx = SpscRing.create(ringSize);
    this.control = new SharedArrayBuffer(CONTROL_BYTES);
    this.ctl = new Int32Array(this.control, 0, COUNTERS_OFFSET / 4);
    this.counters = new Float64Array(this.control, COUNTERS_OFFSET, 8);
    this.stage = new Uint32Array(ringSize);
    this.tag = spec.tag;
  }

  /** `service/instance`. */
  get key(): string {
    return `${this.spec.serviceId}/${this.instanceId}`;
  }

  /** The NF's lifecycle state ({@link NfState}). */
  get state(): number {
    return this.dead ? NfState.DEAD : Atomics.load(this.ctl, ControlWord.STATE);
  }

  /** Attach record for the NF's `init()`. */
  attach(poolBuffer: SharedArrayBuffer, burst: number, configSource: string): NfAttach {
    return {
      poolBuffer,
      rxRing: { buffer: this.rx.buffer, byteOffset: this.rx.byteOffset },
      txRing: { buffer: this.tx.buffer, byteOffset: this.tx.byteOffset },
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
    onExit: (inst: NfInstance, reason: string) => void,
    onMessage: (inst: NfInstance, to: number, body: unknown) => void,
  ): Promise<void> {
    const worker = new Worker(new URL(this.spec.module.startsWith('file:') ? this.spec.module : `file://${this.spec.module}`), {
      workerData: { [ATTACH_KEY]: this.attach(poolBuffer, burst, configSource) },
      argv: ['--', ...(this.spec.nfArgs ?? [])],
    });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      const poll = setInterval(() => {
        if (Atomics.load(this.ctl, ControlWord.STATE) === NfState.RUNNING) {
          started = true;
          clearInterval(poll);
          resolve();
        }
      }, 2);
      worker.on('message', (m: { type?: string; tag?: string; to?: number; body?: unknown }) => {
        if (m?.type === 'gnet:hello' && typeof m.tag === 'string') this.tag = m.tag;
        else if (m?.type === 'gnet:msg' && typeof m.to === 'number') onMessage(this, m.to, m.body);
      });
      worker.on('error', (err) => {
        this.exitReason = `threw: ${err.message}`;
      });
      worker.on('exit', (code) => {
        clearInterval(poll);
        const reason = this.exitReason || `exited with code ${code}`;
        this.dead = true;
        if (!started) reject(new Error(`NF ${this.spec.tag} (${this.spec.module}) failed to start: ${reason}`));
        else onExit(this, reason);
      });
    });
  }

  /** Delivers a message from another NF (service `from`) to this instance's message callback. */
  deliver(from: number, body: unknown): void {
    if (!this.dead) this.worker?.postMessage({ type: 'gnet:msg', from, body });
  }

  /** Asks the NF to stop after its current batch. */
  requestStop(): void {
    Atomics.store(this.ctl, ControlWord.STOP, 1);
    this.rx.close();
  }

  /** Packets the NF received / returned, from its counters. */
  get nfRx(): number {
    return this.counters[NfCounter.RX];
  }
  /** Packets the NF returned to the manager. */
  get nfTx(): number {
    return this.counters[NfCounter.TX];
  }
}
