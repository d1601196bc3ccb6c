/**
 * The memory layout of a multi-process manager's shared memory region: a stable contract, version
 * {@link REGION_LAYOUT_VERSION}. `gnet manager --name NAME` creates the POSIX shared memory region
 * `gnet-NAME` (mode 0600, see {@link regionNameOf}); NF processes, `gnet nfs` and `gnet stats` open
 * it by name. Anything that follows this layout (and `ring/layout.ts`, `pool/layout.ts`) can join.
 *
 * All words are native-endian; every part starts on a 64-byte boundary:
 *
 * | bytes | part | contents |
 * | --- | --- | --- |
 * | 0 .. 4096 | header | registry header: {@link RegionWord} (Int32), {@link RegionF64} (Float64), the manager's name |
 * | {@link RegionWord.SLOTS_OFFSET} | NF slot table | `SLOT_COUNT` slots of `SLOT_BYTES`, one per NF instance (below) |
 * | {@link RegionWord.STATS_OFFSET} | stats | the manager's latest stats as UTF-8 JSON under a sequence lock |
 * | {@link RegionWord.CONFIG_OFFSET} | config | the manager's `--config` file as UTF-8 JSON (NFs read their section) |
 * | {@link RegionWord.POOL_OFFSET} | packet pool | a {@link PacketPool} (its own layout, offsets relative to its base), with `RING_CAPACITY` batch descriptors of `BURST` packets |
 *
 * One NF slot, at `SLOTS_OFFSET + i × SLOT_BYTES`:
 *
 * | bytes | contents |
 * | --- | --- |
 * | 0 .. 64 | Int32 words: `ControlWord` (STATE, STOP, HEARTBEAT, as in embedded mode) then {@link SlotWord} |
 * | 64 .. 128 | Float64 `NfCounter`s, written by the NF (as in embedded mode's control block) |
 * | 128 .. 192 | the NF's tag, UTF-8 ({@link SlotWord.TAG_LENGTH} bytes) |
 * | 256 | rx ring: SPSC ring (`ring/layout.ts`), manager → NF, `RING_CAPACITY` entries |
 * | 256 + R | tx ring: SPSC ring, NF → manager (R = ring bytes) |
 * | 256 + 2R | inbox: message ring (`runtime/mailbox.ts`), manager → NF, `MAILBOX_BYTES` |
 * | 256 + 2R + M | outbox: message ring, NF → manager |
 *
 * Slot protocol (the PID word is the claim; {@link SlotPhase} says where the slot is):
 * 1. An NF claims a free slot with `Atomics.compareExchange(PID, 0, pid)`, writes REQ_SERVICE,
 *    REQ_INSTANCE and its tag, and stores PHASE = JOINING.
 * 2. The manager accepts (writes SERVICE_ID and INSTANCE_ID, stores PHASE = ACTIVE) or rejects
 *    (REJECT = a {@link SlotReject} code, PHASE = REJECTED; the NF then frees the slot itself).
 * 3. The NF sets STATE = RUNNING and moves packets; it bumps HEARTBEAT every loop turn.
 * 4. To leave, the NF stops taking packets, returns what it holds on its tx ring and stores
 *    PHASE = LEAVING; it touches the slot no more. The manager routes what it returned, hands what
 *    was still queued for it to other instances of its service, resets the rings, bumps
 *    GENERATION, stores PHASE = FREE and finally PID = 0.
 * 5. When PID names a process that is gone (or one whose heartbeat stalled, which the manager
 *    kills), the manager reclaims the slot the same way, counting every packet the NF held or had
 *    queued as dropped (`nf_dead`).
 * The manager asks an NF to stop by storing STOP = 1 and closing the rx ring.
 *
 * Stats: the manager writes `STATS_SEQ` odd, then the JSON and `STATS_LENGTH`, then `STATS_SEQ`
 * even; a reader copies the bytes between two equal even reads of `STATS_SEQ`.
 *
 * Memory ordering: every word above is accessed with `Atomics` on a non-shared `ArrayBuffer` (the
 * mapping of the region) and ring slots and packet bytes with plain accesses, as in `ring/layout.ts`:
 * this relies on x86-64's total store order (the only architecture multi-process mode supports).
 *
 * @module
 */
import { PacketPool } from '../pool/packet-pool.js';
import { ringByteLength } from '../ring/layout.js';
import { MAILBOX_HEADER_BYTES } from './mailbox.js';
import { NAMED_BLOCK_BYTES } from './named-counters.js';

/** `GNMR` in ASCII: the first word of every manager region. */
export const REGION_MAGIC = 0x474e4d52;
/** The layout version this module describes. */
export const REGION_LAYOUT_VERSION = 2;
/** Bytes of the registry header. */
export const REGION_HEADER_BYTES = 4096;
/** Byte offset of the NF's named counters (`runtime/named-counters.ts`) in a slot (layout version 2). */
export const SLOT_NAMED_OFFSET = 256;
/** Bytes of a slot's control part (words, counters, tag, named counters) before its rings. */
export const SLOT_CONTROL_BYTES = Math.ceil((SLOT_NAMED_OFFSET + NAMED_BLOCK_BYTES) / 64) * 64;
/** Byte offset of the tag in a slot. */
export const SLOT_TAG_OFFSET = 128;
/** Most bytes of a tag kept in a slot (UTF-8, cut at a character boundary). */
export const SLOT_TAG_MAX = 64;
/** Byte offset and size of the manager's name in the header. */
export const REGION_NAME_OFFSET = 256;
/** Most bytes of a manager name. */
export const REGION_NAME_MAX = 128;
/** Service ids `TAG_SERVICE_BASE + k` name the k-th distinct tag of a chain (so `-r` below it is safe). */
export const TAG_SERVICE_BASE = 0xff00;
/** Prefix of region names: manager `NAME` lives in `gnet-NAME`. */
export const REGION_PREFIX = 'gnet-';

/** Indices of the header's Int32 words. */
export const RegionWord = {
  /** {@link REGION_MAGIC}, stored last when the region is built. */
  MAGIC: 0,
  /** {@link REGION_LAYOUT_VERSION}. */
  VERSION: 1,
  /** {@link RegionState}. */
  STATE: 2,
  /** Process id of the manager. */
  MANAGER_PID: 3,
  /** Number of NF slots. */
  SLOT_COUNT: 4,
  /** Bytes per slot (a multiple of 64). */
  SLOT_BYTES: 5,
  /** Byte offset of slot 0. */
  SLOTS_OFFSET: 6,
  /** Entries of each slot's rx and tx ring. */
  RING_CAPACITY: 7,
  /** Most packets the manager gives an NF per batch. */
  BURST: 8,
  /** Byte offset of the packet pool. */
  POOL_OFFSET: 9,
  /** Byte offset of the stats area. */
  STATS_OFFSET: 10,
  /** Bytes of the stats area. */
  STATS_BYTES: 11,
  /** Stats sequence lock: odd while the manager writes. */
  STATS_SEQ: 12,
  /** Bytes of stats JSON. */
  STATS_LENGTH: 13,
  /** Byte offset of the config area. */
  CONFIG_OFFSET: 14,
  /** Bytes of config JSON (the area is exactly this long, rounded up to 64). */
  CONFIG_LENGTH: 15,
  /** Bytes of each mailbox (inbox, outbox) of a slot. */
  MAILBOX_BYTES: 16,
  /** Bytes of the manager's name at {@link REGION_NAME_OFFSET}. */
  NAME_LENGTH: 17,
  /** Bytes of the config file's path after the config JSON. */
  CONFIG_SOURCE_LENGTH: 18,
} as const;

/** Indices of the header's Float64 values (a `Float64Array` over the header; byte = index × 8). */
export const RegionF64 = {
  /** When the manager started (ms since the epoch). */
  START_TIME: 16,
  /** Last time the manager's loop ran its housekeeping (ms since the epoch): its heartbeat. */
  HEARTBEAT_TIME: 17,
  /** Total bytes of the region. */
  REGION_BYTES: 18,
} as const;

/** The manager's lifecycle, in {@link RegionWord.STATE}. */
export const RegionState = {
  /** Being built (MAGIC is not yet stored). */
  INITIALIZING: 0,
  /** Accepting NFs and moving packets. */
  RUNNING: 1,
  /** Asking NFs to stop. */
  STOPPING: 2,
  /** Gone: the region is about to be unlinked. */
  EXITED: 3,
} as const;

/** Indices of a slot's Int32 words after `ControlWord` (STATE 0, STOP 1, HEARTBEAT 2). */
export const SlotWord = {
  /** Process id of the NF holding the slot; 0 = free. The claim word. */
  PID: 3,
  /** {@link SlotPhase}. */
  PHASE: 4,
  /** Service id the manager assigned (from the NF's tag or `-r`). */
  SERVICE_ID: 5,
  /** Instance id the manager assigned. */
  INSTANCE_ID: 6,
  /** Service id the NF asked for (`-r`), 0 for none. */
  REQ_SERVICE: 7,
  /** Instance id the NF asked for (`-n`), -1 for none. */
  REQ_INSTANCE: 8,
  /** Bumped by the manager each time it frees the slot. */
  GENERATION: 9,
  /** {@link SlotReject} code when PHASE is REJECTED. */
  REJECT: 10,
  /** Bytes of the tag at {@link SLOT_TAG_OFFSET}. */
  TAG_LENGTH: 11,
} as const;

/** Where a slot is in its life, in {@link SlotWord.PHASE}. */
export const SlotPhase = {
  /** Free, or being claimed (PID set, fields being written). */
  FREE: 0,
  /** Claimed and waiting for the manager. */
  JOINING: 1,
  /** Accepted: on the data path. */
  ACTIVE: 2,
  /** The NF left; the manager reclaims the slot. */
  LEAVING: 3,
  /** The manager refused the NF ({@link SlotWord.REJECT} says why). */
  REJECTED: 4,
} as const;

/** Why the manager refused an NF. */
export const SlotReject = {
  /** The NF gave no service id (`-r`) and the chain does not name its tag. */
  NO_SERVICE: 1,
  /** The instance id it asked for (`-n`) is taken. */
  INSTANCE_TAKEN: 2,
  /** The manager is stopping. */
  STOPPING: 3,
} as const;

/** A sentence for each {@link SlotReject} code. */
export function rejectReason(code: number, serviceId: number, instanceId: number): string {
  switch (code) {
    case SlotReject.NO_SERVICE:
      return 'it gives no service id (-r N) and the manager chain does not name its tag';
    case SlotReject.INSTANCE_TAKEN:
      return `instance ${instanceId} of service ${serviceId} is taken (drop -n to get a free one)`;
    case SlotReject.STOPPING:
      return 'the manager is stopping';
    default:
      return `unknown reason ${code}`;
  }
}

/** Sizes a region is built from. */
export interface RegionSizes {
  /** NF slots (1 .. 4096). */
  slotCount: number;
  /** Entries per NF ring (a power of two). */
  ringCapacity: number;
  /** Packet buffers. */
  poolSlots: number;
  /** Bytes per packet buffer (a multiple of 64). */
  poolSlotSize: number;
  /** Most packets per NF batch: the capacity of the pool's batch descriptors (there are `ringCapacity` of them). */
  burst: number;
  /** Bytes per mailbox (64 + a power of two). */
  mailboxBytes: number;
  /** Bytes of the stats area. */
  statsBytes: number;
  /** Bytes of the config area (config JSON and its source path). */
  configBytes: number;
}

/** Where everything of a region lives. */
export interface RegionLayout extends RegionSizes {
  /** Bytes per slot. */
  slotBytes: number;
  /** Byte offset of slot 0. */
  slotsOffset: number;
  /** Byte offset of the stats area. */
  statsOffset: number;
  /** Byte offset of the config area. */
  configOffset: number;
  /** Byte offset of the pool. */
  poolOffset: number;
  /** Total bytes. */
  byteLength: number;
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** Byte offsets inside one slot. */
export function slotOffsets(ringCapacity: number, mailboxBytes: number): { rx: number; tx: number; inbox: number; outbox: number; bytes: number } {
  const r = ringByteLength(ringCapacity);
  const rx = SLOT_CONTROL_BYTES;
  const tx = rx + r;
  const inbox = tx + r;
  const outbox = inbox + mailboxBytes;
  return { rx, tx, inbox, outbox, bytes: align64(outbox + mailboxBytes) };
}

/**
 * Computes a region's layout, throwing a `RangeError` for unusable sizes. The pool comes last, so
 * every offset but the total fits an Int32 word however large the pool is.
 */
export function regionLayout(sizes: RegionSizes): RegionLayout {
  if (!Number.isInteger(sizes.slotCount) || sizes.slotCount < 1 || sizes.slotCount > 4096) {
    throw new RangeError(`NF slots must be an integer in [1, 4096], got ${sizes.slotCount}`);
  }
  const m = sizes.mailboxBytes - MAILBOX_HEADER_BYTES;
  if (!Number.isInteger(m) || m < 256 || (m & (m - 1)) !== 0) {
    throw new RangeError(`mailbox bytes must be ${MAILBOX_HEADER_BYTES} + a power of two >= 256, got ${sizes.mailboxBytes}`);
  }
  const slot = slotOffsets(sizes.ringCapacity, sizes.mailboxBytes);
  const slotsOffset = REGION_HEADER_BYTES;
  const statsOffset = slotsOffset + sizes.slotCount * slot.bytes;
  const configOffset = statsOffset + align64(sizes.statsBytes);
  const poolOffset = configOffset + align64(sizes.configBytes);
  const byteLength = poolOffset + PacketPool.byteLength(sizes.poolSlots, sizes.poolSlotSize, sizes.ringCapacity, sizes.burst);
  if (poolOffset > 0x7fffffff) throw new RangeError('too many NF slots or too large a config for one region');
  return { ...sizes, slotBytes: slot.bytes, slotsOffset, statsOffset, configOffset, poolOffset, byteLength };
}

/**
 * The shared memory name of manager `name`: `gnet-<name>`.
 * @throws Error unless `name` is 1-64 characters of letters, digits, `.`, `_` and `-`.
 */
export function regionNameOf(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new Error(`manager name must be 1-64 letters, digits, '.', '_' or '-', got "${name}"`);
  }
  return REGION_PREFIX + name;
}
