/**
 * NF-defined named counters (drop reasons, per-SA or per-rule totals): a small block of shared
 * memory per NF instance, written by the NF only and read by the manager for stats. The NF writes
 * the names first and publishes their count last (`Atomics.store`), so the manager never reads a
 * half-written name; the values are plain Float64 slots the NF bumps on its data path.
 *
 * Layout (a versioned contract, shared by embedded and multi-process mode):
 * `Int32 count` at 0, `Float64 values[64]` at {@link NAMED_VALUES_OFFSET}, `names[64][32]` (ASCII,
 * NUL-padded) at {@link NAMED_NAMES_OFFSET}.
 * @module
 */

/** Most named counters per NF instance. */
export const MAX_NAMED_COUNTERS = 64;
/** Most bytes of a counter name. */
export const MAX_COUNTER_NAME = 31;
/** Byte offset of the values in the block. */
export const NAMED_VALUES_OFFSET = 64;
/** Byte offset of the names in the block. */
export const NAMED_NAMES_OFFSET = NAMED_VALUES_OFFSET + MAX_NAMED_COUNTERS * 8;
const NAME_SLOT = 32;
/** Bytes of one instance's named-counter block. */
export const NAMED_BLOCK_BYTES = NAMED_NAMES_OFFSET + MAX_NAMED_COUNTERS * NAME_SLOT;

const NAME_RE = /^[a-z0-9_.:-]{1,31}$/;

/**
 * Appends `names` to the block at `byteOffset` of `buffer` after the `existing` ones (which this
 * NF defined earlier, e.g. the framework's own before the NF author's) and returns the view of the
 * new names' values (index i counts `names[i]`). With no `existing` names the block is cleared first
 * (a multi-process slot may hold a previous NF's names).
 * @throws Error for more than 64 names in all, a duplicate, or a name outside `[a-z0-9_.:-]{1,31}`.
 */
export function defineNamedCounters(buffer: ArrayBufferLike, byteOffset: number, names: readonly string[], existing: readonly string[] = []): Float64Array {
  const head = new Int32Array(buffer, byteOffset, 1);
  const start = existing.length;
  if (names.length === 0 || start + names.length > MAX_NAMED_COUNTERS) {
    throw new Error(`defineCounters: an NF has 1 to ${MAX_NAMED_COUNTERS} counters in all, asked for ${start + names.length}`);
  }
  const seen = new Set<string>(existing);
  for (const n of names) {
    if (!NAME_RE.test(n)) throw new Error(`defineCounters: bad counter name "${n}" (use [a-z0-9_.:-], at most ${MAX_COUNTER_NAME} characters)`);
    if (seen.has(n)) throw new Error(`defineCounters: duplicate counter name "${n}"`);
    seen.add(n);
  }
  const bytes = new Uint8Array(buffer, byteOffset + NAMED_NAMES_OFFSET, MAX_NAMED_COUNTERS * NAME_SLOT);
  if (start === 0) {
    Atomics.store(head, 0, 0);
    bytes.fill(0);
    new Float64Array(buffer, byteOffset + NAMED_VALUES_OFFSET, MAX_NAMED_COUNTERS).fill(0);
  }
  names.forEach((n, i) => {
    for (let k = 0; k < n.length; k++) bytes[(start + i) * NAME_SLOT + k] = n.charCodeAt(k);
  });
  // Names first, count last: the reader never sees a half-written name.
  Atomics.store(head, 0, start + names.length);
  return new Float64Array(buffer, byteOffset + NAMED_VALUES_OFFSET + start * 8, names.length);
}

/** The manager's reader of one instance's block (names are decoded once, when they appear). */
export class NamedCountersReader {
  private readonly head: Int32Array;
  private readonly values: Float64Array;
  private readonly bytes: Uint8Array;
  private names: string[] = [];

  /** Reads the block at `byteOffset` of `buffer`. */
  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.head = new Int32Array(buffer, byteOffset, 1);
    this.values = new Float64Array(buffer, byteOffset + NAMED_VALUES_OFFSET, MAX_NAMED_COUNTERS);
    this.bytes = new Uint8Array(buffer, byteOffset + NAMED_NAMES_OFFSET, MAX_NAMED_COUNTERS * NAME_SLOT);
  }

  /** The counters now, by name (empty until the NF defines them). */
  read(): Record<string, number> {
    const n = Math.min(Atomics.load(this.head, 0), MAX_NAMED_COUNTERS);
    if (n !== this.names.length) {
      this.names = [];
      for (let i = 0; i < n; i++) {
        let s = '';
        for (let k = 0; k < NAME_SLOT && this.bytes[i * NAME_SLOT + k] !== 0; k++) s += String.fromCharCode(this.bytes[i * NAME_SLOT + k]);
        this.names.push(s);
      }
    }
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) out[this.names[i]] = this.values[i];
    return out;
  }

  /** Clears the block (a slot reused by another NF process). */
  reset(): void {
    Atomics.store(this.head, 0, 0);
    this.names = [];
    this.values.fill(0);
    this.bytes.fill(0);
  }
}
