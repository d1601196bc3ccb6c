/**
 * What the manager hands an NF instance so it can join the data path: the shared packet pool, the
 * instance's two rings and its control block. In embedded mode it travels as `workerData`; the
 * buffers are SharedArrayBuffers, so nothing is copied.
 * @module
 */

/** Marker key in `workerData` that tells `init()` it runs inside a gnet manager. */
export const ATTACH_KEY = '__gnetNfAttach';

/** The attach record (structured-clone safe). */
export interface NfAttach {
  /** The pool's buffer (see `PacketPool.attach`). */
  poolBuffer: SharedArrayBuffer;
  /** Manager → NF ring (indices of the pool's batch descriptors to process). */
  rxRing: { buffer: SharedArrayBuffer; byteOffset: number };
  /** NF → manager ring (descriptors processed, with each packet's action and destination in them). */
  txRing: { buffer: SharedArrayBuffer; byteOffset: number };
  /** Control block: see {@link ControlWord} (Int32Array) and {@link NfCounter} (Float64Array after it). */
  control: SharedArrayBuffer;
  /** The manager's doorbell (`runtime/manager-bell.ts`), rung after handing batches back. */
  managerBell: SharedArrayBuffer;
  serviceId: number;
  instanceId: number;
  /** The NF's tag (reference NF name or file name). */
  tag: string;
  /** The NF's section of the manager's config (`{"router": {...}}` → the router object), if any. */
  config: unknown;
  /** Where the config came from, to report errors as `file:line: field`. */
  configSource: string;
  /** The NF's own command-line arguments. */
  nfArgs: string[];
  /** Most packets per batch the NF is given. */
  burst: number;
  /** The NF's index among the NFs sharing its worker_thread (absent when it has the thread alone). */
  member?: number;
}

/** Int32 words at the start of the control block. */
export const ControlWord = {
  /** {@link NfState}: written by both sides. */
  STATE: 0,
  /** Set to 1 by the manager to ask the NF to stop (SIGINT/SIGTERM in multi-process mode). */
  STOP: 1,
  /** Heartbeat: the NF bumps it every loop turn; the manager watches it move. */
  HEARTBEAT: 2,
  /** Manager → NF: packets per batch a control-plane policy asks for (0: the NF's own maximum). */
  BATCH_TARGET: 12,
  /** Manager → NF: SMs a control-plane policy gives the NF's kernels (0: no limit). */
  SM_SHARE: 13,
  /**
   * Manager → NF: microseconds the NF's loop spins when it finds no batch before it sleeps on its
   * ring. The manager grants a spin only while the manager and every NF have a core each: a thread
   * that polls a shared core takes it from the one with work.
   */
  SPIN_US: 14,
  /**
   * Manager → NF: which of the NF's device-resident fields (bit k: the k-th it declared) it may
   * take from the device copy an earlier NF of the chain uploaded, instead of copying them again
   * (G-NET's data-sync plan, granted by a control-plane policy). The manager clears it whenever an
   * NF joins or leaves, until the policy decides again.
   */
  RESIDENT: 15,
} as const;

/** Lifecycle states of an NF instance. */
export const NfState = {
  STARTING: 0,
  RUNNING: 1,
  STOPPING: 2,
  STOPPED: 3,
  DEAD: 4,
} as const;

/** Float64 counters after the Int32 words (byte offset {@link COUNTERS_OFFSET}); written by the NF only. */
export const NfCounter = {
  /** Packets the NF received. */
  RX: 0,
  /** Packets the NF returned to the manager (any action). */
  TX: 1,
  /** Batches handled. */
  BATCHES: 2,
  /**
   * Unused (kept so the layout of region version 2 stays as it is): drops are counted once, by the
   * manager, per reason and per NF, as it routes the returned batches.
   */
  DROPPED: 3,
  /** Exceptions thrown by the handler (its batch is dropped and counted). */
  HANDLER_ERRORS: 4,
  /**
   * Microseconds the NF's loop spent on batches: from taking them off its ring to handing them
   * back (handler included, idle polling and sleep excluded). Its cost per packet, whatever the
   * manager's rate.
   */
  BUSY_US: 5,
} as const;

/** Byte offset of the counters in the control block. */
export const COUNTERS_OFFSET = 64;
/** Size of the control block. */
export const CONTROL_BYTES = COUNTERS_OFFSET + 8 * 8;
/** Byte offset of the NF's named counters (`runtime/named-counters.ts`) in an embedded instance's control buffer. */
export const EMBEDDED_NAMED_OFFSET = CONTROL_BYTES;
