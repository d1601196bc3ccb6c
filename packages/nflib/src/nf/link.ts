/**
 * How an NF reaches its manager. The packet loop (`run`) is the same in both modes; only this link
 * differs: embedded mode gets everything from `workerData` and talks to the manager thread with
 * `postMessage`; multi-process mode joins a manager's shared memory region (see `nf/join.ts`).
 * @module
 */
import type { PacketPool } from '../pool/index.js';
import type { SpscRing } from '../ring/index.js';
import type { NfThreadGroup } from '../runtime/thread-group.js';

/** A message between NFs (`sendMsgToNf`), delivered to the receiver's message callback. */
export interface NfMessage {
  /** Sender's service id. */
  from: number;
  /** Anything structured-clone can carry. */
  body: unknown;
}

/** The connection of one NF instance to its manager. */
export interface NfLink {
  /** `embedded` (a worker_thread of `gnet run`) or `multi-process` (joined `gnet manager`). */
  readonly mode: 'embedded' | 'multi-process';
  /** The shared packet pool. */
  readonly pool: PacketPool;
  /** Manager → NF ring. */
  readonly rx: SpscRing;
  /** NF → manager ring. */
  readonly tx: SpscRing;
  /** Control words (`ControlWord`). */
  readonly ctl: Int32Array;
  /** NF-written counters (`NfCounter`). */
  readonly counters: Float64Array;
  /** Where the NF's named-counter block lies (see `runtime/named-counters.ts`). */
  readonly named: { readonly buffer: ArrayBufferLike; readonly byteOffset: number };
  /** Most packets per batch. */
  readonly burst: number;
  /** Service id the manager routes to this NF by. */
  readonly serviceId: number;
  /** Instance id the manager gave it. */
  readonly instanceId: number;
  /** The NF's tag. */
  readonly tag: string;
  /** The NF's config section (`undefined` when none). */
  readonly config: unknown;
  /** Where the config came from. */
  readonly configSource: string;
  /** Sends `body` to every instance of service `to`. */
  send(from: number, to: number, body: unknown): void;
  /** Called after batches were handed back: wakes a manager that sleeps waiting for them. */
  wakeManager(): void;
  /** Tells the manager `key = value` about this NF (shown in its stats, read by its policy). */
  publish(key: string, value: unknown): void;
  /**
   * Called between batches: hands pending messages to `deliver`, and returns why the NF must stop
   * (its manager is gone), or null.
   */
  poll(deliver: (msg: NfMessage) => void): string | null;
  /** Called once the packet loop ended and every packet was returned: gives the NF's place back. */
  leave(): void;
  /** The thread's scheduler, when the NF shares its worker_thread with others (`--chain a+b`). */
  readonly group?: NfThreadGroup;
}
