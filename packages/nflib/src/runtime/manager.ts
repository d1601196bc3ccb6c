/**
 * The gnet manager (openNetVM's `onvm_mgr`): it owns the ports, the packet pool, the service chains
 * and the NF registry, and moves packets between them:
 *
 * ```
 * port RX pipe ─copy→ pool slot ─chain→ NF ring ─NF→ manager ─chain→ next NF … ─copy→ port TX pipe
 * ```
 *
 * One thread (the caller's) runs the data path; each NF instance only moves slot indices through its
 * two SPSC rings. In embedded mode ({@link Manager.create} with `nfs`) instances are worker_threads
 * of this process; in multi-process mode (`MultiProcessManager`) they are processes that join
 * through a shared memory region, and the same data path serves them through {@link Manager.attach}
 * and {@link Manager.detach}. Every packet is, at every instant, exactly one of: counted received and
 * in flight, transmitted, or dropped with a reason (see {@link Manager.accounting}).
 * @module
 */
import { FrameCopier, type PortRole } from '@gnet/enso';
import { ChainTable, Hop, type ServiceChain } from '../chain/service-chain.js';
import { FlowDirector, hash5 } from '../chain/flow-director.js';
import { Action } from '../nf/actions.js';
import { PacketPool } from '../pool/index.js';
import { addDrop, type NfCounters, type StatsSnapshot } from '../stats/snapshot.js';
import { ManagerPort } from './manager-port.js';
import type { NfEndpoint } from './instance.js';
import { NfInstance, type NfSpec } from './nf-instance.js';
import { NfState } from './attach.js';
import type { ManagerPolicy, PolicyDecision } from './policy.js';

/** A port to open. */
export interface PortConfig {
  /** The port spec (`pcap:PATH`, `gen:<spec>`, `afpacket:<ifname>`, `mem`). */
  spec: string;
  /** Which directions the manager uses. */
  role: PortRole;
}

/** Options of {@link Manager.create}. */
export interface ManagerOptions {
  /** Ports in id order. */
  ports: PortConfig[];
  /** NFs to start (one entry per service; `instances` of each). */
  nfs?: NfSpec[];
  /** Instances per service (default 1). */
  instances?: number;
  /** The default chain (chain 0). Default: the NFs in order, then out to port 1 (or 0 if only one). */
  chain?: ServiceChain;
  /** Packets per batch (default 32). */
  burst?: number;
  /** Pool slots (default 32768). */
  poolSlots?: number;
  /** Entries per NF ring (default 1024). */
  ringSize?: number;
  /** Where the config came from (for NF error messages). */
  configSource?: string;
  /** Called when an NF instance dies. */
  onNfExit?: (tag: string, key: string, reason: string, error?: Error) => void;
  /** Use this pool (e.g. one in a shared memory region) instead of creating one of `poolSlots`. */
  pool?: PacketPool;
  /**
   * Take nothing from the ports until every service of the default chain has an instance (NFs that
   * join after the manager starts, in multi-process mode). Once met, it is never waited for again.
   */
  waitForChain?: boolean;
  /** A control-plane policy consulted every `policyIntervalMs` (e.g. G-NET's GPU scheduler). */
  policy?: ManagerPolicy;
  /** Milliseconds between policy decisions (default 1000). */
  policyIntervalMs?: number;
}

/** The accounting identity's terms: `received = transmitted + dropped + inFlight` always holds. */
export interface Accounting {
  /** Packets taken from the ports' RX pipes. */
  received: number;
  /** Packets handed to a port's TX pipe. */
  transmitted: number;
  /** Packets dropped by the manager, by an NF, or with an NF (every drop has a reason in {@link Manager.drops}). */
  dropped: number;
  /** Packets in pool buffers right now (in a ring, in an NF's hands, or staged). */
  inFlight: number;
}

const DROP_REASONS = ['nf', 'chain_end', 'bad_destination', 'no_instance', 'nf_ring_full', 'nf_dead', 'tx_full', 'pool_empty', 'bad_port'];

/** The manager: ports, pool, chains, NF registry and the data path between them. */
export class Manager {
  /** The packet pool every packet lives in while in flight. */
  readonly pool: PacketPool;
  /** The ports, by id. */
  readonly ports: ManagerPort[];
  /** The service chains (chain 0 is the default). */
  readonly chains = new ChainTable();
  private policy: ManagerPolicy | undefined;
  private readonly policyIntervalMs: number;
  private policyAt = 0;
  private policyPrev: StatsSnapshot | undefined;
  private policyInfo: { name: string; info: Record<string, unknown> } | undefined;
  /**
   * Chain that frames received on each port enter (0, the default chain, unless the flow director
   * picks another). Without a configured chain, a port beside port 0 that also receives (a live
   * interface given as `--out`) gets its own copy of the default chain that ends on its pair port
   * (`p ^ 1`), so a bidirectional wire or NF sends replies back the way they came.
   */
  private rxChain: Uint16Array = new Uint16Array(0);
  /** Per-flow chain overrides. */
  readonly flowDirector = new FlowDirector(4096);
  /** NF instances on the data path. */
  readonly instances: NfEndpoint[] = [];
  /** Manager-level drops by reason. */
  readonly drops: Record<string, number> = {};
  private readonly burst: number;
  private readonly ringSize: number;
  private readonly configSource: string;
  private readonly onNfExit?: ManagerOptions['onNfExit'];
  /** Live instances per service id, in instance id order. */
  private readonly byService = new Map<number, NfEndpoint[]>();
  /** Final stats of instances that left or died, merged per key and tag. */
  private readonly retired: NfCounters[] = [];
  /** Owner ids handed to embedded instances so far. */
  private nextIndex = 0;
  /** Set while RX waits for the default chain to have every service (see `waitForChain`). */
  private waitingForChain: boolean;
  /** Manager-local meta: chain id and owning instance (+1, 0 = none) of every slot. */
  private readonly chainOf: Uint16Array;
  private readonly ownerOf: Uint16Array;
  /** Local cache of free slots (the manager is the pool's only allocator and freer). */
  private readonly cache: Uint32Array;
  private cached = 0;
  private readonly tmp: Uint32Array;
  /** Slots staged per TX port. */
  private readonly txStage: Uint32Array[];
  private readonly txStaged: Int32Array;
  private readonly copier = new FrameCopier();
  private readonly maxInFlight: number;
  private readonly data32: Int32Array;
  /** Slot indices NFs returned that they did not hold (ignored; a sign of a buggy NF). */
  badReturns = 0;
  private received = 0;
  private transmitted = 0;
  private dropped = 0;
  private running = false;
  private stopRequested = false;
  private closing = false;
  private loopDone: Promise<void> | null = null;

  private constructor(pool: PacketPool, ports: ManagerPort[], options: ManagerOptions) {
    this.policy = options.policy;
    this.policyIntervalMs = options.policyIntervalMs ?? 1000;
    this.pool = pool;
    this.ports = ports;
    this.burst = options.burst ?? 32;
    this.ringSize = options.ringSize ?? 1024;
    this.configSource = options.configSource ?? '(command line)';
    this.onNfExit = options.onNfExit;
    this.waitingForChain = options.waitForChain ?? false;
    this.chainOf = new Uint16Array(pool.slotCount);
    this.ownerOf = new Uint16Array(pool.slotCount);
    this.cache = new Uint32Array(pool.slotCount);
    this.tmp = new Uint32Array(Math.max(this.burst, 256));
    this.txStage = ports.map(() => new Uint32Array(4096));
    this.txStaged = new Int32Array(ports.length);
    this.data32 = new Int32Array(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.byteLength >>> 2);
    this.maxInFlight = Math.min(this.ringSize, pool.slotCount) - this.burst;
    for (const r of DROP_REASONS) this.drops[r] = 0;
    // Take every slot into the local cache once: alloc/free become array pushes and pops.
    this.cached = pool.allocBurst(this.cache, pool.slotCount);
  }

  /** Opens the ports, starts the NFs and builds the default chain. Rejects (closing what it opened) on any failure. */
  static async create(options: ManagerOptions): Promise<Manager> {
    const ports: ManagerPort[] = [];
    try {
      for (let i = 0; i < options.ports.length; i++) ports.push(await ManagerPort.open(i, options.ports[i].spec, options.ports[i].role));
      const pool = options.pool ?? PacketPool.create({ slotCount: options.poolSlots ?? 32768, slotSize: 2048 });
      const m = new Manager(pool, ports, options);
      const nfs = options.nfs ?? [];
      const defaultOut = ports.length > 1 ? 1 : 0;
      m.chains.add(options.chain ?? { services: nfs.map((n) => n.serviceId), finalAction: Action.OUT, finalDestination: defaultOut });
      m.rxChain = new Uint16Array(ports.length);
      if (!options.chain) {
        for (const p of ports) {
          if (p.id === 0 || !p.rx) continue;
          const pair = (p.id ^ 1) < ports.length ? p.id ^ 1 : 0;
          m.rxChain[p.id] = m.chains.add({ services: nfs.map((n) => n.serviceId), finalAction: Action.OUT, finalDestination: pair });
        }
      }
      try {
        for (const spec of nfs) for (let k = 0; k < (options.instances ?? 1); k++) await m.startNf(spec);
      } catch (err) {
        await m.close();
        throw err;
      }
      return m;
    } catch (err) {
      await Promise.all(ports.map((p) => p.close().catch(() => undefined)));
      throw err;
    }
  }

  /** Starts one more instance of an NF in a worker_thread (NFs may join at any time); resolves once it runs. */
  async startNf(spec: NfSpec): Promise<NfInstance> {
    if (this.nextIndex >= 0xfffe) throw new Error('too many NF instances');
    const inst = new NfInstance(this.nextIndex++, spec, this.byService.get(spec.serviceId)?.length ?? 0, this.ringSize);
    this.instances.push(inst);
    try {
      await inst.start(
        this.pool.buffer as SharedArrayBuffer,
        this.burst,
        this.configSource,
        (i, reason) => this.detach(i, 'dead', reason),
        (from, to, body) => this.relayMessage(from.serviceId, to, body),
      );
    } catch (err) {
      this.instances.splice(this.instances.indexOf(inst), 1);
      throw err;
    }
    this.addToService(inst);
    return inst;
  }

  /**
   * Puts an instance that joined by other means (a process in multi-process mode) on the data path:
   * from the next turn, packets of its service are spread over it too. Its `index` must be unique
   * among live instances and below 0xffff.
   */
  attach(inst: NfEndpoint): void {
    if (!(inst.index >= 0 && inst.index < 0xffff)) throw new RangeError(`instance index must be in [0, 65535), got ${inst.index}`);
    if (this.instances.some((i) => i.index === inst.index)) throw new Error(`an instance with index ${inst.index} is already attached`);
    this.instances.push(inst);
    this.addToService(inst);
  }

  private addToService(inst: NfEndpoint): void {
    const list = this.byService.get(inst.serviceId) ?? [];
    list.push(inst);
    // A stable order, so a flow keeps its instance while others join or leave at the end.
    list.sort((a, b) => a.instanceId - b.instanceId);
    this.byService.set(inst.serviceId, list);
  }

  /** Live instances of service `serviceId` (a copy). */
  instancesOf(serviceId: number): NfEndpoint[] {
    return [...(this.byService.get(serviceId) ?? [])];
  }

  /** Delivers `body` from service `from` to every live instance of service `to`; returns how many got it. */
  relayMessage(from: number, to: number, body: unknown): number {
    const list = this.byService.get(to) ?? [];
    for (const target of list) target.deliver(from, body);
    return list.length;
  }

  /** The terms of the accounting identity right now. */
  accounting(): Accounting {
    return { received: this.received, transmitted: this.transmitted, dropped: this.dropped, inFlight: this.pool.slotCount - this.cached };
  }

  private drop(slot: number, reason: string, inst: NfEndpoint | null): void {
    this.drops[reason]++;
    if (inst) addDrop(inst.drops, reason);
    this.dropped++;
    this.cache[this.cached++] = slot;
  }

  /** Sends a slot along the hop the chain router chose. */
  private forward(slot: number, hop: number, from: NfEndpoint | null): void {
    const kind = hop & 3;
    const target = hop >>> 2;
    if (kind === Hop.PORT) {
      const stage = this.txStage[target];
      if (stage === undefined || this.ports[target].tx === null) return this.drop(slot, 'bad_port', from);
      if (this.txStaged[target] === stage.length) this.flushPort(target);
      stage[this.txStaged[target]++] = slot;
      return;
    }
    if (kind === Hop.SERVICE) {
      const list = this.byService.get(target);
      if (list === undefined || list.length === 0) return this.drop(slot, 'no_instance', from);
      const inst = list.length === 1 ? list[0] : list[this.pool.meta.flowHash[slot] % list.length];
      if (inst.staged === inst.stage.length) this.flushNf(inst);
      inst.stage[inst.staged++] = slot;
      return;
    }
    this.drop(slot, target === 1 ? 'nf' : target === 2 ? 'chain_end' : 'bad_destination', from);
  }

  /** Takes up to one burst from a port's RX pipe into pool slots; returns the frames taken. */
  private rxPort(port: ManagerPort): number {
    if (this.waitingForChain && !this.chainReady()) return 0;
    // Back-pressure: never hold more packets in flight than one NF ring can take, so rings cannot
    // overflow; a live port's NIC pipe then fills and drops (counted there), a file simply waits.
    const room = this.instances.length === 0 ? this.burst : this.maxInFlight - (this.pool.slotCount - this.cached);
    if (room <= 0) return 0;
    const pipe = port.rx!;
    const batch = pipe.recvPkts(room < this.burst ? room : this.burst);
    const meta = this.pool.meta;
    const bytes = this.pool.bytes;
    const base = this.pool.dataOffset;
    const size = this.pool.slotSize;
    const ring = batch.buf;
    const fd = this.flowDirector.size > 0;
    let n = 0;
    for (let off = batch.first(); off >= 0; off = batch.next()) {
      const len = batch.length(off);
      this.received++;
      port.rxPackets++;
      port.rxBytes += len;
      if (this.cached === 0) {
        this.drops.pool_empty++;
        this.dropped++;
        continue;
      }
      const slot = this.cache[--this.cached];
      const clen = len <= size ? len : size;
      this.copier.copy(ring, off, bytes, this.data32, base + slot * size, clen, 1);
      meta.length[slot] = clen;
      meta.port[slot] = port.id;
      meta.tsSec[slot] = batch.tsSec[off >>> 6];
      meta.tsNsec[slot] = batch.tsNsec[off >>> 6];
      meta.action[slot] = Action.NEXT;
      // Flow hash over the IPv4 5-tuple (0 for other frames): picks the instance, keeps flows together.
      let h = 0;
      let chain = this.rxChain[port.id];
      if (ring[off + 12] === 8 && ring[off + 13] === 0 && len >= 34) {
        const ihl = (ring[off + 14] & 15) << 2;
        const proto = ring[off + 23];
        const src = ((ring[off + 26] << 24) | (ring[off + 27] << 16) | (ring[off + 28] << 8) | ring[off + 29]) >>> 0;
        const dst = ((ring[off + 30] << 24) | (ring[off + 31] << 16) | (ring[off + 32] << 8) | ring[off + 33]) >>> 0;
        let sp = 0;
        let dp = 0;
        const l4 = off + 14 + ihl;
        if ((proto === 6 || proto === 17) && l4 + 4 <= off + len) {
          sp = (ring[l4] << 8) | ring[l4 + 1];
          dp = (ring[l4 + 2] << 8) | ring[l4 + 3];
        }
        h = hash5(src, dst, sp, dp, proto);
        if (fd) {
          const c = this.flowDirector.lookup(src, dst, sp, dp, proto);
          if (c >= 0) chain = c;
        }
      }
      meta.flowHash[slot] = h;
      this.chainOf[slot] = chain;
      this.forward(slot, this.chains.route(chain, -1, Action.NEXT, 0, meta.chainIndex, slot), null);
      n++;
    }
    // Every frame walked was copied out: hand the ring space back to the NIC at once.
    if (batch.processedBytes > 0) pipe.free(batch.processedBytes);
    return n;
  }

  /** Takes what an NF returned and routes each packet by its action. */
  private drainNf(inst: NfEndpoint): number {
    const n = inst.tx.dequeueBurst(this.tmp, this.tmp.length);
    if (n === 0) return 0;
    const meta = this.pool.meta;
    const owner = inst.index + 1;
    for (let i = 0; i < n; i++) {
      const slot = this.tmp[i];
      // Only a packet this instance holds may come back from it (a buggy or foreign NF could
      // return any number): anything else is ignored and counted, so the pool stays consistent.
      if (this.ownerOf[slot] !== owner) {
        this.badReturns++;
        continue;
      }
      inst.outstanding--;
      this.ownerOf[slot] = 0;
      const hop = this.chains.route(this.chainOf[slot], meta.chainIndex[slot], meta.action[slot], meta.destination[slot], meta.chainIndex, slot);
      this.forward(slot, hop, inst);
    }
    return n;
  }

  private flushNf(inst: NfEndpoint): void {
    const n = inst.staged;
    if (n === 0) return;
    inst.staged = 0;
    if (inst.dead) {
      for (let i = 0; i < n; i++) this.drop(inst.stage[i], 'nf_dead', inst);
      return;
    }
    const ok = inst.rx.enqueueBurst(inst.stage, n);
    const owner = inst.index + 1;
    for (let i = 0; i < ok; i++) this.ownerOf[inst.stage[i]] = owner;
    inst.outstanding += ok;
    for (let i = ok; i < n; i++) this.drop(inst.stage[i], 'nf_ring_full', inst);
  }

  private flushPort(id: number): void {
    const n = this.txStaged[id];
    if (n === 0) return;
    this.txStaged[id] = 0;
    const port = this.ports[id];
    const pipe = port.tx!;
    const stage = this.txStage[id];
    const meta = this.pool.meta;
    const bytes = this.pool.bytes;
    const base = this.pool.dataOffset;
    const size = this.pool.slotSize;
    // The pipe's buffer is contiguous for `capacity` bytes from `allocateBuf()` (Enso's TX buffer).
    let at = pipe.allocateBuf();
    let cap = pipe.capacity;
    if (cap < n * 64) cap = pipe.tryExtendBuf();
    let used = 0;
    for (let i = 0; i < n; i++) {
      const slot = stage[i];
      const len = meta.length[slot];
      const need = (len + 63) & ~63;
      if (used + need > cap) {
        port.txFull++;
        this.drop(slot, 'tx_full', null);
        continue;
      }
      pipe.writeFrame(at, bytes, base + slot * size, len, meta.tsSec[slot], meta.tsNsec[slot]);
      at += need;
      used += need;
      port.txPackets++;
      port.txBytes += len;
      this.transmitted++;
      this.cache[this.cached++] = slot;
    }
    if (used > 0) pipe.sendAndFree(used);
  }

  /** One pass over every port and NF; returns the packets moved. */
  private turn(): number {
    let work = 0;
    for (const p of this.ports) if (p.rx !== null) work += this.rxPort(p);
    for (const inst of this.instances) {
      work += this.drainNf(inst);
      this.flushNf(inst);
    }
    for (let i = 0; i < this.ports.length; i++) this.flushPort(i);
    return work;
  }

  /** True when every receiving port is exhausted and nothing is in flight. */
  get drained(): boolean {
    return this.ports.every((p) => p.exhausted) && this.cached === this.pool.slotCount;
  }

  /** True once every service of the default chain has a live instance (checked until it first is). */
  chainReady(): boolean {
    if (!this.waitingForChain) return true;
    const c = this.chains.get(0);
    for (const s of c.services) if ((this.byService.get(s)?.length ?? 0) === 0) return false;
    if (c.finalAction === Action.TONF && (this.byService.get(c.finalDestination)?.length ?? 0) === 0) return false;
    this.waitingForChain = false;
    return true;
  }

  /**
   * Runs the data path until {@link Manager.stop} is called, or, with `untilDrained`, until every
   * input is exhausted and every packet has left. Yields to the event loop every few ms (timers,
   * stats, worker messages) and backs off when idle.
   */
  run(options: { untilDrained?: boolean } = {}): Promise<void> {
    if (this.loopDone) return this.loopDone;
    this.running = true;
    this.loopDone = (async () => {
      let idleTurns = 0;
      let lastYield = Date.now();
      while (!this.stopRequested) {
        const work = this.turn();
        if (work > 0) idleTurns = 0;
        else if (options.untilDrained && this.drained) break;
        // Packets out with the NFs come back within microseconds: keep polling (yielding below)
        // rather than sleeping a timer's millisecond, which idled both threads half the time.
        else if (++idleTurns > 64 && (this.cached === this.pool.slotCount || idleTurns > 1 << 16)) {
          await new Promise((r) => setTimeout(r, idleTurns > 1024 ? 1 : 0));
          lastYield = Date.now();
          this.consultPolicy(lastYield);
          continue;
        }
        const now = Date.now();
        if (now - lastYield >= 4) {
          lastYield = now;
          this.consultPolicy(now);
          await new Promise((r) => setImmediate(r));
        }
      }
      this.running = false;
    })();
    return this.loopDone;
  }

  /** Asks {@link Manager.run} to return after its current turn. */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * Takes an instance off the data path. What it returned is routed as usual. With `left` (it
   * stopped cleanly) packets still queued for it go to the other instances of its service (or are
   * dropped `no_instance` when none is left); with `dead` they, and any it still held, are dropped
   * `nf_dead`. Its buffers return to the pool; its final stats stay in {@link Manager.snapshot}.
   * Call it between turns (from a timer or event), never from inside the data path.
   */
  detach(inst: NfEndpoint, how: 'left' | 'dead', reason: string): void {
    const at = this.instances.indexOf(inst);
    if (at < 0) return;
    this.instances.splice(at, 1);
    const list = this.byService.get(inst.serviceId);
    if (list) {
      const k = list.indexOf(inst);
      if (k >= 0) list.splice(k, 1);
    }
    const owner = inst.index + 1;
    // Packets it returned are routed normally; the ones it held or had queued are lost with it.
    this.drainNf(inst);
    const staged = inst.staged;
    inst.staged = 0;
    for (let i = 0; i < staged; i++) this.requeue(inst.stage[i], inst, how);
    for (let n = inst.rx.dequeueBurst(this.tmp, this.tmp.length); n > 0; n = inst.rx.dequeueBurst(this.tmp, this.tmp.length)) {
      for (let i = 0; i < n; i++) {
        const slot = this.tmp[i];
        this.ownerOf[slot] = 0;
        this.requeue(slot, inst, how);
      }
    }
    for (let s = 0; s < this.ownerOf.length; s++) {
      if (this.ownerOf[s] === owner) {
        this.ownerOf[s] = 0;
        this.drop(s, 'nf_dead', inst);
      }
    }
    inst.outstanding = 0;
    // Re-queued packets wait in other instances' stages: hand them over now.
    for (const other of this.instances) this.flushNf(other);
    for (let i = 0; i < this.ports.length; i++) this.flushPort(i);
    inst.dead = true;
    if (!inst.exitReason) inst.exitReason = reason;
    this.retire(inst.stats(), how === 'dead' ? 'dead' : 'stopped');
    if (how === 'dead' && !this.closing) this.onNfExit?.(inst.tag, inst.key, reason, inst.exitError);
  }

  /** A packet that was queued for a departing instance: to another instance, or dropped. */
  private requeue(slot: number, inst: NfEndpoint, how: 'left' | 'dead'): void {
    if (how === 'dead') this.drop(slot, 'nf_dead', inst);
    else this.forward(slot, (inst.serviceId << 2) | Hop.SERVICE, inst);
  }

  /** Keeps a departed instance's final counters, merged with earlier ones of the same key and tag. */
  private retire(s: NfCounters, state: string): void {
    const prev = this.retired.find((r) => r.key === s.key && r.tag === s.tag);
    if (!prev) {
      this.retired.push({ ...s, state, rxRingOccupancy: 0, txRingOccupancy: 0, counters: { ...s.counters } });
      return;
    }
    for (const [k, v] of Object.entries(s.counters)) prev.counters[k] = (prev.counters[k] ?? 0) + v;
    prev.rxPackets += s.rxPackets;
    prev.txPackets += s.txPackets;
    for (const [k, v] of Object.entries(s.drops)) addDrop(prev.drops, k, v);
    prev.state = state;
  }

  /** A stats snapshot (not on the data path). */
  snapshot(): StatsSnapshot {
    const a = this.accounting();
    return {
      time: Date.now(),
      inFlight: a.inFlight,
      received: a.received,
      transmitted: a.transmitted,
      dropped: a.dropped,
      drops: Object.fromEntries(Object.entries(this.drops).filter(([, v]) => v > 0)),
      ports: this.ports.map((p) => {
        const nic = p.device.nic.stats();
        const drops: Record<string, number> = {};
        if (p.txFull) drops.tx_full = p.txFull;
        if (nic.rxPipeFull) drops.rx_pipe_full = nic.rxPipeFull;
        if (nic.rxInvalid) drops.rx_invalid = nic.rxInvalid;
        if (nic.txDropped) drops.tx_port_refused = nic.txDropped;
        return { id: p.id, spec: p.spec, rxPackets: p.rxPackets, rxBytes: p.rxBytes, txPackets: p.txPackets, txBytes: p.txBytes, drops };
      }),
      nfs: [...this.instances.map((i) => i.stats()), ...this.retired.map((r) => ({ ...r, drops: { ...r.drops }, counters: { ...r.counters } }))],
      ...(this.policyInfo ? { policy: this.policyInfo } : {}),
    };
  }

  /** Runs the control-plane policy when its interval has passed (between data-path turns). */
  private consultPolicy(now: number): void {
    const policy = this.policy;
    if (!policy || now - this.policyAt < this.policyIntervalMs) return;
    this.policyAt = now;
    const snap = this.snapshot();
    let d: PolicyDecision | null;
    try {
      d = policy.decide(snap, this.policyPrev);
    } catch (err) {
      console.error(`gnet: policy ${policy.name} failed and is switched off: ${(err as Error).message}`);
      this.policy = undefined;
      return;
    }
    this.policyPrev = snap;
    if (!d) return;
    for (const inst of this.instances) {
      const s = d.instances[inst.key];
      if (s) inst.applySetting(s.batch, s.sms);
    }
    this.policyInfo = { name: policy.name, info: d.info };
  }

  /** Stops the NFs (waiting for them to exit), then closes the ports (flushing output). */
  async close(): Promise<void> {
    this.closing = true;
    this.stop();
    if (this.loopDone) await this.loopDone;
    for (const inst of this.instances) inst.requestStop();
    await Promise.all(this.instances.map((inst) => inst.whenStopped(2000)));
    for (const p of this.ports) await p.close();
  }

  /** Whether the data path is running. */
  get isRunning(): boolean {
    return this.running;
  }
}

export { NfState };
