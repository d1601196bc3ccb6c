/**
 * The manager's side of one NF instance in multi-process mode: an NF process that joined through a
 * slot of the manager's shared memory region (`runtime/region-layout.ts`).
 * @module
 */
import type { SpscRing } from '../ring/index.js';
import { NfEndpoint } from './instance.js';
import { NamedCountersReader } from './named-counters.js';
import type { SlotView } from './region.js';

/** Manager-side record of an NF process in a region slot. */
export class ProcessInstance extends NfEndpoint {
  /** The NF's process id. */
  readonly pid: number;
  /** The slot's views. */
  readonly slot: SlotView;
  /** Heartbeat value last seen, and when it last moved (ms since the epoch). */
  lastBeat = -1;
  /** When {@link ProcessInstance.lastBeat} last changed. */
  lastBeatAt = Date.now();
  /** Set once the manager sent SIGKILL to a hung NF (its slot is reclaimed once the process is gone). */
  killed = false;
  /** Messages for the NF that its inbox could not take. */
  lostMessages = 0;
  /** True once the NF's loop runs and the manager routes packets to it. */
  onPath = false;
  /** A process cannot reach the manager's doorbell (it is not in the shared region): the manager polls. */
  readonly ringsBell = false;

  /** Wraps slot `slot` with its rings, accepted as instance `instanceId` of `serviceId`. */
  constructor(slot: SlotView, rings: { rx: SpscRing; tx: SpscRing }, serviceId: number, instanceId: number, tag: string, pid: number) {
    super(slot.index, serviceId, instanceId, tag, rings.rx, rings.tx, slot.ctl, slot.counters, new NamedCountersReader(slot.named.buffer, slot.named.byteOffset));
    this.slot = slot;
    this.pid = pid;
  }

  /** Posts a message to the NF's inbox (serialized); counted in `lostMessages` when it is full. */
  deliver(from: number, body: unknown): void {
    if (!this.dead && !this.slot.inbox.post(from, body)) this.lostMessages++;
  }

  /** Called by {@link ProcessInstance.whenStopped} on timeout; the host sets it to take the instance off. */
  onStopTimeout: ((inst: ProcessInstance) => void) | null = null;

  /**
   * Resolves once the manager took the instance off the data path (the NF left or died; the host's
   * slot scan does that); after `timeoutMs` it calls {@link ProcessInstance.onStopTimeout} first.
   */
  async whenStopped(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.dead && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (!this.dead) this.onStopTimeout?.(this);
  }
}
