/**
 * The router's per-packet work, split around the route lookup so that the CPU path and the GPU
 * path (lookup in the kernel) run the same code before and after it and give identical bytes:
 * {@link Forwarder.classifyBatch} validates the frames and gathers the addresses to look up (or
 * decides a frame's fate itself), {@link Forwarder.forwardBatch} applies the lookup results.
 * Both work a batch at a time with the common frame inline, so each loop stays small and
 * monomorphic; anything unusual takes the full per-frame path.
 *
 * @module
 */
import { Action, ip4ChecksumValid, type PacketBatch } from '@gnet/nflib';
import type { Lpm } from './lpm.js';
import type { RouterConfig } from './config.js';

/** Names of the router's counters (`nfs.router.counters` in the summary), in index order. */
export const ROUTER_COUNTERS = [
  'forwarded',
  'no_route',
  'ttl_expired',
  'bad_header',
  'bad_checksum',
  'no_nexthop',
  'arp',
  'ipv6',
  'other',
] as const;

const FORWARDED = 0;
const NO_ROUTE = 1;
const TTL_EXPIRED = 2;
const BAD_HEADER = 3;
const BAD_CHECKSUM = 4;
const NO_NEXTHOP = 5;
const ARP = 6;
const IPV6 = 7;
const OTHER = 8;

/**
 * The forwarding state of one router instance: the table, next hops flattened into typed arrays
 * (each next hop's 12 Ethernet address bytes as three u32 words), and the counters.
 */
export class Forwarder {
  /** The routing table. */
  readonly lpm: Lpm;
  /** Counters, indexed as {@link ROUTER_COUNTERS}. */
  readonly counters: Float64Array;
  /** Output port by next hop id (-1: no such next hop). */
  private readonly hopPort: Int32Array;
  /** Destination + source MAC by next hop id: bytes 0..11 of the Ethernet header as three u32s. */
  private readonly hopEth: Uint32Array;
  private readonly otherAction: number;
  private readonly otherPort: number;
  /** Packet index of each address to look up (routeBatch's scratch). */
  private index = new Uint16Array(0);
  // Scratch of routeBatch for batches larger than the table's own (Lpm.batchAddrs).
  private addrs = new Uint32Array(0);
  private hops = new Int32Array(0);

  /** Builds the state from a validated config; `counters` from `ctx.defineCounters(ROUTER_COUNTERS)`. */
  constructor(config: RouterConfig, counters: Float64Array = new Float64Array(ROUTER_COUNTERS.length)) {
    this.lpm = config.lpm;
    this.counters = counters;
    let max = -1;
    for (const id of config.nexthops.keys()) if (id > max) max = id;
    this.hopPort = new Int32Array(max + 1).fill(-1);
    this.hopEth = new Uint32Array(3 * (max + 1));
    const bytes = new Uint8Array(12);
    const dv = new DataView(bytes.buffer);
    for (const [id, nh] of config.nexthops) {
      const src = config.portMacs.get(nh.port) ?? 0;
      dv.setUint16(0, Math.floor(nh.mac / 2 ** 32));
      dv.setUint32(2, nh.mac >>> 0);
      dv.setUint16(6, Math.floor(src / 2 ** 32));
      dv.setUint32(8, src >>> 0);
      this.hopPort[id] = nh.port;
      this.hopEth[3 * id] = dv.getUint32(0);
      this.hopEth[3 * id + 1] = dv.getUint32(4);
      this.hopEth[3 * id + 2] = dv.getUint32(8);
    }
    this.otherAction = config.other.action === 'out' ? Action.OUT : Action.DROP;
    this.otherPort = config.other.port;
  }

  /**
   * Validates every packet of the batch. An IPv4 frame with a sound header (version 4, IHL >= 5,
   * total length within the frame, correct checksum) and a TTL above 1 is to be looked up: its
   * destination goes to `addrs[n]` and its packet index to `index[n]`. Anything else gets its action
   * here (drop, or non-IPv4 per the `other` policy) and is counted. Returns n.
   */
  classifyBatch(batch: PacketBatch, addrs: Uint32Array, index: Uint16Array): number {
    const d = batch.data;
    const v = batch.view;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      const o = offsets[i];
      if (plainIp4(d, v, o, lengths[i]) || this.check(batch, i)) {
        addrs[n] = v.getUint32(o + 30);
        index[n++] = i;
      }
    }
    return n;
  }

  /**
   * Forwards packet `index[k]` to next hop `hops[k]` (-1: no route), for k < n: TTL - 1 with an
   * incremental checksum update, Ethernet addresses of the next hop, out on its port. A next hop
   * without a config entry drops the packet.
   */
  forwardBatch(batch: PacketBatch, hops: Int32Array, index: Uint16Array, n: number): void {
    const v = batch.view;
    const offsets = batch.offsets;
    const action = batch.action;
    const destination = batch.destination;
    const hopPort = this.hopPort;
    const eth = this.hopEth;
    let forwarded = 0;
    for (let k = 0; k < n; k++) {
      const i = index[k];
      const hop = hops[k];
      const port = hop >= 0 && hop < hopPort.length ? hopPort[hop] : -1;
      if (port < 0) {
        this.drop(batch, i, hop < 0 ? NO_ROUTE : NO_NEXTHOP);
        continue;
      }
      const o = offsets[i];
      // TTL - 1: the TTL/protocol word m becomes m' = m - 0x100, and the checksum follows RFC 1624
      // eqn. 3, HC' = ~(~HC + ~m + m'), where ~m + m' = 0xfeff.
      v.setUint16(o + 22, v.getUint16(o + 22) - 0x100);
      const c = (~v.getUint16(o + 24) & 0xffff) + 0xfeff;
      v.setUint16(o + 24, ~((c & 0xffff) + (c >>> 16)));
      v.setUint32(o, eth[3 * hop]);
      v.setUint32(o + 4, eth[3 * hop + 1]);
      v.setUint32(o + 8, eth[3 * hop + 2]);
      action[i] = Action.OUT;
      destination[i] = port;
      forwarded++;
    }
    this.counters[FORWARDED] += forwarded;
  }

  /**
   * The whole batch on the CPU, shaped like the GPU path: classify, look the gathered destinations
   * up in one batch (in the table's own memory, so without copies), forward.
   */
  routeBatch(batch: PacketBatch): void {
    if (this.index.length < batch.count) this.index = new Uint16Array(batch.count);
    const own = batch.count <= this.lpm.batchAddrs.length;
    if (!own && this.addrs.length < batch.count) {
      this.addrs = new Uint32Array(batch.count);
      this.hops = new Int32Array(batch.count);
    }
    const addrs = own ? this.lpm.batchAddrs : this.addrs;
    const hops = own ? this.lpm.batchHops : this.hops;
    const n = this.classifyBatch(batch, addrs, this.index);
    this.lpm.lookupBatch(addrs, hops, n);
    this.forwardBatch(batch, hops, this.index, n);
  }

  /**
   * Packet `i` in full (any frame): true for one to look up; otherwise gives it its action, counts
   * it, and returns false.
   */
  private check(batch: PacketBatch, i: number): boolean {
    const d = batch.data;
    const o = batch.offsets[i];
    const len = batch.lengths[i];
    if (len < 14) return this.drop(batch, i, BAD_HEADER);
    const type = (d[o + 12] << 8) | d[o + 13];
    if (type !== 0x0800) {
      this.counters[type === 0x0806 ? ARP : type === 0x86dd ? IPV6 : OTHER]++;
      batch.action[i] = this.otherAction;
      batch.destination[i] = this.otherPort;
      return false;
    }
    const l3 = o + 14;
    const vihl = d[l3];
    const hl = (vihl & 0x0f) << 2;
    const total = (d[l3 + 2] << 8) | d[l3 + 3];
    if (len < 34 || vihl >> 4 !== 4 || hl < 20 || total < hl || total > len - 14) return this.drop(batch, i, BAD_HEADER);
    if (!ip4ChecksumValid(batch.view, l3)) return this.drop(batch, i, BAD_CHECKSUM);
    // RFC 1812 5.3.1: a packet that would leave with TTL 0 is not forwarded (no ICMP error is sent).
    if (d[l3 + 8] <= 1) return this.drop(batch, i, TTL_EXPIRED);
    return true;
  }

  private drop(batch: PacketBatch, i: number, reason: number): false {
    batch.action[i] = Action.DROP;
    this.counters[reason]++;
    return false;
  }
}

/**
 * The common frame at `o`, checked inline by classifyBatch: IPv4 without options, total length
 * within the frame, TTL above 1, checksum right. False does not mean bad: check() decides then.
 */
function plainIp4(d: Uint8Array, v: DataView, o: number, len: number): boolean {
  if (len < 34 || d[o + 12] !== 0x08 || d[o + 13] !== 0x00 || d[o + 14] !== 0x45 || d[o + 22] <= 1) return false;
  const total = (d[o + 16] << 8) | d[o + 17];
  if (total < 20 || total > len - 14) return false;
  // The ones' complement sum of the ten header words (read as five 32-bit words) folds to 0xffff
  // when the checksum is right.
  let s = halves(v.getUint32(o + 14)) + halves(v.getUint32(o + 18)) + halves(v.getUint32(o + 22)) + halves(v.getUint32(o + 26)) + halves(v.getUint32(o + 30));
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16) === 0xffff;
}

/** The sum of the two 16-bit halves of a 32-bit word. */
function halves(w: number): number {
  return (w >>> 16) + (w & 0xffff);
}
