/**
 * The `gen:<spec>` port: a packet generator in the spirit of EnsoGen. RX produces frames from a
 * template arena built once at open (or replays a pcap file), rate-limited by a token bucket; TX
 * counts and discards what it is given, like EnsoGen's receive side.
 *
 * @module
 */
import type { FlitBuffer } from '../flit-buffer.js';
import { TemplateArena } from './gen-arena.js';
import { chooseFlows } from './gen-flows.js';
import { patchWord32 } from './gen-frames.js';
import { DEFAULT_BURST_MS, TokenBucket } from './gen-rate.js';
import { parseGenSpec, type GenSpec } from './gen-spec.js';
import type { CaptureReader, CaptureReaderOptions } from './pcap-capture-reader.js';
import { openCaptureReader } from './pcap.js';
import type { FrameSink, WireBackend, WireStats } from './types.js';

/** Options of a generator port. */
export interface GenOptions extends CaptureReaderOptions {
  /**
   * Monotonic clock in milliseconds for the rate limit (default `performance.now`, which reads the
   * same high-resolution monotonic clock as `process.hrtime` without allocating).
   */
  clock?: () => number;
  /** Token-bucket depth in milliseconds of the rate (default 10). */
  burstMs?: number;
}

/**
 * A generator port. Each `poll` offers up to `max` frames (fewer when the rate limit or `count`
 * says so), all stamped with the poll's wall-clock time. Synthesised frames come from a template
 * arena built at open (`gen-arena.ts`): per frame the only work is picking the next (flow, size)
 * template, plus the sequence stamp with `stamp=seq`. Flows rotate on every frame and sizes follow the weighted
 * cycle on every frame (so any window of one cycle has the exact size mix); the flows step by one
 * extra every lcm(flows, cycle) frames so every flow is, over time, sent at every size.
 */
export class GenBackend implements WireBackend {
  /** `gen:<spec>`. */
  readonly spec: string;
  /** Always `gen`. */
  readonly kind = 'gen';
  /** An unpaced generator waits for room in the NIC's pipes; a paced one models a wire and may be dropped. */
  readonly lossless: boolean;
  /**
   * Frames stay put while it polls: templates change only under `stamp=seq`, and a replayed
   * capture's window only on a refill; the sink is settled before either.
   */
  readonly stableFrames = true;
  /** The parsed spec. */
  readonly config: GenSpec;
  private readonly arena: TemplateArena | null; // frame templates; null when replaying a pcap
  /** Frames generated so far (offered to a sink). */
  generated = 0;
  /** Completed passes over the replayed pcap. */
  loops = 0;
  private readonly reader: CaptureReader | null;
  private readonly bucket: TokenBucket | null;
  private readonly bitsCost: boolean; // rate in bits: a frame costs 8 x its bytes
  private readonly clock: () => number;
  private done = false;
  private flow = 0;
  private slot = 0; // position in the size schedule
  private block = 0; // frames since the last pairing shift
  private readonly period: number; // lcm(flows, schedule length)
  private loopStartPackets = 0;
  /** The sink of the poll in progress (settled before a template or the replay window changes), else null. */
  private sink: FrameSink | null = null;
  /** Where {@link GenBackend.listFrames} lists a poll's frames: arena offset, length, flow (grown to the largest poll). */
  private burstOffsets = new Uint32Array(0);
  private burstLengths = new Uint32Array(0);
  private burstFlows = new Uint32Array(0);
  private rxPackets = 0;
  private rxBytes = 0;
  private rxDropped = 0;
  private txPackets = 0;
  private txBytes = 0;

  /** Opens a generator for `spec` (the text after `gen:`); see {@link createGenBackend}. */
  constructor(spec: string, options: GenOptions = {}) {
    this.spec = `gen:${spec}`;
    const cfg = parseGenSpec(spec);
    this.config = cfg;
    const clock = options.clock ?? (() => performance.now());
    if (typeof clock !== 'function') throw new Error('gen: the clock option must be a function returning milliseconds');
    this.clock = clock;
    if (cfg.pcap !== null) {
      this.reader = openCaptureReader(cfg.pcap, options);
      this.reader.beforeMove = () => this.sink?.settle?.();
      this.arena = null;
    } else {
      this.reader = null;
      TemplateArena.bytesFor(cfg.flows, cfg.sizes); // refuse an oversized spec before choosing flows
      this.arena = new TemplateArena(chooseFlows(cfg), cfg.sizes, cfg.smac, cfg.dmac);
    }
    const cycle = this.arena === null ? 1 : this.arena.schedule.length;
    this.period = (cfg.flows / gcd(cfg.flows, cycle)) * cycle;
    const rate = cfg.rate;
    this.bitsCost = rate.kind === 'bps';
    this.lossless = rate.kind === 'unlimited';
    this.bucket =
      rate.kind === 'unlimited' ? null : new TokenBucket(rate.value, options.burstMs ?? DEFAULT_BURST_MS, this.clock());
  }

  /** True once `count` frames were generated, the replay's loops are done, or the port is closed. */
  get exhausted(): boolean {
    return this.done;
  }

  /**
   * Offers up to `max` frames to `sink` and returns how many were offered; 0 when the rate limit
   * allows none yet or the generator is exhausted. Refused frames count in `rxDropped`.
   */
  poll(sink: FrameSink, max: number): number {
    if (this.done) return 0;
    let limit = this.config.count - this.generated;
    if (max < limit) limit = max;
    const bucket = this.bucket;
    if (bucket !== null) {
      bucket.refill(this.clock());
      if (!bucket.ready()) return 0;
    }
    const wallMs = performance.timeOrigin + performance.now();
    const tsSec = Math.floor(wallMs / 1000);
    const tsNsec = Math.floor((wallMs - tsSec * 1000) * 1e6);
    this.sink = sink;
    const n =
      this.reader === null
        ? this.pollArena(sink, limit, tsSec, tsNsec)
        : this.pollReplay(sink, limit, tsSec, tsNsec);
    this.sink = null;
    this.generated += n;
    if (this.generated >= this.config.count) this.done = true;
    return n;
  }

  /**
   * Lists the next `n` frames of the rotation (flows turn on every frame, sizes follow the schedule)
   * into {@link GenBackend.burstOffsets}, `burstLengths` and `burstFlows`, and moves the rotation on.
   */
  private listFrames(n: number): void {
    const a = this.arena as TemplateArena;
    const { offset, size, schedule, slots, flows } = a;
    if (this.burstOffsets.length < n) {
      this.burstOffsets = new Uint32Array(n);
      this.burstLengths = new Uint32Array(n);
      this.burstFlows = new Uint32Array(n);
    }
    const offs = this.burstOffsets;
    const lens = this.burstLengths;
    const flowOf = this.burstFlows;
    const cycle = schedule.length;
    const period = this.period;
    let f = this.flow;
    let s = this.slot;
    let b = this.block;
    for (let i = 0; i < n; i++) {
      const sizeSlot = schedule[s];
      offs[i] = offset[f * slots + sizeSlot];
      lens[i] = size[sizeSlot];
      flowOf[i] = f;
      if (++s === cycle) s = 0;
      if (++f === flows) f = 0;
      if (++b === period) {
        // After lcm(flows, cycle) frames the (flow, size) pairing would repeat: step the flows by
        // one so, over time, every flow is sent at every size.
        b = 0;
        if (++f === flows) f = 0;
      }
    }
    this.flow = f;
    this.slot = s;
    this.block = b;
  }

  /**
   * Offers the next frames of the rotation, as many as `limit` and the rate allow: in one
   * `pushBurst` call to a sink that has it (the manager copies them in one native call), else frame
   * by frame (and so always with `stamp=seq`, which rewrites a template per frame).
   */
  private pollArena(sink: FrameSink, limit: number, tsSec: number, tsNsec: number): number {
    const a = this.arena as TemplateArena;
    const bucket = this.bucket;
    let n = limit;
    if (bucket !== null) {
      // The frames the rate allows now, each costing its size in bits (or 1 for a rate in pps).
      const { size, schedule } = a;
      const bits = this.bitsCost;
      let s = this.slot;
      n = 0;
      while (n < limit && bucket.ready()) {
        bucket.spend(bits ? size[schedule[s]] * 8 : 1);
        n++;
        if (++s === schedule.length) s = 0;
      }
    }
    if (n <= 0) return 0;
    this.listFrames(n);
    const offs = this.burstOffsets;
    const lens = this.burstLengths;
    const stamp = this.config.stamp === 'seq';
    if (!stamp && sink.pushBurst !== undefined) {
      const took = sink.pushBurst(a.buf, offs, lens, n, tsSec, tsNsec);
      this.rxPackets += took;
      this.rxBytes += sink.lastBurstBytes ?? 0;
      this.rxDropped += n - took;
      return n;
    }
    const flowOf = this.burstFlows;
    const flows = a.flows;
    let unsettled = 0; // stamped frames pushed since the sink last settled
    for (let i = 0; i < n; i++) {
      const at = offs[i];
      const len = lens[i];
      if (stamp) {
        // A stamp rewrites the flow's template: one pushed earlier in this poll must be copied
        // first. A flow comes round again no sooner than flows - 1 frames later.
        if (unsettled >= flows - 1 && unsettled > 0) {
          sink.settle?.();
          unsettled = 0;
        }
        unsettled++;
        const f = flowOf[i];
        patchWord32(a.view, at + a.payloadAt[f], this.generated + i, at + a.checksumAt[f], a.isUdp[f] === 1);
      }
      if (sink.push(a.buf, at, len, tsSec, tsNsec)) {
        this.rxPackets++;
        this.rxBytes += len;
      } else {
        this.rxDropped++;
      }
    }
    return n;
  }

  private pollReplay(sink: FrameSink, limit: number, tsSec: number, tsNsec: number): number {
    const r = this.reader as CaptureReader;
    const bucket = this.bucket;
    const bits = this.bitsCost;
    let n = 0;
    while (n < limit) {
      if (bucket !== null && !bucket.ready()) break;
      if (!r.next()) {
        this.loops++;
        const empty = r.packets === this.loopStartPackets;
        if (empty || (this.config.loop !== 0 && this.loops >= this.config.loop)) {
          this.done = true;
          break;
        }
        r.rewind();
        this.loopStartPackets = r.packets;
        continue;
      }
      const len = r.length;
      if (bucket !== null) bucket.spend(bits ? len * 8 : 1);
      if (sink.push(r.data, r.offset, len, tsSec, tsNsec)) {
        this.rxPackets++;
        this.rxBytes += len;
      } else {
        this.rxDropped++;
      }
      n++;
    }
    return n;
  }

  /** Counts and discards one frame (the generator's receive side); always returns true. */
  send(_buf: Uint8Array, _offset: number, length: number, _tsSec: number, _tsNsec: number): boolean {
    this.txPackets++;
    this.txBytes += length;
    return true;
  }

  /** Counts and discards a block of `nbFrames` frames holding `frameBytes` bytes; returns `nbFrames`. */
  sendFlits(_src: FlitBuffer, _offset: number, _nbBytes: number, nbFrames: number, frameBytes: number): number {
    this.txPackets += nbFrames;
    this.txBytes += frameBytes;
    return nbFrames;
  }

  /** Nothing is buffered. */
  flush(): void {}

  /** Stops generating and closes a replayed file; safe to call twice. */
  async close(): Promise<void> {
    this.done = true;
    this.reader?.close();
  }

  /** A snapshot of the counters (`errors`: malformed records in a replayed pcap). */
  stats(): WireStats {
    return {
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      txPackets: this.txPackets,
      txBytes: this.txBytes,
      rxDropped: this.rxDropped,
      txDropped: 0,
      errors: this.reader === null ? 0 : this.reader.errors,
    };
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Opens the port `gen:<spec>`; `spec` is the text after `gen:` (see {@link parseGenSpec} for the
 * keys). Frame templates and flows are built here, once. Throws an Error naming the key and its
 * accepted values for a bad spec, or naming the file when `pcap=PATH` cannot be read.
 */
export function createGenBackend(spec: string, options: GenOptions = {}): WireBackend {
  return new GenBackend(spec, options);
}
