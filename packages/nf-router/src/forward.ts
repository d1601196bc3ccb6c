/**
 * The router's per-packet work, split around the route lookup so that the CPU path and the GPU
 * path (lookup in the kernel) run the same code before and after it and give identical bytes:
 * {@link Forwarder.classify} validates a frame and returns the address to look up (or decides the
 * frame's fate itself), {@link Forwarder.forward} applies a lookup result.
 *
 * @module
 */
import { Action, ip4ChecksumValid, decrementIp4Ttl, type PacketBatch } from '@gnet/nflib';
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
  // Scratch of routeBatch: destinations to look up, their packet indices, the answers.
  private addrs = new Uint32Array(0);
  private hops = new Int32Array(0);
  private index = new Uint16Array(0);
  private readonly otherPort: number;

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
   * Validates packet `i`: an IPv4 frame with a sound header (version 4, IHL >= 5, total length
   * within the frame, correct checksum) and a TTL above 1 returns its destination address, to be
   * looked up. Anything else gets its action here (drop, or non-IPv4 per the `other` policy), is
   * counted, and returns -1.
   */
  classify(batch: PacketBatch, i: number): number {
    const d = batch.data;
    const o = batch.offsets[i];
    const len = batch.lengths[i];
    if (len < 14) return this.drop(batch, i, BAD_HEADER);
    const type = (d[o + 12] << 8) | d[o + 13];
    if (type !== 0x0800) {
      this.counters[type === 0x0806 ? ARP : type === 0x86dd ? IPV6 : OTHER]++;
      batch.action[i] = this.otherAction;
      batch.destination[i] = this.otherPort;
      return -1;
    }
    const l3 = o + 14;
    const vihl = d[l3];
    const hl = (vihl & 0x0f) << 2;
    const total = (d[l3 + 2] << 8) | d[l3 + 3];
    if (len < 34 || vihl >> 4 !== 4 || hl < 20 || total < hl || total > len - 14) return this.drop(batch, i, BAD_HEADER);
    if (!ip4ChecksumValid(batch.view, l3)) return this.drop(batch, i, BAD_CHECKSUM);
    // RFC 1812 5.3.1: a packet that would leave with TTL 0 is not forwarded (no ICMP error is sent).
    if (d[l3 + 8] <= 1) return this.drop(batch, i, TTL_EXPIRED);
    return batch.view.getUint32(l3 + 16);
  }

  /**
   * Forwards packet `i` (one {@link classify} accepted) to next hop `hop` (-1: no route): TTL - 1
   * with an incremental checksum update, Ethernet addresses of the next hop, out on its port.
   */
  forward(batch: PacketBatch, i: number, hop: number): void {
    if (hop < 0) {
      this.drop(batch, i, NO_ROUTE);
      return;
    }
    const port = hop < this.hopPort.length ? this.hopPort[hop] : -1;
    if (port < 0) {
      this.drop(batch, i, NO_NEXTHOP);
      return;
    }
    const v = batch.view;
    const o = batch.offsets[i];
    decrementIp4Ttl(v, o + 14);
    const e = this.hopEth;
    v.setUint32(o, e[3 * hop]);
    v.setUint32(o + 4, e[3 * hop + 1]);
    v.setUint32(o + 8, e[3 * hop + 2]);
    batch.action[i] = Action.OUT;
    batch.destination[i] = port;
    this.counters[FORWARDED]++;
  }

  /**
   * The whole batch on the CPU, shaped like the GPU path: classify, look the gathered destinations
   * up in one batch (whose independent loads overlap their cache misses), forward.
   */
  routeBatch(batch: PacketBatch): void {
    if (this.index.length < batch.count) this.grow(batch.count);
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      const dst = this.classify(batch, i);
      if (dst < 0) continue;
      this.addrs[n] = dst;
      this.index[n++] = i;
    }
    this.lpm.lookupBatch(this.addrs, this.hops, n);
    for (let k = 0; k < n; k++) this.forward(batch, this.index[k], this.hops[k]);
  }

  private grow(n: number): void {
    this.addrs = new Uint32Array(n);
    this.hops = new Int32Array(n);
    this.index = new Uint16Array(n);
  }

  private drop(batch: PacketBatch, i: number, reason: number): number {
    batch.action[i] = Action.DROP;
    this.counters[reason]++;
    return -1;
  }
}
