/**
 * gnet's software NIC: what Enso's FPGA does, done synchronously on the calling thread.
 *
 * - RX: `poll()` asks each receiving port for frames; each frame is classified (`classify.ts`),
 *   looked up in the flow table, or sent to a fallback pipe by hash or round robin (or dropped and
 *   counted when there is none), then written flit-aligned into the pipe's ring, its true length
 *   and timestamp in the ring's side arrays. A pipe that is full drops and counts. A pipe that
 *   receives data is notified reactively (`notification-queue.ts`).
 * - TX: a pipe's `sendAndFree` hands a region of flit-aligned frames to `transmit`; each frame's
 *   length comes from the side array, or from its IPv4 header when the side entry is 0 (as Enso
 *   does). Frames go to the pipe's port (`send`, or `sendFlits` in one block) and the port is
 *   flushed; completion is reported to the pipe in request order. With rate limiting on, requests
 *   wait in a queue and leave as the limiter allows, progressed by every `poll`.
 * - Timestamping (Enso semantics): outgoing frames get the NIC's 32-bit cycle counter written
 *   big-endian at the configured offset; on receive the NIC replaces that value with the RTT in
 *   cycles (`now - stamped`), which `pktRtt` reads.
 *
 * Several `Device`s may share one NIC; settings (round robin, timestamping, rate limit) are
 * NIC-wide, like Enso's hardware settings.
 *
 * @module
 */

import type { FlitSink, PortRole, WireBackend } from './backends/types.js';
import { openPort, type PortOptions } from './backends/registry.js';
import { FRAME_IPV4, FrameClassifier } from './classify.js';
import { readWallClock, timestampCycles, type WallClock } from './clock.js';
import {
  FLIT_SHIFT,
  FLIT_SIZE,
  MAX_FRAME_LENGTH,
  MAX_HARDWARE_FLIT_RATE,
  MIN_FRAME_LENGTH,
  NO_TIMESTAMP,
} from './constants.js';
import { copyFlitArrays, type FlitBuffer } from './flit-buffer.js';
import { FlowTable } from './flow-table.js';
import { KEY_RUN_FLOW, KEY_RUN_NONE, KEY_RUN_TUPLE, KeyRunScanner } from './key-run.js';
import { FrameCopier, WORD_COPY_MAX_BYTES } from './frame-copy.js';
import { notifyArrival } from './notification-queue.js';
import { RateLimiter } from './rate-limiter.js';
import { RxRing } from './rx-ring.js';
import { TxRequestQueue } from './tx-queue.js';

/** Bytes a frame may take in a pipe, rounded up to flits (the largest jumbo frame, 9018 B → 9024). */
const LOSSLESS_FRAME_BYTES = 9024;

/** Options of a {@link SoftNic}. */
export interface NicOptions {
  /** Flow-table slots (a power of two; holds 3/4 as many binds). Default 16384. */
  readonly flowTableSize?: number;
  /** Most RX pipes (RX and RX/TX) alive at once on this NIC. Default 4096. */
  readonly maxRxPipes?: number;
  /** Frames asked of a frame-by-frame port per poll. Default 512. */
  readonly rxBurst?: number;
  /** Bytes taken from a flit-block port per poll (at least one frame). Default 256 KiB. */
  readonly rxBurstBytes?: number;
  /** Flits per second at full rate, the base of rate limiting. Default 200e6 (Enso's). */
  readonly maxFlitRate?: number;
}

/** A port given to {@link SoftNic.open}: a spec string, an opened backend, or a spec with a role. */
export type PortSpec =
  | string
  | WireBackend
  | { readonly spec: string; readonly role?: PortRole; readonly options?: PortOptions };

/** Counters of a {@link SoftNic} (monotonic since it was created). */
export interface NicStats {
  /** Frames / bytes written into RX pipes. */
  rxFrames: number;
  rxBytes: number;
  /** Frames that matched no flow and found no fallback pipe. */
  rxNoPipe: number;
  /** Frames dropped because their pipe was full. */
  rxPipeFull: number;
  /** Frames dropped as malformed (shorter than 14 bytes, longer than 65535, bad block). */
  rxInvalid: number;
  /** Frames / bytes handed to ports for transmission. */
  txFrames: number;
  txBytes: number;
  /** Frames a port refused (its queue full or closed). */
  txDropped: number;
  /** Transmit requests cut short by a frame whose length is invalid (the rest is dropped). */
  txInvalid: number;
  /** Bytes of queued transmissions discarded because their pipe was released. */
  txAbortedBytes: number;
}

/**
 * Where transmitted frames come from: a TX pipe's buffer or an RX/TX pipe's ring. The NIC reads
 * frames from `buffer`, sends them on port `port`, and reports completed bytes in order.
 *
 * @internal
 */
export interface TxSource {
  /** Frame memory the requests point into. */
  readonly buffer: FlitBuffer;
  /** Index of the port the frames leave on. */
  readonly port: number;
  /** Whether transmitted frames' side entries are reset (TX pipes: raw writes must read 0). */
  readonly resetsSideData: boolean;
  /** The NIC finished sending `bytes` more bytes of this source's requests (in order). */
  onTxComplete(bytes: number): void;
}

const PORT_RX = 1;
const PORT_TX = 2;

function roleBits(role: PortRole): number {
  return role === 'rx' ? PORT_RX : role === 'tx' ? PORT_TX : PORT_RX | PORT_TX;
}

function largestPowerOfTwoAtMost(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n === 0 ? 0 : p;
}

/** The software NIC behind one or more `Device`s. */
export class SoftNic implements FlitSink {
  /** The ports, in port-index order. */
  readonly ports: readonly WireBackend[];
  /** {@inheritDoc FlitSink.lastFrames} */
  lastFrames = 0;
  /** {@inheritDoc FlitSink.lastFrameBytes} */
  lastFrameBytes = 0;

  private readonly portRoles: Int32Array;
  private readonly rxPorts: WireBackend[];
  private readonly flows: FlowTable;
  private readonly classifier = new FrameClassifier();
  private readonly copier = new FrameCopier();
  private readonly runs = new KeyRunScanner();
  /** How the last {@link steer} picked its pipe (`KEY_RUN_*`): which frames may follow it in a run. */
  private steeredBy = KEY_RUN_NONE;
  private readonly limiter = new RateLimiter();
  private readonly txQueue = new TxRequestQueue();
  private readonly clock: WallClock = { sec: 0, nsec: 0 };
  private readonly maxRxPipes: number;
  private readonly rxBurst: number;
  private readonly rxBurstBytes: number;
  private readonly maxFlitRate: number;

  private readonly rings: (RxRing | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private nextId = 0;
  private readonly fallbackRings: RxRing[] = [];
  private fallbackIds = new Int32Array(0);
  private fallbackUsed = 0;
  private roundRobin = false;
  private rrNext = 0;
  private rttOffset = -1;
  private nowCycles = 0;
  private readonly txSources: (TxSource | undefined)[] = [];
  private closed = false;
  // Results of countFrames.
  private countedFrames = 0;
  private countedBytes = 0;

  // One-entry flow cache: consecutive frames of one flow skip the hash probe.
  private flowVersion = 0;
  private cacheVersion = -1;
  private cacheDst = 0;
  private cacheSrc = 0;
  private cachePorts = 0;
  private cacheProto = 0;
  private cachePipe = -1;

  // DataView of the last buffer a port delivered frames from (ports reuse their buffers).
  private viewBuf: Uint8Array | null = null;
  private view: DataView | null = null;

  private counters: NicStats = {
    rxFrames: 0,
    rxBytes: 0,
    rxNoPipe: 0,
    rxPipeFull: 0,
    rxInvalid: 0,
    txFrames: 0,
    txBytes: 0,
    txDropped: 0,
    txInvalid: 0,
    txAbortedBytes: 0,
  };

  /**
   * Opens each port spec with `openPort` (role `rxtx` unless given) and returns a NIC over them,
   * port indices in the given order. Rejects when a spec cannot be opened (ports opened so far
   * are closed again).
   */
  static async open(ports: readonly PortSpec[], options: NicOptions = {}): Promise<SoftNic> {
    const backends: WireBackend[] = [];
    const roles: PortRole[] = [];
    const opened: WireBackend[] = [];
    try {
      for (const p of ports) {
        if (typeof p !== 'string' && 'poll' in p) {
          backends.push(p);
          roles.push('rxtx');
          continue;
        }
        const spec = typeof p === 'string' ? p : p.spec;
        const role = typeof p === 'string' ? 'rxtx' : (p.role ?? 'rxtx');
        const backend = await openPort(spec, role, typeof p === 'string' ? undefined : p.options);
        opened.push(backend);
        backends.push(backend);
        roles.push(role);
      }
      return new SoftNic(backends, options, roles);
    } catch (err) {
      await Promise.allSettled(opened.map((b) => b.close()));
      throw err;
    }
  }

  /**
   * Creates a NIC over already-opened ports. `roles[i]` says which directions port `i` is used
   * for (default `rxtx`). Throws a `RangeError` for bad options.
   */
  constructor(ports: readonly WireBackend[], options: NicOptions = {}, roles: readonly PortRole[] = []) {
    if (ports.length === 0) throw new RangeError('a NIC needs at least one port');
    this.ports = [...ports];
    this.portRoles = new Int32Array(ports.length);
    this.rxPorts = [];
    for (let i = 0; i < ports.length; i++) {
      this.portRoles[i] = roleBits(roles[i] ?? 'rxtx');
      if (this.portRoles[i] & PORT_RX) this.rxPorts.push(ports[i]);
    }
    this.flows = new FlowTable(options.flowTableSize ?? 16384);
    this.maxRxPipes = positiveInt(options.maxRxPipes ?? 4096, 'maxRxPipes');
    this.rxBurst = positiveInt(options.rxBurst ?? 512, 'rxBurst');
    this.rxBurstBytes = positiveInt(options.rxBurstBytes ?? 256 * 1024, 'rxBurstBytes');
    const rate = options.maxFlitRate ?? MAX_HARDWARE_FLIT_RATE;
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`maxFlitRate must be positive, got ${rate}`);
    this.maxFlitRate = rate;
  }

  /** True once every receiving port is exhausted (no frame will ever arrive again). */
  get exhausted(): boolean {
    for (const p of this.rxPorts) if (!p.exhausted) return false;
    return true;
  }

  /** True while transmit requests wait in the NIC (rate limiting). */
  get hasPendingTx(): boolean {
    return this.txQueue.length > 0;
  }

  /** Number of fallback pipes in use: the largest power of two not above those allocated. */
  get fallbackQueues(): number {
    return this.fallbackUsed;
  }

  /** Whether misses are spread over fallback pipes round robin (else by flow hash). */
  get roundRobinEnabled(): boolean {
    return this.roundRobin;
  }

  /** Offset of the timestamp/RTT field, or -1 when timestamping is off. */
  get timestampOffset(): number {
    return this.rttOffset;
  }

  /** Whether transmission is rate limited. */
  get rateLimited(): boolean {
    return this.limiter.enabled;
  }

  /**
   * Frames a lossless port may deliver now without any RX pipe overflowing: the free bytes of the
   * fullest pipe, counted in maximum-size frames (plus one frame of slack for an early wrap).
   */
  private losslessBudget(): number {
    let room = Number.MAX_SAFE_INTEGER;
    const rings = this.rings;
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i];
      if (r === undefined) continue;
      const free = r.size - r.distance(r.free, r.head) - FLIT_SIZE;
      if (free < room) room = free;
    }
    if (room === Number.MAX_SAFE_INTEGER) return this.rxBurst;
    const frames = Math.floor(room / LOSSLESS_FRAME_BYTES) - 1;
    return frames <= 0 ? 0 : frames < this.rxBurst ? frames : this.rxBurst;
  }

  /**
   * Moves ready frames from every receiving port into the RX pipes (up to the burst limits per
   * port) and advances rate-limited transmissions. Returns the number of frames taken from ports
   * (delivered or dropped). Never blocks.
   */
  poll(): number {
    if (this.closed) return 0;
    if (this.rttOffset >= 0) this.nowCycles = timestampCycles();
    let frames = 0;
    const ports = this.rxPorts;
    for (let i = 0; i < ports.length; i++) {
      const port = ports[i];
      if (port.lossless === true) {
        const budget = this.losslessBudget();
        if (budget > 0) frames += port.poll(this, budget);
        continue;
      }
      frames += port.pollFlits !== undefined ? port.pollFlits(this) : port.poll(this, this.rxBurst);
    }
    if (this.txQueue.length > 0) this.pumpTx();
    return frames;
  }

  /** A snapshot of the NIC's counters. */
  stats(): NicStats {
    return { ...this.counters };
  }

  /** Misses go to fallback pipes round robin (`true`) or by flow hash (`false`, the default). */
  setRoundRobin(on: boolean): void {
    this.roundRobin = on;
  }

  /**
   * Turns timestamping on: outgoing frames carry the cycle counter at `offset`, incoming frames
   * get the RTT there (see the module comment). `offset` is an integer from 0 to 60, as in Enso's
   * ensogen; anything else throws a `RangeError`.
   */
  enableTimeStamping(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset > 60) {
      throw new RangeError(`timestamp offset must be an integer in 0..60, got ${offset}`);
    }
    this.rttOffset = offset;
  }

  /** Turns timestamping off. */
  disableTimeStamping(): void {
    this.rttOffset = -1;
  }

  /** Limits transmission to `num / den` of the NIC's flit rate (see `rate-limiter.ts`). */
  enableRateLimiting(num: number, den: number): void {
    this.limiter.enable(num, den, this.maxFlitRate);
  }

  /** Removes the rate limit; queued requests leave on the next poll or transmit. */
  disableRateLimiting(): void {
    this.limiter.disable();
  }

  /**
   * Closes every port (pending transmissions are flushed first when not rate limited) and stops
   * polling. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.limiter.enabled) this.pumpTx();
    this.closed = true;
    await Promise.all(this.ports.map((p) => p.close()));
  }

  // ---- pipes (used by Device and the pipes; not part of the application API) ----

  /**
   * Allocates the ring of a new RX pipe. Throws when `maxRxPipes` pipes exist.
   *
   * @internal
   */
  allocateRxRing(size: number, fallback: boolean): RxRing {
    if (this.closed) throw new Error('the NIC is closed');
    let id: number;
    if (this.freeIds.length > 0) id = this.freeIds.pop() as number;
    else if (this.nextId < this.maxRxPipes) id = this.nextId++;
    else throw new RangeError(`no RX pipe left: the NIC allows ${this.maxRxPipes} (raise maxRxPipes)`);
    const ring = new RxRing(id, size, fallback);
    this.rings[id] = ring;
    if (fallback) {
      this.fallbackRings.push(ring);
      this.updateFallbacks();
    }
    return ring;
  }

  /**
   * Releases an RX pipe: its flow entries go, it stops being a fallback pipe, its id is reused.
   *
   * @internal
   */
  releaseRxRing(ring: RxRing): void {
    if (this.rings[ring.id] !== ring) return;
    this.rings[ring.id] = undefined;
    if (this.flows.removePipe(ring.id) > 0) this.flowVersion++;
    ring.release();
    const i = this.fallbackRings.indexOf(ring);
    if (i >= 0) {
      this.fallbackRings.splice(i, 1);
      this.updateFallbacks();
    }
    this.freeIds.push(ring.id);
  }

  /**
   * Adds a flow entry steering the 5-tuple to `ring` (host-order numbers). Throws a `RangeError`
   * for out-of-range fields or a full table.
   *
   * @internal
   */
  bind(ring: RxRing, dstPort: number, srcPort: number, dstIp: number, srcIp: number, protocol: number): void {
    checkField(dstPort, 0xffff, 'dstPort');
    checkField(srcPort, 0xffff, 'srcPort');
    checkField(dstIp, 0xffffffff, 'dstIp');
    checkField(srcIp, 0xffffffff, 'srcIp');
    checkField(protocol, 0xff, 'protocol');
    if (this.rings[ring.id] !== ring) throw new Error(`pipe ${ring.id} is no longer allocated`);
    this.flows.insert(dstIp, srcIp, dstPort, srcPort, protocol, ring.id);
    this.flowVersion++;
  }

  /**
   * Registers a transmit source and returns its id. Throws a `RangeError` when its port is not a
   * transmitting port.
   *
   * @internal
   */
  registerTxSource(source: TxSource): number {
    const port = source.port;
    if (!Number.isInteger(port) || port < 0 || port >= this.ports.length) {
      throw new RangeError(`port ${port} does not exist (the NIC has ${this.ports.length})`);
    }
    if ((this.portRoles[port] & PORT_TX) === 0) throw new RangeError(`port ${port} was opened for receive only`);
    this.txSources.push(source);
    return this.txSources.length - 1;
  }

  /**
   * Forgets a transmit source; its queued requests are discarded (counted in `txAbortedBytes`).
   *
   * @internal
   */
  unregisterTxSource(id: number): void {
    this.counters.txAbortedBytes += this.txQueue.discardSource(id);
    this.txSources[id] = undefined;
  }

  /**
   * Transmits bytes `[offset, offset + bytes)` of source `id`'s buffer (whole flit-aligned
   * frames). Without rate limiting and with nothing queued the frames leave now and completion is
   * reported before returning; otherwise the request is queued and progressed by `pumpTx`.
   *
   * @internal
   */
  transmit(id: number, offset: number, bytes: number): void {
    const source = this.txSources[id];
    if (source === undefined || bytes === 0) return;
    if (this.txQueue.length === 0 && !this.limiter.enabled) {
      this.sendRegion(source, offset, offset + bytes, false);
      source.onTxComplete(bytes);
      return;
    }
    this.txQueue.push(id, offset, bytes);
    this.pumpTx();
  }

  /**
   * Sends queued requests in order as far as the rate limit allows, reporting each completed one.
   *
   * @internal
   */
  pumpTx(): void {
    const q = this.txQueue;
    if (q.length === 0) return;
    const limited = this.limiter.enabled;
    if (limited) this.limiter.refill();
    while (q.length > 0) {
      const source = this.txSources[q.headSource()];
      if (source === undefined) {
        q.shift();
        continue;
      }
      const end = q.headEnd();
      const at = this.sendRegion(source, q.headCursor(), end, limited);
      if (at < end) {
        q.setHeadCursor(at);
        return;
      }
      const size = q.headSize();
      q.shift();
      source.onTxComplete(size);
    }
  }

  // ---- receive (FrameSink / FlitSink, called by ports) ----

  /** {@inheritDoc FrameSink.push} */
  push(buf: Uint8Array, offset: number, length: number, tsSec: number, tsNsec: number): boolean {
    const view = this.viewOf(buf);
    if (offset < 0 || offset + length > buf.length || length > MAX_FRAME_LENGTH) {
      this.counters.rxInvalid++;
      return false;
    }
    const id = this.steer(view, offset, length);
    if (id < 0) return false;
    const ring = this.rings[id] as RxRing;
    const need = (length + 63) & ~63;
    const dst = ring.reserve(need);
    if (dst < 0) {
      ring.drops++;
      this.counters.rxPipeFull++;
      return false;
    }
    this.copier.copy(buf, offset, ring.data, ring.data32, dst, length);
    const fi = dst >>> FLIT_SHIFT;
    ring.lens[fi] = length;
    if (tsSec < 0) {
      readWallClock(this.clock);
      tsSec = this.clock.sec;
      tsNsec = this.clock.nsec;
    }
    ring.tsSec[fi] = tsSec;
    ring.tsNsec[fi] = tsNsec;
    if (this.rttOffset >= 0) this.stampRtt(ring.data, dst, length);
    ring.frames++;
    ring.bytes += length;
    this.counters.rxFrames++;
    this.counters.rxBytes += length;
    notifyArrival(ring);
    return true;
  }

  /** {@inheritDoc FlitSink.pushFlits} */
  pushFlits(buf: Uint8Array, offset: number, nbBytes: number, lens: Uint16Array, tsSec: Uint32Array, tsNsec: Uint32Array): number {
    const end = offset + nbBytes;
    // A frame starting at or after this waits for the next poll (the first frame always goes).
    const startLimit = offset + this.rxBurstBytes;
    const view = this.viewOf(buf);
    const runs = this.runs;
    const rings = this.rings;
    let o = offset;
    let frames = 0;
    let frameBytes = 0;
    // The run of consecutive frames bound for one ring, contiguous on both sides: one copy.
    let run: RxRing | null = null;
    let runSrc = 0;
    let runDst = 0;
    let runLen = 0;
    let runFrames = 0;
    let runBytes = 0;
    while (o < end) {
      const len = lens[o >>> FLIT_SHIFT];
      const need = (len + 63) & ~63;
      if (o + need > end || (frames > 0 && o >= startLimit)) break;
      frames++;
      const id = len < MIN_FRAME_LENGTH ? this.badBlockEntry() : this.steer(view, o, len);
      const ring = id >= 0 ? (rings[id] as RxRing) : null;
      const dst = ring !== null ? ring.reserve(need) : -1;
      if (ring === null || dst < 0) {
        // Dropped (counted): the run cannot continue past a gap in the source.
        if (ring !== null) this.pipeFull(ring);
        if (run !== null) this.deliverRun(buf, lens, tsSec, tsNsec, run, runSrc, runDst, runLen, runFrames, runBytes);
        run = null;
        o += need > 0 ? need : 64;
        continue;
      }
      if (ring !== run || dst !== runDst + runLen) {
        if (run !== null) this.deliverRun(buf, lens, tsSec, tsNsec, run, runSrc, runDst, runLen, runFrames, runBytes);
        run = ring;
        runSrc = o;
        runDst = dst;
        runLen = 0;
        runFrames = 0;
        runBytes = 0;
      }
      runLen += need;
      runFrames++;
      runBytes += len;
      frameBytes += len;
      o += need;
      // Batch classification: the frames behind this one with its key join the run unsteered,
      // as far as the ring has contiguous room right after it.
      if (ring.head === dst + need) {
        const p = runs.scan(buf, lens, o - need, o, Math.min(end, o + ring.contiguousRoom()), startLimit, this.steeredBy);
        if (p > o) {
          ring.reserve(p - o);
          runLen += p - o;
          runFrames += runs.frames;
          runBytes += runs.bytes;
          frames += runs.frames;
          frameBytes += runs.bytes;
          o = p;
        }
      }
    }
    if (run !== null) this.deliverRun(buf, lens, tsSec, tsNsec, run, runSrc, runDst, runLen, runFrames, runBytes);
    this.lastFrames = frames;
    this.lastFrameBytes = frameBytes;
    return o - offset;
  }

  /** Counts a block entry shorter than an Ethernet header; it is skipped so the port progresses. */
  private badBlockEntry(): number {
    this.counters.rxInvalid++;
    return -1;
  }

  /** Counts a frame dropped because its pipe was full. */
  private pipeFull(ring: RxRing): void {
    ring.drops++;
    this.counters.rxPipeFull++;
  }

  /**
   * Picks the RX pipe for the frame at `[off, off + len)` of `view`: flow table, else a fallback
   * pipe. Returns the pipe id, or -1 when the frame was dropped (counted).
   *
   * Kept small so it inlines into the receive loops: an option-less, unfragmented IPv4 UDP or TCP
   * packet of the flow the previous packet belonged to skips classification, its key compared
   * exactly as `classify` would build it; everything else goes through {@link classifyAndSteer}.
   */
  private steer(view: DataView, off: number, len: number): number {
    if (len >= 48 && this.cacheVersion === this.flowVersion && this.cachePipe >= 0) {
      const ethVerIhl = view.getInt32(off + 12) >> 8; // EtherType, version, IHL
      const fragProto = view.getInt32(off + 20) & 0x1fff00ff; // fragment offset, protocol
      if (ethVerIhl === 0x080045 && fragProto === this.cacheProto && view.getInt32(off + 30) === this.cacheDst) {
        const ports = view.getInt32(off + 34);
        if (fragProto === 17 && ports << 16 === this.cachePorts) {
          this.steeredBy = KEY_RUN_FLOW;
          return this.cachePipe;
        }
        if (
          fragProto === 6 &&
          (view.getUint8(off + 47) & 0x02) === 0 &&
          ((ports << 16) | (ports >>> 16)) === this.cachePorts &&
          view.getInt32(off + 26) === this.cacheSrc
        ) {
          this.steeredBy = KEY_RUN_FLOW;
          return this.cachePipe;
        }
      }
    }
    return this.classifyAndSteer(view, off, len);
  }

  /** The full path of {@link steer}: validate, classify, look up (caching the result), fall back. */
  private classifyAndSteer(view: DataView, off: number, len: number): number {
    this.steeredBy = KEY_RUN_NONE;
    if (len < MIN_FRAME_LENGTH || len > MAX_FRAME_LENGTH) {
      this.counters.rxInvalid++;
      return -1;
    }
    const cls = this.classifier;
    const kind = cls.classify(view, off, len);
    if (kind === FRAME_IPV4 && this.flows.size > 0) {
      let id: number;
      if (
        cls.keyDstIp === this.cacheDst &&
        cls.keyPorts === this.cachePorts &&
        cls.keySrcIp === this.cacheSrc &&
        cls.keyProtocol === this.cacheProto &&
        this.cacheVersion === this.flowVersion
      ) {
        id = this.cachePipe;
      } else {
        id = this.flows.lookup(cls.keyDstIp, cls.keySrcIp, cls.keyPorts, cls.keyProtocol);
        this.cacheVersion = this.flowVersion;
        this.cacheDst = cls.keyDstIp;
        this.cacheSrc = cls.keySrcIp;
        this.cachePorts = cls.keyPorts;
        this.cacheProto = cls.keyProtocol;
        this.cachePipe = id;
      }
      if (id >= 0) {
        this.steeredBy = KEY_RUN_FLOW;
        return id;
      }
    }
    const n = this.fallbackUsed;
    if (n === 0) {
      this.counters.rxNoPipe++;
      return -1;
    }
    if (this.roundRobin) return this.fallbackIds[this.rrNext++ & (n - 1)];
    this.steeredBy = KEY_RUN_TUPLE;
    return this.fallbackIds[cls.fallbackHash() & (n - 1)];
  }

  /**
   * Copies a run of `frames` frames (`bytes` long in all, `len` bytes of flits) from `buf` at
   * `src` into `ring` at `dst`, with their side entries; stamps RTTs; notifies the pipe.
   */
  private deliverRun(
    buf: Uint8Array,
    lens: Uint16Array,
    tsSec: Uint32Array,
    tsNsec: Uint32Array,
    ring: RxRing,
    src: number,
    dst: number,
    len: number,
    frames: number,
    bytes: number,
  ): void {
    if (len <= WORD_COPY_MAX_BYTES || (frames === 1 && buf.buffer !== ring.chunk.shared)) {
      // A short run (frames spread over several pipes) or one frame from outside the arena: copy
      // it without the four copyWithin calls or making views.
      this.copier.copy(buf, src, ring.data, ring.data32, dst, len);
      for (let sf = src >>> FLIT_SHIFT, df = dst >>> FLIT_SHIFT, n = df + (len >>> FLIT_SHIFT); df < n; sf++, df++) {
        ring.lens[df] = lens[sf];
        ring.tsSec[df] = tsSec[sf];
        ring.tsNsec[df] = tsNsec[sf];
      }
    } else {
      copyFlitArrays(buf, lens, tsSec, tsNsec, src, ring, dst, len);
    }
    if (this.rttOffset >= 0) {
      for (let o = dst, end = dst + len; o < end; ) {
        const n = ring.lens[o >>> FLIT_SHIFT];
        this.stampRtt(ring.data, o, n);
        o += (n + 63) & ~63;
      }
    }
    ring.frames += frames;
    ring.bytes += bytes;
    this.counters.rxFrames += frames;
    this.counters.rxBytes += bytes;
    notifyArrival(ring);
  }

  /** A `DataView` of `buf`, made when a port hands over a buffer other than the last one. */
  private viewOf(buf: Uint8Array): DataView {
    if (buf !== this.viewBuf) {
      this.viewBuf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.view as DataView;
  }

  /** Replaces the TX timestamp at the RTT offset of a received frame by the RTT in cycles. */
  private stampRtt(data: Uint8Array, off: number, len: number): void {
    const at = this.rttOffset;
    if (len < at + 4) return;
    const p = off + at;
    const sent = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
    const rtt = (this.nowCycles - sent) >>> 0;
    data[p] = rtt >>> 24;
    data[p + 1] = (rtt >>> 16) & 255;
    data[p + 2] = (rtt >>> 8) & 255;
    data[p + 3] = rtt & 255;
  }

  // ---- transmit ----

  /**
   * Sends the frames in `[start, end)` of `source`'s buffer, stopping early only when `limited`
   * and the rate limiter is empty. Returns where it stopped (`end` when done). A frame whose length
   * is invalid ends the request: the rest is dropped and `txInvalid` counted.
   */
  private sendRegion(source: TxSource, start: number, end: number, limited: boolean): number {
    const buffer = source.buffer;
    const data = buffer.data;
    const lens = buffer.lens;
    const tsSec = buffer.tsSec;
    const tsNsec = buffer.tsNsec;
    const port = this.ports[source.port];
    const sendFlits = port.sendFlits;
    const block = sendFlits !== undefined;
    const stampAt = this.rttOffset;
    // TX pipes hold frames the application wrote: lengths may be 0 (IPv4 header) and timestamps
    // unset. RX/TX pipes send what the NIC received: both are always set.
    const written = source.resetsSideData;
    let nowSec = 0;
    let nowNsec = 0;
    if (written) {
      readWallClock(this.clock);
      nowSec = this.clock.sec;
      nowNsec = this.clock.nsec;
    }
    const cycles = stampAt >= 0 ? timestampCycles() : 0;
    let o = start;
    let frames = 0;
    let frameBytes = 0;
    let invalid = false;
    if (block && !written && !limited && stampAt < 0) {
      // An RX/TX pipe's frames to a block port, nothing to stamp or pace: only count them.
      o = this.countFrames(lens, start, end);
      frames = this.countedFrames;
      frameBytes = this.countedBytes;
      invalid = o < end;
    }
    while (o < end && !invalid) {
      if (limited && !this.limiter.canSend()) break;
      const li = o >>> FLIT_SHIFT;
      let len = lens[li];
      if (written) {
        if (len === 0) {
          // Enso-compatible: a frame written without a recorded length is sized by its IPv4 header.
          len = o + 18 <= end && data[o + 12] === 0x08 && data[o + 13] === 0x00 ? ((data[o + 16] << 8) | data[o + 17]) + 14 : 0;
          if (len > MAX_FRAME_LENGTH) len = 0;
          lens[li] = len;
          tsSec[li] = NO_TIMESTAMP;
        }
        if (tsSec[li] === NO_TIMESTAMP) {
          tsSec[li] = nowSec;
          tsNsec[li] = nowNsec;
        }
      }
      const need = (len + 63) & ~63;
      if (len < MIN_FRAME_LENGTH || o + need > end) {
        invalid = true;
        break;
      }
      if (stampAt >= 0 && len >= stampAt + 4) {
        const p = o + stampAt;
        data[p] = cycles >>> 24;
        data[p + 1] = (cycles >>> 16) & 255;
        data[p + 2] = (cycles >>> 8) & 255;
        data[p + 3] = cycles & 255;
      }
      if (limited) this.limiter.consume(need >>> FLIT_SHIFT);
      if (!block && !port.send(data, o, len, tsSec[li], tsNsec[li])) this.counters.txDropped++;
      frames++;
      frameBytes += len;
      o += need;
    }
    const c = this.counters;
    c.txFrames += frames;
    c.txBytes += frameBytes;
    if (sendFlits !== undefined && frames > 0) {
      c.txDropped += frames - sendFlits.call(port, buffer, start, o - start, frames, frameBytes);
    }
    if (frames > 0) port.flush();
    if (written) {
      // Reset what was consumed so the next raw write at these flits reads length 0.
      const stop = invalid ? end : o;
      lens.fill(0, start >>> FLIT_SHIFT, stop >>> FLIT_SHIFT);
      tsSec.fill(NO_TIMESTAMP, start >>> FLIT_SHIFT, stop >>> FLIT_SHIFT);
    }
    if (invalid) {
      c.txInvalid++;
      return end;
    }
    return o;
  }

  /**
   * Walks the frames recorded in `lens` from `start` while they are valid and end by `end`;
   * returns where it stopped, with their count and total length in `countedFrames` / `countedBytes`.
   */
  private countFrames(lens: Uint16Array, start: number, end: number): number {
    let o = start;
    let frames = 0;
    let bytes = 0;
    while (o < end) {
      const len = lens[o >>> FLIT_SHIFT];
      const need = (len + 63) & ~63;
      if (len < MIN_FRAME_LENGTH || o + need > end) break;
      frames++;
      bytes += len;
      o += need;
    }
    this.countedFrames = frames;
    this.countedBytes = bytes;
    return o;
  }

  private updateFallbacks(): void {
    // Enso's hardware uses only the first power-of-two many fallback pipes allocated.
    const n = largestPowerOfTwoAtMost(this.fallbackRings.length);
    this.fallbackIds = new Int32Array(n);
    for (let i = 0; i < n; i++) this.fallbackIds[i] = this.fallbackRings[i].id;
    this.fallbackUsed = n;
  }
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function checkField(v: number, max: number, name: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} must be an integer in 0..${max}, got ${v}`);
}
