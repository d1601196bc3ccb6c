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
 * | meta | one typed array per field, `slotCount` entries each, in the order of {@link META_FIELDS} |
 * | slots | `slotCount × slotSize` bytes; slot `i` starts at `dataOffset + i × slotSize` |
 *
 * @module
 */

import { ringByteLength, ringCapacityFor } from '../ring/layout.js';

/** `GNPL` in ASCII: the first header word of every pool. */
export const POOL_MAGIC = 0x474e504c;
/** The layout version this module describes. */
export const POOL_LAYOUT_VERSION = 1;
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

/** The per-slot meta fields, in layout order, with their element size in bytes. */
export const META_FIELDS = [
  ['length', 4],
  ['flowHash', 4],
  ['tsSec', 4],
  ['tsNsec', 4],
  ['port', 2],
  ['destination', 2],
  ['action', 1],
  ['chainIndex', 1],
  ['state', 1],
] as const;

/** Name of a per-slot meta field. */
export type MetaFieldName = (typeof META_FIELDS)[number][0];

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
  /** Byte offset of slot 0. */
  readonly dataOffset: number;
  /** Total bytes of the pool's buffer. */
  readonly byteLength: number;
}

/** Rounds `n` up to a multiple of {@link POOL_ALIGN}. */
function align(n: number): number {
  return Math.ceil(n / POOL_ALIGN) * POOL_ALIGN;
}

/** Computes the layout of a pool, throwing a `RangeError` for an unusable slot count or size. */
export function poolLayout(slotCount: number, slotSize: number): PoolLayout {
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
  const dataOffset = at;
  return { slotCount, slotSize, ringOffset, ringCapacity, metaOffsets, dataOffset, byteLength: dataOffset + slotCount * slotSize };
}
