/**
 * The NAPT engine: mappings, sessions and their translation of packets in place, all in typed
 * arrays (no per-flow or per-packet objects). The NF (`nf.ts`) calls {@link NatEngine.tick} once per
 * batch and {@link NatEngine.process} per packet; it is also usable alone (tests, benchmarks).
 *
 * Model (RFC 4787 terms): a *mapping* binds an internal endpoint (address, port, protocol) to an
 * external one; it is endpoint-independent (one mapping per internal endpoint, whatever the
 * destination). A *session* is one conversation through a mapping with one remote endpoint; it
 * carries the TCP state and the idle timer. A mapping lives while it has sessions (or is static).
 * With address-dependent filtering, a *permission* (remote address per mapping) records where the
 * internal endpoint has sent to; it is a session record of its own kind.
 * @module
 */
import { checksumAdjust16, checksumAdjust32, rewriteIp4Dst, rewriteIp4Src, udpChecksumAdjust16, udpChecksumAdjust32 } from '@gnet/nflib';
import type { NatConfig } from './config.js';
import { FlowTable, KeyKind, NOT_FOUND, hashKey } from './flow-table.js';
import { PortAllocator } from './port-alloc.js';

/** Names of the NAT's counters, in index order (see {@link NatCounter}). */
export const NAT_COUNTERS = [
  'out',
  'in',
  'hairpin',
  'icmp_error_out',
  'icmp_error_in',
  'sessions_created',
  'sessions_expired',
  'mappings_created',
  'mappings_freed',
  'drop_arp',
  'drop_non_ipv4',
  'drop_malformed',
  'drop_fragment',
  'drop_ttl',
  'drop_proto',
  'drop_icmp_type',
  'drop_not_inside',
  'drop_not_external',
  'drop_pool_exhausted',
  'drop_table_full',
  'drop_no_mapping',
  'drop_filtered',
  'drop_tcp_no_session',
  'drop_icmp_error_no_flow',
  'drop_wrong_port',
  'device_hits',
] as const;

// Counter indexes as plain constants for the data path (C below is the public view of the same).
const OUT = 0;
const IN = 1;
const HAIRPIN = 2;
const ICMP_ERROR_OUT = 3;
const ICMP_ERROR_IN = 4;
const SESSIONS_CREATED = 5;
const SESSIONS_EXPIRED = 6;
const MAPPINGS_CREATED = 7;
const MAPPINGS_FREED = 8;
const DROP_ARP = 9;
const DROP_NON_IPV4 = 10;
const DROP_MALFORMED = 11;
const DROP_FRAGMENT = 12;
const DROP_TTL = 13;
const DROP_PROTO = 14;
const DROP_ICMP_TYPE = 15;
const DROP_NOT_INSIDE = 16;
const DROP_NOT_EXTERNAL = 17;
const DROP_POOL_EXHAUSTED = 18;
const DROP_TABLE_FULL = 19;
const DROP_NO_MAPPING = 20;
const DROP_FILTERED = 21;
const DROP_TCP_NO_SESSION = 22;
const DROP_ICMP_ERROR_NO_FLOW = 23;
const DROP_WRONG_PORT = 24;
const DEVICE_HITS = 25;

/** A counter's name in upper case, e.g. `DROP_POOL_EXHAUSTED` for `drop_pool_exhausted`. */
export type NatCounterName = Uppercase<(typeof NAT_COUNTERS)[number]>;

/** Counter indexes into {@link NatEngine.counters}, by upper-case name (`NatCounter.OUT`, ...). */
export const NatCounter: Readonly<Record<NatCounterName, number>> = Object.fromEntries(NAT_COUNTERS.map((n, i) => [n.toUpperCase(), i])) as Record<NatCounterName, number>;

/** TCP flag bits seen on a session (its state; RFC 5382 §5 timers derive from it). */
const SYN_OUT = 1;
const SYN_IN = 2;
const FIN_OUT = 4;
const FIN_IN = 8;
const RST = 16;
const ALIVE = 0x80;

/** u32 words per session record. */
export const SESSION_WORDS = 8;
const S_MAP = 0;
const S_REM_IP = 1;
const S_REM_PORT = 2;
const S_EXPIRE = 3;
const S_STATE = 4;
const S_EXT_IP = 5;
const S_PORTS = 6;
const S_INT_IP = 7;

const KIND_SESSION = 1;
const KIND_PERM = 2;

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const BROADCAST = 0xffffffffffff;

/** k3 of a key: protocol | kind << 8. */
function k3(proto: number, kind: number): number {
  return proto | (kind << 8);
}

/** The external pool index an internal address is paired with (RFC 4787 REQ-2: paired pooling). */
function pairIndex(intIp: number, n: number): number {
  return n === 1 ? 0 : hashKey(intIp, 0, 0, 0) % n;
}

/** The NAPT state and packet translation. */
export class NatEngine {
  /** The configuration it was built from. */
  readonly cfg: NatConfig;
  /** Both directions' keys and the mappings' keys (see {@link KeyKind}). */
  readonly table: FlowTable;
  /** Counters, indexed by {@link NatCounter} (the NF points this at nflib's named counters). */
  counters: Float64Array;
  /** Coarse clock in whole seconds, set once per batch by {@link NatEngine.tick}. */
  now = 0;

  // Mapping records (index = mapping id).
  /** Internal address per mapping. */
  readonly mIntIp: Uint32Array;
  /** External address per mapping. */
  readonly mExtIp: Uint32Array;
  /** Internal port (or ICMP id) << 16 | external port per mapping. */
  readonly mPorts: Uint32Array;
  /** Protocol per mapping (0: free). */
  readonly mProto: Uint8Array;
  /** Pool index of the external address per mapping. */
  readonly mExtIdx: Uint16Array;
  /** Sessions and permissions holding each mapping; static mappings are never freed. */
  readonly mRefs: Uint32Array;
  /** 1 for a static forward's mapping. */
  readonly mStatic: Uint8Array;
  /** The internal host's Ethernet address (learned from its frames; -1 unknown). */
  readonly mMac: Float64Array;
  private readonly mFree: Uint32Array;
  private mFreeTop: number;

  // Session records (index = session id); permissions use the same records.
  /**
   * Session records, {@link SESSION_WORDS} u32 each (one 32-byte record: the data path touches one
   * cache line per session): mapping id, remote address, remote port, expiry (seconds of
   * {@link NatEngine.now}), TCP flags seen | ALIVE | kind << 8 (0 = free), and copies of the
   * mapping's external address, ports (internal << 16 | external) and internal address.
   */
  readonly sess: Uint32Array;
  /** Most sessions. */
  readonly maxSessions: number;
  private readonly sFree: Uint32Array;
  private sFreeTop: number;
  private sweepCursor = 0;

  /** Port allocators by pool index * 3 + (0 TCP, 1 UDP, 2 ICMP). */
  readonly ports: PortAllocator[];
  private readonly externals: Uint32Array;
  private readonly extContiguous: boolean;
  private readonly subnetNet: Uint32Array;
  private readonly subnetMask: Uint32Array;
  /** Own inside/outside MACs and the outside gateway's, configured or learned (-1 unknown). */
  private macInside: number;
  private macOutside: number;
  private macGateway: number;
  private hint = -1;
  private readonly addressDependent: boolean;
  // Config values the data path reads per packet, as plain fields.
  private readonly byAddress: boolean;
  private readonly tUdp: number;
  private readonly decTtl: boolean;
  private readonly insidePort: number;
  private readonly outsidePort: number;

  /** Builds the tables for `cfg` (sized by `cfg.maxFlows`) and installs the static forwards. */
  constructor(cfg: NatConfig) {
    this.cfg = cfg;
    const maxMappings = cfg.maxFlows + cfg.forwards.length;
    const maxSessions = cfg.maxFlows;
    // Up to 4 keys per session (OUT, IN and its mapping's MAPI, MAPE; a permission uses 1) at <= 1/2 load.
    this.table = new FlowTable(8 * cfg.maxFlows + 2 * cfg.forwards.length);
    this.counters = new Float64Array(NAT_COUNTERS.length);
    this.mIntIp = new Uint32Array(maxMappings);
    this.mExtIp = new Uint32Array(maxMappings);
    this.mPorts = new Uint32Array(maxMappings);
    this.mProto = new Uint8Array(maxMappings);
    this.mExtIdx = new Uint16Array(maxMappings);
    this.mRefs = new Uint32Array(maxMappings);
    this.mStatic = new Uint8Array(maxMappings);
    this.mMac = new Float64Array(maxMappings);
    this.mFree = new Uint32Array(maxMappings);
    for (let i = 0; i < maxMappings; i++) this.mFree[i] = maxMappings - 1 - i;
    this.mFreeTop = maxMappings;
    this.sess = new Uint32Array(maxSessions * SESSION_WORDS);
    this.maxSessions = maxSessions;
    this.addressDependent = cfg.filtering === 'address-dependent';
    this.byAddress = cfg.classify === 'address';
    this.tUdp = cfg.timeouts.udp;
    this.decTtl = cfg.decrementTtl;
    this.insidePort = cfg.insidePort;
    this.outsidePort = cfg.outsidePort;
    this.sFree = new Uint32Array(maxSessions);
    for (let i = 0; i < maxSessions; i++) this.sFree[i] = maxSessions - 1 - i;
    this.sFreeTop = maxSessions;
    this.externals = Uint32Array.from(cfg.external);
    this.extContiguous = cfg.external.every((a, i) => a === (cfg.external[0] + i) >>> 0);
    this.ports = [];
    for (let i = 0; i < cfg.external.length; i++) {
      this.ports.push(new PortAllocator(cfg.portMin, cfg.portMax), new PortAllocator(cfg.portMin, cfg.portMax), new PortAllocator(1, 65535));
    }
    this.subnetNet = Uint32Array.from(cfg.insideSubnets.map((s) => s.network));
    this.subnetMask = Uint32Array.from(cfg.insideSubnets.map((s) => s.mask));
    this.macInside = cfg.mac.inside;
    this.macOutside = cfg.mac.outside;
    this.macGateway = cfg.mac.outsideGateway;
    for (const f of cfg.forwards) {
      const idx = cfg.external.indexOf(f.extIp);
      this.ports[idx * 3 + (f.proto === TCP ? 0 : 1)].reserve(f.extPort);
      const mid = this.newMapping(f.proto, f.intIp, f.intPort, idx, f.extIp, f.extPort);
      if (mid < 0) throw new Error('nat: the flow table cannot hold the static forwards');
      this.mStatic[mid] = 1;
      this.mMac[mid] = cfg.mac.insideHost;
    }
  }

  /** Bytes of every typed array of the engine (tables, records, free lists, port bitmaps). */
  get byteLength(): number {
    let n = this.table.byteLength;
    for (const a of [this.mIntIp, this.mExtIp, this.mPorts, this.mProto, this.mExtIdx, this.mRefs, this.mStatic, this.mMac, this.mFree, this.sess, this.sFree]) n += a.byteLength;
    return n + this.ports.length * 8192;
  }

  /** Live sessions (permissions included). */
  get sessions(): number {
    return this.maxSessions - this.sFreeTop;
  }

  /** Expiry time of session `sid` (seconds of {@link NatEngine.now}). */
  sessionExpiry(sid: number): number {
    return this.sess[sid * SESSION_WORDS + S_EXPIRE];
  }

  /** Live mappings (static ones included). */
  get mappings(): number {
    return this.mIntIp.length - this.mFreeTop;
  }

  /**
   * Sets the coarse clock (seconds, e.g. `performance.now() / 1000`) and expires up to
   * `cfg.sweepPerBatch` session records: call once per batch, never per packet.
   */
  tick(nowSeconds: number): void {
    this.now = Math.floor(nowSeconds);
    this.sweep(this.cfg.sweepPerBatch);
  }

  /** Checks the next `n` session records (round robin) and expires the idle ones. */
  sweep(n: number): void {
    const cap = this.maxSessions;
    const sess = this.sess;
    let c = this.sweepCursor;
    for (let k = 0; k < n; k++) {
      if (sess[c * SESSION_WORDS + S_STATE] !== 0 && sess[c * SESSION_WORDS + S_EXPIRE] < this.now) this.expire(c);
      c = c + 1 === cap ? 0 : c + 1;
    }
    this.sweepCursor = c;
  }

  /** Sets the device-lookup answer (a table slot, or -1) for the next packet's first lookup. */
  setHint(slot: number): void {
    this.hint = slot;
  }

  /** Table lookup that first tries the device's answer (checked against the key: a stale one is ignored). */
  private lookup(k0: number, k1: number, k2: number, key3: number): number {
    const h = this.hint;
    if (h >= 0) {
      this.hint = -1;
      if (this.table.slotHolds(h, k0, k1, k2, key3)) {
        this.counters[DEVICE_HITS]++;
        return this.table.valueAt(h);
      }
    }
    return this.table.find(k0, k1, k2, key3);
  }

  private isExternal(addr: number): number {
    // A pool given as one prefix is contiguous: one range check instead of a scan.
    if (this.extContiguous) {
      const i = (addr - this.externals[0]) >>> 0;
      return i < this.externals.length ? i : -1;
    }
    const ex = this.externals;
    for (let i = 0; i < ex.length; i++) if (ex[i] === addr) return i;
    return -1;
  }

  private isInside(addr: number): boolean {
    const n = this.subnetNet.length;
    if (n === 0) return true;
    for (let i = 0; i < n; i++) if (((addr & this.subnetMask[i]) >>> 0) === this.subnetNet[i]) return true;
    return false;
  }

  private timeout(proto: number, state: number): number {
    if (proto === UDP) return this.tUdp;
    const t = this.cfg.timeouts;
    if (proto === ICMP) return t.icmp;
    // Established once both sides sent SYN and nobody closed; everything else is transitory.
    return (state & (SYN_OUT | SYN_IN)) === (SYN_OUT | SYN_IN) && (state & (FIN_OUT | FIN_IN | RST)) === 0 ? t.tcpEstablished : t.tcpTransitory;
  }

  private newMapping(proto: number, intIp: number, intPort: number, extIdx: number, extIp: number, extPort: number): number {
    if (this.mFreeTop === 0) return -1;
    const mid = this.mFree[--this.mFreeTop];
    if (!this.table.insert(intIp, 0, (intPort << 16) >>> 0, k3(proto, KeyKind.MAPI), mid)) {
      this.mFreeTop++;
      return -1;
    }
    if (!this.table.insert(extIp, 0, (extPort << 16) >>> 0, k3(proto, KeyKind.MAPE), mid)) {
      this.table.remove(intIp, 0, (intPort << 16) >>> 0, k3(proto, KeyKind.MAPI));
      this.mFreeTop++;
      return -1;
    }
    this.mIntIp[mid] = intIp;
    this.mExtIp[mid] = extIp;
    this.mPorts[mid] = ((intPort << 16) | extPort) >>> 0;
    this.mProto[mid] = proto;
    this.mExtIdx[mid] = extIdx;
    this.mRefs[mid] = 0;
    this.mStatic[mid] = 0;
    this.mMac[mid] = -1;
    this.counters[MAPPINGS_CREATED]++;
    return mid;
  }

  private unref(mid: number): void {
    if (--this.mRefs[mid] > 0 || this.mStatic[mid] === 1) return;
    const proto = this.mProto[mid];
    const ports = this.mPorts[mid];
    this.table.remove(this.mIntIp[mid], 0, (ports & 0xffff0000) >>> 0, k3(proto, KeyKind.MAPI));
    this.table.remove(this.mExtIp[mid], 0, ((ports & 0xffff) << 16) >>> 0, k3(proto, KeyKind.MAPE));
    this.ports[this.mExtIdx[mid] * 3 + (proto === TCP ? 0 : proto === UDP ? 1 : 2)].release(ports & 0xffff);
    this.mProto[mid] = 0;
    this.mFree[this.mFreeTop++] = mid;
    this.counters[MAPPINGS_FREED]++;
  }

  /** Removes session `sid`'s keys, frees it and drops its mapping reference. */
  private expire(sid: number): void {
    const b = sid * SESSION_WORDS;
    const sess = this.sess;
    const mid = sess[b + S_MAP];
    const proto = this.mProto[mid];
    const ports = this.mPorts[mid];
    const rem = sess[b + S_REM_IP];
    const rport = sess[b + S_REM_PORT];
    if (sess[b + S_STATE] >>> 8 === KIND_PERM) {
      this.table.remove(this.mExtIp[mid], rem, ((ports & 0xffff) << 16) >>> 0, k3(proto, KeyKind.PERM));
    } else {
      this.table.remove(this.mIntIp[mid], rem, ((ports & 0xffff0000) | rport) >>> 0, k3(proto, KeyKind.OUT));
      this.table.remove(this.mExtIp[mid], rem, (((ports & 0xffff) << 16) | rport) >>> 0, k3(proto, KeyKind.IN));
    }
    sess[b + S_STATE] = 0;
    this.sFree[this.sFreeTop++] = sid;
    this.counters[SESSIONS_EXPIRED]++;
    this.unref(mid);
  }

  /** A new session (or permission) on mapping `mid` with remote `rem:rport`; -1 when full. */
  private newSession(mid: number, rem: number, rport: number, kind: number): number {
    if (this.sFreeTop === 0) return -1;
    const sid = this.sFree[--this.sFreeTop];
    const proto = this.mProto[mid];
    const ports = this.mPorts[mid];
    const t = this.table;
    if (kind === KIND_PERM) {
      if (!t.insert(this.mExtIp[mid], rem, ((ports & 0xffff) << 16) >>> 0, k3(proto, KeyKind.PERM), sid)) {
        this.sFreeTop++;
        return -1;
      }
    } else {
      if (!t.insert(this.mIntIp[mid], rem, ((ports & 0xffff0000) | rport) >>> 0, k3(proto, KeyKind.OUT), sid)) {
        this.sFreeTop++;
        return -1;
      }
      if (!t.insert(this.mExtIp[mid], rem, (((ports & 0xffff) << 16) | rport) >>> 0, k3(proto, KeyKind.IN), sid)) {
        t.remove(this.mIntIp[mid], rem, ((ports & 0xffff0000) | rport) >>> 0, k3(proto, KeyKind.OUT));
        this.sFreeTop++;
        return -1;
      }
      this.counters[SESSIONS_CREATED]++;
    }
    const b = sid * SESSION_WORDS;
    const sess = this.sess;
    sess[b + S_MAP] = mid;
    sess[b + S_REM_IP] = rem;
    sess[b + S_REM_PORT] = rport;
    sess[b + S_EXPIRE] = this.now;
    sess[b + S_STATE] = ALIVE | (kind << 8);
    sess[b + S_EXT_IP] = this.mExtIp[mid];
    sess[b + S_PORTS] = ports;
    sess[b + S_INT_IP] = this.mIntIp[mid];
    this.mRefs[mid]++;
    return sid;
  }

  /** Address-dependent filtering: records (or refreshes) that mapping `mid` sent to `rem`. */
  private permit(mid: number, rem: number): void {
    const proto = this.mProto[mid];
    let pid = this.table.find(this.mExtIp[mid], rem, ((this.mPorts[mid] & 0xffff) << 16) >>> 0, k3(proto, KeyKind.PERM));
    if (pid === NOT_FOUND) pid = this.newSession(mid, rem, 0, KIND_PERM);
    if (pid !== NOT_FOUND && pid >= 0) this.sess[pid * SESSION_WORDS + S_EXPIRE] = this.now + (proto === TCP ? this.cfg.timeouts.tcpEstablished : this.timeout(proto, 0));
  }

  private permitted(mid: number, rem: number): boolean {
    if (this.mStatic[mid] === 1 || this.cfg.filtering === 'endpoint-independent') return true;
    const pid = this.table.find(this.mExtIp[mid], rem, ((this.mPorts[mid] & 0xffff) << 16) >>> 0, k3(this.mProto[mid], KeyKind.PERM));
    return pid !== NOT_FOUND && this.sess[pid * SESSION_WORDS + S_EXPIRE] >= this.now;
  }

  /**
   * Translates the frame at `data[off .. off + len)` that arrived on port `inPort`, in place.
   * Returns the port to send it out of, or -1 to drop it (the reason is counted).
   */
  process(view: DataView, data: Uint8Array, off: number, len: number, inPort: number): number {
    const c = this.counters;
    if (len < 14 + 20) {
      this.hint = -1;
      c[len >= 14 && view.getUint16(off + 12) === 0x0806 ? DROP_ARP : DROP_MALFORMED]++;
      return -1;
    }
    const type = view.getUint16(off + 12);
    if (type !== 0x0800) {
      this.hint = -1;
      c[type === 0x0806 ? DROP_ARP : DROP_NON_IPV4]++;
      return -1;
    }
    const l3 = off + 14;
    const vihl = data[l3];
    const ihl = (vihl & 15) * 4;
    const total = view.getUint16(l3 + 2);
    if (vihl >>> 4 !== 4 || ihl < 20 || total < ihl || 14 + total > len) {
      this.hint = -1;
      c[DROP_MALFORMED]++;
      return -1;
    }
    if ((view.getUint16(l3 + 6) & 0x3fff) !== 0) {
      this.hint = -1;
      c[DROP_FRAGMENT]++;
      return -1;
    }
    if (this.decTtl && data[l3 + 8] <= 1) {
      this.hint = -1;
      c[DROP_TTL]++;
      return -1;
    }
    let out: number;
    const side = this.byAddress ? (this.isInside(view.getUint32(l3 + 12)) ? 0 : 1) : inPort === this.insidePort ? 0 : inPort === this.outsidePort ? 1 : -1;
    if (side === 0) out = this.outbound(view, data, off, l3, ihl, total);
    else if (side === 1) out = this.inbound(view, data, off, l3, ihl, total, false);
    else {
      c[DROP_WRONG_PORT]++;
      out = -1;
    }
    this.hint = -1;
    if (out >= 0 && this.decTtl) {
      // TTL - 1 changes the word (TTL, proto) by -0x100: RFC 1624 with m' = m - 0x100.
      const word = view.getUint16(l3 + 8);
      view.setUint16(l3 + 8, word - 0x100);
      view.setUint16(l3 + 10, fold16(~view.getUint16(l3 + 10) & 0xffff, (~word & 0xffff) + word - 0x100));
    }
    return out;
  }

  /** Ports of the L4 header at `l4` for TCP/UDP, the echo id for ICMP echo; -1 when truncated. */
  private l4Ok(view: DataView, proto: number, l4: number, l4len: number): boolean {
    if (proto === TCP) return l4len >= 20 && view.getUint8(l4 + 12) >>> 4 >= 5;
    return l4len >= 8;
  }

  private outbound(view: DataView, data: Uint8Array, off: number, l3: number, ihl: number, total: number): number {
    const c = this.counters;
    const cfg = this.cfg;
    if (this.macInside < 0 && (data[off] & 1) === 0) this.macInside = readMac(view, off);
    const src = view.getUint32(l3 + 12);
    const dst = view.getUint32(l3 + 16);
    if (!this.isInside(src)) {
      c[DROP_NOT_INSIDE]++;
      return -1;
    }
    const proto = data[l3 + 9];
    const l4 = l3 + ihl;
    const l4len = total - ihl;
    if (proto !== TCP && proto !== UDP && proto !== ICMP) {
      c[DROP_PROTO]++;
      return -1;
    }
    if (!this.l4Ok(view, proto, l4, l4len)) {
      c[DROP_MALFORMED]++;
      return -1;
    }
    let sport: number;
    let dport: number;
    if (proto === ICMP) {
      const t = data[l4];
      if (t !== 8) {
        if (t === 3 || t === 4 || t === 5 || t === 11 || t === 12) return this.icmpErrorOut(view, data, off, l3, l4, l3 + total);
        c[DROP_ICMP_TYPE]++;
        return -1;
      }
      sport = view.getUint16(l4 + 4);
      dport = 0;
    } else {
      sport = view.getUint16(l4);
      dport = view.getUint16(l4 + 2);
    }
    const flags = proto === TCP ? data[l4 + 13] : 0;
    let sid = this.lookup(src, dst, ((sport << 16) | dport) >>> 0, k3(proto, KeyKind.OUT));
    if (sid !== NOT_FOUND && this.sess[sid * SESSION_WORDS + S_EXPIRE] < this.now) {
      this.expire(sid);
      sid = NOT_FOUND;
    }
    if (sid === NOT_FOUND) {
      // RFC 5382: a TCP session starts with a SYN (a stray ACK or RST of a forgotten connection is dropped).
      if (proto === TCP && (flags & 0x12) !== 0x02) {
        c[DROP_TCP_NO_SESSION]++;
        return -1;
      }
      let mid = this.table.find(src, 0, (sport << 16) >>> 0, k3(proto, KeyKind.MAPI));
      if (mid === NOT_FOUND) {
        const idx = pairIndex(src, this.externals.length);
        const alloc = this.ports[idx * 3 + (proto === TCP ? 0 : proto === UDP ? 1 : 2)];
        const port = alloc.allocate(sport, cfg.portPreservation, cfg.parityPreservation);
        if (port < 0) {
          c[DROP_POOL_EXHAUSTED]++;
          return -1;
        }
        mid = this.newMapping(proto, src, sport, idx, this.externals[idx], port);
        if (mid < 0) {
          alloc.release(port);
          c[DROP_TABLE_FULL]++;
          return -1;
        }
      }
      if (this.mMac[mid] < 0 || this.mStatic[mid] === 1) this.mMac[mid] = readMac(view, off + 6);
      sid = this.newSession(mid, dst, dport, KIND_SESSION);
      if (sid < 0) {
        this.mRefs[mid]++;
        this.unref(mid); // frees a mapping made just now
        c[DROP_TABLE_FULL]++;
        return -1;
      }
    }
    const sess = this.sess;
    const b = sid * SESSION_WORDS;
    if (proto === TCP) sess[b + S_STATE] |= (flags & 2 ? SYN_OUT : 0) | (flags & 1 ? FIN_OUT : 0) | (flags & 4 ? RST : 0);
    sess[b + S_EXPIRE] = this.now + this.timeout(proto, sess[b + S_STATE]);
    if (this.addressDependent) this.permit(sess[b + S_MAP], dst);
    const extIp = sess[b + S_EXT_IP];
    const extPort = sess[b + S_PORTS] & 0xffff;
    translate(view, l3, l4, proto, 12, 0, extIp, extPort);
    if (this.isExternal(dst) >= 0) {
      // Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): the packet, now from the external endpoint, goes
      // through the inbound path to the internal host behind the destination's mapping.
      const r = this.inbound(view, data, off, l3, ihl, total, true);
      if (r >= 0) c[HAIRPIN]++;
      return r;
    }
    c[OUT]++;
    setMac(view, off, this.macGateway < 0 ? BROADCAST : this.macGateway);
    if (this.macOutside >= 0) setMac(view, off + 6, this.macOutside);
    return this.outsidePort;
  }

  private inbound(view: DataView, data: Uint8Array, off: number, l3: number, ihl: number, total: number, hairpin: boolean): number {
    const c = this.counters;
    if (!hairpin) {
      if (this.macGateway < 0) this.macGateway = readMac(view, off + 6);
      if (this.macOutside < 0 && (data[off] & 1) === 0) this.macOutside = readMac(view, off);
    }
    const src = view.getUint32(l3 + 12);
    const dst = view.getUint32(l3 + 16);
    if (this.isExternal(dst) < 0) {
      c[DROP_NOT_EXTERNAL]++;
      return -1;
    }
    const proto = data[l3 + 9];
    const l4 = l3 + ihl;
    const l4len = total - ihl;
    if (proto !== TCP && proto !== UDP && proto !== ICMP) {
      c[DROP_PROTO]++;
      return -1;
    }
    if (!this.l4Ok(view, proto, l4, l4len)) {
      c[DROP_MALFORMED]++;
      return -1;
    }
    let sport: number;
    let dport: number;
    if (proto === ICMP) {
      const t = data[l4];
      if (t !== 0) {
        if (!hairpin && (t === 3 || t === 4 || t === 5 || t === 11 || t === 12)) return this.icmpErrorIn(view, data, off, l3, l4, l3 + total);
        c[DROP_ICMP_TYPE]++;
        return -1;
      }
      dport = view.getUint16(l4 + 4);
      sport = 0;
    } else {
      sport = view.getUint16(l4);
      dport = view.getUint16(l4 + 2);
    }
    const flags = proto === TCP ? data[l4 + 13] : 0;
    let sid = this.lookup(dst, src, ((dport << 16) | sport) >>> 0, k3(proto, KeyKind.IN));
    if (sid !== NOT_FOUND && this.sess[sid * SESSION_WORDS + S_EXPIRE] < this.now) {
      this.expire(sid);
      sid = NOT_FOUND;
    }
    if (sid === NOT_FOUND) {
      // Unsolicited: allowed only through an existing mapping that the filter lets this remote use.
      const mid = proto === ICMP ? NOT_FOUND : this.table.find(dst, 0, (dport << 16) >>> 0, k3(proto, KeyKind.MAPE));
      if (mid === NOT_FOUND) {
        c[DROP_NO_MAPPING]++;
        return -1;
      }
      if (!this.permitted(mid, src)) {
        c[DROP_FILTERED]++;
        return -1;
      }
      if (proto === TCP && (flags & 0x12) !== 0x02) {
        c[DROP_TCP_NO_SESSION]++;
        return -1;
      }
      sid = this.newSession(mid, src, sport, KIND_SESSION);
      if (sid < 0) {
        c[DROP_TABLE_FULL]++;
        return -1;
      }
    }
    const sess = this.sess;
    const b = sid * SESSION_WORDS;
    const mid = sess[b + S_MAP];
    if (proto === TCP) sess[b + S_STATE] |= (flags & 2 ? SYN_IN : 0) | (flags & 1 ? FIN_IN : 0) | (flags & 4 ? RST : 0);
    sess[b + S_EXPIRE] = this.now + this.timeout(proto, sess[b + S_STATE]);
    const intIp = sess[b + S_INT_IP];
    const intPort = sess[b + S_PORTS] >>> 16;
    translate(view, l3, l4, proto, 16, 2, intIp, intPort);
    if (!hairpin) c[IN]++;
    this.toInside(view, off, mid);
    return this.insidePort;
  }

  private toInside(view: DataView, off: number, mid: number): void {
    const host = this.mMac[mid];
    setMac(view, off, host >= 0 ? host : this.cfg.mac.insideHost >= 0 ? this.cfg.mac.insideHost : BROADCAST);
    if (this.macInside >= 0) setMac(view, off + 6, this.macInside);
  }

  /**
   * RFC 5508: an ICMP error from outside about a packet we translated outbound. The embedded packet
   * is (external → remote); its source becomes the internal endpoint again, and the outer destination
   * the internal host. Every checksum is updated incrementally: the outer IP header's, the embedded IP
   * header's, the embedded TCP/UDP/ICMP checksum where it is inside the quote, and the outer ICMP one
   * (which covers every changed byte of the quote).
   */
  private icmpErrorIn(view: DataView, data: Uint8Array, off: number, l3: number, icmp: number, end: number): number {
    const c = this.counters;
    const inner = icmp + 8;
    const q = this.quote(view, data, inner, end);
    if (q < 0) {
      c[DROP_MALFORMED]++;
      return -1;
    }
    const iproto = data[inner + 9];
    const il4 = inner + (data[inner] & 15) * 4;
    const isrc = view.getUint32(inner + 12);
    const idst = view.getUint32(inner + 16);
    let sport: number;
    let dport: number;
    if (iproto === ICMP) {
      if (data[il4] !== 8) {
        c[DROP_ICMP_ERROR_NO_FLOW]++;
        return -1;
      }
      sport = view.getUint16(il4 + 4);
      dport = 0;
    } else {
      sport = view.getUint16(il4);
      dport = view.getUint16(il4 + 2);
    }
    const sid = this.lookup(isrc, idst, ((sport << 16) | dport) >>> 0, k3(iproto, KeyKind.IN));
    if (sid === NOT_FOUND || this.sess[sid * SESSION_WORDS + S_EXPIRE] < this.now || view.getUint32(l3 + 16) !== isrc) {
      c[DROP_ICMP_ERROR_NO_FLOW]++;
      return -1;
    }
    const mid = this.sess[sid * SESSION_WORDS + S_MAP];
    const intIp = this.mIntIp[mid];
    const intPort = this.mPorts[mid] >>> 16;
    rewriteIp4Dst(view, l3, -1, ICMP, intIp);
    rewriteQuoted(view, icmp + 2, inner, il4, iproto, q, 12, 0, isrc, intIp, intPort);
    c[ICMP_ERROR_IN]++;
    this.toInside(view, off, mid);
    return this.cfg.insidePort;
  }

  /** RFC 5508 the other way: an inside host's ICMP error about a packet we translated inbound. */
  private icmpErrorOut(view: DataView, data: Uint8Array, off: number, l3: number, icmp: number, end: number): number {
    const c = this.counters;
    const inner = icmp + 8;
    const q = this.quote(view, data, inner, end);
    const iproto = q < 0 ? 0 : data[inner + 9];
    if (q < 0 || iproto === ICMP) {
      c[q < 0 ? DROP_MALFORMED : DROP_ICMP_ERROR_NO_FLOW]++;
      return -1;
    }
    const il4 = inner + (data[inner] & 15) * 4;
    const isrc = view.getUint32(inner + 12); // the remote
    const idst = view.getUint32(inner + 16); // the internal host
    const sport = view.getUint16(il4);
    const dport = view.getUint16(il4 + 2);
    const sid = this.lookup(idst, isrc, ((dport << 16) | sport) >>> 0, k3(iproto, KeyKind.OUT));
    if (sid === NOT_FOUND || this.sess[sid * SESSION_WORDS + S_EXPIRE] < this.now || view.getUint32(l3 + 12) !== idst) {
      c[DROP_ICMP_ERROR_NO_FLOW]++;
      return -1;
    }
    const mid = this.sess[sid * SESSION_WORDS + S_MAP];
    const extIp = this.mExtIp[mid];
    const extPort = this.mPorts[mid] & 0xffff;
    rewriteIp4Src(view, l3, -1, ICMP, extIp);
    rewriteQuoted(view, icmp + 2, inner, il4, iproto, q, 16, 2, idst, extIp, extPort);
    c[ICMP_ERROR_OUT]++;
    setMac(view, off, this.macGateway < 0 ? BROADCAST : this.macGateway);
    if (this.macOutside >= 0) setMac(view, off + 6, this.macOutside);
    return this.cfg.outsidePort;
  }

  /** Bytes of the quoted packet's L4 header present (>= 8), or -1 when the quote is too short or not IPv4 TCP/UDP/ICMP. */
  private quote(view: DataView, data: Uint8Array, inner: number, end: number): number {
    if (end - inner < 28 || data[inner] >>> 4 !== 4) return -1;
    const ihl = (data[inner] & 15) * 4;
    const p = data[inner + 9];
    if (ihl < 20 || (p !== TCP && p !== UDP && p !== ICMP) || (view.getUint16(inner + 6) & 0x1fff) !== 0) return -1;
    const avail = end - (inner + ihl);
    return avail >= 8 ? avail : -1;
  }

  /**
   * The key of the first table lookup {@link NatEngine.process} will make for this frame (the session
   * key: OUT from inside, IN from outside, the quoted packet's for an ICMP error), written to
   * `out[at .. at + 4)`; `out[at + 3] = 0` when it makes none. The device looks these up in batch.
   */
  keyOf(view: DataView, data: Uint8Array, off: number, len: number, inPort: number, out: Uint32Array, at: number): void {
    out[at + 3] = 0;
    if (len < 34 || view.getUint16(off + 12) !== 0x0800) return;
    const l3 = off + 14;
    const ihl = (data[l3] & 15) * 4;
    const total = view.getUint16(l3 + 2);
    if (data[l3] >>> 4 !== 4 || ihl < 20 || total < ihl || 14 + total > len || (view.getUint16(l3 + 6) & 0x3fff) !== 0) return;
    const outbound = this.cfg.classify === 'address' ? this.isInside(view.getUint32(l3 + 12)) : inPort === this.cfg.insidePort;
    if (!outbound && this.cfg.classify === 'port' && inPort !== this.cfg.outsidePort) return;
    let proto = data[l3 + 9];
    let l4 = l3 + ihl;
    let a = view.getUint32(l3 + 12);
    let b = view.getUint32(l3 + 16);
    let reverse = false;
    if (!this.l4Ok(view, proto, l4, total - ihl)) return;
    if (proto === ICMP) {
      const t = data[l4];
      if (t === (outbound ? 8 : 0)) {
        const id = view.getUint16(l4 + 4);
        if (outbound) this.putKey(out, at, a, b, (id << 16) >>> 0, k3(ICMP, KeyKind.OUT));
        else this.putKey(out, at, b, a, (id << 16) >>> 0, k3(ICMP, KeyKind.IN));
        return;
      }
      if (!(t === 3 || t === 4 || t === 5 || t === 11 || t === 12)) return;
      const inner = l4 + 8;
      if (this.quote(view, data, inner, l3 + total) < 0) return;
      proto = data[inner + 9];
      l4 = inner + (data[inner] & 15) * 4;
      a = view.getUint32(inner + 12);
      b = view.getUint32(inner + 16);
      reverse = true; // the quote travels the other way
      if (proto === ICMP) {
        if (outbound || data[l4] !== 8) return;
        this.putKey(out, at, a, b, (view.getUint16(l4 + 4) << 16) >>> 0, k3(ICMP, KeyKind.IN));
        return;
      }
    } else if (proto !== TCP && proto !== UDP) return;
    const sp = view.getUint16(l4);
    const dp = view.getUint16(l4 + 2);
    // Outbound: (src, dst, sport, dport); inbound: (dst, src, dport, sport); a quote swaps once more.
    const kind = outbound ? KeyKind.OUT : KeyKind.IN;
    if (outbound !== reverse) this.putKey(out, at, a, b, ((sp << 16) | dp) >>> 0, k3(proto, kind));
    else this.putKey(out, at, b, a, ((dp << 16) | sp) >>> 0, k3(proto, kind));
  }

  private putKey(out: Uint32Array, at: number, k0: number, k1: number, k2: number, key3: number): void {
    out[at] = k0;
    out[at + 1] = k1;
    out[at + 2] = k2;
    out[at + 3] = key3;
  }

  /**
   * Bytes of typed arrays per flow at capacity: {@link NatEngine.byteLength} / `maxFlows` (each flow
   * a session with its own mapping).
   */
  get bytesPerFlow(): number {
    return this.byteLength / this.cfg.maxFlows;
  }
}

/**
 * Rewrites the address at `l3 + addrField` (12 source, 16 destination) and the TCP/UDP port at
 * `l4 + portField` (or, for ICMP echo, the identifier) and updates the IP and L4 checksums
 * incrementally (RFC 1624 eqn. 3), one fold per checksum for both changes; a zero UDP checksum
 * stays zero (RFC 768), and a UDP result of 0 is sent as 0xffff.
 */
function translate(view: DataView, l3: number, l4: number, proto: number, addrField: number, portField: number, addr: number, port: number): void {
  const oldA = view.getUint32(l3 + addrField);
  view.setUint32(l3 + addrField, addr);
  const dA = (~oldA >>> 16) + (~oldA & 0xffff) + (addr >>> 16) + (addr & 0xffff);
  view.setUint16(l3 + 10, fold16(~view.getUint16(l3 + 10) & 0xffff, dA));
  if (proto === ICMP) {
    const oldId = view.getUint16(l4 + 4);
    view.setUint16(l4 + 4, port);
    view.setUint16(l4 + 2, fold16(~view.getUint16(l4 + 2) & 0xffff, (~oldId & 0xffff) + port));
    return;
  }
  const oldP = view.getUint16(l4 + portField);
  view.setUint16(l4 + portField, port);
  const ck = l4 + (proto === TCP ? 16 : 6);
  const c = view.getUint16(ck);
  if (proto === UDP && c === 0) return;
  const r = fold16(~c & 0xffff, dA + (~oldP & 0xffff) + port);
  view.setUint16(ck, proto === UDP && r === 0 ? 0xffff : r);
}

/** ~(a + d) folded to 16 bits (a and d small non-negative sums, far below 2^31). */
function fold16(a: number, d: number): number {
  let x = a + d;
  x = (x & 0xffff) + (x >>> 16);
  x = (x & 0xffff) + (x >>> 16);
  return ~x & 0xffff;
}

function readMac(view: DataView, at: number): number {
  return view.getUint16(at) * 0x100000000 + view.getUint32(at + 2);
}

function setMac(view: DataView, at: number, mac: number): void {
  // mac < 2^48: the high 16 bits by one float division (exact), the low 32 by subtraction.
  const hi = (mac / 0x100000000) | 0;
  view.setUint16(at, hi);
  view.setUint32(at + 2, mac - hi * 0x100000000);
}

/** Writes a 16-bit word of the ICMP message and adjusts the ICMP checksum at `ck` for it. */
function put16(view: DataView, at: number, value: number, ck: number): void {
  const old = view.getUint16(at);
  view.setUint16(at, value);
  view.setUint16(ck, checksumAdjust16(view.getUint16(ck), old, value));
}

/**
 * Rewrites the quoted packet of an ICMP error: its address at `inner + addrField` (12 source, 16
 * destination) from `oldAddr` to `addr`, the port (or echo id) at `il4 + portField` to `port`, and
 * fixes the quoted IP checksum, the quoted L4 checksum when the quote holds it, and the outer ICMP
 * checksum at `ck`.
 */
function rewriteQuoted(view: DataView, ck: number, inner: number, il4: number, iproto: number, avail: number, addrField: number, portField: number, oldAddr: number, addr: number, port: number): void {
  put16(view, inner + addrField, addr >>> 16, ck);
  put16(view, inner + addrField + 2, addr & 0xffff, ck);
  put16(view, inner + 10, checksumAdjust32(view.getUint16(inner + 10), oldAddr, addr), ck);
  if (iproto === ICMP) {
    // Quoted echo request: its identifier (no pseudo-header in ICMP's checksum).
    const oldId = view.getUint16(il4 + 4);
    put16(view, il4 + 4, port, ck);
    put16(view, il4 + 2, checksumAdjust16(view.getUint16(il4 + 2), oldId, port), ck);
    return;
  }
  const oldPort = view.getUint16(il4 + portField);
  put16(view, il4 + portField, port, ck);
  if (iproto === UDP) {
    const u = view.getUint16(il4 + 6);
    if (u !== 0) put16(view, il4 + 6, udpChecksumAdjust16(udpChecksumAdjust32(u, oldAddr, addr), oldPort, port), ck);
  } else if (avail >= 18) {
    const t = view.getUint16(il4 + 16);
    put16(view, il4 + 16, checksumAdjust16(checksumAdjust32(t, oldAddr, addr), oldPort, port), ck);
  }
}
