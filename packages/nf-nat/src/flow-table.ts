/**
 * The NAT's flow table: one open-addressed hash table (linear probing, backward-shift deletion, no
 * tombstones) in typed arrays. A key is four u32 words; a value is a u32 record id. The same hash
 * function and probe sequence run in `kernels/nat.cu`, so the device can look keys up in an uploaded
 * copy of {@link FlowTable.keys}. A slot is {@link SLOT_WORDS} u32 (the four key words and the
 * value), so a probe that hits reads one cache line or two, never a second array.
 *
 * Key words (see {@link KeyKind}): `k0` = the local address (internal for OUT/MAPI, external for
 * IN/MAPE/PERM), `k1` = the remote address (0 for mappings), `k2` = local port << 16 | remote port,
 * `k3` = protocol | kind << 8. An empty slot has `k3 = 0`.
 * @module
 */

/** What a key names (stored in bits 8..15 of key word 3). */
export const KeyKind = {
  /** Outbound session: (internal addr, internal port, remote addr, remote port, proto) → session. */
  OUT: 1,
  /** Inbound session: (external addr, external port, remote addr, remote port, proto) → session. */
  IN: 2,
  /** Mapping by internal endpoint (internal addr, internal port, proto) → mapping. */
  MAPI: 3,
  /** Mapping by external endpoint (external addr, external port, proto) → mapping. */
  MAPE: 4,
  /** Address-dependent filtering permission (external addr, external port, remote addr, proto) → session. */
  PERM: 5,
} as const;

/** u32 words per slot: k0, k1, k2, k3, value. */
export const SLOT_WORDS = 5;

/** A value meaning "not found". */
export const NOT_FOUND = 0xffffffff;

/** Slots per dirty chunk (the unit in which changes are uploaded to the device copy). */
export const CHUNK_SLOTS = 4096;

/**
 * The hash of a key (murmur3's 32-bit finalizer over a multiply-xor chain). `kernels/nat.cu`
 * (`nat_hash`) computes the same value; change both together.
 */
export function hashKey(k0: number, k1: number, k2: number, k3: number): number {
  let h = Math.imul(k0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ k1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ k2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ k3, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** An open-addressed u32×4 → u32 hash table; capacity is a power of two. */
export class FlowTable {
  /** Slot count (a power of two). */
  readonly capacity: number;
  /** Slots: key words and value, {@link SLOT_WORDS} per slot (slot i at `5i .. 5i+4`). */
  readonly keys: Uint32Array;
  /** One flag per chunk of {@link CHUNK_SLOTS} slots: changed since the last {@link FlowTable.takeDirty}. */
  readonly dirty: Uint8Array;
  /** Ids of the dirty chunks, in the order they became dirty (the first {@link FlowTable.dirtyCount}). */
  readonly dirtyList: Uint32Array;
  /** Number of dirty chunks listed in {@link FlowTable.dirtyList}. */
  dirtyCount = 0;
  /** Keys stored. */
  size = 0;
  /** Slot of the last successful {@link FlowTable.find} (or where {@link FlowTable.insert} put its key). */
  lastSlot = -1;
  private readonly mask: number;

  /** A table with room for `capacity` keys (rounded up to a power of two, at least 64). */
  constructor(capacity: number) {
    let c = 64;
    while (c < capacity) c *= 2;
    this.capacity = c;
    this.mask = c - 1;
    this.keys = new Uint32Array(c * SLOT_WORDS);
    const chunks = Math.ceil(c / CHUNK_SLOTS);
    this.dirty = new Uint8Array(chunks);
    this.dirtyList = new Uint32Array(chunks);
  }

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.keys.byteLength + this.dirty.byteLength + this.dirtyList.byteLength;
  }

  /** The value stored for a key, or {@link NOT_FOUND}; sets {@link FlowTable.lastSlot} on a hit. */
  find(k0: number, k1: number, k2: number, k3: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = hashKey(k0, k1, k2, k3) & mask;
    for (;;) {
      const b = i * SLOT_WORDS;
      const w3 = keys[b + 3];
      if (w3 === 0) return NOT_FOUND;
      if (w3 === k3 >>> 0 && keys[b] === k0 >>> 0 && keys[b + 1] === k1 >>> 0 && keys[b + 2] === k2 >>> 0) {
        this.lastSlot = i;
        return keys[b + 4];
      }
      i = (i + 1) & mask;
    }
  }

  /** The value in slot `slot`. */
  valueAt(slot: number): number {
    return this.keys[slot * SLOT_WORDS + 4];
  }

  /** The slot holding the key, or -1. */
  findSlot(k0: number, k1: number, k2: number, k3: number): number {
    return this.find(k0, k1, k2, k3) === NOT_FOUND ? -1 : this.lastSlot;
  }

  /** The slot where a key's probe starts (its hash, masked). */
  home(k0: number, k1: number, k2: number, k3: number): number {
    return hashKey(k0, k1, k2, k3) & this.mask;
  }

  /** True when slot `slot` holds exactly this key (a device lookup's answer is checked this way). */
  slotHolds(slot: number, k0: number, k1: number, k2: number, k3: number): boolean {
    if (slot < 0 || slot >= this.capacity) return false;
    const b = slot * SLOT_WORDS;
    const keys = this.keys;
    return keys[b + 3] === k3 >>> 0 && keys[b] === k0 >>> 0 && keys[b + 1] === k1 >>> 0 && keys[b + 2] === k2 >>> 0;
  }

  /**
   * Stores `value` for the key (replacing an existing value). Returns false when the table is full
   * (kept below 7/8 occupancy so probes stay short).
   */
  insert(k0: number, k1: number, k2: number, k3: number, value: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = hashKey(k0, k1, k2, k3) & mask;
    for (;;) {
      const b = i * SLOT_WORDS;
      const w3 = keys[b + 3];
      if (w3 === 0) break;
      if (w3 === k3 >>> 0 && keys[b] === k0 >>> 0 && keys[b + 1] === k1 >>> 0 && keys[b + 2] === k2 >>> 0) {
        keys[b + 4] = value;
        this.markDirty(i);
        this.lastSlot = i;
        return true;
      }
      i = (i + 1) & mask;
    }
    if (this.size >= this.capacity - (this.capacity >>> 3)) return false;
    const b = i * SLOT_WORDS;
    keys[b] = k0;
    keys[b + 1] = k1;
    keys[b + 2] = k2;
    keys[b + 3] = k3;
    keys[b + 4] = value;
    this.size++;
    this.markDirty(i);
    this.lastSlot = i;
    return true;
  }

  /** Removes the key; returns whether it was there. Later keys of its cluster shift back (no tombstones). */
  remove(k0: number, k1: number, k2: number, k3: number): boolean {
    if (this.find(k0, k1, k2, k3) === NOT_FOUND) return false;
    const keys = this.keys;
    const mask = this.mask;
    let hole = this.lastSlot;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const b = j * SLOT_WORDS;
      if (keys[b + 3] === 0) break;
      const home = hashKey(keys[b], keys[b + 1], keys[b + 2], keys[b + 3]) & mask;
      // Move j into the hole when its home is not cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      const h = hole * SLOT_WORDS;
      keys[h] = keys[b];
      keys[h + 1] = keys[b + 1];
      keys[h + 2] = keys[b + 2];
      keys[h + 3] = keys[b + 3];
      keys[h + 4] = keys[b + 4];
      this.markDirty(hole);
      hole = j;
    }
    const h = hole * SLOT_WORDS;
    keys[h] = 0;
    keys[h + 1] = 0;
    keys[h + 2] = 0;
    keys[h + 3] = 0;
    keys[h + 4] = 0;
    this.markDirty(hole);
    this.size--;
    return true;
  }

  private markDirty(slot: number): void {
    const c = (slot / CHUNK_SLOTS) | 0;
    if (this.dirty[c] === 0) {
      this.dirty[c] = 1;
      this.dirtyList[this.dirtyCount++] = c;
    }
  }

  /** Forgets the dirty chunks (after they were uploaded); returns how many there were. */
  takeDirty(): number {
    const n = this.dirtyCount;
    for (let i = 0; i < n; i++) this.dirty[this.dirtyList[i]] = 0;
    this.dirtyCount = 0;
    return n;
  }
}
