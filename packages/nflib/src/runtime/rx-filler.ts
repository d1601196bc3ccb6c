/**
 * The manager's receive side: the sink a port backend hands its frames to (DPDK's `rx_burst` into
 * mbufs, here into pool slots). Each frame is copied once, straight from the backend's buffer into
 * a free pool slot, and described in the batch descriptor being filled (slot, offset, length, port,
 * flow hash), with its timestamp in the slot's meta. There is no copy in between: the backend's
 * buffer is what a NIC's DMA would have written.
 *
 * From a backend whose frames stay put while it polls (`WireBackend.stableFrames`), the copies of a
 * whole burst are made together after its last frame, in one native call (`copyRanges`): a slot the
 * NF's core wrote last is then fetched while other frames copy, instead of stalling a JavaScript
 * word loop per frame (the router end to end went from 9.0 to 11.4 Mpps, a one-byte-writer NF from
 * 8.6 to 11.6). Other backends, and machines without the addon, copy each frame inside `push`.
 *
 * A backend that offers a whole burst (`FrameSink.pushBurst`: gen, mem, afpacket) has it taken in one
 * native call (`RxFill`), which does everything `push` does for each frame (the wire: 45 → 20 ns
 * per packet of the manager's time).
 * @module
 */
import { FrameCopier, type FrameSink } from '@gnet/enso';
import { copyRanges, createRxFill, RxFillIo, type RxFill } from '@gnet/manager-native';
import { hashTuple, type FlowDirector } from '../chain/flow-director.js';
import type { PacketPool } from '../pool/index.js';
import type { ManagerPort } from './manager-port.js';

/** Whether the native batch copy loads here (a platform without the addon copies in JavaScript). */
function batchCopyLoads(): boolean {
  try {
    copyRanges(new Uint8Array(0), new Uint32Array(0), new Uint8Array(0), new Uint32Array(0), new Uint32Array(0), 0);
    return true;
  } catch {
    return false;
  }
}

/** The native burst filler over these arrays, or null where the addon does not load or predates it. */
function nativeFiller(pool: PacketPool, cache: SlotCache, slotOf: Uint32Array, io: Uint32Array): RxFill | null {
  const t = pool.batches;
  try {
    return createRxFill({
      pool: pool.bytes,
      cache: cache.slots,
      slotOf,
      tSlot: t.slot,
      tOffset: t.offset,
      tLength: t.length,
      tFlowHash: t.flowHash,
      tPort: t.port,
      tsSec: pool.meta.tsSec,
      tsNsec: pool.meta.tsNsec,
      epoch: pool.meta.epoch,
      io,
    });
  } catch {
    return null;
  }
}

/** Free pool slots held by the manager (it is the pool's only allocator and freer). */
export class SlotCache {
  /** Free slot indices in `[0, count)`. */
  readonly slots: Uint32Array;
  /** Free slots held. */
  count = 0;

  constructor(capacity: number) {
    this.slots = new Uint32Array(capacity);
  }
}

/** Fills one batch descriptor from one port at a time; see the module comment. */
export class RxFiller implements FrameSink {
  /** Frames taken in the current burst. */
  count = 0;
  /** Their bytes. */
  bytes = 0;
  /** Per frame of the burst, the chain the flow director chose (-1: the port's chain); written only while it has rules. */
  readonly chainOf: Int32Array;
  private readonly cache: SlotCache;
  /** The manager's private copy of each descriptor entry's slot (NFs cannot change it). */
  private readonly slotOf: Uint32Array;
  // The pool and batch-table arrays, held directly: this runs once per frame.
  private readonly data: Uint8Array;
  private readonly data32: Int32Array;
  private readonly slotSize: number;
  private readonly dataOffset: number;
  private readonly capacity: number;
  private readonly tsSec: Uint32Array;
  private readonly tsNsec: Uint32Array;
  private readonly epoch: Uint32Array;
  private readonly pool: PacketPool;
  /** Whether slot epochs are tracked (read once per burst: `PacketPool.trackEpochs`). */
  private epochs = false;
  private readonly tSlot: Uint32Array;
  private readonly tOffset: Uint32Array;
  private readonly tLength: Uint32Array;
  private readonly tFlowHash: Uint32Array;
  private readonly tPort: Uint16Array;
  private readonly copier = new FrameCopier();
  /** Word view of the last source buffer when it is word-aligned (frames are then copied inline). */
  private src: Uint8Array | null = null;
  private src32: Int32Array | null = null;
  private srcWord = 0;
  private srcView: DataView | null = null;
  /** The copies deferred in this burst (destination, source, length), and how many. */
  private readonly cpDst: Uint32Array;
  private readonly cpSrc: Uint32Array;
  private readonly cpLen: Uint32Array;
  private pending = 0;
  /** Whether the native batch copy is here, and whether this burst's port lets copies wait. */
  private readonly canDefer: boolean;
  private defer = false;
  /** The native burst filler ({@link RxFiller.pushBurst}) and its state words ({@link RxFillIo}). */
  private readonly native: RxFill | null;
  private readonly io = new Uint32Array(RxFillIo.WORDS);
  /** Bytes of the frames the last {@link RxFiller.pushBurst} took. */
  lastBurstBytes = 0;
  private fd: FlowDirector | null = null;
  private port: ManagerPort | null = null;
  private portId = 0;
  private base = 0;
  private max = 0;

  constructor(pool: PacketPool, cache: SlotCache, slotOf: Uint32Array) {
    const t = pool.batches;
    this.cache = cache;
    this.slotOf = slotOf;
    this.chainOf = new Int32Array(t.capacity);
    this.data = pool.bytes;
    this.data32 = new Int32Array(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.byteLength >>> 2);
    this.slotSize = pool.slotSize;
    this.dataOffset = pool.dataOffset;
    this.capacity = t.capacity;
    this.tsSec = pool.meta.tsSec;
    this.tsNsec = pool.meta.tsNsec;
    this.epoch = pool.meta.epoch;
    this.pool = pool;
    this.tSlot = t.slot;
    this.tOffset = t.offset;
    this.tLength = t.length;
    this.tFlowHash = t.flowHash;
    this.tPort = t.port;
    this.cpDst = new Uint32Array(t.capacity);
    this.cpSrc = new Uint32Array(t.capacity);
    this.cpLen = new Uint32Array(t.capacity);
    this.canDefer = batchCopyLoads();
    this.native = nativeFiller(pool, cache, slotOf, this.io);
    this.io[RxFillIo.DATA_OFFSET] = pool.dataOffset;
    this.io[RxFillIo.SLOT_SIZE] = pool.slotSize;
  }

  /**
   * Starts filling descriptor `d` with at most `max` frames of `port`; `fd` (when it has rules) is
   * consulted per IPv4 frame and its answer left in {@link RxFiller.chainOf}. Refused frames are
   * counted on the port (`rxInvalid`, `rxNoBuffer`).
   */
  begin(d: number, port: ManagerPort, max: number, fd: FlowDirector | null): void {
    this.base = d * this.capacity;
    this.port = port;
    this.portId = port.id;
    this.max = max;
    this.fd = fd;
    this.count = 0;
    this.bytes = 0;
    this.epochs = this.pool.tracksEpochs;
    this.defer = this.canDefer && port.backend.stableFrames === true;
    const io = this.io;
    io[RxFillIo.BASE] = this.base;
    io[RxFillIo.MAX] = max;
    io[RxFillIo.PORT] = port.id;
    io[RxFillIo.EPOCHS] = this.epochs ? 1 : 0;
  }

  /**
   * Takes a burst of frames (see `FrameSink.pushBurst`): in one native call where the addon has it
   * and no flow-director rule needs a lookup per frame, else frame by frame through
   * {@link RxFiller.push}. Returns the frames taken.
   */
  pushBurst(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    n: number,
    tsSec: number,
    tsNsec: number,
    tsSecs?: Uint32Array,
    tsNsecs?: Uint32Array,
  ): number {
    const before = this.count;
    const bytesBefore = this.bytes;
    const native = this.native;
    if (native === null || this.fd !== null) {
      if (tsSecs !== undefined && tsNsecs !== undefined) {
        for (let i = 0; i < n; i++) this.push(buf, offsets[i], lengths[i], tsSecs[i], tsNsecs[i]);
      } else for (let i = 0; i < n; i++) this.push(buf, offsets[i], lengths[i], tsSec, tsNsec);
    } else {
      this.settle(); // frames pushed one by one before this burst keep their order
      const io = this.io;
      const cache = this.cache;
      io[RxFillIo.COUNT] = this.count;
      io[RxFillIo.CACHE_COUNT] = cache.count;
      io[RxFillIo.TS_SEC] = tsSec;
      io[RxFillIo.TS_NSEC] = tsNsec;
      io[RxFillIo.BYTES] = 0;
      io[RxFillIo.INVALID] = 0;
      io[RxFillIo.NO_BUFFER] = 0;
      native.fill(buf, offsets, lengths, n, tsSecs, tsNsecs);
      this.count = io[RxFillIo.COUNT];
      cache.count = io[RxFillIo.CACHE_COUNT];
      this.bytes += io[RxFillIo.BYTES];
      const port = this.port as ManagerPort;
      port.rxInvalid += io[RxFillIo.INVALID];
      port.rxNoBuffer += io[RxFillIo.NO_BUFFER];
    }
    this.lastBurstBytes = this.bytes - bytesBefore;
    return this.count - before;
  }

  /**
   * Copies the frames taken but not yet copied (see the module comment); the manager calls it when
   * the port's `poll` returns, a backend before it reuses bytes it pushed (`FrameSink.settle`).
   */
  settle(): void {
    const n = this.pending;
    if (n === 0) return;
    this.pending = 0;
    // Every range was checked against its buffer in push, so none is skipped.
    copyRanges(this.data, this.cpDst, this.src as Uint8Array, this.cpSrc, this.cpLen, n);
  }

  /** Takes one frame from the port (see `FrameSink.push`). */
  push(buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): boolean {
    const size = this.slotSize;
    // Shorter than an Ethernet header (a literal: bundled module constants are reloaded per use).
    if (len < 14 || len > size || off + len > buf.length) {
      (this.port as ManagerPort).rxInvalid++;
      return false;
    }
    const cache = this.cache;
    if (this.count >= this.max || cache.count === 0) {
      // Never with a well-behaved backend: it is polled for at most the room there is.
      (this.port as ManagerPort).rxNoBuffer++;
      return false;
    }
    const slot = cache.slots[--cache.count];
    const at = this.dataOffset + slot * size;
    if (buf !== this.src) {
      this.settle(); // the deferred copies are all from one source
      this.bindSource(buf);
    }
    const s32 = this.src32;
    if (this.defer) {
      const p = this.pending++;
      this.cpDst[p] = at;
      this.cpSrc[p] = off;
      this.cpLen[p] = len;
    } else if (s32 !== null && (off & 3) === 0) {
      // Word copy in place: for the short frames that dominate packet rates, cheaper than a call.
      const d32 = this.data32;
      let s = this.srcWord + (off >>> 2);
      let d = at >>> 2;
      const end = d + ((len + 3) >>> 2);
      // Four words a step (0.6x the time of a plain word loop for 64 B frames), written out here
      // rather than called (FrameCopier.copy, or a shared helper, measured 10-20% slower per frame).
      while (d + 4 <= end) {
        d32[d] = s32[s];
        d32[d + 1] = s32[s + 1];
        d32[d + 2] = s32[s + 2];
        d32[d + 3] = s32[s + 3];
        d += 4;
        s += 4;
      }
      while (d < end) d32[d++] = s32[s++];
    } else {
      this.copier.copy(buf, off, this.data, this.data32, at, len, 1);
    }
    const k = this.base + this.count;
    this.slotOf[k] = slot;
    this.tSlot[k] = slot;
    this.tOffset[k] = at;
    this.tLength[k] = len;
    this.tPort[k] = this.portId;
    this.tsSec[slot] = tsSec;
    this.tsNsec[slot] = tsNsec;
    // A new packet in the slot (the manager recycles slots through its cache, not the pool's
    // alloc): state kept about the old one elsewhere (a device copy of a field) must not match.
    // Only while someone keeps such state: otherwise the table's load and store are wasted.
    if (this.epochs) this.epoch[slot] = (this.epoch[slot] + 1) >>> 0 || 1;
    // Flow hash over the 5-tuple of IPv4 and IPv6 (behind one VLAN tag or none; 0 for other
    // frames): picks the instance, keeps a flow together. Read from the source, which may not be
    // copied yet.
    let h = 0;
    let chain = -1;
    const v = this.srcView as DataView;
    if (len >= 34 && v.getUint16(off + 12) === 0x0800) {
      const proto = buf[off + 23];
      const src = v.getInt32(off + 26);
      const dst = v.getInt32(off + 30);
      const l4 = off + 14 + ((buf[off + 14] & 15) << 2);
      const ports = (proto === 6 || proto === 17) && l4 + 4 <= off + len ? v.getInt32(l4) : 0;
      h = hashTuple(src, dst, ports, proto);
      if (this.fd !== null) chain = this.fd.lookup(src, dst, ports >>> 16, ports & 0xffff, proto);
    } else if (len >= 18) {
      h = this.otherHash(buf, v, off, len);
    }
    this.tFlowHash[k] = h;
    if (this.fd !== null) this.chainOf[this.count] = chain;
    this.count++;
    this.bytes += len;
    return true;
  }

  /** The flow hash of a frame that is not untagged IPv4: IPv6, or IPv4/IPv6 behind a VLAN tag; else 0. */
  private otherHash(data: Uint8Array, v: DataView, at: number, len: number): number {
    let l3 = at + 14;
    let type = v.getUint16(at + 12);
    if (type === 0x8100 || type === 0x88a8) {
      type = v.getUint16(at + 16);
      l3 += 4;
    }
    const end = at + len;
    if (type === 0x0800 && l3 + 20 <= end) {
      const proto = data[l3 + 9];
      const l4 = l3 + ((data[l3] & 15) << 2);
      const ports = (proto === 6 || proto === 17) && l4 + 4 <= end ? v.getInt32(l4) : 0;
      return hashTuple(v.getInt32(l3 + 12), v.getInt32(l3 + 16), ports, proto);
    }
    if (type === 0x86dd && l3 + 40 <= end) {
      // Addresses folded to 32 bits; ports when the next header is TCP or UDP itself.
      const proto = data[l3 + 6];
      const src = v.getInt32(l3 + 8) ^ v.getInt32(l3 + 12) ^ v.getInt32(l3 + 16) ^ v.getInt32(l3 + 20);
      const dst = v.getInt32(l3 + 24) ^ v.getInt32(l3 + 28) ^ v.getInt32(l3 + 32) ^ v.getInt32(l3 + 36);
      const ports = (proto === 6 || proto === 17) && l3 + 44 <= end ? v.getInt32(l3 + 40) : 0;
      return hashTuple(src, dst, ports, proto);
    }
    return 0;
  }

  /**
   * Remembers a new source buffer, with a word view when it is word-aligned and a whole number of
   * words long: a frame copied as whole words (up to 3 bytes past its end) then stays inside both
   * the source and its slot.
   */
  private bindSource(buf: Uint8Array): void {
    this.src = buf;
    this.srcView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if ((buf.byteOffset & 3) === 0 && (buf.byteLength & 3) === 0) {
      this.src32 = new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
      this.srcWord = 0;
    } else {
      this.src32 = null;
    }
  }
}
