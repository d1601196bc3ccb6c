/**
 * The NAT's flow table: one open-addressed hash table (linear probing, backward-shift deletion, no
 * tombstones) in one Int32Array of 32-byte slots, two to a cache line. A slot holds a key (four
 * words) and its value (four words) together, so a lookup that hits on its home slot costs one cache
 * miss, and the value (the translation, state and timer of a flow) comes with the key. The same hash,
 * home slot and probe sequence run in `kernels/nat.cu`, so the device can look keys up in an uploaded
 * copy of {@link FlowTable.slots}.
 *
 * Key words (see {@link KeyKind}): `k0` = the local address (internal for OUT/MAPI, external for
 * IN/MAPE/PERM), `k1` = the remote address (0 for mappings), `k2` = local port << 16 | remote port,
 * `k3` = protocol | kind << 8. Bits 16..31 of slot word 3 are not part of the key: the owner keeps
 * flags there ({@link KEY3_MASK} selects the key bits). An empty slot has word 3 = 0.
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

/** Int32 words per slot: k0, k1, k2, k3 (with the owner's flags in bits 16..31), v0, v1, v2, v3. */
export const SLOT_WORDS = 8;

/** The bits of slot word 3 that are key (protocol and kind); the rest are the owner's. */
export const KEY3_MASK = 0xffff;

/** Slots per dirty chunk (the unit in which changes are uploaded to the device copy). */
export const CHUNK_SLOTS = 4096;

/**
 * Keys per slot at most that a table is sized for. Linear probing at load 0.5 with line-aligned
 * homes leaves about 12% of keys outside their home line (at 0.7: 21%, and 10% beyond the next line
 * too), and with a million flows each line read is a DRAM access: measured per packet, 0.5 costs
 * about 20 ns less than 0.7 for 70 more bytes per flow.
 */
export const DESIGN_LOAD = 0.5;

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

/**
 * The home slot of a hash in a table of `capacity` slots: the start of a 64-byte line (an even slot),
 * so a key's first two probes read one line. The line is the top 24 bits of the hash scaled to the
 * line count (`floor((h >> 8) * (capacity / 2) / 2^24)`, exact in doubles), so the capacity need not
 * be a power of two. `nat_home` in `kernels/nat.cu` is the same.
 */
export function homeOf(hash: number, capacity: number): number {
  return (((hash >>> 8) * (capacity >>> 1)) / 16777216) << 1;
}

/** An open-addressed table of four-word keys with four-word values in place. */
export class FlowTable {
  /** Slot count (even, so slot pairs share a 64-byte line when the array is line-aligned). */
  readonly capacity: number;
  /** Slots, {@link SLOT_WORDS} words each (slot i at `8i .. 8i+7`): key words then value words. */
  readonly slots: Int32Array;
  /** One flag per chunk of {@link CHUNK_SLOTS} slots: a key changed since the last {@link FlowTable.takeDirty}. */
  readonly dirty: Uint8Array;
  /** Ids of the dirty chunks, in the order they became dirty (the first {@link FlowTable.dirtyCount}). */
  readonly dirtyList: Uint32Array;
  /** Number of dirty chunks listed in {@link FlowTable.dirtyList}. */
  dirtyCount = 0;
  /** Keys stored. */
  size = 0;
  private readonly limit: number;

  /** A table with room for `keys` keys at {@link DESIGN_LOAD} (at least 64 slots; at most 2^28). */
  constructor(keys: number) {
    const c = Math.max(64, Math.ceil(keys / DESIGN_LOAD / 2) * 2);
    if (c > 2 ** 28) throw new RangeError(`FlowTable: ${keys} keys need more than 2^28 slots`);
    this.capacity = c;
    // Inserts stop at 7/8 full (a bug or a burst past the design load must not make probes endless).
    this.limit = c - (c >>> 3);
    // Large blocks from glibc's malloc (mmap'd) start 16 bytes past a page boundary: at byte 48 of the
    // buffer the slots sit on 64-byte lines (two per line, none straddling), so one slot is one miss.
    this.slots = new Int32Array(new ArrayBuffer(c * SLOT_WORDS * 4 + 64), 48, c * SLOT_WORDS);
    const chunks = Math.ceil(c / CHUNK_SLOTS);
    this.dirty = new Uint8Array(chunks);
    this.dirtyList = new Uint32Array(chunks);
  }

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.slots.byteLength + this.dirty.byteLength + this.dirtyList.byteLength;
  }

  /** The slot where a key's probe starts. */
  home(k0: number, k1: number, k2: number, k3: number): number {
    return homeOf(hashKey(k0, k1, k2, k3), this.capacity);
  }

  /** The slot holding the key, or -1. */
  find(k0: number, k1: number, k2: number, k3: number): number {
    return this.findFrom(homeOf(hashKey(k0, k1, k2, k3), this.capacity), k0, k1, k2, k3);
  }

  /** The slot holding the key, or -1, probing from `home` (the key's {@link FlowTable.home}, computed earlier). */
  findFrom(home: number, k0: number, k1: number, k2: number, k3: number): number {
    const s = this.slots;
    const cap = this.capacity;
    const a = k0 | 0;
    const b = k1 | 0;
    const c = k2 | 0;
    for (let i = home; ; i = i + 1 === cap ? 0 : i + 1) {
      const p = i * SLOT_WORDS;
      const w3 = s[p + 3];
      if (w3 === 0) return -1;
      if ((w3 & KEY3_MASK) === k3 && s[p] === a && s[p + 1] === b && s[p + 2] === c) return i;
    }
  }

  /** True when slot `slot` holds exactly this key (a device lookup's answer is checked this way). */
  slotHolds(slot: number, k0: number, k1: number, k2: number, k3: number): boolean {
    if (!(slot >= 0 && slot < this.capacity)) return false;
    const p = slot * SLOT_WORDS;
    const s = this.slots;
    return (s[p + 3] & KEY3_MASK) === k3 && s[p] === (k0 | 0) && s[p + 1] === (k1 | 0) && s[p + 2] === (k2 | 0);
  }

  /**
   * The slot of the key, added with a zero value (and flags) when it was not there; -1 when the
   * table is 7/8 full. Inserting never moves other keys (removing does).
   */
  insert(k0: number, k1: number, k2: number, k3: number): number {
    const s = this.slots;
    const cap = this.capacity;
    const a = k0 | 0;
    const b = k1 | 0;
    const c = k2 | 0;
    let i = homeOf(hashKey(a, b, c, k3), cap);
    for (;;) {
      const p = i * SLOT_WORDS;
      const w3 = s[p + 3];
      if (w3 === 0) break;
      if ((w3 & KEY3_MASK) === k3 && s[p] === a && s[p + 1] === b && s[p + 2] === c) return i;
      i = i + 1 === cap ? 0 : i + 1;
    }
    if (this.size >= this.limit) return -1;
    const p = i * SLOT_WORDS;
    s[p] = a;
    s[p + 1] = b;
    s[p + 2] = c;
    s[p + 3] = k3;
    s[p + 4] = 0;
    s[p + 5] = 0;
    s[p + 6] = 0;
    s[p + 7] = 0;
    this.size++;
    this.markDirty(i);
    return i;
  }

  /** Removes the key; returns whether it was there. */
  remove(k0: number, k1: number, k2: number, k3: number): boolean {
    const i = this.find(k0, k1, k2, k3);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  /**
   * Empties slot `slot` (which holds a key). Later keys of its cluster shift back into the hole (no
   * tombstones), so slot numbers found before a removal may no longer hold their keys after it.
   */
  removeAt(slot: number): void {
    const s = this.slots;
    const cap = this.capacity;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = j + 1 === cap ? 0 : j + 1;
      const q = j * SLOT_WORDS;
      if (s[q + 3] === 0) break;
      const home = homeOf(hashKey(s[q], s[q + 1], s[q + 2], s[q + 3] & KEY3_MASK), cap);
      // Move j into the hole when its home is not cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      s.copyWithin(hole * SLOT_WORDS, q, q + SLOT_WORDS);
      this.markDirty(hole);
      hole = j;
    }
    s.fill(0, hole * SLOT_WORDS, hole * SLOT_WORDS + SLOT_WORDS);
    this.markDirty(hole);
    this.size--;
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
