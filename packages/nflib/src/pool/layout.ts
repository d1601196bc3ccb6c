/**
 * The memory layout of a {@link PacketPool}: a stable contract (version {@link POOL_LAYOUT_VERSION})
 * so that code in other threads, or written without this module, can find slots, meta and counters.
 *
 * One `SharedArrayBuffer` holds, in order, each region starting on a 64-byte boundary (or a larger
 * buffer holds them from a 64-byte-aligned byte offset, the pool's base: every offset below and in
 * the header is relative to that base):
 *
 * | region | contents |
 * | --- | --- |
 * | header, 256 bytes | `Int32Array` words, see {@link PoolWord} |
 * | free list | an MPSC ring (`ring/layout.ts`) of free slot indices, capacity the next power of two ≥ slotCount |
 * | slot meta | one typed array per field, `slotCount` entries each, in the order of {@link META_FIELDS} |
 * | batch table | `batchCount` batch descriptors of `batchCapacity` packets: an `Int32Array` of counts, then one array per field of {@link BATCH_FIELDS} with `batchCount × batchCapacity` entries (descriptor `d` owns entries `[d × batchCapacity, (d + 1) × batchCapacity)`) |
 * | slots | `slotCount × slotSize` bytes; slot `i` starts at `dataOffset + i × slotSize` |
 *
 * Packets travel between the manager and NFs as batch descriptors: a ring entry is a descriptor
 * index, and the descriptor's arrays are the batch an NF handler sees (`PacketBatch` views them in
 * place), so nothing is gathered or scattered per packet on the way. Per-slot meta holds only what
 * stays with the buffer (the receive timestamp, and the slot's epoch: a count of its allocations,
 * so state kept about a packet elsewhere can tell it from a later packet in the same slot).
 *
 * @module
 */

import { ringByteLength, ringCapacityFor } from '../ring/layout.js';

/** `GNPL` in ASCII: the first header word of every pool. */
export const POOL_MAGIC = 0x474e504c;
/** The layout version this module describes. */
export const POOL_LAYOUT_VERSION = 3;
/** Bytes of the pool header. */
export const POOL_HEADER_BYTES = 256;
/** Largest number of slots in one pool. */
export const POOL_MAX_SLOTS = 1 << 24;
/** Largest slot size in bytes (lengths are stored as u32, but frames fit in 64 KiB). */
export const POOL_MAX_SLOT_SIZE = 65536;
/** Alignment of every region and of the slot size. */
export const POOL_ALIGN = 64;

/** Indices of the pool header words (an `Int32Array` over the first 256 bytes). */
export const PoolWord = {
  /** {@link POOL_MAGIC}. */
  MAGIC: 0,
  /** {@link POOL_LAYOUT_VERSION}. */
  VERSION: 1,
  /** Number of slots. */
  SLOT_COUNT: 2,
  /** Bytes per slot (a multiple of 64). */
  SLOT_SIZE: 3,
  /** Bit 0: debug mode (per-slot ownership state is tracked). */
  FLAGS: 4,
  /** Byte offset of the free-list ring. */
  RING_OFFSET: 5,
  /** Byte offset of the first slot. */
  DATA_OFFSET: 6,
  /** Number of batch descriptors. */
  BATCH_COUNT: 7,
  /** Packets per batch descriptor. */
  BATCH_CAPACITY: 8,
  /** Byte offset of the batch table. */
  BATCH_OFFSET: 9,
  /**
   * A random non-zero id chosen when the pool is formatted: names this pool's per-slot state kept
   * elsewhere (the framework's device-resident field copies), so two pools in one process never mix.
   */
  POOL_ID: 10,
  /** Counter: frees of a slot that was not allocated (debug mode only). */
  DOUBLE_FREES: 16,
  /** Counter: frees of an index that is not a slot of this pool. */
  INVALID_INDICES: 17,
  /** Counter: slots asked for but not given because the pool was empty. */
  ALLOC_FAILURES: 18,
  /** Counter: freed slots the free list could not take (only after undetected double frees). */
  FREE_OVERFLOWS: 19,
} as const;

/** Header FLAGS bit: debug mode. */
export const POOL_FLAG_DEBUG = 1;
/**
 * Header FLAGS bit: someone keeps state per packet elsewhere (the framework's resident fields), so
 * the manager bumps a slot's epoch for every frame it receives into it. Off, it skips that store
 * (a load and a store per packet into a table the size of the pool: 6% of its time at full rate).
 */
export const POOL_FLAG_EPOCHS = 2;

/** The per-slot meta fields, in layout order, with their element size in bytes. */
export const META_FIELDS = [
  ['tsSec', 4],
  ['tsNsec', 4],
  ['epoch', 4],
  ['state', 1],
] as const;

/** Name of a per-slot meta field. */
export type MetaFieldName = (typeof META_FIELDS)[number][0];

/**
 * The per-packet fields of a batch descriptor, in layout order, with their element size in bytes
 * (see `BatchTable`): the pool slot, its byte offset in the pool, the packet's length, flow hash,
 * input port, and the NF's action and its destination.
 */
export const BATCH_FIELDS = [
  ['slot', 4],
  ['offset', 4],
  ['length', 4],
  ['flowHash', 4],
  ['port', 2],
  ['destination', 2],
  ['action', 1],
] as const;

/** Name of a batch descriptor field. */
export type BatchFieldName = (typeof BATCH_FIELDS)[number][0];

/** Largest number of batch descriptors in one pool. */
export const POOL_MAX_BATCHES = 1 << 16;
/** Largest batch descriptor (packets). */
export const POOL_MAX_BATCH_CAPACITY = 1 << 16;

/** Where everything of a pool lives, computed from its slot count and size. */
export interface PoolLayout {
  /** Number of slots. */
  readonly slotCount: number;
  /** Bytes per slot. */
  readonly slotSize: number;
  /** Byte offset of the free-list ring. */
  readonly ringOffset: number;
  /** Capacity of the free-list ring. */
  readonly ringCapacity: number;
  /** Byte offset of each meta field's array. */
  readonly metaOffsets: Readonly<Record<MetaFieldName, number>>;
  /** Number of batch descriptors. */
  readonly batchCount: number;
  /** Packets per batch descriptor. */
  readonly batchCapacity: number;
  /** Byte offset of the batch table (its `Int32Array` of counts). */
  readonly batchOffset: number;
  /** Byte offset of each batch field's array. */
  readonly batchOffsets: Readonly<Record<BatchFieldName, number>>;
  /** Byte offset of slot 0. */
  readonly dataOffset: number;
  /** Total bytes of the pool's buffer. */
  readonly byteLength: number;
}

/** Rounds `n` up to a multiple of {@link POOL_ALIGN}. */
function align(n: number): number {
  return Math.ceil(n / POOL_ALIGN) * POOL_ALIGN;
}

/** Batch descriptors of a pool unless asked otherwise. */
export const DEFAULT_BATCH_COUNT = 1024;
/** Packets per batch descriptor unless asked otherwise. */
export const DEFAULT_BATCH_CAPACITY = 256;

/**
 * Computes the layout of a pool, throwing a `RangeError` for an unusable slot count, slot size or
 * batch table size.
 */
export function poolLayout(slotCount: number, slotSize: number, batchCount = DEFAULT_BATCH_COUNT, batchCapacity = DEFAULT_BATCH_CAPACITY): PoolLayout {
  if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > POOL_MAX_SLOTS) {
    throw new RangeError(`pool slotCount must be an integer between 1 and ${POOL_MAX_SLOTS}, got ${slotCount}`);
  }
  if (!Number.isInteger(slotSize) || slotSize < POOL_ALIGN || slotSize > POOL_MAX_SLOT_SIZE || slotSize % POOL_ALIGN !== 0) {
    throw new RangeError(`pool slotSize must be a multiple of ${POOL_ALIGN} between ${POOL_ALIGN} and ${POOL_MAX_SLOT_SIZE}, got ${slotSize}`);
  }
  const ringOffset = POOL_HEADER_BYTES;
  const ringCapacity = ringCapacityFor(slotCount);
  let at = align(ringOffset + ringByteLength(ringCapacity));
  const metaOffsets = {} as Record<MetaFieldName, number>;
  for (const [name, size] of META_FIELDS) {
    metaOffsets[name] = at;
    at = align(at + slotCount * size);
  }
  if (!Number.isInteger(batchCount) || batchCount < 1 || batchCount > POOL_MAX_BATCHES) {
    throw new RangeError(`pool batchCount must be an integer between 1 and ${POOL_MAX_BATCHES}, got ${batchCount}`);
  }
  if (!Number.isInteger(batchCapacity) || batchCapacity < 1 || batchCapacity > POOL_MAX_BATCH_CAPACITY) {
    throw new RangeError(`pool batchCapacity must be an integer between 1 and ${POOL_MAX_BATCH_CAPACITY}, got ${batchCapacity}`);
  }
  const batchOffset = at;
  at = align(at + batchCount * 4);
  const batchOffsets = {} as Record<BatchFieldName, number>;
  for (const [name, size] of BATCH_FIELDS) {
    batchOffsets[name] = at;
    at = align(at + batchCount * batchCapacity * size);
  }
  const dataOffset = at;
  return {
    slotCount,
    slotSize,
    ringOffset,
    ringCapacity,
    metaOffsets,
    batchCount,
    batchCapacity,
    batchOffset,
    batchOffsets,
    dataOffset,
    byteLength: dataOffset + slotCount * slotSize,
  };
}
