/**
 * A multi-process manager's shared memory region (layout: `runtime/region-layout.ts`) as seen by
 * one process: the manager that builds it, an NF that joins it, or `gnet nfs` / `gnet stats`
 * reading it.
 * @module
 */
import { readFileSync, statfsSync } from 'node:fs';
import { createSharedRegion, openSharedRegion, SharedRegionError, unlinkSharedRegion } from '@gnet/manager-native';
import { PacketPool } from '../pool/packet-pool.js';
import { sleepSync } from '../ring/sleep.js';
import { SpscRing } from '../ring/spsc.js';
import { CONTROL_BYTES, COUNTERS_OFFSET, ControlWord } from './attach.js';
import { Mailbox } from './mailbox.js';
import {
  REGION_HEADER_BYTES,
  REGION_LAYOUT_VERSION,
  REGION_MAGIC,
  REGION_NAME_MAX,
  REGION_NAME_OFFSET,
  RegionF64,
  RegionState,
  RegionWord,
  SLOT_NAMED_OFFSET,
  SLOT_TAG_MAX,
  SLOT_TAG_OFFSET,
  SlotWord,
  regionLayout,
  regionNameOf,
  slotOffsets,
  type RegionLayout,
  type RegionSizes,
} from './region-layout.js';

/** Whether process `pid` exists (and is not a zombie waiting to be reaped). */
export function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A killed child stays a zombie until its parent reaps it: it is gone for our purposes.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true;
  }
}

/** Thrown when there is no usable region for a manager name; the message says how to start one. */
export class NoManagerError extends Error {
  /** The manager name asked for. */
  readonly manager: string;
  constructor(manager: string, detail: string) {
    super(
      `no gnet manager named "${manager}" is running (${detail}). Start one: ` +
        `gnet manager --name ${manager} --in <port> --out <port> --chain <service>[,<service>...]`,
    );
    this.name = 'NoManagerError';
    this.manager = manager;
  }
}

/** Views of one NF slot. */
export interface SlotView {
  /** Slot index. */
  readonly index: number;
  /** Int32 words: `ControlWord` then `SlotWord`. */
  readonly ctl: Int32Array;
  /** Float64 `NfCounter`s. */
  readonly counters: Float64Array;
  /** The NF's named-counter block. */
  readonly named: { readonly buffer: ArrayBufferLike; readonly byteOffset: number };
  /** Byte offset of the rx ring in the region. */
  readonly rxOffset: number;
  /** Byte offset of the tx ring in the region. */
  readonly txOffset: number;
  /** Manager → NF messages. */
  readonly inbox: Mailbox;
  /** NF → manager messages. */
  readonly outbox: Mailbox;
}

/** What {@link ManagerRegion.create} needs besides sizes. */
export interface RegionCreateOptions extends RegionSizes {
  /** The config JSON text NFs read their section from ("" for none). */
  configText?: string;
  /** Where the config came from, for NFs' error messages. */
  configSource?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes `text` as UTF-8, cut to at most `max` bytes at a character boundary. */
function utf8Cut(text: string, max: number): Uint8Array {
  let bytes = encoder.encode(text);
  while (bytes.length > max) {
    text = text.slice(0, -1);
    bytes = encoder.encode(text);
  }
  return bytes;
}

/** One process's view of a manager region. */
export class ManagerRegion {
  /** The manager's name (`--name`). */
  readonly name: string;
  /** The shared memory name (`gnet-<name>`). */
  readonly shmName: string;
  /** The mapping. */
  readonly buffer: ArrayBuffer;
  /** Header Int32 words ({@link RegionWord}). */
  readonly words: Int32Array;
  /** Header Float64 values ({@link RegionF64}). */
  readonly f64: Float64Array;
  /** Number of NF slots. */
  readonly slotCount: number;
  /** Entries per NF ring. */
  readonly ringCapacity: number;
  /** Most packets per NF batch. */
  readonly burst: number;
  private readonly slots: SlotView[] = [];
  private readonly bytes: Uint8Array;

  private constructor(name: string, buffer: ArrayBuffer) {
    this.name = name;
    this.shmName = regionNameOf(name);
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer, 0, REGION_HEADER_BYTES / 4);
    this.f64 = new Float64Array(buffer, 0, REGION_HEADER_BYTES / 8);
    this.slotCount = this.words[RegionWord.SLOT_COUNT];
    this.ringCapacity = this.words[RegionWord.RING_CAPACITY];
    this.burst = this.words[RegionWord.BURST];
    const slotBytes = this.words[RegionWord.SLOT_BYTES];
    const base = this.words[RegionWord.SLOTS_OFFSET];
    const mailbox = this.words[RegionWord.MAILBOX_BYTES];
    const o = slotOffsets(this.ringCapacity, mailbox);
    for (let i = 0; i < this.slotCount; i++) {
      const at = base + i * slotBytes;
      this.slots.push({
        index: i,
        ctl: new Int32Array(buffer, at, COUNTERS_OFFSET / 4),
        counters: new Float64Array(buffer, at + COUNTERS_OFFSET, (CONTROL_BYTES - COUNTERS_OFFSET) / 8),
        named: { buffer, byteOffset: at + SLOT_NAMED_OFFSET },
        rxOffset: at + o.rx,
        txOffset: at + o.tx,
        inbox: new Mailbox(buffer, at + o.inbox, mailbox),
        outbox: new Mailbox(buffer, at + o.outbox, mailbox),
      });
    }
  }

  /**
   * Builds the region of manager `name`: header, NF slots (rings formatted, all free), stats and
   * config areas, and the packet pool; returns it in state INITIALIZING (see {@link ManagerRegion.setState}).
   * A region left by a manager that is gone is replaced.
   * @throws Error when a live manager holds the name, or when /dev/shm lacks the room.
   */
  static create(name: string, options: RegionCreateOptions): ManagerRegion {
    const shmName = regionNameOf(name);
    const configText = options.configText ?? '';
    const configSource = options.configSource ?? '';
    const configBytes = encoder.encode(configText).length + encoder.encode(configSource).length;
    const layout = regionLayout({ ...options, configBytes });
    checkRoom(layout.byteLength);
    let buffer: ArrayBuffer;
    try {
      buffer = createSharedRegion(shmName, layout.byteLength);
    } catch (err) {
      if (!(err instanceof SharedRegionError) || err.code !== 'EEXIST') throw err;
      const holder = ManagerRegion.liveHolder(shmName);
      if (holder !== null) throw new Error(`gnet manager "${name}" is already running (pid ${holder}); pick another --name`);
      unlinkSharedRegion(shmName);
      buffer = createSharedRegion(shmName, layout.byteLength);
    }
    try {
      return ManagerRegion.build(name, buffer, layout, options);
    } catch (err) {
      unlinkSharedRegion(shmName);
      throw err;
    }
  }

  /** Lays out a freshly created region (see {@link ManagerRegion.create}). */
  private static build(name: string, buffer: ArrayBuffer, layout: RegionLayout, options: RegionCreateOptions): ManagerRegion {
    // Touch every page now: a full /dev/shm then fails here, not with SIGBUS on the data path.
    new Uint8Array(buffer).fill(0);
    const w = new Int32Array(buffer, 0, REGION_HEADER_BYTES / 4);
    const f = new Float64Array(buffer, 0, REGION_HEADER_BYTES / 8);
    w[RegionWord.VERSION] = REGION_LAYOUT_VERSION;
    w[RegionWord.STATE] = RegionState.INITIALIZING;
    w[RegionWord.MANAGER_PID] = process.pid;
    w[RegionWord.SLOT_COUNT] = layout.slotCount;
    w[RegionWord.SLOT_BYTES] = layout.slotBytes;
    w[RegionWord.SLOTS_OFFSET] = layout.slotsOffset;
    w[RegionWord.RING_CAPACITY] = layout.ringCapacity;
    w[RegionWord.BURST] = options.burst;
    w[RegionWord.POOL_OFFSET] = layout.poolOffset;
    w[RegionWord.STATS_OFFSET] = layout.statsOffset;
    w[RegionWord.STATS_BYTES] = layout.statsBytes;
    w[RegionWord.CONFIG_OFFSET] = layout.configOffset;
    w[RegionWord.MAILBOX_BYTES] = layout.mailboxBytes;
    f[RegionF64.START_TIME] = Date.now();
    f[RegionF64.HEARTBEAT_TIME] = Date.now();
    f[RegionF64.REGION_BYTES] = layout.byteLength;
    const nameBytes = utf8Cut(name, REGION_NAME_MAX);
    new Uint8Array(buffer, REGION_NAME_OFFSET, REGION_NAME_MAX).set(nameBytes);
    w[RegionWord.NAME_LENGTH] = nameBytes.length;
    const cfg = encoder.encode(options.configText ?? '');
    const src = encoder.encode(options.configSource ?? '');
    new Uint8Array(buffer, layout.configOffset, cfg.length + src.length).set(cfg);
    new Uint8Array(buffer, layout.configOffset + cfg.length, src.length).set(src);
    w[RegionWord.CONFIG_LENGTH] = cfg.length;
    w[RegionWord.CONFIG_SOURCE_LENGTH] = src.length;
    const region = new ManagerRegion(name, buffer);
    for (let i = 0; i < region.slotCount; i++) region.resetSlot(i);
    PacketPool.createAt(buffer, layout.poolOffset, {
      slotCount: options.poolSlots,
      slotSize: options.poolSlotSize,
      batchCount: layout.ringCapacity,
      batchCapacity: options.burst,
    });
    // The magic goes last: an NF never sees a half-built region as valid.
    Atomics.store(w, RegionWord.MAGIC, REGION_MAGIC);
    return region;
  }

  /**
   * Opens the region of running manager `name` (an NF joining, or a tool reading it).
   * @throws NoManagerError when there is none, or only one left by a manager that is gone.
   */
  static open(name: string): ManagerRegion {
    const shmName = regionNameOf(name);
    let buffer: ArrayBuffer;
    try {
      buffer = openSharedRegion(shmName);
    } catch (err) {
      if (err instanceof SharedRegionError && err.code === 'ENOENT') throw new NoManagerError(name, `no shared memory region ${shmName}`);
      throw err;
    }
    if (buffer.byteLength < REGION_HEADER_BYTES) throw new Error(`shared memory region ${shmName} is too small to be a gnet manager region`);
    const w = new Int32Array(buffer, 0, REGION_HEADER_BYTES / 4);
    const magic = Atomics.load(w, RegionWord.MAGIC);
    if (magic !== REGION_MAGIC) {
      throw new Error(`shared memory region ${shmName} is not a gnet manager region (or is still being built): magic 0x${(magic >>> 0).toString(16)}`);
    }
    if (w[RegionWord.VERSION] !== REGION_LAYOUT_VERSION) {
      throw new Error(`manager "${name}" uses region layout version ${w[RegionWord.VERSION]}; this gnet reads version ${REGION_LAYOUT_VERSION}`);
    }
    const region = new ManagerRegion(name, buffer);
    if (!region.managerAlive) {
      const how = region.state === RegionState.EXITED ? 'which exited' : 'which is gone';
      throw new NoManagerError(name, `its region ${shmName} was left by pid ${region.managerPid}, ${how}`);
    }
    return region;
  }

  /** The pid of a live manager holding region `shmName`, or null when there is none (or it is stale). */
  private static liveHolder(shmName: string): number | null {
    try {
      const buffer = openSharedRegion(shmName);
      if (buffer.byteLength < REGION_HEADER_BYTES) return null;
      const w = new Int32Array(buffer, 0, REGION_HEADER_BYTES / 4);
      if (Atomics.load(w, RegionWord.MAGIC) !== REGION_MAGIC) return null;
      const pid = Atomics.load(w, RegionWord.MANAGER_PID);
      const state = Atomics.load(w, RegionWord.STATE);
      return state !== RegionState.EXITED && pid !== process.pid && pidAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** The manager's process id. */
  get managerPid(): number {
    return Atomics.load(this.words, RegionWord.MANAGER_PID);
  }

  /** The manager's {@link RegionState}. */
  get state(): number {
    return Atomics.load(this.words, RegionWord.STATE);
  }

  /** True while the manager process exists and has not exited. */
  get managerAlive(): boolean {
    return this.state !== RegionState.EXITED && pidAlive(this.managerPid);
  }

  /** Sets the manager's {@link RegionState}. */
  setState(state: number): void {
    Atomics.store(this.words, RegionWord.STATE, state);
  }

  /** Records that the manager's loop is alive now. */
  beat(now = Date.now()): void {
    this.f64[RegionF64.HEARTBEAT_TIME] = now;
  }

  /** The packet pool in the region (this process's view). */
  attachPool(): PacketPool {
    return PacketPool.attach(this.buffer, this.words[RegionWord.POOL_OFFSET]);
  }

  /** Views of slot `i`. */
  slot(i: number): SlotView {
    const s = this.slots[i];
    if (!s) throw new RangeError(`no NF slot ${i} (the region has ${this.slotCount})`);
    return s;
  }

  /** Slot `i`'s rings (this process's views). */
  rings(i: number): { rx: SpscRing; tx: SpscRing } {
    const s = this.slot(i);
    return { rx: SpscRing.attach(this.buffer, s.rxOffset), tx: SpscRing.attach(this.buffer, s.txOffset) };
  }

  /** The tag written in slot `i`. */
  readTag(i: number): string {
    const s = this.slot(i);
    const len = Math.min(Atomics.load(s.ctl, SlotWord.TAG_LENGTH), SLOT_TAG_MAX);
    const at = s.ctl.byteOffset + SLOT_TAG_OFFSET;
    return decoder.decode(this.bytes.subarray(at, at + len));
  }

  /** Writes `tag` into slot `i` (cut to 64 UTF-8 bytes). */
  writeTag(i: number, tag: string): void {
    const s = this.slot(i);
    const bytes = utf8Cut(tag, SLOT_TAG_MAX);
    this.bytes.set(bytes, s.ctl.byteOffset + SLOT_TAG_OFFSET);
    Atomics.store(s.ctl, SlotWord.TAG_LENGTH, bytes.length);
  }

  /**
   * Returns slot `i` to its free state: empty rings and mailboxes, zero counters and words, the
   * generation bumped, and PID = 0 stored last (which publishes it as free). Manager only.
   */
  resetSlot(i: number): void {
    const s = this.slot(i);
    SpscRing.createAt(this.buffer, s.rxOffset, this.ringCapacity);
    SpscRing.createAt(this.buffer, s.txOffset, this.ringCapacity);
    s.inbox.reset();
    s.outbox.reset();
    s.counters.fill(0);
    this.bytes.fill(0, s.ctl.byteOffset + SLOT_TAG_OFFSET, s.ctl.byteOffset + SLOT_TAG_OFFSET + SLOT_TAG_MAX);
    const generation = Atomics.load(s.ctl, SlotWord.GENERATION);
    for (let w = 0; w < s.ctl.length; w++) if (w !== SlotWord.PID) Atomics.store(s.ctl, w, 0);
    Atomics.store(s.ctl, SlotWord.REQ_INSTANCE, -1);
    Atomics.store(s.ctl, SlotWord.GENERATION, (generation + 1) | 0);
    Atomics.store(s.ctl, ControlWord.STATE, 0);
    Atomics.store(s.ctl, SlotWord.PID, 0);
  }

  /** The config JSON text and its source path the manager was started with ("" when none). */
  readConfig(): { text: string; source: string } {
    const at = this.words[RegionWord.CONFIG_OFFSET];
    const len = this.words[RegionWord.CONFIG_LENGTH];
    const srcLen = this.words[RegionWord.CONFIG_SOURCE_LENGTH];
    return {
      text: decoder.decode(this.bytes.subarray(at, at + len)),
      source: decoder.decode(this.bytes.subarray(at + len, at + len + srcLen)),
    };
  }

  /**
   * Publishes the manager's stats text (JSON) under the sequence lock; text longer than the area is
   * replaced by a JSON error object. Manager only, not on the data path.
   */
  publishStats(json: string): void {
    const at = this.words[RegionWord.STATS_OFFSET];
    const cap = this.words[RegionWord.STATS_BYTES];
    let bytes = encoder.encode(json);
    if (bytes.length > cap) bytes = encoder.encode(JSON.stringify({ error: `stats need ${bytes.length} bytes; the region holds ${cap}` }));
    // Only the manager writes, so the sequence is even here: odd while writing, even again after.
    const seq = Atomics.load(this.words, RegionWord.STATS_SEQ);
    Atomics.store(this.words, RegionWord.STATS_SEQ, (seq + 1) | 0);
    this.bytes.set(bytes, at);
    Atomics.store(this.words, RegionWord.STATS_LENGTH, bytes.length);
    Atomics.store(this.words, RegionWord.STATS_SEQ, (seq + 2) | 0);
  }

  /** The latest stats text the manager published ("" before the first), read consistently. */
  readStats(): string {
    const at = this.words[RegionWord.STATS_OFFSET];
    for (let tries = 0; tries < 1000; tries++) {
      const seq = Atomics.load(this.words, RegionWord.STATS_SEQ);
      if (seq & 1) {
        sleepSync(0.05);
        continue;
      }
      const len = Atomics.load(this.words, RegionWord.STATS_LENGTH);
      const copy = this.bytes.slice(at, at + len);
      if (Atomics.load(this.words, RegionWord.STATS_SEQ) === seq) return decoder.decode(copy);
    }
    throw new Error(`stats of manager "${this.name}" kept changing while being read`);
  }

  /** Removes the region's name (mappings stay valid until dropped); false when it was already gone. */
  unlink(): boolean {
    return unlinkSharedRegion(this.shmName);
  }
}

/** Throws when /dev/shm (where Linux keeps POSIX shared memory) cannot hold `bytes` more. */
function checkRoom(bytes: number): void {
  let free: number;
  try {
    const s = statfsSync('/dev/shm');
    free = s.bavail * s.bsize;
  } catch {
    return; // No /dev/shm to ask: shm_open reports what goes wrong.
  }
  if (bytes > free) {
    const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
    throw new Error(`the manager's shared memory needs ${mib(bytes)} but /dev/shm has ${mib(free)} free: lower --pool, or enlarge /dev/shm`);
  }
}
