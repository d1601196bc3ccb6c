/**
 * Live packet I/O on Linux interfaces through AF_PACKET sockets with mmap'ed rings (TPACKET_V3).
 * Every call moves a batch: frames are copied between the kernel rings and typed arrays the caller
 * owns, so one crossing into C++ serves a whole batch and nothing is allocated per frame.
 *
 * @module
 */
import { loadNative } from './loader.js';

/**
 * How a fanout group spreads received frames over its sockets, like RSS over NIC queues:
 * `hash` by flow (5-tuple, symmetric; fragments reassembled first unless `fanoutDefrag` is false),
 * `lb` round robin, `cpu` by the receiving CPU, `rollover` fill one socket then the next,
 * `random`, `queue` by the NIC's RX queue.
 */
export type FanoutMode = 'hash' | 'lb' | 'cpu' | 'rollover' | 'random' | 'queue';

/** Options of {@link AfPacketSocket.open}. Every one has a default that suits a 1500-byte MTU. */
export interface AfPacketSocketOptions {
  /** Network namespace to open the interface in: a name from `ip netns` or a path to a netns file. Needs CAP_SYS_ADMIN. Default: the calling thread's. */
  netns?: string;
  /** Receive on this socket (an RX ring). Default true. */
  rx?: boolean;
  /** Transmit from this socket (a TX ring). Default true. */
  tx?: boolean;
  /** Put the interface in promiscuous mode while the socket is open. Default true. */
  promisc?: boolean;
  /** Join this fanout group (0..65535); sockets of one group on one interface share its traffic. */
  fanoutGroup?: number;
  /** Fanout mode; setting it without `fanoutGroup` creates a new group with a kernel-chosen id (read {@link AfPacketSocket.fanoutGroup}). Default `hash`. */
  fanoutMode?: FanoutMode;
  /** With `hash`, reassemble IP fragments before hashing so they stay on one socket. Default true. */
  fanoutDefrag?: boolean;
  /** Move frames to another socket of the group when the chosen one's ring is full. Default false. */
  fanoutRollover?: boolean;
  /** Bytes per RX ring block: a power of two, a page multiple; also bounds the longest frame received. Default 256 KiB. */
  ringBlockSize?: number;
  /** RX ring blocks. With sparse traffic each block retires after `retireTimeoutMs`, so this bounds how long a reader may pause before drops. Default 64. */
  ringBlocks?: number;
  /** Milliseconds after which the kernel hands over a partly filled RX block (latency bound). Default 1. */
  retireTimeoutMs?: number;
  /** Bytes per TX slot, ring header included (a multiple of 16); bounds the largest frame sent. Default 2048. */
  frameSize?: number;
  /** TX ring slots. Default 1024. */
  txFrames?: number;
  /** Send straight to the driver, past the interface's qdisc (PACKET_QDISC_BYPASS). Default false. */
  qdiscBypass?: boolean;
  /**
   * Transmit with `sendmmsg()` straight from the caller's memory instead of through a TX ring: the
   * kernel copies each frame into a buffer of its own. Cheaper on veth and other software devices
   * (a TX ring's frames are zero-copy page fragments, which veth copies into freshly allocated
   * pages). Frames the kernel refuses (no buffers, link down) are dropped and counted in `txDropped`
   * rather than kept queued; `frameSize` and `txFrames` do not apply. Default false.
   */
  txCopy?: boolean;
}

/** Counters of one socket, monotonic since it was opened. */
export interface AfPacketStats {
  /** Frames copied out by {@link AfPacketSocket.rx}. */
  rxPackets: number;
  /** Their bytes, including any VLAN tag put back into the frame. */
  rxBytes: number;
  /** Outgoing frames seen on the RX ring and skipped (only on kernels without PACKET_IGNORE_OUTGOING). */
  rxOutgoingSkipped: number;
  /** Frames longer than a ring block, delivered cut short. */
  rxTruncated: number;
  /** Frames larger than the caller's whole buffer, dropped. */
  rxOversize: number;
  /** Frames the kernel passed to this socket (PACKET_STATISTICS tp_packets). */
  kernelPackets: number;
  /** Frames the kernel dropped because the RX ring was full (tp_drops). */
  kernelDrops: number;
  /** Times the RX ring ran full (tp_freeze_q_cnt). */
  kernelFreezes: number;
  /** Frames queued for transmission. */
  txPackets: number;
  /** Their bytes. */
  txBytes: number;
  /** Frames refused by {@link AfPacketSocket.tx}: out of the buffer's bounds, shorter than 14 bytes, or above the MTU. */
  txInvalid: number;
  /** Frames not taken by {@link AfPacketSocket.tx} because every TX slot was still in flight. */
  txRingFull: number;
  /** Transient send failures (no buffers, link down); the frames stayed queued for the next kick. */
  txKickErrors: number;
  /** With `txCopy`: frames the kernel refused (no buffers, link down), dropped. */
  txDropped: number;
}

/** The native class behind {@link AfPacketSocket} (see `src/native/afpacket.cc`). */
interface NativeAfPacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  readonly mtu: number;
  readonly fanoutGroup: number | null;
  readonly maxFrameLength: number;
  readonly closed: boolean;
  rx(
    dst: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    tsSec: Uint32Array,
    tsNsec: Uint32Array,
    maxFrames: number,
    align: number,
  ): number;
  rxFlits(dst: Uint8Array, lens: Uint16Array, tsSec: Uint32Array, tsNsec: Uint32Array, maxFrames: number): number;
  tx(src: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  txFlits(src: Uint8Array, offset: number, nbBytes: number, lens: Uint16Array, maxFrames: number): number;
  rxReady(): boolean;
  wait(timeoutMs: number): boolean;
  stats(): AfPacketStats;
  close(): void;
}

interface NativeAfPacket {
  AfPacketSocket: new (ifname: string, options: object) => NativeAfPacketSocket;
}

/**
 * A failure to open or use an AF_PACKET socket. `code` is the errno name: `EPERM` (no CAP_NET_RAW),
 * `ENODEV` (no such interface), `ENOENT` (no such network namespace), `ENOSYS` (not Linux), ...
 */
export class AfPacketError extends Error {
  /** errno-style code of the failure. */
  readonly code: string;
  /** The interface the socket was for. */
  readonly ifname: string;
  constructor(message: string, code: string, ifname: string) {
    super(message);
    this.name = 'AfPacketError';
    this.code = code;
    this.ifname = ifname;
  }
}

function wrapError(err: unknown, ifname: string): unknown {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' ? new AfPacketError((err as Error).message, code, ifname) : err;
}

/**
 * One AF_PACKET socket on one interface: a queue of a live port. Several sockets in one fanout group
 * share an interface's traffic like NIC RSS queues, one per thread or pipe.
 *
 * @example
 * ```ts
 * const sock = AfPacketSocket.open('eth0', { fanoutMode: 'hash' });
 * const n = sock.rx(buf, offsets, lengths, tsSec, tsNsec, 256, 64);
 * sock.tx(buf, offsets, lengths, n); // echo the batch back
 * ```
 */
export class AfPacketSocket {
  /** The interface name. */
  readonly ifname: string;
  private readonly native: NativeAfPacketSocket;

  private constructor(ifname: string, native: NativeAfPacketSocket) {
    this.ifname = ifname;
    this.native = native;
  }

  /**
   * Opens a socket on `ifname`, bound to it, with its rings mapped.
   * @throws AfPacketError naming the interface and what to do: run as root or
   *   `setcap cap_net_raw+ep $(readlink -f $(which node))` without CAP_NET_RAW; `AF_PACKET needs Linux` elsewhere.
   */
  static open(ifname: string, options: AfPacketSocketOptions = {}): AfPacketSocket {
    const Native = (loadNative() as unknown as NativeAfPacket).AfPacketSocket;
    const fanout = options.fanoutGroup !== undefined || options.fanoutMode !== undefined;
    try {
      return new AfPacketSocket(ifname, new Native(ifname, { ...options, fanout }));
    } catch (err) {
      throw wrapError(err, ifname);
    }
  }

  /** The socket's file descriptor, readable when {@link AfPacketSocket.rxReady} would be true (for an event loop); -1 once closed. */
  get fd(): number {
    return this.native.fd;
  }
  /** The interface's index in its network namespace. */
  get ifindex(): number {
    return this.native.ifindex;
  }
  /** The interface's MTU when the socket was opened. */
  get mtu(): number {
    return this.native.mtu;
  }
  /** The fanout group this socket is in (the kernel-chosen id for a new group), or null. */
  get fanoutGroup(): number | null {
    return this.native.fanoutGroup;
  }
  /** The longest frame {@link AfPacketSocket.tx} accepts: MTU + 14, bounded by the TX slot (VLAN-tagged frames may be 4 bytes longer). 0 without TX. */
  get maxFrameLength(): number {
    return this.native.maxFrameLength;
  }
  /** True after {@link AfPacketSocket.close}. */
  get closed(): boolean {
    return this.native.closed;
  }

  /**
   * Copies up to `maxFrames` received frames into `dst`, frame `i` at `offsets[i]` with
   * `lengths[i]` bytes and its kernel receive time `tsSec[i]` s + `tsNsec[i]` ns; each frame starts on
   * an `align`-byte boundary. Returns how many; 0 when nothing is ready. Never blocks.
   */
  rx(
    dst: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    tsSec: Uint32Array,
    tsNsec: Uint32Array,
    maxFrames: number = offsets.length,
    align = 1,
  ): number {
    return this.native.rx(dst, offsets, lengths, tsSec, tsNsec, maxFrames, align);
  }

  /**
   * {@link AfPacketSocket.rx} in flit layout, the way Enso pipes hold frames: frames go back to back
   * into `dst` from byte 0, each on a 64-byte boundary, and the frame at byte `o` has its length in
   * `lens[o / 64]` and its receive time in `tsSec[o / 64]`/`tsNsec[o / 64]` (other entries are left
   * as they were). Takes up to `maxFrames` frames; frames above 65535 bytes are dropped (`rxOversize`).
   * Returns the bytes filled (a multiple of 64; 0 when nothing is ready). Never blocks.
   */
  rxFlits(
    dst: Uint8Array,
    lens: Uint16Array,
    tsSec: Uint32Array,
    tsNsec: Uint32Array,
    maxFrames: number = 0xffffffff,
  ): number {
    return this.native.rxFlits(dst, lens, tsSec, tsNsec, maxFrames);
  }

  /**
   * Queues frames `src[offsets[i], offsets[i] + lengths[i])` for `i < count` and kicks the kernel once.
   * Returns how many were consumed from the front of the batch: queued, or refused as invalid
   * (counted in `txInvalid`). Fewer than `count` means the TX ring is full; the rest were not taken.
   */
  tx(src: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    return this.native.tx(src, offsets, lengths, count);
  }

  /**
   * {@link AfPacketSocket.tx} in flit layout: sends up to `maxFrames` frames of
   * `src[offset, offset + nbBytes)` (`offset` a multiple of 64), the frame at byte `o` being
   * `lens[o / 64]` bytes long and the next one starting at the following 64-byte boundary.
   * Returns how many frames were queued; the others were invalid (`txInvalid`) or found the ring
   * full (`txRingFull`).
   */
  txFlits(src: Uint8Array, offset: number, nbBytes: number, lens: Uint16Array, maxFrames: number = 0xffffffff): number {
    return this.native.txFlits(src, offset, nbBytes, lens, maxFrames);
  }

  /** True when {@link AfPacketSocket.rx} would return frames now. No system call. */
  rxReady(): boolean {
    return this.native.rxReady();
  }

  /** Blocks the calling thread up to `timeoutMs` (-1: forever) until frames arrive; for a dedicated I/O thread. Returns {@link AfPacketSocket.rxReady}. */
  wait(timeoutMs: number): boolean {
    return this.native.wait(timeoutMs);
  }

  /** The socket's counters; the kernel's are read now. */
  stats(): AfPacketStats {
    return this.native.stats();
  }

  /** Unmaps the rings and closes the socket (promiscuous mode ends with it). Safe to call twice. */
  close(): void {
    this.native.close();
  }
}
