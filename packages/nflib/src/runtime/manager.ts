/**
 * The gnet manager (openNetVM's `onvm_mgr`): it owns the ports, the packet pool, the service chains
 * and the NF registry, and moves packets between them:
 *
 * ```
 * port ─copy→ pool slots + batch descriptor ─chain→ NF ring ─NF→ manager ─chain→ next NF … ─copy→ port
 * ```
 *
 * One thread (the caller's) runs the data path. Packets travel in batch descriptors of the pool
 * (`pool/batch-table.ts`): a ring entry names a whole batch, an NF works on the descriptor in place,
 * and a batch whose packets all go the same way (every `NEXT`) moves on as one number, with no work
 * per packet. Only packets that part ways (a drop, `TONF`, `OUT`, instances of a service splitting
 * a batch by flow hash) are moved one by one into other descriptors. In embedded mode ({@link Manager.create} with `nfs`) instances are worker_threads
 * of this process; in multi-process mode (`MultiProcessManager`) they are processes that join
 * through a shared memory region, and the same data path serves them through {@link Manager.attach}
 * and {@link Manager.detach}. Every packet is, at every instant, exactly one of: counted received and
 * in flight, transmitted, or dropped with a reason (see {@link Manager.accounting}).
 * @module
 */
import { availableParallelism } from 'node:os';
import type { PortRole } from '@gnet/enso';
import { ChainTable, Hop, type ServiceChain } from '../chain/service-chain.js';
import { FlowDirector } from '../chain/flow-director.js';
import { Action } from '../nf/actions.js';
import { ALL_NEXT } from '../pool/batch-table.js';
import { PacketPool } from '../pool/index.js';
import { LatencyHistogram } from '../stats/latency.js';
import { addDrop, type NfCounters, type StatsSnapshot } from '../stats/snapshot.js';
import { ManagerBell } from './manager-bell.js';
import { ManagerPort } from './manager-port.js';
import type { NfEndpoint } from './instance.js';
import { NfInstance, NfThread, type NfSpec } from './nf-instance.js';
import { ControlWord, NfState } from './attach.js';
import type { ManagerPolicy, PolicyDecision } from './policy.js';
import { RxFiller, SlotCache } from './rx-filler.js';

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
  /**
   * Most packets per batch (default {@link DEFAULT_BURST}, or {@link SHARED_THREAD_BURST} when two or
   * more NFs share a thread): a port burst, and the capacity of the pool's batch descriptors.
   */
  burst?: number;
  /** Pool slots (default 32768). */
  poolSlots?: number;
  /**
   * Bytes per pool slot, a multiple of 64 (default 2048). A received frame longer than a slot is
   * dropped and counted (`rx_invalid`), so jumbo frames need a larger one (9088 for 9000-byte MTU).
   */
  slotSize?: number;
  /**
   * Most packets in flight at once (default 4096, or 16 bursts when that is more; at least two
   * bursts): what a port may be ahead of the NFs. Enough to keep pipelined NFs fed, and few enough
   * that the packets being worked on stay in the CPU's caches: a pool's worth in flight would make
   * every receive a miss to memory.
   */
  maxInFlight?: number;
  /**
   * Most packets one NF instance may hold (queued for it or in its handler); a batch that would
   * exceed it is dropped and counted as `nf_ring_full`, as openNetVM drops on a full NF ring.
   * Default: `maxInFlight`, so it never drops and a slow NF slows the ports instead. Set it lower
   * when services run side by side (several chains, flow-director rules), so one stalled NF costs
   * its own traffic rather than everyone's.
   */
  nfQueue?: number;
  /** Entries per NF ring (default 1024), which is also the number of batch descriptors, so a ring never overflows. */
  ringSize?: number;
  /** Where the config came from (for NF error messages). */
  configSource?: string;
  /** Called when an NF instance dies. */
  onNfExit?: (tag: string, key: string, reason: string, error?: Error) => void;
  /**
   * Use this pool (e.g. one in a shared memory region) instead of creating one of `poolSlots`. Its
   * batch descriptors must hold `burst` packets, and be no more than `ringSize`.
   */
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

/**
 * Packets per batch unless asked otherwise. A batch costs the manager and each NF a fixed amount
 * on top of its packets (ring operations, a handler call, routing a descriptor); measured on the
 * manager thread with one no-op NF, 256 cost 0.7x the time per packet of 32. A port is polled for
 * what it has, so a trickle is never held back to fill a batch.
 */
export const DEFAULT_BURST = 256;

/**
 * Default burst when two or more NFs share a worker thread ({@link NfSpec.thread}, `--chain a+b`).
 * A hop between them costs the manager a ring round trip per batch (about a microsecond, cache lines
 * the NF's core wrote), so batches four times as large cost a quarter of it per packet: on 2 cores,
 * 2 NFs in one thread lost 11-14% against one NF with 256, 4-7% with 1024.
 */
export const SHARED_THREAD_BURST = 1024;

/** Descriptors kept back from receiving, so packets parting ways always find one to move into. */
const SPARE_DESCRIPTORS = 2;

/** Microseconds an NF with a core of its own spins when idle before it sleeps (`ControlWord.SPIN_US`). */
const NF_SPIN_US = 100;

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
  private readonly maxInFlight: number;
  private readonly nfQueue: number;
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
  /** Free slots (the manager is the pool's only allocator and freer). */
  private readonly cache: SlotCache;
  private readonly filler: RxFiller;
  /** Packets per descriptor. */
  private readonly cap: number;
  /**
   * Manager-private state of each batch descriptor: its packet count, the slots it holds (entry
   * `d × cap + i`: NFs see a copy in the pool, never this one), its chain and position in it, and
   * its owning instance (index + 1, 0 while the manager holds it).
   */
  private readonly dCount: Int32Array;
  private readonly slotOf: Uint32Array;
  private readonly dChain: Uint16Array;
  private readonly dPos: Int16Array;
  private readonly dOwner: Uint16Array;
  /** When the oldest packet of each descriptor was received (`performance.now()`). */
  private readonly dTime: Float64Array;
  /** Receive-to-transmit time of every packet sent, a batch at a time. */
  private readonly latency = new LatencyHistogram();
  /** Rung by NF threads when they hand batches back (see {@link Manager.run}). */
  private readonly bell = new ManagerBell();
  /** More busy threads than cores (this one and every NF), and every NF rings: idle turns sleep on the bell. */
  private bellSleep = false;
  /** Free descriptors. */
  private readonly freeD: Uint32Array;
  private freeDN: number;
  /** Per port, the descriptor being filled with packets to send there packet by packet, or -1. */
  private readonly txOpen: Int32Array;
  /** Descriptor indices an NF returned, one burst at a time. */
  private readonly ids = new Uint32Array(64);
  /** `ChainTable.route`'s chain position out-parameter. */
  private readonly posOut = new Uint8Array(1);
  /** Descriptor indices NFs returned that they did not hold (ignored; a sign of a buggy NF). */
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
    this.burst = options.burst ?? DEFAULT_BURST;
    this.ringSize = options.ringSize ?? 1024;
    this.maxInFlight = Math.min(pool.slotCount, Math.max(options.maxInFlight ?? Math.max(4096, 16 * this.burst), 2 * this.burst));
    this.nfQueue = Math.max(options.nfQueue ?? this.maxInFlight, 1);
    const t = pool.batches;
    if (t.capacity < this.burst) throw new RangeError(`the pool's batch descriptors hold ${t.capacity} packets, fewer than the burst of ${this.burst}`);
    if (t.batchCount > this.ringSize) throw new RangeError(`the pool has ${t.batchCount} batch descriptors, more than an NF ring of ${this.ringSize} can hold`);
    this.configSource = options.configSource ?? '(command line)';
    this.onNfExit = options.onNfExit;
    this.waitingForChain = options.waitForChain ?? false;
    this.cap = t.capacity;
    this.dCount = new Int32Array(t.batchCount);
    this.slotOf = new Uint32Array(t.batchCount * t.capacity);
    this.dChain = new Uint16Array(t.batchCount);
    this.dPos = new Int16Array(t.batchCount);
    this.dOwner = new Uint16Array(t.batchCount);
    this.dTime = new Float64Array(t.batchCount);
    this.freeD = new Uint32Array(t.batchCount);
    for (let d = 0; d < t.batchCount; d++) this.freeD[d] = t.batchCount - 1 - d;
    this.freeDN = t.batchCount;
    this.txOpen = new Int32Array(ports.length).fill(-1);
    for (const r of DROP_REASONS) this.drops[r] = 0;
    // Take every slot once: alloc/free become array pushes and pops.
    this.cache = new SlotCache(pool.slotCount);
    this.cache.count = pool.allocBurst(this.cache.slots, pool.slotCount);
    this.filler = new RxFiller(pool, this.cache, this.slotOf);
  }

  /** Opens the ports, starts the NFs and builds the default chain. Rejects (closing what it opened) on any failure. */
  static async create(options: ManagerOptions): Promise<Manager> {
    const ports: ManagerPort[] = [];
    try {
      for (let i = 0; i < options.ports.length; i++) ports.push(await ManagerPort.open(i, options.ports[i].spec, options.ports[i].role));
      const nfs = options.nfs ?? [];
      const named = nfs.map((n) => n.thread).filter((t) => t !== undefined);
      const sharing = new Set(named).size < named.length;
      const burst = options.burst ?? (sharing && !options.pool ? SHARED_THREAD_BURST : DEFAULT_BURST);
      const pool =
        options.pool ??
        PacketPool.create({ slotCount: options.poolSlots ?? 32768, slotSize: options.slotSize ?? 2048, batchCount: options.ringSize ?? 1024, batchCapacity: burst });
      const m = new Manager(pool, ports, { ...options, burst });
      const defaultOut = ports.length > 1 ? 1 : 0;
      m.chains.add(options.chain ?? { services: nfs.map((n) => n.serviceId), finalAction: Action.OUT, finalDestination: defaultOut });
      m.rxChain = new Uint16Array(ports.length);
      if (!options.chain) {
        for (const p of ports) {
          if (p.id === 0 || !p.receives) continue;
          const pair = (p.id ^ 1) < ports.length ? p.id ^ 1 : 0;
          m.rxChain[p.id] = m.chains.add({ services: nfs.map((n) => n.serviceId), finalAction: Action.OUT, finalDestination: pair });
        }
      }
      try {
        // NFs naming the same thread share one per instance number (instance k of each in thread k).
        const threads: NfSpec[][] = [];
        const named = new Map<string, NfSpec[]>();
        for (const spec of nfs) {
          const group = spec.thread === undefined ? undefined : named.get(spec.thread);
          if (group) group.push(spec);
          else {
            const g = [spec];
            threads.push(g);
            if (spec.thread !== undefined) named.set(spec.thread, g);
          }
        }
        for (const g of threads) for (let k = 0; k < (options.instances ?? 1); k++) await m.startThread(g);
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
    return (await this.startThread([spec]))[0];
  }

  /**
   * Starts one more instance of each of `specs` in one worker_thread (several: their loops take
   * turns on it, see {@link NfSpec.thread}); resolves once every one runs, rejects (starting none)
   * when one fails to.
   */
  async startThread(specs: NfSpec[]): Promise<NfInstance[]> {
    if (this.nextIndex + specs.length > 0xfffe) throw new Error('too many NF instances');
    const taken = new Map<number, number>();
    const members = specs.map((spec) => {
      const before = (this.byService.get(spec.serviceId)?.length ?? 0) + (taken.get(spec.serviceId) ?? 0);
      taken.set(spec.serviceId, (taken.get(spec.serviceId) ?? 0) + 1);
      return new NfInstance(this.nextIndex++, spec, before, this.ringSize);
    });
    const thread = new NfThread(members);
    this.instances.push(...members);
    try {
      await thread.start(this.pool.buffer as SharedArrayBuffer, this.burst, this.configSource, this.bell.buffer, {
        onExit: (i, reason) => this.detach(i, 'dead', reason),
        onMessage: (from, to, body) => this.relayMessage(from.serviceId, to, body),
      });
    } catch (err) {
      for (const m of members) this.instances.splice(this.instances.indexOf(m), 1);
      throw err;
    }
    for (const m of members) this.addToService(m);
    return members;
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
    this.registryChanged();
  }

  /** An instance joined or left: settings that depend on who is running are made again. */
  private registryChanged(): void {
    this.grantSpin();
    // A device copy that was clean along the old chain may not be along the new one (an NF that
    // rewrites the field joined), so resident-field reuse waits for the policy's next decision.
    for (const inst of this.instances) Atomics.store(inst.ctl, ControlWord.RESIDENT, 0);
  }

  /**
   * Lets NFs spin when idle while this thread and every NF have a core each (DPDK's one polling
   * thread per lcore); with more threads than cores they sleep as soon as they run dry, leaving
   * the core to whichever thread has work.
   */
  private grantSpin(): void {
    const threads = new Set(this.instances.map((i) => i.threadKey)).size;
    const oversubscribed = threads + 1 > availableParallelism();
    this.bellSleep = oversubscribed && this.instances.every((i) => i.ringsBell);
    const spin = oversubscribed ? 0 : NF_SPIN_US;
    for (const inst of this.instances) Atomics.store(inst.ctl, ControlWord.SPIN_US, spin);
  }

  /** True when an NF has handed back a batch the manager has not taken yet. */
  private readonly batchesWaiting = (): boolean => {
    for (const inst of this.instances) if (!inst.tx.isEmpty) return true;
    return false;
  };

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
    return { received: this.received, transmitted: this.transmitted, dropped: this.dropped, inFlight: this.pool.slotCount - this.cache.count };
  }

  // ---- descriptors ----

  /** A free descriptor, or -1 when none is left. */
  private takeDescriptor(): number {
    return this.freeDN > 0 ? this.freeD[--this.freeDN] : -1;
  }

  private releaseDescriptor(d: number): void {
    this.dCount[d] = 0;
    this.freeD[this.freeDN++] = d;
  }

  /** Moves packet entry `from` to entry `to` (indices into the batch table), within or across descriptors. */
  private moveEntry(from: number, to: number): void {
    const t = this.pool.batches;
    const slot = this.slotOf[from];
    this.slotOf[to] = slot;
    t.slot[to] = slot;
    // The offset is the manager's to compute: an NF cannot send it elsewhere.
    t.offset[to] = this.pool.dataOffset + slot * this.pool.slotSize;
    t.length[to] = t.length[from];
    t.flowHash[to] = t.flowHash[from];
    t.port[to] = t.port[from];
  }

  // ---- drops ----

  private countDrops(reason: string, n: number, inst: NfEndpoint | null): void {
    this.drops[reason] += n;
    this.dropped += n;
    if (inst) addDrop(inst.drops, reason, n);
  }

  /** Drops one packet (entry `e` of the batch table) with `reason`. */
  private dropEntry(e: number, reason: string, inst: NfEndpoint | null): void {
    this.cache.slots[this.cache.count++] = this.slotOf[e];
    this.countDrops(reason, 1, inst);
  }

  /** Drops every packet of descriptor `d` with `reason` and frees it. */
  private dropAll(d: number, reason: string, inst: NfEndpoint | null): void {
    const n = this.dCount[d];
    const base = d * this.cap;
    const cache = this.cache;
    for (let i = 0; i < n; i++) cache.slots[cache.count++] = this.slotOf[base + i];
    if (n > 0) this.countDrops(reason, n, inst);
    this.releaseDescriptor(d);
  }

  // ---- routing ----

  /** Sends the whole descriptor `d` along `hop` (from `ChainTable.route`), at chain position `pos`. */
  private sendOn(d: number, hop: number, chain: number, pos: number, from: NfEndpoint | null): void {
    const kind = hop & 3;
    const target = hop >>> 2;
    if (kind === Hop.PORT) {
      // Packets queued for the port one by one came first.
      if (target < this.txOpen.length && this.txOpen[target] >= 0) this.closeTx(target);
      this.transmit(d, target);
    } else if (kind === Hop.SERVICE) this.toService(d, target, chain, pos, from);
    else this.dropAll(d, dropReason(target), from);
  }

  /** Hands descriptor `d` to service `service`: whole to its one instance, else split by flow hash. */
  private toService(d: number, service: number, chain: number, pos: number, from: NfEndpoint | null): void {
    const list = this.byService.get(service);
    if (list === undefined || list.length === 0) return this.dropAll(d, 'no_instance', from);
    if (list.length === 1) {
      const inst = list[0];
      if (inst.open >= 0) this.closeOpen(inst);
      this.dChain[d] = chain;
      this.dPos[d] = pos;
      this.stage(inst, d);
      return;
    }
    const n = this.dCount[d];
    const base = d * this.cap;
    const hash = this.pool.batches.flowHash;
    for (let i = 0; i < n; i++) this.append(list[hash[base + i] % list.length], chain, pos, base + i, from);
    this.releaseDescriptor(d);
  }

  /** Routes one packet (batch table entry `e`) along `hop`, at chain position `pos`. */
  private routeEntry(e: number, hop: number, chain: number, pos: number, from: NfEndpoint | null): void {
    const kind = hop & 3;
    const target = hop >>> 2;
    if (kind === Hop.PORT) return this.appendTx(target, e, from);
    if (kind === Hop.SERVICE) {
      const list = this.byService.get(target);
      if (list === undefined || list.length === 0) return this.dropEntry(e, 'no_instance', from);
      const inst = list.length === 1 ? list[0] : list[this.pool.batches.flowHash[e] % list.length];
      return this.append(inst, chain, pos, e, from);
    }
    this.dropEntry(e, dropReason(target), from);
  }

  /** Adds packet entry `e` to the descriptor being filled for `inst` at (`chain`, `pos`). */
  private append(inst: NfEndpoint, chain: number, pos: number, e: number, from: NfEndpoint | null): void {
    let d = inst.open;
    if (d >= 0 && (this.dChain[d] !== chain || this.dPos[d] !== pos || this.dCount[d] === this.cap)) {
      this.closeOpen(inst);
      d = -1;
    }
    if (d < 0) {
      d = this.takeDescriptor();
      if (d < 0) return this.dropEntry(e, 'pool_empty', from);
      this.dChain[d] = chain;
      this.dPos[d] = pos;
      this.dTime[d] = Infinity;
      inst.open = d;
    }
    this.moveInto(e, d);
  }

  /** Appends packet entry `e` to descriptor `d`, which keeps the earliest receive time of its packets. */
  private moveInto(e: number, d: number): void {
    const t = this.dTime[(e / this.cap) | 0];
    if (t < this.dTime[d]) this.dTime[d] = t;
    this.moveEntry(e, d * this.cap + this.dCount[d]++);
  }

  /** Stages the descriptor being filled for `inst`. */
  private closeOpen(inst: NfEndpoint): void {
    const d = inst.open;
    inst.open = -1;
    this.stage(inst, d);
  }

  /** Queues descriptor `d` for `inst` (enqueued on its ring at the end of the turn). */
  private stage(inst: NfEndpoint, d: number): void {
    if (inst.staged === inst.stage.length) this.flushNf(inst);
    this.pool.batches.count[d] = this.dCount[d];
    inst.stage[inst.staged++] = d;
  }

  /** Enqueues what is staged for `inst` on its ring. */
  private flushNf(inst: NfEndpoint): void {
    if (inst.open >= 0) this.closeOpen(inst);
    const n = inst.staged;
    if (n === 0) return;
    inst.staged = 0;
    if (inst.dead) {
      for (let k = 0; k < n; k++) this.dropAll(inst.stage[k], 'nf_dead', inst);
      return;
    }
    // Batches beyond the instance's share (`nfQueue`) are dropped, not queued: see ManagerOptions.
    let fit = 0;
    let held = inst.outstanding;
    for (let k = 0; k < n; k++) {
      const d = inst.stage[k];
      if (held + this.dCount[d] > this.nfQueue && held > 0) {
        this.dropAll(d, 'nf_ring_full', inst);
        continue;
      }
      held += this.dCount[d];
      inst.stage[fit++] = d;
    }
    const ok = inst.rx.enqueueBurst(inst.stage, fit);
    if (ok > 0) inst.wake();
    const owner = inst.index + 1;
    for (let k = 0; k < ok; k++) {
      const d = inst.stage[k];
      this.dOwner[d] = owner;
      inst.outstanding += this.dCount[d];
    }
    // Cannot happen while the ring holds every descriptor of the pool; counted if it ever does.
    for (let k = ok; k < fit; k++) this.dropAll(inst.stage[k], 'nf_ring_full', inst);
  }

  // ---- transmit ----

  /** Adds packet entry `e` to the descriptor being filled for port `port`. */
  private appendTx(port: number, e: number, from: NfEndpoint | null): void {
    if (port >= this.txOpen.length || !this.ports[port].transmits) return this.dropEntry(e, 'bad_port', from);
    let d = this.txOpen[port];
    if (d >= 0 && this.dCount[d] === this.cap) {
      this.closeTx(port);
      d = -1;
    }
    if (d < 0) {
      d = this.takeDescriptor();
      if (d < 0) return this.dropEntry(e, 'pool_empty', from);
      this.dTime[d] = Infinity;
      this.txOpen[port] = d;
    }
    this.moveInto(e, d);
  }

  /** Sends the descriptor being filled for port `port`. */
  private closeTx(port: number): void {
    const d = this.txOpen[port];
    this.txOpen[port] = -1;
    this.transmit(d, port);
  }

  /** Hands every packet of descriptor `d` to port `id`, frees their slots and the descriptor. */
  private transmit(d: number, id: number): void {
    const port = this.ports[id];
    if (port === undefined || !port.transmits) return this.dropAll(d, 'bad_port', null);
    const backend = port.backend;
    const pool = this.pool;
    const bytes = pool.bytes;
    const size = pool.slotSize;
    const dataOffset = pool.dataOffset;
    const { tsSec, tsNsec } = pool.meta;
    const length = pool.batches.length;
    const cache = this.cache;
    const n = this.dCount[d];
    const base = d * this.cap;
    let sent = 0;
    let sentBytes = 0;
    for (let i = 0; i < n; i++) {
      const slot = this.slotOf[base + i];
      let len = length[base + i];
      if (len > size) len = size; // an NF's length past its slot: what the slot holds
      if (backend.send(bytes, dataOffset + slot * size, len, tsSec[slot], tsNsec[slot])) {
        sent++;
        sentBytes += len;
      }
      cache.slots[cache.count++] = slot;
    }
    if (sent > 0) this.latency.add((performance.now() - this.dTime[d]) * 1000, sent);
    this.transmitted += sent;
    port.txPackets += sent;
    port.txBytes += sentBytes;
    port.unflushed += sent;
    if (sent < n) {
      port.txFull += n - sent;
      this.countDrops('tx_full', n - sent, null);
    }
    this.releaseDescriptor(d);
  }

  // ---- the turn ----

  /** Takes up to one burst from a port into pool slots and sends it on; returns the frames the port offered. */
  private rxPort(port: ManagerPort): number {
    if (this.waitingForChain && !this.chainReady()) return 0;
    if (this.freeDN <= this.instances.length + this.ports.length + SPARE_DESCRIPTORS) return 0;
    const left = this.maxInFlight - (this.pool.slotCount - this.cache.count);
    const room = left < this.burst ? left : this.burst;
    if (room <= 0) return 0;
    const d = this.takeDescriptor();
    const fd = this.flowDirector.size > 0 ? this.flowDirector : null;
    const filler = this.filler;
    filler.begin(d, port, room, fd);
    const offered = port.backend.poll(filler, room);
    filler.settle();
    const n = filler.count;
    if (n === 0) {
      this.releaseDescriptor(d);
      return offered;
    }
    this.received += n;
    port.rxPackets += n;
    port.rxBytes += filler.bytes;
    this.dCount[d] = n;
    this.dTime[d] = performance.now();
    const chain = this.rxChain[port.id];
    if (fd !== null) {
      let other = false;
      for (let i = 0; i < n; i++) if (filler.chainOf[i] >= 0 && filler.chainOf[i] !== chain) other = true;
      if (other) {
        // Flows with a chain of their own: each packet enters its chain.
        const base = d * this.cap;
        for (let i = 0; i < n; i++) {
          const c = filler.chainOf[i] >= 0 ? filler.chainOf[i] : chain;
          this.routeEntry(base + i, this.chains.route(c, -1, Action.NEXT, 0, this.posOut, 0), c, this.posOut[0], null);
        }
        this.releaseDescriptor(d);
        return offered;
      }
    }
    this.sendOn(d, this.chains.route(chain, -1, Action.NEXT, 0, this.posOut, 0), chain, this.posOut[0], null);
    return offered;
  }

  /** Takes the batches an NF returned and routes each packet by its action; returns the packets. */
  private drainNf(inst: NfEndpoint): number {
    const ids = this.ids;
    const owner = inst.index + 1;
    let packets = 0;
    for (let n = inst.tx.dequeueBurst(ids, ids.length); n > 0; n = n === ids.length ? inst.tx.dequeueBurst(ids, ids.length) : 0) {
      for (let k = 0; k < n; k++) {
        const d = ids[k];
        // Only a batch this instance holds may come back from it (a buggy or foreign NF could
        // return any number): anything else is ignored and counted, so the pool stays consistent.
        if (!(d < this.dOwner.length) || this.dOwner[d] !== owner) {
          this.badReturns++;
          continue;
        }
        this.dOwner[d] = 0;
        inst.outstanding -= this.dCount[d];
        packets += this.dCount[d];
        this.routeReturned(d, inst);
      }
    }
    return packets;
  }

  /**
   * Routes a batch an NF returned. When every packet got the same decision (all `NEXT`, all `OUT`
   * to one port, all dropped...) the batch moves on whole; otherwise the packets that share the
   * first packet's decision close ranks in place and move on together, and the others go their
   * own ways one by one.
   */
  private routeReturned(d: number, inst: NfEndpoint): void {
    const t = this.pool.batches;
    const action = t.action;
    const destination = t.destination;
    const n = this.dCount[d];
    if (n === 0) return this.releaseDescriptor(d);
    const base = d * this.cap;
    const chain = this.dChain[d];
    const pos = this.dPos[d];
    // The NF said every packet goes on (`ALL_NEXT`): no need to read the actions it wrote.
    if ((t.count[d] & ALL_NEXT) !== 0) return this.sendOn(d, this.chains.route(chain, pos, Action.NEXT, 0, this.posOut, 0), chain, this.posOut[0], inst);
    // Locals, not Action.X: the bundler turns module constants into variables V8 reloads per use.
    const DROP = Action.DROP;
    const a0 = action[base];
    // The destination is part of the decision only for TONF and OUT.
    const withDest = a0 === Action.TONF || a0 === Action.OUT;
    const d0 = withDest ? destination[base] : 0;
    let i = 1;
    while (i < n && action[base + i] === a0 && (!withDest || destination[base + i] === d0)) i++;
    if (i < n) {
      let kept = i;
      for (; i < n; i++) {
        const e = base + i;
        const a = action[e];
        if (a === a0 && (!withDest || destination[e] === d0)) {
          this.moveEntry(e, base + kept++);
        } else if (a === DROP) {
          this.dropEntry(e, 'nf', inst);
        } else {
          const hop = this.chains.route(chain, pos, a, destination[e], this.posOut, 0);
          this.routeEntry(e, hop, chain, this.posOut[0], inst);
        }
      }
      this.dCount[d] = kept;
    }
    this.sendOn(d, this.chains.route(chain, pos, a0, d0, this.posOut, 0), chain, this.posOut[0], inst);
  }

  /** One pass over every port and NF; returns the packets moved. */
  private turn(): number {
    let work = 0;
    for (const p of this.ports) if (p.receives) work += this.rxPort(p);
    for (const inst of this.instances) work += this.drainNf(inst);
    for (const inst of this.instances) this.flushNf(inst);
    for (let i = 0; i < this.ports.length; i++) {
      if (this.txOpen[i] >= 0) this.closeTx(i);
      this.ports[i].flush();
    }
    return work;
  }

  /** True when every receiving port is exhausted and nothing is in flight. */
  get drained(): boolean {
    return this.ports.every((p) => p.exhausted) && this.cache.count === this.pool.slotCount;
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
        else if (++idleTurns > 64 && (this.cache.count === this.pool.slotCount || idleTurns > 1 << 16)) {
          await new Promise((r) => setTimeout(r, idleTurns > 1024 ? 1 : 0));
          lastYield = Date.now();
          this.consultPolicy(lastYield);
          continue;
        } else if (this.bellSleep && idleTurns > 16) {
          // Sharing cores with the NFs it waits for: let them run until one hands a batch back.
          this.bell.sleep(1, this.batchesWaiting);
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
   * stopped cleanly) batches still queued for it go to the other instances of its service (or are
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
    this.registryChanged();
    const owner = inst.index + 1;
    // Batches it returned are routed normally; the ones it held or had queued are lost with it.
    this.drainNf(inst);
    if (inst.open >= 0) {
      this.requeue(inst.open, inst, how);
      inst.open = -1;
    }
    const staged = inst.staged;
    inst.staged = 0;
    for (let k = 0; k < staged; k++) this.requeue(inst.stage[k], inst, how);
    const ids = this.ids;
    for (let n = inst.rx.dequeueBurst(ids, ids.length); n > 0; n = inst.rx.dequeueBurst(ids, ids.length)) {
      for (let k = 0; k < n; k++) {
        const d = ids[k];
        if (!(d < this.dOwner.length) || this.dOwner[d] !== owner) continue;
        this.dOwner[d] = 0;
        this.requeue(d, inst, how);
      }
    }
    for (let d = 0; d < this.dOwner.length; d++) {
      if (this.dOwner[d] === owner) {
        this.dOwner[d] = 0;
        this.dropAll(d, 'nf_dead', inst);
      }
    }
    inst.outstanding = 0;
    // Re-queued packets wait in other instances' stages: hand them over now.
    for (const other of this.instances) this.flushNf(other);
    for (let i = 0; i < this.ports.length; i++) {
      if (this.txOpen[i] >= 0) this.closeTx(i);
      this.ports[i].flush();
    }
    inst.dead = true;
    if (!inst.exitReason) inst.exitReason = reason;
    this.retire(inst.stats(), how === 'dead' ? 'dead' : 'stopped');
    if (how === 'dead' && !this.closing) this.onNfExit?.(inst.tag, inst.key, reason, inst.exitError);
  }

  /** A batch that was queued for a departing instance: to the other instances of its service, or dropped. */
  private requeue(d: number, inst: NfEndpoint, how: 'left' | 'dead'): void {
    if (how === 'dead') this.dropAll(d, 'nf_dead', inst);
    else this.toService(d, inst.serviceId, this.dChain[d], this.dPos[d], inst);
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

  /**
   * Forgets the packet latencies recorded so far (`snapshot().latencyUs` counts from now): to
   * measure the steady state without the first second's JIT compilation and heap growth, whose
   * pauses (milliseconds) otherwise set the 99th percentile.
   */
  resetLatency(): void {
    this.latency.reset();
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
      ports: this.ports.map((p) => ({
        id: p.id,
        spec: p.spec,
        rxPackets: p.rxPackets,
        rxBytes: p.rxBytes,
        txPackets: p.txPackets,
        txBytes: p.txBytes,
        drops: p.drops(),
      })),
      nfs: [...this.instances.map((i) => i.stats()), ...this.retired.map((r) => ({ ...r, drops: { ...r.drops }, counters: { ...r.counters } }))],
      chains: Array.from({ length: this.chains.size }, (_, c) => this.chains.get(c).services),
      ...(this.policyInfo ? { policy: this.policyInfo } : {}),
      latencyUs: this.latency.summary(),
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
      if (s) inst.applySetting(s.batch, s.sms, s.resident);
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

/** The manager's drop reason for a chain router's drop target. */
function dropReason(target: number): string {
  return target === 1 ? 'nf' : target === 2 ? 'chain_end' : 'bad_destination';
}

export { NfState };
