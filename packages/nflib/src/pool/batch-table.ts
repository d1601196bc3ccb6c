/**
 * The batch table of a {@link PacketPool}: fixed batch descriptors in shared memory, through which
 * packets move between the manager and NFs. A descriptor is a struct-of-arrays block of
 * `capacity` packets (slot, offset, length, flow hash, port, action, destination) plus a count;
 * rings carry descriptor indices, one per batch, so a batch crosses threads or processes as one
 * number and an NF works on the descriptor's arrays in place.
 *
 * Ownership: a descriptor belongs to one side at a time (the manager while it fills or routes it,
 * an NF instance from the ring entry until it hands the index back). The manager keeps its own
 * copy of which slots a descriptor holds, so an NF that scribbles on the shared arrays can spoil
 * its own packets but never the pool.
 *
 * @module
 */
import type { PoolLayout } from './layout.js';

/** Flag an NF may set in a returned descriptor's `count`: every packet's action is `NEXT`. */
export const ALL_NEXT = 1 << 30;

/** Views of a pool's batch descriptors (see `pool/layout.ts` for where they lie). */
export class BatchTable {
  /** Number of descriptors. */
  readonly batchCount: number;
  /** Packets per descriptor. */
  readonly capacity: number;
  /**
   * Packets in each descriptor (written by the manager before it hands one over). An NF handing a
   * descriptor back may add {@link ALL_NEXT} to say every packet in it says `NEXT`, which spares
   * the manager reading the actions (their cache lines were written on the NF's core).
   */
  readonly count: Int32Array;
  /** Pool slot of each packet (entry `d × capacity + i`). */
  readonly slot: Uint32Array;
  /** Byte offset of each packet in the pool's bytes. */
  readonly offset: Uint32Array;
  /** Length of each packet in bytes (an NF may change it, up to the slot size). */
  readonly length: Uint32Array;
  /** Flow hash of each packet (same flow, same hash). */
  readonly flowHash: Uint32Array;
  /** Port each packet arrived on. */
  readonly port: Uint16Array;
  /** Service id (TONF) or port (OUT) per packet, set by the NF. */
  readonly destination: Uint16Array;
  /** Action per packet, set by the NF. */
  readonly action: Uint8Array;

  /** Views the table of a pool laid out as `layout` at `byteOffset` of `buffer`. */
  constructor(buffer: ArrayBufferLike, byteOffset: number, layout: PoolLayout) {
    const n = layout.batchCount * layout.batchCapacity;
    const o = layout.batchOffsets;
    this.batchCount = layout.batchCount;
    this.capacity = layout.batchCapacity;
    this.count = new Int32Array(buffer, byteOffset + layout.batchOffset, layout.batchCount);
    this.slot = new Uint32Array(buffer, byteOffset + o.slot, n);
    this.offset = new Uint32Array(buffer, byteOffset + o.offset, n);
    this.length = new Uint32Array(buffer, byteOffset + o.length, n);
    this.flowHash = new Uint32Array(buffer, byteOffset + o.flowHash, n);
    this.port = new Uint16Array(buffer, byteOffset + o.port, n);
    this.destination = new Uint16Array(buffer, byteOffset + o.destination, n);
    this.action = new Uint8Array(buffer, byteOffset + o.action, n);
  }
}
