/**
 * The `afpacket:<ifname>` port: a live Linux interface through AF_PACKET sockets with mmap'ed rings
 * (see `AfPacketSocket` in `@gnet/manager-native`). One native call copies a batch of received
 * frames out of the kernel ring into a staging buffer laid out in flits, as Enso pipes hold them,
 * which the NIC takes in one block (`pollFlits`) or frame by frame (`poll`). A block of frames from
 * a TX pipe goes to the kernel in one native call (`sendFlits`): by `sendmmsg` by default (`txCopy`),
 * or through the mmap'ed TX ring; single frames (`send`) are staged into a batch that `flush` hands
 * over in one call.
 *
 * Several queues (sockets of one PACKET_FANOUT group) can share an interface like NIC RSS queues:
 * within one backend (`queues`), or across backends, threads and processes (`fanoutGroup`).
 *
 * @module
 */
import { AfPacketSocket, type AfPacketStats, type FanoutMode } from '@gnet/manager-native';
import { FlitBuffer } from '../flit-buffer.js';
import { FrameBatch, alignFlit } from './afpacket-batch.js';
import { BURST_LIST, BurstList } from './burst-list.js';
import type { FlitSink, FrameSink, PortRole, WireBackend, WireStats } from './types.js';

const ETH_HEADER = 14;
const VLAN_TAG = 4;
// Room for one GRO-coalesced frame on top of the batch, so any frame fits an empty staging buffer.
const MAX_COALESCED_FRAME = 65536;
// RX ring geometry (see AfPacketOptions): blocks that hold a coalesced frame, and enough of them
// (measured with the veth echo bench at 0.26-0.4 Mpps: 64 blocks of 256 KiB lost 2-22% of frames,
// 256 of 128 KiB none).
const DEFAULT_BLOCK_BYTES = 128 * 1024;
const DEFAULT_BLOCKS = 256;

/** Options of {@link createAfPacketBackend}. */
export interface AfPacketOptions {
  /** Sockets this port receives on, in one fanout group, polled in turn. Default 1. */
  queues?: number;
  /** Fanout group to join or create, so several ports (in any thread or process) share the interface's traffic. */
  fanoutGroup?: number;
  /** How the fanout group spreads frames. Default `hash` (flows stay on one queue). */
  fanoutMode?: FanoutMode;
  /** Network namespace the interface lives in (a name from `ip netns`); needs CAP_SYS_ADMIN. */
  netns?: string;
  /** Receive frames not addressed to the interface. Default true. */
  promisc?: boolean;
  /** Frames per native call, in each direction. Default 256. */
  batchSize?: number;
  /** RX ring block size in bytes (power of two, page multiple); bounds the longest frame received. Default 128 KiB (any 64 KiB GRO/TSO frame fits). */
  ringBlockSize?: number;
  /**
   * RX ring blocks per queue. A block is handed over when full or when its retire timer runs out,
   * so at moderate rates each block holds about `retireTimeoutMs` of traffic and the block count,
   * not the ring's bytes, bounds how long the reader may fall behind before the kernel drops.
   * Default 256 (with the default block size, 32 MiB per queue).
   */
  ringBlocks?: number;
  /** Milliseconds before the kernel hands over a partly filled RX block. Default 1. */
  retireTimeoutMs?: number;
  /** TX slot size in bytes, ring header included; bounds the largest frame sent. Default 2048. */
  frameSize?: number;
  /** TX ring slots. Default 1024. */
  txFrames?: number;
  /** Bypass the interface's qdisc on transmit. Default false. */
  qdiscBypass?: boolean;
  /**
   * Transmit with `sendmmsg()` from the NIC's memory, the kernel copying each frame, instead of
   * through a TX ring (`AfPacketSocketOptions.txCopy`). Default true: a TX ring's frames are
   * zero-copy page fragments that veth copies into freshly allocated pages, and an echo over veth
   * measured about 5% less forwarding CPU per frame near its no-loss rate (0.5 Mpps) and less loss
   * in overload with `sendmmsg`. Frames the kernel refuses are dropped (counted), not kept queued.
   * Set false for a TX ring; `frameSize` and `txFrames` only apply then.
   */
  txCopy?: boolean;
}

/** A live-interface port: a {@link WireBackend} with the details of its sockets. */
export interface AfPacketBackend extends WireBackend {
  /** Always `afpacket`. */
  readonly kind: 'afpacket';
  /** The interface. */
  readonly ifname: string;
  /** Receive sockets (0 for a transmit-only port). */
  readonly queues: number;
  /** The fanout group the receive sockets are in, or null with a single queue and no group asked for. */
  readonly fanoutGroup: number | null;
  /** Per-socket counters (receive queues first; a transmit-only socket last), including kernel drops. */
  socketStats(): AfPacketStats[];
  /**
   * Sleeps until a receive queue has frames, or `timeoutMs` passes (-1: no limit); true when frames
   * wait. A forwarder that calls it whenever `poll`/`pollFlits` come back empty leaves the CPU to the
   * kernel's receive processing (softirq, often on the same core) instead of spinning on an empty ring.
   */
  wait(timeoutMs: number): boolean;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`afpacket: ${name} must be a positive integer`);
  return value;
}

/**
 * Opens `ifname` as a port for `role`. Receive sockets exist only for `rx`/`rxtx`, a TX ring only
 * for `tx`/`rxtx` (on the first socket).
 * @throws AfPacketError (from `@gnet/manager-native`) naming the interface: no CAP_NET_RAW (run as root or
 *   `setcap cap_net_raw+ep $(readlink -f $(which node))`), no such interface, or not Linux.
 */
export function createAfPacketBackend(ifname: string, role: PortRole, options: AfPacketOptions = {}): AfPacketBackend {
  return new AfPacketPort(ifname, role, options);
}

class AfPacketPort implements AfPacketBackend {
  readonly spec: string;
  readonly kind = 'afpacket' as const;
  /** A poll pushes frames of one staging fill, refilled only by the next poll. */
  readonly stableFrames = true;
  readonly ifname: string;
  readonly exhausted = false;
  readonly fanoutGroup: number | null;

  private readonly rxSockets: AfPacketSocket[] = [];
  private readonly txSocket: AfPacketSocket | null = null;
  private readonly sockets: AfPacketSocket[] = [];
  private readonly batchSize: number;
  private nextQueue = 0;
  private closed = false;

  // Receive staging in flit layout, in the NIC's arena so its block copies allocate nothing: the
  // frames of the last native read lie in rx.data[rxStart, rxEnd).
  private readonly rx: FlitBuffer | null = null;
  private rxStart = 0;
  private rxEnd = 0;
  private readonly txBatch: FrameBatch | null = null;
  private readonly maxTxFrame: number = 0;

  private rxPackets = 0;
  private rxBytes = 0;
  private rxRefused = 0;
  /** Where {@link AfPacketPort.pollBursts} lists frames (made on first use). */
  private list: BurstList | null = null;
  private txRefused = 0;
  private malformed = 0;

  constructor(ifname: string, role: PortRole, options: AfPacketOptions) {
    this.ifname = ifname;
    this.spec = `afpacket:${ifname}`;
    this.batchSize = positiveInt(options.batchSize, 256, 'batchSize');
    const queues = role === 'tx' ? 0 : positiveInt(options.queues, 1, 'queues');
    const wantsTx = role !== 'rx';
    const fanout = queues > 1 || options.fanoutGroup !== undefined || options.fanoutMode !== undefined;
    const common = {
      netns: options.netns,
      promisc: options.promisc ?? true,
      ringBlockSize: options.ringBlockSize ?? DEFAULT_BLOCK_BYTES,
      ringBlocks: options.ringBlocks ?? DEFAULT_BLOCKS,
      retireTimeoutMs: options.retireTimeoutMs,
      frameSize: options.frameSize,
      txFrames: options.txFrames,
      qdiscBypass: options.qdiscBypass,
      txCopy: options.txCopy ?? true,
    };
    try {
      let group = options.fanoutGroup;
      for (let q = 0; q < queues; q++) {
        const sock = AfPacketSocket.open(ifname, {
          ...common,
          rx: true,
          tx: wantsTx && q === 0,
          ...(fanout ? { fanoutGroup: group, fanoutMode: options.fanoutMode ?? 'hash' } : {}),
        });
        this.sockets.push(sock);
        this.rxSockets.push(sock);
        // The first socket may have created the group; the others join it by its id.
        if (fanout && group === undefined) group = sock.fanoutGroup ?? undefined;
      }
      if (wantsTx) {
        this.txSocket = this.rxSockets[0] ?? AfPacketSocket.open(ifname, { ...common, rx: false, tx: true });
        if (this.rxSockets.length === 0) this.sockets.push(this.txSocket);
      }
      this.fanoutGroup = this.rxSockets[0]?.fanoutGroup ?? null;
    } catch (err) {
      for (const s of this.sockets) s.close();
      throw err;
    }

    if (queues > 0) {
      this.rx = new FlitBuffer(this.batchSize * alignFlit(Math.max(options.frameSize ?? 2048, 2048)) + MAX_COALESCED_FRAME);
    }
    if (this.txSocket) {
      this.maxTxFrame = this.txSocket.maxFrameLength;
      this.txBatch = new FrameBatch(this.batchSize, this.batchSize * alignFlit(this.maxTxFrame + VLAN_TAG));
    }
  }

  get queues(): number {
    return this.rxSockets.length;
  }

  /** Refills the staging buffer from the next queue that has frames; false when none has. */
  private refill(): boolean {
    const nq = this.rxSockets.length;
    this.rxStart = 0;
    this.rxEnd = 0;
    for (let k = 0; k < nq; k++) {
      const sock = this.rxSockets[this.nextQueue];
      // Rotate so that every queue is read in turn, not always the first with frames.
      this.nextQueue = this.nextQueue + 1 === nq ? 0 : this.nextQueue + 1;
      const rx = this.rx as FlitBuffer;
      const bytes = sock.rxFlits(rx.data, rx.lens, rx.tsSec, rx.tsNsec, this.batchSize);
      if (bytes > 0) {
        this.rxEnd = bytes;
        return true;
      }
    }
    return false;
  }

  poll(sink: FrameSink, max: number): number {
    const rx = this.rx;
    if (this.closed || rx === null) return 0;
    if (sink.pushBurst !== undefined) return this.pollBursts(sink, max, rx);
    const lens = rx.lens;
    let n = 0;
    while (n < max) {
      if (this.rxStart >= this.rxEnd && (n > 0 || !this.refill())) break;
      const o = this.rxStart;
      const fi = o >>> 6;
      const len = lens[fi];
      if (sink.push(rx.data, o, len, rx.tsSec[fi], rx.tsNsec[fi])) {
        this.rxPackets++;
        this.rxBytes += len;
      } else {
        this.rxRefused++;
      }
      this.rxStart = o + alignFlit(len);
      n++;
    }
    return n;
  }

  /** {@link AfPacketPort.poll} into a sink that takes bursts: the frames of one staging fill, up to {@link BURST_LIST} per call. */
  private pollBursts(sink: FrameSink, max: number, rx: FlitBuffer): number {
    if (this.rxStart >= this.rxEnd && !this.refill()) return 0;
    const list = (this.list ??= new BurstList());
    const lens = rx.lens;
    let n = 0;
    while (n < max && this.rxStart < this.rxEnd) {
      let k = 0;
      while (k < BURST_LIST && n + k < max && this.rxStart < this.rxEnd) {
        const o = this.rxStart;
        const fi = o >>> 6;
        const len = lens[fi];
        list.offsets[k] = o;
        list.lengths[k] = len;
        list.tsSec[k] = rx.tsSec[fi];
        list.tsNsec[k] = rx.tsNsec[fi];
        this.rxStart = o + alignFlit(len);
        k++;
      }
      const took = (sink.pushBurst as NonNullable<FrameSink['pushBurst']>)(rx.data, list.offsets, list.lengths, k, 0, 0, list.tsSec, list.tsNsec);
      this.rxPackets += took;
      this.rxBytes += sink.lastBurstBytes ?? 0;
      this.rxRefused += k - took;
      n += k;
    }
    return n;
  }

  pollFlits(sink: FlitSink): number {
    const rx = this.rx;
    if (this.closed || rx === null) return 0;
    if (this.rxStart >= this.rxEnd && !this.refill()) return 0;
    const taken = sink.pushFlits(rx.data, this.rxStart, this.rxEnd - this.rxStart, rx.lens, rx.tsSec, rx.tsNsec);
    this.rxStart += taken;
    this.rxPackets += sink.lastFrames;
    this.rxBytes += sink.lastFrameBytes;
    return sink.lastFrames;
  }

  send(buf: Uint8Array, offset: number, length: number, _tsSec: number, _tsNsec: number): boolean {
    const batch = this.txBatch;
    if (batch === null || this.closed) {
      this.txRefused++;
      return false;
    }
    if (length < ETH_HEADER || offset < 0 || offset + length > buf.length) {
      this.malformed++;
      this.txRefused++;
      return false;
    }
    const type = (buf[offset + 12] << 8) | buf[offset + 13];
    const tagged = type === 0x8100 || type === 0x88a8;
    if (length > this.maxTxFrame + (tagged ? VLAN_TAG : 0)) {
      this.txRefused++;
      return false;
    }
    if (!batch.fits(length)) this.flush();
    return batch.append(buf, offset, length);
  }

  sendFlits(src: FlitBuffer, offset: number, nbBytes: number, nbFrames: number, _frameBytes: number): number {
    if (this.txSocket === null || this.closed) {
      this.txRefused += nbFrames;
      return 0;
    }
    this.flush(); // frames staged by send() go first
    // Straight from the pipe's memory to the kernel (sendmmsg, or the TX ring): the only copy on the way out.
    return this.txSocket.txFlits(src.data, offset, nbBytes, src.lens, nbFrames);
  }

  flush(): void {
    const batch = this.txBatch;
    if (batch === null || batch.count === 0 || this.closed) return;
    // Frames the kernel refused show up in the socket's txRingFull (TX ring) or txDropped (txCopy).
    (this.txSocket as AfPacketSocket).tx(batch.data, batch.offsets, batch.lengths, batch.count);
    batch.reset();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    for (const s of this.sockets) s.close();
    this.rx?.release();
  }

  socketStats(): AfPacketStats[] {
    return this.sockets.map((s) => s.stats());
  }

  wait(timeoutMs: number): boolean {
    if (this.closed || this.rxSockets.length === 0) return false;
    if (this.rxStart < this.rxEnd) return true;
    for (const s of this.rxSockets) if (s.rxReady()) return true;
    // One queue: sleep on it. Several: sleep on the next in turn (fanout spreads flows evenly).
    return this.rxSockets[this.nextQueue].wait(timeoutMs);
  }

  stats(): WireStats {
    let kernelDrops = 0;
    let oversize = 0;
    for (const s of this.rxSockets) {
      const st = s.stats();
      kernelDrops += st.kernelDrops;
      oversize += st.rxOversize;
    }
    const tx = this.txSocket?.stats();
    return {
      rxPackets: this.rxPackets,
      rxBytes: this.rxBytes,
      txPackets: tx?.txPackets ?? 0,
      txBytes: tx?.txBytes ?? 0,
      rxDropped: this.rxRefused + kernelDrops + oversize,
      txDropped: this.txRefused + (tx ? tx.txInvalid + tx.txRingFull + tx.txDropped : 0),
      errors: this.malformed,
    };
  }
}
