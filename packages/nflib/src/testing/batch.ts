/**
 * A {@link PacketBatch} over frames of your choosing, to call an NF's batch code directly in a unit
 * test (no manager, no threads): each frame in a slot of a small pool of its own.
 * @module
 */
import { PacketBatch } from '../nf/batch.js';
import { PacketPool } from '../pool/index.js';

/** Options of {@link batchOfFrames}. */
export interface BatchOfFramesOptions {
  /** Bytes per slot, a multiple of 64 (default 2048, the manager's): the room a packet may grow into. */
  slotSize?: number;
  /** Bytes frame `i` starts after its slot's start (default 0): to test code at unaligned offsets. */
  shift?: (i: number) => number;
}

/**
 * A batch holding `frames` (copied), every action `NEXT`, destinations, ports and flow hashes 0.
 * @throws RangeError when a frame (with its shift) does not fit its slot.
 */
export function batchOfFrames(frames: readonly Uint8Array[], options: BatchOfFramesOptions = {}): PacketBatch {
  const slotSize = options.slotSize ?? 2048;
  const n = frames.length;
  const pool = PacketPool.create({ slotCount: Math.max(1, n), slotSize, batchCount: 1, batchCapacity: 1 });
  const b = new PacketBatch(pool, n);
  frames.forEach((f, i) => {
    const at = pool.slotOffset(i) + (options.shift?.(i) ?? 0);
    if (at + f.length > pool.slotOffset(i) + slotSize) throw new RangeError(`frame ${i} (${f.length} B) does not fit its ${slotSize} B slot`);
    b.offsets[i] = at;
    b.lengths[i] = f.length;
    b.slots[i] = i;
    pool.bytes.set(f, at);
  });
  b.begin(n);
  return b;
}
