/**
 * The NAPT engine: mappings, sessions and their translation of packets in place, all in one typed
 * array (no per-flow or per-packet objects). The NF (`nf.ts`) calls {@link NatEngine.tick} and
 * {@link NatEngine.processBatch} once per batch; {@link NatEngine.process} translates one packet
 * (tests, tools).
 *
 * Model (RFC 4787 terms): a *mapping* binds an internal endpoint (address, port, protocol) to an
 * external one; it is endpoint-independent (one mapping per internal endpoint, whatever the
 * destination). A *session* is one conversation through a mapping with one remote endpoint; it
 * carries the TCP state and the idle timer. A mapping lives while it has sessions (or is static).
 * With address-dependent filtering, a *permission* (remote address per mapping) records where the
 * internal endpoint has sent to; it counts as a session.
 * @module
 */
import { Action, checksumAdjust16, checksumAdjust32, decrementIp4Ttl, rewriteIp4Dst, rewriteIp4Src, udpChecksumAdjust16, udpChecksumAdjust32, type PacketBatch } from '@gnet/nflib';
import { createFlowProbe, NatFlag, NatParam, type FlowProbe } from '@gnet/manager-native';
import type { NatConfig } from './config.js';
import { FlowTable, KEY3_MASK, KeyKind, SLOT_WORDS, hashKey, homeOf } from './flow-table.js';
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

// Slot words (flow-table.ts): key k0..k3, then the value. For a session's OUT and IN slots the value is
// the translation (the other side's address and port), the time it was last seen, and, on the IN
// slot, the inside host's MAC; for a mapping's MAPI slot the external endpoint, its reference count
// and the host's MAC; for MAPE and PERM the internal endpoint.
/** The other side's address (OUT, MAPI: external; IN, MAPE, PERM: internal). */
const V_ADDR = 4;
/** The other side's port << 16 | bits 32..47 of the MAC (IN, MAPI). */
const V_PORT = 5;
/** Last seen, seconds of {@link NatEngine.now} (OUT, IN, PERM); sessions and permissions holding it (MAPI). */
const V_LAST = 6;
const V_REFS = 6;
/** Bits 0..31 of the MAC (IN, MAPI). */
const V_MAC = 7;

// Flags in bits 16..31 of slot word 3. TCP flags seen on a session (its state; RFC 5382 §5 timers
// derive from it) are kept identical on its OUT and IN slots.
const SYN_OUT = 1 << 16;
const SYN_IN = 2 << 16;
const FIN_OUT = 4 << 16;
const FIN_IN = 8 << 16;
const RST = 16 << 16;
/** The slot holds a MAC (IN, MAPI). */
const HAS_MAC = 32 << 16;
/** A static forward's mapping (MAPI, MAPE): never freed, never filtered. */
const STATIC = 64 << 16;

const K_OUT = KeyKind.OUT << 8;
const K_IN = KeyKind.IN << 8;
const K_MAPI = KeyKind.MAPI << 8;
const K_MAPE = KeyKind.MAPE << 8;
const K_PERM = KeyKind.PERM << 8;

/** Seconds in which the sweep visits every table slot (when batches come often enough; see {@link NatEngine.tick}). */
export const SWEEP_PERIOD_S = 10;

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const BROADCAST = 0xffffffffffff;

/** The external pool index an internal address is paired with (RFC 4787 REQ-2: paired pooling). */
function pairIndex(intIp: number, n: number): number {
  return n === 1 ? 0 : hashKey(intIp | 0, 0, 0, 0) % n;
}

/** The TCP state bits a segment with `flags` adds, for the outbound (`out`) or inbound direction. */
function tcpBits(flags: number, out: boolean): number {
  return (flags & 2 ? (out ? SYN_OUT : SYN_IN) : 0) | (flags & 1 ? (out ? FIN_OUT : FIN_IN) : 0) | (flags & 4 ? RST : 0);
}

/** The NAPT state and packet translation. */
export class NatEngine {
  /** The configuration it was built from. */
  readonly cfg: NatConfig;
  /**
   * Every key and its record in one table (see {@link KeyKind}): a session is its OUT and IN slots
   * (each holding the translation, the state and the last-seen time, so a packet of an established
   * flow reads one slot); a mapping is its MAPI and MAPE slots; a permission is a PERM slot.
   */
  readonly table: FlowTable;
  /** Counters, indexed by {@link NatCounter} (the NF points this at nflib's named counters). */
  counters: Float64Array;
  /** Coarse clock in whole seconds, set once per batch by {@link NatEngine.tick}. */
  now = 0;
  /** Live sessions (permissions included). */
  sessions = 0;
  /** Live mappings (static ones included). */
  mappings = 0;
  /** Most sessions (permissions included) at once: `cfg.maxFlows`. */
  readonly maxSessions: number;
  /** Most mappings at once: `cfg.maxFlows` plus the static forwards. */
  readonly maxMappings: number;
  /** Port allocators by pool index * 3 + (0 TCP, 1 UDP, 2 ICMP). */
  readonly ports: PortAllocator[];

  private readonly s: Int32Array;
  private sweepCursor = 0;
  /** Slots the sweep owes (fractions carried from tick to tick), the time of the last tick, and the last sweep's slots. */
  private sweepDue = 0;
  private lastTick = 0;
  private lastSweep = 0;
  private readonly externals: Int32Array;
  private readonly extContiguous: boolean;
  private readonly subnetNet: Int32Array;
  private readonly subnetMask: Int32Array;
  /** Own inside/outside MACs and the outside gateway's, configured or learned (-1 unknown). */
  private macInside: number;
  private macOutside: number;
  private macGateway: number;
  // The same as 16-bit high and 32-bit low words for the data path (the gateway's broadcast while unknown).
  private gwHi = 0xffff;
  private gwLo = -1;
  private outHi = 0;
  private outLo = 0;
  private inHi = 0;
  private inLo = 0;
  private hint = -1;
  // Per packet of the batch in processBatch: key (4 words) and home slot. `batchKeys` is the batch's
  // keys: `keys`, or the ones the caller already made with keyOf (gpu mode's queries).
  private keys: Uint32Array = new Uint32Array(4 * 64);
  private batchKeys: Uint32Array = this.keys;
  private homes = new Int32Array(64);
  /** The native probe's answer per packet (the slot holding its key, or -1), and the probe bound to `keys`, `homes` and it. */
  private found = new Int32Array(64);
  private probe: FlowProbe | undefined;
  /** Whether the probe also makes the keys of TCP/UDP frames (`frameKeys`: ports classify, addon new enough). */
  private nativeKeys = false;
  // The buffers the probe's frameKeys reads (bound again when a batch's differ).
  private framesData: ArrayBufferLike | null = null;
  private framesDataAt = -1;
  private framesDataLength = -1;
  private framesOffsets: ArrayBufferLike | null = null;
  private framesLengths: ArrayBufferLike | null = null;
  private framesPorts: ArrayBufferLike | null = null;
  private framesAction: ArrayBufferLike | null = null;
  private framesDestination: ArrayBufferLike | null = null;
  /**
   * Whether the probe also translates the packets of established TCP/UDP sessions (`forward`: the
   * short path in C++, with the same checks; addon new enough), and the parameters it reads.
   */
  private nativeForward = false;
  private readonly wantNativeForward: boolean;
  private readonly natParams: Int32Array;
  /** Packets the native short path translated (a statistic: they are counted as `out`/`in` too). */
  nativeForwarded = 0;
  private readonly nativeProbe: boolean;
  /** Where the prefetch pass leaves what it read, so the loads are kept. */
  private sink = 0;
  /** The IN slot of the session {@link NatEngine.newSession} made last. */
  private newIn = -1;
  // Config values the data path reads per packet, as plain fields.
  private readonly addressDependent: boolean;
  private readonly byAddress: boolean;
  private readonly tUdp: number;
  private readonly tIcmp: number;
  private readonly tTcpEstablished: number;
  private readonly tTcpTransitory: number;
  private readonly decTtl: boolean;
  private readonly insidePort: number;
  private readonly outsidePort: number;
  private readonly insideHost: number;
  private readonly sweepPerBatch: number;

  /**
   * Builds the table for `cfg` (sized by `cfg.maxFlows`) and installs the static forwards.
   * @param options.nativeProbe - look each batch's keys up with `@gnet/manager-native`'s
   * `FlowProbe` (default: when the addon loads); `false` keeps the whole data path in JavaScript.
   * @param options.nativeForward - with the probe, also translate the packets of established
   * TCP/UDP sessions natively (`FlowProbe.forward`; default true); `false` keeps the short path in
   * JavaScript. Every choice gives the same translations.
   */
  constructor(cfg: NatConfig, options: { nativeProbe?: boolean; nativeForward?: boolean } = {}) {
    this.cfg = cfg;
    this.nativeProbe = options.nativeProbe !== false;
    this.wantNativeForward = options.nativeForward !== false;
    this.maxSessions = cfg.maxFlows;
    this.maxMappings = cfg.maxFlows + cfg.forwards.length;
    // Two keys per session (or one per permission, which counts as a session) and two per mapping.
    this.table = new FlowTable(2 * this.maxSessions + 2 * this.maxMappings);
    this.s = this.table.slots;
    this.counters = new Float64Array(NAT_COUNTERS.length);
    this.addressDependent = cfg.filtering === 'address-dependent';
    this.byAddress = cfg.classify === 'address';
    this.tUdp = cfg.timeouts.udp;
    this.tIcmp = cfg.timeouts.icmp;
    this.tTcpEstablished = cfg.timeouts.tcpEstablished;
    this.tTcpTransitory = cfg.timeouts.tcpTransitory;
    this.decTtl = cfg.decrementTtl;
    this.insidePort = cfg.insidePort;
    this.outsidePort = cfg.outsidePort;
    this.insideHost = cfg.mac.insideHost;
    this.sweepPerBatch = cfg.sweepPerBatch;
    this.externals = Int32Array.from(cfg.external);
    this.extContiguous = cfg.external.every((a, i) => a === (cfg.external[0] + i) >>> 0);
    this.ports = [];
    for (let i = 0; i < cfg.external.length; i++) {
      this.ports.push(new PortAllocator(cfg.portMin, cfg.portMax), new PortAllocator(cfg.portMin, cfg.portMax), new PortAllocator(1, 65535));
    }
    this.subnetNet = Int32Array.from(cfg.insideSubnets.map((s) => s.network));
    this.subnetMask = Int32Array.from(cfg.insideSubnets.map((s) => s.mask));
    this.macInside = cfg.mac.inside;
    this.macOutside = cfg.mac.outside;
    this.macGateway = cfg.mac.outsideGateway;
    this.natParams = this.nativeParams();
    this.macsChanged();
    this.bindProbe();
    for (const f of cfg.forwards) {
      const idx = cfg.external.indexOf(f.extIp);
      this.ports[idx * 3 + (f.proto === TCP ? 0 : 1)].reserve(f.extPort);
      const m = this.newMapping(f.proto, f.intIp, f.intPort, f.extIp, f.extPort, STATIC);
      if (m < 0) throw new Error('nat: the flow table cannot hold the static forwards');
      if (cfg.mac.insideHost >= 0) this.setSlotMac(m * SLOT_WORDS, cfg.mac.insideHost);
    }
  }

  /** Whether {@link NatEngine.processBatch} looks keys up with the native `FlowProbe` (else in JavaScript). */
  get nativeLookup(): boolean {
    return this.probe !== undefined;
  }

  /** Whether {@link NatEngine.processBatch} translates established TCP/UDP sessions natively (`FlowProbe.forward`). */
  get nativeShortPath(): boolean {
    return this.nativeForward;
  }

  /** Bytes of every typed array of the engine (the table and the port bitmaps). */
  get byteLength(): number {
    return this.table.byteLength + this.ports.length * 8192;
  }

  /**
   * When the session of an outbound 5-tuple expires (seconds of {@link NatEngine.now}): its last
   * packet either way plus the timeout of its protocol and TCP state; -1 when there is none.
   */
  sessionExpiry(proto: number, intIp: number, intPort: number, remIp: number, remPort: number): number {
    const slot = this.table.find(intIp, remIp, (intPort << 16) | remPort, proto | K_OUT);
    if (slot < 0) return -1;
    const p = slot * SLOT_WORDS;
    const q = this.partner(p);
    return Math.max(this.s[p + V_LAST], q < 0 ? 0 : this.s[q + V_LAST]) + this.timeoutOf(this.s[p + 3]);
  }

  /**
   * Sets the coarse clock (seconds, e.g. `performance.now() / 1000`) and checks table slots for
   * idle sessions: as many as visit the whole table about every {@link SWEEP_PERIOD_S} seconds, at
   * most `cfg.sweepPerBatch` per call. Call once per batch, never per packet.
   */
  tick(nowSeconds: number): void {
    this.now = Math.floor(nowSeconds);
    const due = this.sweepDue + (nowSeconds - this.lastTick) * (this.table.capacity / SWEEP_PERIOD_S);
    this.lastTick = nowSeconds;
    const n = due >= this.sweepPerBatch ? this.sweepPerBatch : due > 0 ? Math.floor(due) : 0;
    this.sweepDue = due > n && n < this.sweepPerBatch ? due - n : 0;
    this.lastSweep = n;
    if (n > 0) this.sweep(n);
  }

  /** Checks the next `n` table slots (round robin) and expires the idle sessions and permissions there. */
  sweep(n: number): void {
    const s = this.s;
    const cap = this.table.capacity;
    let c = this.sweepCursor;
    for (let k = 0; k < n; k++) {
      const w3 = s[c * SLOT_WORDS + 3];
      const kind = (w3 >>> 8) & 0xff;
      if ((kind === KeyKind.OUT || kind === KeyKind.IN || kind === KeyKind.PERM) && !this.alive(c * SLOT_WORDS)) {
        // The slot is emptied and may be refilled by a later key shifting back: look at it again.
        this.expire(c);
        continue;
      }
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
        return h;
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
    for (let i = 0; i < ex.length; i++) if (ex[i] === (addr | 0)) return i;
    return -1;
  }

  private isInside(addr: number): boolean {
    const n = this.subnetNet.length;
    if (n === 0) return true;
    for (let i = 0; i < n; i++) if ((addr & this.subnetMask[i]) === this.subnetNet[i]) return true;
    return false;
  }

  /** The idle timeout of a session slot with word 3 = `w3` (its protocol and TCP state). */
  private timeoutOf(w3: number): number {
    const proto = w3 & 0xff;
    if (proto === UDP) return this.tUdp;
    if (proto === ICMP) return this.tIcmp;
    // Established once both sides sent SYN and nobody closed; everything else is transitory.
    return (w3 & (SYN_OUT | SYN_IN)) === (SYN_OUT | SYN_IN) && (w3 & (FIN_OUT | FIN_IN | RST)) === 0 ? this.tTcpEstablished : this.tTcpTransitory;
  }

  /** A permission lasts as a session of its protocol (TCP: as an established one). */
  private permTimeout(proto: number): number {
    return proto === TCP ? this.tTcpEstablished : proto === UDP ? this.tUdp : this.tIcmp;
  }

  /**
   * The other slot of the session whose OUT or IN slot starts at word `p` (-1 if missing). Both
   * keys are in either slot: OUT is (int, rem, intPort|rport) → (ext, extPort), IN the reverse.
   */
  private partner(p: number): number {
    const s = this.s;
    const w3 = s[p + 3] & KEY3_MASK;
    const other = (w3 & 0xff) | ((w3 & 0xff00) === K_OUT ? K_IN : K_OUT);
    const slot = this.table.find(s[p + V_ADDR], s[p + 1], (s[p + V_PORT] & 0xffff0000) | (s[p + 2] & 0xffff), other);
    return slot < 0 ? -1 : slot * SLOT_WORDS;
  }

  /**
   * Whether the session or permission in the slot at word `p` is still live. A session was seen
   * when either of its slots was; when this one is stale the other is read (a second lookup, only
   * once per timeout) and, with `refresh`, its time copied here. The ICMP error paths do not copy:
   * an error carries no packet of the session, and copying there would let the native short path,
   * which runs before the batch's other packets, change what a later packet's time leaves here.
   */
  private alive(p: number, refresh = true): boolean {
    const s = this.s;
    const w3 = s[p + 3];
    if ((w3 & 0xff00) === K_PERM) return s[p + V_LAST] + this.permTimeout(w3 & 0xff) >= this.now;
    const t = this.timeoutOf(w3);
    if (s[p + V_LAST] + t >= this.now) return true;
    const q = this.partner(p);
    if (q < 0 || s[q + V_LAST] + t < this.now) return false;
    if (refresh) s[p + V_LAST] = s[q + V_LAST];
    return true;
  }

  /** Writes a MAC (a 48-bit number) into the value of the slot at word `p`. */
  private setSlotMac(p: number, mac: number): void {
    const hi = (mac / 0x100000000) | 0;
    const s = this.s;
    s[p + V_PORT] = (s[p + V_PORT] & 0xffff0000) | hi;
    s[p + V_MAC] = mac - hi * 0x100000000;
    s[p + 3] |= HAS_MAC;
  }

  /** A new mapping (its MAPI and MAPE slots); returns the MAPI slot, or -1 when the table is full. */
  private newMapping(proto: number, intIp: number, intPort: number, extIp: number, extPort: number, flags: number): number {
    if (this.mappings >= this.maxMappings) return -1;
    const t = this.table;
    const m = t.insert(intIp, 0, intPort << 16, proto | K_MAPI);
    if (m < 0) return -1;
    const e = t.insert(extIp, 0, extPort << 16, proto | K_MAPE);
    if (e < 0) {
      t.removeAt(m);
      return -1;
    }
    const s = this.s;
    s[m * SLOT_WORDS + 3] |= flags;
    s[m * SLOT_WORDS + V_ADDR] = extIp;
    s[m * SLOT_WORDS + V_PORT] = extPort << 16;
    s[e * SLOT_WORDS + 3] |= flags;
    s[e * SLOT_WORDS + V_ADDR] = intIp;
    s[e * SLOT_WORDS + V_PORT] = intPort << 16;
    this.mappings++;
    this.counters[MAPPINGS_CREATED]++;
    return m;
  }

  /**
   * Drops `n` references to the mapping of internal endpoint `intIp:intPort`; with none left it is
   * freed (unless static).
   */
  private unref(proto: number, intIp: number, intPort: number, n: number): void {
    const t = this.table;
    const m = t.find(intIp, 0, intPort << 16, proto | K_MAPI);
    if (m < 0) return;
    const p = m * SLOT_WORDS;
    const s = this.s;
    if ((s[p + V_REFS] -= n) > 0 || (s[p + 3] & STATIC) !== 0) return;
    const extIp = s[p + V_ADDR];
    const extPort = s[p + V_PORT] >>> 16;
    t.removeAt(m);
    t.remove(extIp, 0, extPort << 16, proto | K_MAPE);
    this.ports[this.isExternal(extIp) * 3 + (proto === TCP ? 0 : proto === UDP ? 1 : 2)].release(extPort);
    this.mappings--;
    this.counters[MAPPINGS_FREED]++;
  }

  /** Removes the session (both slots) or permission in slot `slot` and drops its mapping reference. */
  private expire(slot: number): void {
    const s = this.s;
    const p = slot * SLOT_WORDS;
    const w3 = s[p + 3] & KEY3_MASK;
    const proto = w3 & 0xff;
    let intIp = s[p + V_ADDR];
    let intPort = s[p + V_PORT] >>> 16;
    if ((w3 & 0xff00) === K_OUT) {
      intIp = s[p];
      intPort = s[p + 2] >>> 16;
    }
    if ((w3 & 0xff00) !== K_PERM) {
      // The other slot's key, read before any removal shifts slots.
      const k0 = s[p + V_ADDR];
      const k1 = s[p + 1];
      const k2 = (s[p + V_PORT] & 0xffff0000) | (s[p + 2] & 0xffff);
      this.table.removeAt(slot);
      this.table.remove(k0, k1, k2, proto | ((w3 & 0xff00) === K_OUT ? K_IN : K_OUT));
    } else this.table.removeAt(slot);
    this.sessions--;
    this.counters[SESSIONS_EXPIRED]++;
    this.unref(proto, intIp, intPort, 1);
  }

  /**
   * A new session on the mapping whose MAPI slot is `m`, with remote `rem:rport`: inserts its OUT and
   * IN slots (the IN one with the mapping's MAC). Returns the OUT slot (the IN one is left in
   * {@link NatEngine.newIn}), or -1 when full.
   */
  private newSession(proto: number, m: number, rem: number, rport: number): number {
    if (this.sessions >= this.maxSessions) return -1;
    const s = this.s;
    const t = this.table;
    const mp = m * SLOT_WORDS;
    const intIp = s[mp];
    const intPort = s[mp + 2] >>> 16;
    const extIp = s[mp + V_ADDR];
    const extPort = s[mp + V_PORT] >>> 16;
    const o = t.insert(intIp, rem, (intPort << 16) | rport, proto | K_OUT);
    if (o < 0) return -1;
    const i = t.insert(extIp, rem, (extPort << 16) | rport, proto | K_IN);
    if (i < 0) {
      t.removeAt(o);
      return -1;
    }
    const op = o * SLOT_WORDS;
    const ip = i * SLOT_WORDS;
    s[op + V_ADDR] = extIp;
    s[op + V_PORT] = extPort << 16;
    s[op + V_LAST] = this.now;
    s[ip + 3] |= s[mp + 3] & HAS_MAC;
    s[ip + V_ADDR] = intIp;
    s[ip + V_PORT] = (intPort << 16) | (s[mp + V_PORT] & 0xffff);
    s[ip + V_LAST] = this.now;
    s[ip + V_MAC] = s[mp + V_MAC];
    s[mp + V_REFS]++;
    this.sessions++;
    this.counters[SESSIONS_CREATED]++;
    this.newIn = i;
    return o;
  }

  /** `slot` when its session is live; else -1 (a dead session found is expired on the way). */
  private live(slot: number): number {
    if (slot < 0 || this.alive(slot * SLOT_WORDS)) return slot;
    this.expire(slot);
    return -1;
  }

  /**
   * A packet of the session whose slot starts at word `p` passes: its time is recorded, and TCP
   * state `bits` it adds go into both of the session's slots.
   */
  private seen(p: number, bits: number): void {
    const s = this.s;
    if ((s[p + 3] | bits) !== s[p + 3]) {
      const q = this.partner(p);
      s[p + 3] |= bits;
      if (q >= 0) s[q + 3] |= bits;
    }
    if (s[p + V_LAST] !== this.now) s[p + V_LAST] = this.now;
  }

  /** Address-dependent filtering: records (or refreshes) that mapping `extIp:extPort` sent to `rem`. */
  private permit(proto: number, extIp: number, extPort: number, rem: number, intIp: number, intPort: number): void {
    const t = this.table;
    let q = t.find(extIp, rem, extPort << 16, proto | K_PERM);
    if (q < 0) {
      const m = t.find(intIp, 0, intPort << 16, proto | K_MAPI);
      if (this.sessions >= this.maxSessions || m < 0) return;
      q = t.insert(extIp, rem, extPort << 16, proto | K_PERM);
      if (q < 0) return;
      const s = this.s;
      s[q * SLOT_WORDS + V_ADDR] = intIp;
      s[q * SLOT_WORDS + V_PORT] = intPort << 16;
      s[m * SLOT_WORDS + V_REFS]++;
      this.sessions++;
    }
    this.s[q * SLOT_WORDS + V_LAST] = this.now;
  }

  /** Whether remote `rem` may start a session through the mapping whose MAPE slot is at word `e`. */
  private permitted(e: number, rem: number): boolean {
    const s = this.s;
    if (!this.addressDependent || (s[e + 3] & STATIC) !== 0) return true;
    const q = this.table.find(s[e], rem, s[e + 2], (s[e + 3] & 0xff) | K_PERM);
    return q >= 0 && this.alive(q * SLOT_WORDS);
  }

  /**
   * Translates a batch in place and sets each packet's action (`OUT` to the port it leaves by, or
   * `DROP`). With a million flows nearly every packet's slot is a cache miss, so the batch goes in
   * three passes: each packet's key ({@link NatEngine.keyOf}); then the lookup of every key with
   * the misses overlapped, where one packet after another would wait for each miss in turn (in
   * `@gnet/manager-native`'s `FlowProbe`: hashes, prefetches of every home line, probes; without
   * the addon, one tight JavaScript loop of loads of every home line); then the packets in order:
   * one of an established flow by a short path (`forward`), anything else by
   * {@link NatEngine.process}. With the addon the short path of TCP/UDP packets runs natively
   * before that pass (`FlowProbe.forward`, see {@link NatEngine.nativeShortPath}), which then takes
   * only the packets it left. `hints`: a device lookup's slot per packet (gpu mode), checked
   * before use. `keys`: the batch's keys when the caller already made them with
   * {@link NatEngine.keyOf} (4 words per packet), so they are not made twice.
   */
  processBatch(batch: PacketBatch, hints?: Int32Array, keys?: Uint32Array): void {
    const n = batch.count;
    const view = batch.view;
    const data = batch.data;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    const ports = batch.port;
    if (this.homes.length < n) {
      this.homes = new Int32Array(n);
      this.keys = new Uint32Array(4 * n);
      this.found = new Int32Array(n);
      this.bindProbe();
    }
    if (keys !== undefined && keys.length < 4 * n) throw new RangeError(`processBatch: ${keys.length} key words for ${n} packets`);
    const homes = this.homes;
    const k = keys ?? this.keys;
    this.batchKeys = k;
    const cap = this.table.capacity;
    // The device's answers are counted as its hits; the native probe's are the CPU's own lookup.
    let counted = hints !== undefined;
    const probe = hints === undefined && keys === undefined ? this.probe : undefined;
    if (probe !== undefined) {
      // Keys (natively for TCP/UDP: the frames' lines, written on another core, fetched together),
      // then hashes, homes, prefetches and probes in one native call.
      if (this.nativeKeys) {
        this.bindFrames(batch);
        if (probe.frameKeys(n, offsets.byteOffset, lengths.byteOffset, ports.byteOffset, this.insidePort, this.outsidePort) > 0) {
          for (let i = 0; i < n; i++) if (homes[i] === -2) this.keyOf(view, data, offsets[i], lengths[i], ports[i], k, 4 * i);
        }
      } else {
        for (let i = 0; i < n; i++) this.keyOf(view, data, offsets[i], lengths[i], ports[i], k, 4 * i);
      }
      probe.probe(n, cap, this.sweepCursor, this.lastSweep);
      hints = this.found;
      counted = false;
      if (this.nativeForward) {
        // Established sessions translated natively (homes[i] = -3); what is left runs below, in
        // order. Taking those first gives what packet order would: the probe's answers are exact
        // (nothing has changed the table yet); such a packet changes only its session's time (to
        // `now`); and no earlier packet can change its outcome: it takes a live session only, which
        // stays live (expiry and sweeps touch dead ones; a deletion's backward shift moves a slot
        // whole); TCP flags of others change its state but not its translation or liveness, its
        // time being now; and while a MAC may still be learned that direction is left to forward().
        const p = this.natParams;
        p[NatParam.NOW] = this.now;
        const done = probe.forward(n, offsets.byteOffset, batch.action.byteOffset, batch.destination.byteOffset);
        if (done > 0) {
          this.counters[OUT] += p[NatParam.RESULT_OUT];
          this.counters[IN] += done - p[NatParam.RESULT_OUT];
          this.nativeForwarded += done;
          if (done === n) return;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (keys === undefined) this.keyOf(view, data, offsets[i], lengths[i], ports[i], k, 4 * i);
        homes[i] = k[4 * i + 3] === 0 ? -1 : homeOf(hashKey(k[4 * i], k[4 * i + 1], k[4 * i + 2], k[4 * i + 3]), cap);
      }
      // Each packet's home line (at the design load most keys are in it: see flow-table.ts) and the
      // slots the next sweep will read (as many as the last one), all loads at once.
      const s = this.s;
      let x = 0;
      for (let i = 0; i < n; i++) {
        const h = hints !== undefined && hints[i] >= 0 ? hints[i] : homes[i];
        if (h >= 0) x ^= s[h * SLOT_WORDS + 3];
      }
      for (let k = 0, c = this.sweepCursor; k < this.lastSweep; k += 2, c = c + 2 >= cap ? 0 : c + 2) x ^= s[c * SLOT_WORDS + 3];
      this.sink = x;
    }
    const action = batch.action;
    const destination = batch.destination;
    for (let i = 0; i < n; i++) {
      if (homes[i] === -3) continue; // translated by the native short path
      const off = offsets[i];
      let out = -2;
      const hint = hints === undefined ? -1 : hints[i];
      if (homes[i] >= 0) out = this.forward(view, data, off, i, hint, counted);
      if (out === -2) {
        // A probe's answer may be stale by now (an earlier packet of the batch added or moved keys):
        // process() checks a device's hint against the key; the probe's line is in cache anyway.
        this.hint = counted ? hint : -1;
        out = this.process(view, data, off, lengths[i], ports[i]);
      }
      if (out < 0) action[i] = Action.DROP;
      else {
        action[i] = Action.OUT;
        destination[i] = out;
      }
    }
  }

  /** (Re)binds the native probe to the batch arrays (after they grew); none when the addon is missing or not wanted. */
  private bindProbe(): void {
    if (!this.nativeProbe) return;
    try {
      this.probe = createFlowProbe({ slots: this.s, keys: this.keys, homes: this.homes, found: this.found });
    } catch {
      this.probe = undefined; // no addon here: the JavaScript path does the same
    }
    // Classification by address needs the inside subnets: keyOf keeps that.
    this.nativeKeys = this.probe !== undefined && typeof this.probe.frameKeys === 'function' && !this.byAddress;
    this.nativeForward = this.wantNativeForward && this.nativeKeys && typeof (this.probe as FlowProbe).forward === 'function';
    this.framesData = null;
    this.framesAction = null;
  }

  /** Binds the batch's frame and meta buffers to the probe unless they are those bound already. */
  private bindFrames(b: PacketBatch): void {
    const d = b.data;
    if (this.nativeForward && (b.action.buffer !== this.framesAction || b.destination.buffer !== this.framesDestination)) {
      (this.probe as FlowProbe).bindNat(this.natParams, new Uint8Array(b.action.buffer), new Uint8Array(b.destination.buffer));
      this.framesAction = b.action.buffer;
      this.framesDestination = b.destination.buffer;
    }
    if (d.buffer === this.framesData && d.byteOffset === this.framesDataAt && d.byteLength === this.framesDataLength && b.offsets.buffer === this.framesOffsets && b.lengths.buffer === this.framesLengths && b.port.buffer === this.framesPorts) {
      return;
    }
    (this.probe as FlowProbe).bindFrames(d, new Uint8Array(b.offsets.buffer), new Uint8Array(b.lengths.buffer), new Uint8Array(b.port.buffer));
    this.framesData = d.buffer;
    this.framesDataAt = d.byteOffset;
    this.framesDataLength = d.byteLength;
    this.framesOffsets = b.offsets.buffer;
    this.framesLengths = b.lengths.buffer;
    this.framesPorts = b.port.buffer;
  }

  /**
   * The short path of {@link NatEngine.processBatch} for its packet `i` (at `off`): a TCP/UDP/ICMP
   * echo packet of an established session, valid (keyOf found its key), whose session was seen within
   * its timeout on this slot, whose TCP flags add no state, and that needs nothing learned, filtered
   * or hairpinned. Translates it exactly as {@link NatEngine.process} would and returns its port;
   * anything else returns -2 having changed nothing, and goes to {@link NatEngine.process}.
   */
  private forward(view: DataView, data: Uint8Array, off: number, i: number, hint: number, counted: boolean): number {
    // The key and home are read here, not passed: words above 2^30 would be boxed as arguments.
    const keys = this.batchKeys;
    const k0 = keys[4 * i] | 0;
    const k1 = keys[4 * i + 1] | 0;
    const k2 = keys[4 * i + 2] | 0;
    const k3 = keys[4 * i + 3];
    const home = this.homes[i];
    const l3 = off + 14;
    const proto = k3 & 0xff;
    const out = (k3 & 0xff00) === K_OUT;
    const l4 = l3 + (data[l3] & 15) * 4;
    // An ICMP error's key is its quote's: the full path translates those.
    if (data[l3 + 9] !== proto || (proto === ICMP && data[l4] !== (out ? 8 : 0))) return -2;
    if (this.decTtl && data[l3 + 8] <= 1) return -2;
    // What process() would learn (a MAC), filter or hairpin goes there.
    const learns = out ? this.macInside < 0 && (data[off] & 1) === 0 : this.macGateway < 0 || (this.macOutside < 0 && (data[off] & 1) === 0);
    if (learns || (out && (this.addressDependent || !this.isInside(k0) || this.isExternal(k1) >= 0))) return -2;
    const hit = hint >= 0 && this.table.slotHolds(hint, k0, k1, k2, k3);
    const slot = hit ? hint : this.table.findFrom(home, k0, k1, k2, k3);
    if (slot < 0) return -2;
    const s = this.s;
    const p = slot * SLOT_WORDS;
    const w3 = s[p + 3];
    if (s[p + V_LAST] + this.timeoutOf(w3) < this.now) return -2;
    if (proto === TCP && (w3 | tcpBits(data[l4 + 13], out)) !== w3) return -2;
    // Counted only here, where the packet is translated: a -2 above hands the hint to process(),
    // which counts it when it uses it.
    if (hit && counted) this.counters[DEVICE_HITS]++;
    if (s[p + V_LAST] !== this.now) s[p + V_LAST] = this.now;
    if (out) {
      translate(view, l3, l4, proto, 12, 0, s, p, this.decTtl);
      this.counters[OUT]++;
      this.toOutside(view, off);
      return this.outsidePort;
    }
    translate(view, l3, l4, proto, 16, 2, s, p, this.decTtl);
    this.counters[IN]++;
    this.toInside(view, off, p);
    return this.insidePort;
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
    const side = this.byAddress ? (this.isInside(view.getInt32(l3 + 12)) ? 0 : 1) : inPort === this.insidePort ? 0 : inPort === this.outsidePort ? 1 : -1;
    if (side === 0) out = this.outbound(view, data, off, l3, ihl, total);
    else if (side === 1) out = this.inbound(view, data, off, l3, ihl, total, false);
    else {
      c[DROP_WRONG_PORT]++;
      out = -1;
    }
    this.hint = -1;
    if (out >= 0 && this.decTtl) decrementIp4Ttl(view, l3);
    return out;
  }

  /** Ports of the L4 header at `l4` for TCP/UDP, the echo id for ICMP echo; -1 when truncated. */
  private l4Ok(view: DataView, proto: number, l4: number, l4len: number): boolean {
    if (proto === TCP) return l4len >= 20 && view.getUint8(l4 + 12) >>> 4 >= 5;
    return l4len >= 8;
  }

  private outbound(view: DataView, data: Uint8Array, off: number, l3: number, ihl: number, total: number): number {
    const c = this.counters;
    if (this.macInside < 0 && (data[off] & 1) === 0) {
      this.macInside = readMac(view, off);
      this.macsChanged();
    }
    const src = view.getInt32(l3 + 12);
    const dst = view.getInt32(l3 + 16);
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
    let slot = this.live(this.lookup(src, dst, (sport << 16) | dport, proto | K_OUT));
    if (slot < 0) {
      slot = this.openOut(view, off, proto, src, sport, dst, dport, flags);
      if (slot < 0) return -1;
    }
    const s = this.s;
    const p = slot * SLOT_WORDS;
    this.seen(p, proto === TCP ? tcpBits(flags, true) : 0);
    const extIp = s[p + V_ADDR];
    const extPort = s[p + V_PORT] >>> 16;
    if (this.addressDependent) this.permit(proto, extIp, extPort, dst, src, sport);
    translate(view, l3, l4, proto, 12, 0, s, p, false);
    if (this.isExternal(dst) >= 0) {
      // Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): the packet, now from the external endpoint, goes
      // through the inbound path to the internal host behind the destination's mapping.
      const r = this.inbound(view, data, off, l3, ihl, total, true);
      if (r >= 0) c[HAIRPIN]++;
      return r;
    }
    c[OUT]++;
    this.toOutside(view, off);
    return this.outsidePort;
  }

  /** A new outbound session (and its mapping when the internal endpoint has none); its OUT slot or -1 (counted). */
  private openOut(view: DataView, off: number, proto: number, src: number, sport: number, dst: number, dport: number, flags: number): number {
    const c = this.counters;
    const cfg = this.cfg;
    // RFC 5382: a TCP session starts with a SYN (a stray ACK or RST of a forgotten connection is dropped).
    if (proto === TCP && (flags & 0x12) !== 0x02) {
      c[DROP_TCP_NO_SESSION]++;
      return -1;
    }
    let m = this.table.find(src, 0, sport << 16, proto | K_MAPI);
    const fresh = m < 0;
    if (fresh) {
      const idx = pairIndex(src, this.externals.length);
      const alloc = this.ports[idx * 3 + (proto === TCP ? 0 : proto === UDP ? 1 : 2)];
      const port = alloc.allocate(sport, cfg.portPreservation, cfg.parityPreservation);
      if (port < 0) {
        c[DROP_POOL_EXHAUSTED]++;
        return -1;
      }
      m = this.newMapping(proto, src, sport, this.externals[idx], port, 0);
      if (m < 0) {
        alloc.release(port);
        c[DROP_TABLE_FULL]++;
        return -1;
      }
    }
    const mp = m * SLOT_WORDS;
    if ((this.s[mp + 3] & (HAS_MAC | STATIC)) !== HAS_MAC) this.setSlotMac(mp, readMac(view, off + 6));
    const slot = this.newSession(proto, m, dst, dport);
    if (slot < 0) {
      if (fresh) this.unref(proto, src, sport, 0); // frees the mapping made just now
      c[DROP_TABLE_FULL]++;
    }
    return slot;
  }

  private inbound(view: DataView, data: Uint8Array, off: number, l3: number, ihl: number, total: number, hairpin: boolean): number {
    const c = this.counters;
    if (!hairpin) {
      if (this.macGateway < 0 || (this.macOutside < 0 && (data[off] & 1) === 0)) {
        if (this.macGateway < 0) this.macGateway = readMac(view, off + 6);
        if (this.macOutside < 0 && (data[off] & 1) === 0) this.macOutside = readMac(view, off);
        this.macsChanged();
      }
    }
    const src = view.getInt32(l3 + 12);
    const dst = view.getInt32(l3 + 16);
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
    let slot = this.live(this.lookup(dst, src, (dport << 16) | sport, proto | K_IN));
    if (slot < 0) {
      slot = this.openIn(proto, src, sport, dst, dport, flags);
      if (slot < 0) return -1;
    }
    const s = this.s;
    const p = slot * SLOT_WORDS;
    this.seen(p, proto === TCP ? tcpBits(flags, false) : 0);
    translate(view, l3, l4, proto, 16, 2, s, p, false);
    if (!hairpin) c[IN]++;
    this.toInside(view, off, p);
    return this.insidePort;
  }

  /** An unsolicited inbound session through an existing mapping, if the filter admits it; its IN slot or -1 (counted). */
  private openIn(proto: number, src: number, sport: number, dst: number, dport: number, flags: number): number {
    const c = this.counters;
    const e = proto === ICMP ? -1 : this.table.find(dst, 0, dport << 16, proto | K_MAPE);
    if (e < 0) {
      c[DROP_NO_MAPPING]++;
      return -1;
    }
    if (!this.permitted(e * SLOT_WORDS, src)) {
      c[DROP_FILTERED]++;
      return -1;
    }
    if (proto === TCP && (flags & 0x12) !== 0x02) {
      c[DROP_TCP_NO_SESSION]++;
      return -1;
    }
    const ep = e * SLOT_WORDS;
    const m = this.table.find(this.s[ep + V_ADDR], 0, this.s[ep + V_PORT] & 0xffff0000, proto | K_MAPI);
    if (m < 0 || this.newSession(proto, m, src, sport) < 0) {
      c[DROP_TABLE_FULL]++;
      return -1;
    }
    return this.newIn;
  }

  /** Ethernet addresses of a frame sent inside: to the host's MAC kept in the IN slot at word `p`. */
  private toInside(view: DataView, off: number, p: number): void {
    const s = this.s;
    if ((s[p + 3] & HAS_MAC) !== 0) {
      view.setUint16(off, s[p + V_PORT] & 0xffff);
      view.setInt32(off + 2, s[p + V_MAC]);
    } else setMac(view, off, this.insideHost >= 0 ? this.insideHost : BROADCAST);
    if (this.macInside >= 0) {
      view.setUint16(off + 6, this.inHi);
      view.setInt32(off + 8, this.inLo);
    }
  }

  private macsChanged(): void {
    const gw = this.macGateway < 0 ? BROADCAST : this.macGateway;
    this.gwHi = (gw / 0x100000000) | 0;
    this.gwLo = (gw - this.gwHi * 0x100000000) | 0;
    this.outHi = (this.macOutside / 0x100000000) | 0;
    this.outLo = (this.macOutside - this.outHi * 0x100000000) | 0;
    this.inHi = (this.macInside / 0x100000000) | 0;
    this.inLo = (this.macInside - this.inHi * 0x100000000) | 0;
    const p = this.natParams;
    p[NatParam.GATEWAY_HI] = this.gwHi;
    p[NatParam.GATEWAY_LO] = this.gwLo;
    p[NatParam.OUTSIDE_HI] = this.outHi;
    p[NatParam.OUTSIDE_LO] = this.outLo;
    p[NatParam.INSIDE_HI] = this.inHi;
    p[NatParam.INSIDE_LO] = this.inLo;
    // The native short path leaves a direction to forward() while its packets may teach a MAC.
    let flags = p[NatParam.FLAGS] & (NatFlag.DEC_TTL | NatFlag.EXTERNAL_RANGE);
    if (!this.addressDependent && this.macInside >= 0) flags |= NatFlag.OUTBOUND;
    if (this.macGateway >= 0 && this.macOutside >= 0) flags |= NatFlag.INBOUND;
    if (this.macOutside >= 0) flags |= NatFlag.OUTSIDE_MAC;
    if (this.macInside >= 0) flags |= NatFlag.INSIDE_MAC;
    p[NatParam.FLAGS] = flags;
  }

  /** The parameters of the native short path that the configuration fixes (MACs: {@link NatEngine.macsChanged}). */
  private nativeParams(): Int32Array {
    const nets = this.subnetNet.length;
    const p = new Int32Array(NatParam.LISTS_AT + this.externals.length + 2 * nets);
    p[NatParam.FLAGS] = (this.decTtl ? NatFlag.DEC_TTL : 0) | (this.extContiguous ? NatFlag.EXTERNAL_RANGE : 0);
    p[NatParam.UDP_TIMEOUT] = this.tUdp;
    p[NatParam.TCP_ESTABLISHED_TIMEOUT] = this.tTcpEstablished;
    p[NatParam.TCP_TRANSITORY_TIMEOUT] = this.tTcpTransitory;
    p[NatParam.INSIDE_PORT] = this.insidePort;
    p[NatParam.OUTSIDE_PORT] = this.outsidePort;
    p[NatParam.ACTION_OUT] = Action.OUT;
    const host = this.insideHost >= 0 ? this.insideHost : BROADCAST;
    p[NatParam.HOST_HI] = (host / 0x100000000) | 0;
    p[NatParam.HOST_LO] = (host - p[NatParam.HOST_HI] * 0x100000000) | 0;
    p[NatParam.EXTERNAL_COUNT] = this.externals.length;
    p[NatParam.SUBNET_COUNT] = nets;
    p.set(this.externals, NatParam.LISTS_AT);
    for (let i = 0; i < nets; i++) {
      p[NatParam.LISTS_AT + this.externals.length + 2 * i] = this.subnetNet[i];
      p[NatParam.LISTS_AT + this.externals.length + 2 * i + 1] = this.subnetMask[i];
    }
    return p;
  }

  /** Ethernet addresses of a frame sent outside: to the gateway (broadcast while unknown), from our outside MAC (when known). */
  private toOutside(view: DataView, off: number): void {
    view.setUint16(off, this.gwHi);
    view.setInt32(off + 2, this.gwLo);
    if (this.macOutside >= 0) {
      view.setUint16(off + 6, this.outHi);
      view.setInt32(off + 8, this.outLo);
    }
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
    const isrc = view.getInt32(inner + 12);
    const idst = view.getInt32(inner + 16);
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
    const slot = this.lookup(isrc, idst, (sport << 16) | dport, iproto | K_IN);
    if (slot < 0 || !this.alive(slot * SLOT_WORDS, false) || view.getInt32(l3 + 16) !== isrc) {
      c[DROP_ICMP_ERROR_NO_FLOW]++;
      return -1;
    }
    const p = slot * SLOT_WORDS;
    const intIp = this.s[p + V_ADDR];
    const intPort = this.s[p + V_PORT] >>> 16;
    rewriteIp4Dst(view, l3, -1, ICMP, intIp >>> 0);
    rewriteQuoted(view, icmp + 2, inner, il4, iproto, q, 12, 0, isrc >>> 0, intIp >>> 0, intPort);
    c[ICMP_ERROR_IN]++;
    this.toInside(view, off, p);
    return this.insidePort;
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
    const isrc = view.getInt32(inner + 12); // the remote
    const idst = view.getInt32(inner + 16); // the internal host
    const sport = view.getUint16(il4);
    const dport = view.getUint16(il4 + 2);
    const slot = this.lookup(idst, isrc, (dport << 16) | sport, iproto | K_OUT);
    if (slot < 0 || !this.alive(slot * SLOT_WORDS, false) || view.getInt32(l3 + 12) !== idst) {
      c[DROP_ICMP_ERROR_NO_FLOW]++;
      return -1;
    }
    const p = slot * SLOT_WORDS;
    const extIp = this.s[p + V_ADDR];
    const extPort = this.s[p + V_PORT] >>> 16;
    rewriteIp4Src(view, l3, -1, ICMP, extIp >>> 0);
    rewriteQuoted(view, icmp + 2, inner, il4, iproto, q, 16, 2, idst >>> 0, extIp >>> 0, extPort);
    c[ICMP_ERROR_OUT]++;
    this.toOutside(view, off);
    return this.outsidePort;
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
    const outbound = this.byAddress ? this.isInside(view.getInt32(l3 + 12)) : inPort === this.insidePort;
    if (!outbound && !this.byAddress && inPort !== this.outsidePort) return;
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
        if (outbound) this.putKey(out, at, a, b, (id << 16) >>> 0, ICMP | K_OUT);
        else this.putKey(out, at, b, a, (id << 16) >>> 0, ICMP | K_IN);
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
        this.putKey(out, at, a, b, (view.getUint16(l4 + 4) << 16) >>> 0, ICMP | K_IN);
        return;
      }
    } else if (proto !== TCP && proto !== UDP) return;
    const sp = view.getUint16(l4);
    const dp = view.getUint16(l4 + 2);
    // Outbound: (src, dst, sport, dport); inbound: (dst, src, dport, sport); a quote swaps once more.
    const kind = outbound ? KeyKind.OUT : KeyKind.IN;
    if (outbound !== reverse) this.putKey(out, at, a, b, ((sp << 16) | dp) >>> 0, proto | (kind << 8));
    else this.putKey(out, at, b, a, ((dp << 16) | sp) >>> 0, proto | (kind << 8));
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
 * `l4 + portField` (or, for ICMP echo, the identifier) to the other side's endpoint in the table
 * slot at word `p` of `s`, decrements the TTL when `ttl`, and updates the IP and L4 checksums
 * incrementally (RFC 1624 eqn. 3), one fold per checksum for all changes; a zero UDP checksum stays
 * zero (RFC 768), and a UDP result of 0 is sent as 0xffff. (The slot, not its words, is passed:
 * addresses as arguments of a call would be boxed as heap numbers.)
 */
function translate(view: DataView, l3: number, l4: number, proto: number, addrField: number, portField: number, s: Int32Array, p: number, ttl: boolean): void {
  const addr = s[p + V_ADDR];
  const port = s[p + V_PORT] >>> 16;
  const oldA = view.getInt32(l3 + addrField);
  view.setInt32(l3 + addrField, addr);
  const dA = (~oldA >>> 16) + (~oldA & 0xffff) + (addr >>> 16) + (addr & 0xffff);
  let dIp = dA;
  if (ttl) {
    // TTL - 1 changes the word (TTL, proto) by -0x100: m' = m - 0x100.
    const word = view.getUint16(l3 + 8);
    view.setUint16(l3 + 8, word - 0x100);
    dIp += (~word & 0xffff) + word - 0x100;
  }
  view.setUint16(l3 + 10, fold16(~view.getUint16(l3 + 10) & 0xffff, dIp));
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
