/**
 * What the manager's data path needs of an NF instance, whatever carries it: two SPSC rings of
 * batch descriptor indices, a control block and the batches staged for it. Embedded mode runs the NF in a
 * worker_thread ({@link NfInstance}); multi-process mode reaches it through a slot of a shared
 * memory region ({@link ProcessInstance}). Routing and accounting never look past this class.
 * @module
 */
import type { SpscRing } from '../ring/index.js';
import type { NfCounters } from '../stats/snapshot.js';
import { ControlWord, NfCounter, NfState } from './attach.js';
import type { NamedCountersReader } from './named-counters.js';

/** Names of {@link NfState} values, for stats. */
export const NF_STATE_NAMES: readonly string[] = ['starting', 'running', 'stopping', 'stopped', 'dead'];

/** The manager's side of one NF instance. */
export abstract class NfEndpoint {
  /** Owner id − 1: unique among the manager's live instances (a slot index in multi-process mode). */
  readonly index: number;
  /** Service the instance serves (its packets are routed by this id). */
  readonly serviceId: number;
  /** Instance id within the service. */
  readonly instanceId: number;
  /** Manager → NF. */
  readonly rx: SpscRing;
  /** NF → manager. */
  readonly tx: SpscRing;
  /** Control words ({@link ControlWord}). */
  readonly ctl: Int32Array;
  /** NF-written counters ({@link NfCounter}). */
  readonly counters: Float64Array;
  /** The NF's own named counters. */
  readonly named: NamedCountersReader;
  /** Batch descriptors staged for {@link NfEndpoint.rx}, enqueued once per manager turn. */
  readonly stage: Uint32Array;
  /** Entries of {@link NfEndpoint.stage} in use. */
  staged = 0;
  /** The descriptor the manager is filling for this instance packet by packet, or -1. */
  open = -1;
  /** Packets sent to the NF and not yet back (in its ring or in its hands). */
  outstanding = 0;
  /** Drops attributed to this instance, by reason. */
  readonly drops: Record<string, number> = {};
  /** Set once the NF is gone (crashed, killed or exited): nothing more is sent to it. */
  dead = false;
  /** Why the NF ended, once it did. */
  exitReason = '';
  /** What the NF threw, when it ended by an uncaught exception (name and message survive the thread boundary). */
  exitError: Error | undefined = undefined;
  /** The NF's name in stats. */
  tag: string;
  /** What the NF published about itself (`ctx.publish`), by key. */
  readonly meta: Record<string, unknown> = {};
  /** Whether the NF rings the manager's doorbell when it hands batches back (`runtime/manager-bell.ts`). */
  abstract readonly ringsBell: boolean;

  /** Builds the record; the staging area holds one ring's worth of descriptors. */
  protected constructor(index: number, serviceId: number, instanceId: number, tag: string, rx: SpscRing, tx: SpscRing, ctl: Int32Array, counters: Float64Array, named: NamedCountersReader) {
    this.index = index;
    this.serviceId = serviceId;
    this.instanceId = instanceId;
    this.tag = tag;
    this.rx = rx;
    this.tx = tx;
    this.ctl = ctl;
    this.counters = counters;
    this.named = named;
    this.stage = new Uint32Array(rx.capacity);
  }

  /** `service/instance`. */
  get key(): string {
    return `${this.serviceId}/${this.instanceId}`;
  }

  /** The NF's lifecycle state ({@link NfState}). */
  get state(): number {
    return this.dead ? NfState.DEAD : Atomics.load(this.ctl, ControlWord.STATE);
  }

  /** Packets the NF received, from its counters. */
  get nfRx(): number {
    return this.counters[NfCounter.RX];
  }

  /** Packets the NF returned to the manager. */
  get nfTx(): number {
    return this.counters[NfCounter.TX];
  }

  /** Applies a control-plane setting (batch target, SM share, resident fields) through the control block. */
  applySetting(batch: number | undefined, sms: number | undefined, resident?: number): void {
    if (batch !== undefined) Atomics.store(this.ctl, ControlWord.BATCH_TARGET, Math.max(0, Math.floor(batch)));
    if (sms !== undefined) Atomics.store(this.ctl, ControlWord.SM_SHARE, Math.max(0, Math.floor(sms)));
    if (resident !== undefined) Atomics.store(this.ctl, ControlWord.RESIDENT, resident | 0);
  }

  /** Asks the NF to stop after its current batch: the STOP word, and its rx ring closed. */
  requestStop(): void {
    Atomics.store(this.ctl, ControlWord.STOP, 1);
    this.rx.close();
    this.wake();
  }

  /** This instance's stats entry now (ring occupancy is read from the live rings). */
  stats(): NfCounters {
    return {
      key: this.key,
      tag: this.tag,
      serviceId: this.serviceId,
      instanceId: this.instanceId,
      rxPackets: this.nfRx,
      txPackets: this.nfTx,
      drops: { ...this.drops },
      rxRingOccupancy: this.dead ? 0 : this.rx.count,
      txRingOccupancy: this.dead ? 0 : this.tx.count,
      state: NF_STATE_NAMES[this.state] ?? 'unknown',
      busyUs: Math.round(this.counters[NfCounter.BUSY_US]),
      counters: this.named.read(),
      batchTarget: Atomics.load(this.ctl, ControlWord.BATCH_TARGET),
      smShare: Atomics.load(this.ctl, ControlWord.SM_SHARE),
      residentMask: Atomics.load(this.ctl, ControlWord.RESIDENT) >>> 0,
      ...(Object.keys(this.meta).length ? { meta: { ...this.meta } } : {}),
    };
  }

  /** The thread the NF runs in: instances sharing one count once when the manager counts cores. */
  get threadKey(): object {
    return this;
  }

  /** Called after batches were queued on {@link NfEndpoint.rx} (or it was closed): wakes an NF that sleeps elsewhere than on its ring. */
  wake(): void {}

  /** Delivers a message from service `from` to the NF's message callback. */
  abstract deliver(from: number, body: unknown): void;

  /** Resolves once the NF stopped (or `timeoutMs` passed, after which it is forced off where it can be). */
  abstract whenStopped(timeoutMs: number): Promise<void>;
}
