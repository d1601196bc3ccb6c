/**
 * Packet memory for the whole process, like the huge pages Enso and DPDK carve their rings from:
 * large `SharedArrayBuffer` chunks, split into 64-byte-aligned regions for pipe rings and port
 * queues.
 *
 * Why one arena: copying between two typed arrays needs either a fresh view of the source range
 * (`subarray`, an allocation) or a loop over elements, which is slow. When source and destination
 * lie in the same chunk, `copyWithin` on a chunk-wide view moves any range with no allocation at
 * memcpy speed. So the NIC's copies between port queues and pipes (frame bytes and the per-flit
 * side arrays) are all `copyWithin` calls on one of the chunk views below.
 *
 * Regions are reused after release (first fit, neighbours coalesced). Chunks are never returned to
 * the system; untouched pages of a chunk cost no physical memory.
 *
 * @module
 */

/** Bytes of a standard arena chunk; a larger request gets a chunk of its own size. */
export const DMA_CHUNK_BYTES = 64 * 1024 * 1024;

const ALIGN = 64;

/** One `SharedArrayBuffer` of the arena with whole-chunk views for `copyWithin`. */
export class DmaChunk {
  /** The chunk's memory. */
  readonly shared: SharedArrayBuffer;
  /** All of the chunk as bytes. */
  readonly u8: Uint8Array;
  /** All of the chunk as 16-bit elements (side-array copies). */
  readonly u16: Uint16Array;
  /** All of the chunk as 32-bit elements (side-array copies). */
  readonly u32: Uint32Array;
  /** All of the chunk as signed 32-bit words (word copies). */
  readonly i32: Int32Array;
  // Free regions, sorted by start; parallel arrays (allocation is rare).
  private readonly freeStarts: number[];
  private readonly freeSizes: number[];

  /**
   * Wraps `shared` (whose length must be a multiple of 64). With `allocatable` false the chunk
   * only provides views (memory handed over from another thread) and {@link allocate} fails.
   */
  constructor(shared: SharedArrayBuffer, allocatable = true) {
    this.shared = shared;
    const words = shared.byteLength >>> 2;
    this.u8 = new Uint8Array(shared);
    this.u16 = new Uint16Array(shared, 0, words * 2);
    this.u32 = new Uint32Array(shared, 0, words);
    this.i32 = new Int32Array(shared, 0, words);
    this.freeStarts = allocatable ? [0] : [];
    this.freeSizes = allocatable ? [shared.byteLength] : [];
  }

  /** Reserves `bytes` (rounded up to 64) and returns their offset, or -1 when no region fits. */
  allocate(bytes: number): number {
    const need = Math.ceil(bytes / ALIGN) * ALIGN;
    for (let i = 0; i < this.freeStarts.length; i++) {
      if (this.freeSizes[i] < need) continue;
      const start = this.freeStarts[i];
      if (this.freeSizes[i] === need) {
        this.freeStarts.splice(i, 1);
        this.freeSizes.splice(i, 1);
      } else {
        this.freeStarts[i] += need;
        this.freeSizes[i] -= need;
      }
      return start;
    }
    return -1;
  }

  /** Returns a region from {@link allocate} (same `bytes`), merging it with free neighbours. */
  release(offset: number, bytes: number): void {
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    let i = 0;
    while (i < this.freeStarts.length && this.freeStarts[i] < offset) i++;
    this.freeStarts.splice(i, 0, offset);
    this.freeSizes.splice(i, 0, size);
    if (i + 1 < this.freeStarts.length && offset + size === this.freeStarts[i + 1]) {
      this.freeSizes[i] += this.freeSizes[i + 1];
      this.freeStarts.splice(i + 1, 1);
      this.freeSizes.splice(i + 1, 1);
    }
    if (i > 0 && this.freeStarts[i - 1] + this.freeSizes[i - 1] === offset) {
      this.freeSizes[i - 1] += this.freeSizes[i];
      this.freeStarts.splice(i, 1);
      this.freeSizes.splice(i, 1);
    }
  }

  /** Bytes currently free in the chunk. */
  get freeBytes(): number {
    let n = 0;
    for (const s of this.freeSizes) n += s;
    return n;
  }
}

/** A region of the arena. */
export interface DmaRegion {
  /** The chunk holding it. */
  readonly chunk: DmaChunk;
  /** Byte offset of the region in the chunk (a multiple of 64). */
  readonly offset: number;
  /** Bytes requested. */
  readonly bytes: number;
}

const chunks: DmaChunk[] = [];
const views = new WeakMap<SharedArrayBuffer, DmaChunk>();

/**
 * The chunk for `shared`: the arena's own chunk when it is one, else a view-only chunk over memory
 * from elsewhere (another thread's arena), made once per buffer.
 */
export function dmaChunkOf(shared: SharedArrayBuffer): DmaChunk {
  for (const chunk of chunks) if (chunk.shared === shared) return chunk;
  let chunk = views.get(shared);
  if (chunk === undefined) {
    chunk = new DmaChunk(shared, false);
    views.set(shared, chunk);
  }
  return chunk;
}

/** Allocates `bytes` (> 0) of arena memory, zeroed on first use of a chunk, 64-byte aligned. */
export function dmaAllocate(bytes: number): DmaRegion {
  if (!Number.isInteger(bytes) || bytes <= 0) throw new RangeError(`DMA allocation must be a positive integer, got ${bytes}`);
  for (const chunk of chunks) {
    const offset = chunk.allocate(bytes);
    if (offset >= 0) return { chunk, offset, bytes };
  }
  const size = Math.max(DMA_CHUNK_BYTES, Math.ceil(bytes / ALIGN) * ALIGN);
  const chunk = new DmaChunk(new SharedArrayBuffer(size));
  chunks.push(chunk);
  return { chunk, offset: chunk.allocate(bytes), bytes };
}

/**
 * Returns a region to the arena; the memory may be handed out again. Its bytes are cleared so the
 * next owner sees zeroes, as with fresh memory.
 */
export function dmaRelease(region: DmaRegion): void {
  region.chunk.u8.fill(0, region.offset, region.offset + region.bytes);
  region.chunk.release(region.offset, region.bytes);
}
