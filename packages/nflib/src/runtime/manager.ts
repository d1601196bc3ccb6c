/**
 * The gnet manager (openNetVM's `onvm_mgr`) in embedded mode: it owns the ports, the packet pool,
 * the service chains and the NF registry, and moves packets between them:
 *
 * ```
 * port RX pipe ─copy→ pool slot ─chain→ NF ring ─NF→ manager ─chain→ next NF … ─copy→ port TX pipe
 * ```
 *
 * One thread (the caller's) runs the data path; each NF instance runs in its own worker_thread and
 * only moves slot indices through its two SPSC rings. Every packet is, at every instant, exactly one
 * of: counted received and in flight, transmitted, or dropped with a reason (see {@link Manager.accounting}).
 * @module
 */
import { FrameCopier, type PortRole } from '@gnet/enso';
import { ChainTable, Hop, type ServiceChain } from '../chain/service-chain.js';
import { FlowDirector, hash5 } from '../chain/flow-director.js';
import { Action } from '../nf/actions.js';
import { PacketPool } from '../pool/index.js';
import { addDrop, type StatsSnapshot } from '../stats/snapshot.js';
import { ManagerPort } from './manager-port.js';
import { NfInstance, type NfSpec } from './nf-instance.js';
import { NfState } from './attach.js';

/** A port to open. */
export interface PortConfig {
  spec: string;
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
  onNfExit?: (tag: string, key: string, reason: string) => void;
}

/** The accounting identity's terms: `received = transmitted + dropped + inFlight` always holds. */
export interface Accounting {
  received: number;
  transmitted: number;
  dropped: number;
  inFlight: number;
}

const DROP_REASONS = ['nf', 'chain_end', 'bad_destination', 'no_instance', 'nf_ring_full', 'nf_dead', 'tx_full', 'pool_empty', 'bad_port'];

/** The embedded-mode manager. */
export class Manager {
  readonly pool: PacketPool;
  readonly ports: ManagerPort[];
  readonly chains = new ChainTable();
  readonly flowDirector = new FlowDirector(4096);
  readonly instances: NfInstance[] = [];
  /** Manager-level drops by reason. */
  readonly drops: Record<string, number> = {};
  private readonly burst: number;
  private readonly ringSize: number;
  private readonly configSource: string;
  private readonly onNfExit?: ManagerOptions['onNfExit'];
  /** Live instances per service id. */
  private readonly byService = new Map<number, NfInstance[]>();
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
  private received = 0;
  private transmitted = 0;
  private dropped = 0;
  private running = false;
  private stopRequested = false;
  private closing = false;
  private loopDone: Promise<void> | null = null;

  private constructor(pool: PacketPool, ports: ManagerPort[], options: ManagerOptions) {
    this.pool = pool;
    this.ports = ports;
    this.burst = options.burst ?? 32;
    this.ringSize = options.ringSize ?? 1024;
    this.configSource = options.configSource ?? '(command line)';
    this.onNfExit = options.onNfExit;
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
      const pool = PacketPool.create({ slotCount: options.poolSlots ?? 32768, slotSize: 2048 });
      const m = new Manager(pool, ports, options);
      const nfs = options.nfs ?? [];
      const defaultOut = ports.length > 1 ? 1 : 0;
      m.chains.add(options.chain ?? { services: nfs.map((n) => n.serviceId), finalAction: Action.OUT, finalDestination: defaultOut });
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

  /** Starts one more instance of an NF (NFs may join at any time); resolves once it runs. */
  async startNf(spec: NfSpec): Promise<NfInstance> {
    const list = this.byService.get(spec.serviceId) ?? [];
    const inst = new NfInstance(this.instances.length, spec, list.length, this.ringSize);
    if (inst.index >= 0xffff) throw new Error('too many NF instances');
    this.instances.push(inst);
    await inst.start(
      this.pool.buffer,
      this.burst,
      this.configSource,
      (i, reason) => this.nfDied(i, reason),
      (from, to, body) => {
        for (const target of this.byService.get(to) ?? []) target.deliver(from.spec.serviceId, body);
      },
    );
    list.push(inst);
    this.byService.set(spec.serviceId, list);
    return inst;
  }

  /** The terms of the accounting identity right now. */
  accounting(): Accounting {
    return { received: this.received, transmitted: this.transmitted, dropped: this.dropped, inFlight: this.pool.slotCount - this.cached };
  }

  private drop(slot: number, reason: string, inst: NfInstance | null): void {
    this.drops[reason]++;
    if (inst) addDrop(inst.drops, reason);
    this.dropped++;
    this.cache[this.cached++] = slot;
  }

  /** Sends a slot along the hop the chain router chose. */
  private forward(slot: number, hop: number, from: NfInstance | null): void {
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
      let chain = 0;
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
  private drainNf(inst: NfInstance): number {
    const n = inst.tx.dequeueBurst(this.tmp, this.tmp.length);
    if (n === 0) return 0;
    const meta = this.pool.meta;
    inst.outstanding -= n;
    for (let i = 0; i < n; i++) {
      const slot = this.tmp[i];
      this.ownerOf[slot] = 0;
      const hop = this.chains.route(this.chainOf[slot], meta.chainIndex[slot], meta.action[slot], meta.destination[slot], meta.chainIndex, slot);
      this.forward(slot, hop, inst);
    }
    return n;
  }

  private flushNf(inst: NfInstance): void {
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
        else if (++idleTurns > 64) {
          await new Promise((r) => setTimeout(r, idleTurns > 1024 ? 1 : 0));
          lastYield = Date.now();
          continue;
        }
        const now = Date.now();
        if (now - lastYield >= 4) {
          lastYield = now;
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

  /** An NF instance died: take it out of its service, reclaim its packets (counted `nf_dead`). */
  private nfDied(inst: NfInstance, reason: string): void {
    const list = this.byService.get(inst.spec.serviceId);
    if (list) {
      const at = list.indexOf(inst);
      if (at >= 0) list.splice(at, 1);
    }
    // Packets it returned are routed normally; the ones it held or had queued are lost with it.
    this.drainNf(inst);
    while (inst.rx.dequeueBurst(this.tmp, this.tmp.length) > 0) {
      /* emptied below through ownerOf */
    }
    const owner = inst.index + 1;
    for (let s = 0; s < this.ownerOf.length; s++) {
      if (this.ownerOf[s] === owner) {
        this.ownerOf[s] = 0;
        this.drop(s, 'nf_dead', inst);
      }
    }
    inst.outstanding = 0;
    if (!this.closing) this.onNfExit?.(inst.tag, inst.key, reason);
  }

  /** A stats snapshot (not on the data path). */
  snapshot(): StatsSnapshot {
    const a = this.accounting();
    return {
      time: Date.now(),
      inFlight: a.inFlight,
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
      nfs: this.instances.map((i) => ({
        key: i.key,
        tag: i.tag,
        serviceId: i.spec.serviceId,
        instanceId: i.instanceId,
        rxPackets: i.nfRx,
        txPackets: i.nfTx,
        drops: { ...i.drops },
        rxRingOccupancy: i.rx.count,
        txRingOccupancy: i.tx.count,
        state: ['starting', 'running', 'stopping', 'stopped', 'dead'][i.state] ?? 'unknown',
      })),
    };
  }

  /** Stops the NFs (waiting for their workers to exit), then closes the ports (flushing output). */
  async close(): Promise<void> {
    this.closing = true;
    this.stop();
    if (this.loopDone) await this.loopDone;
    for (const inst of this.instances) inst.requestStop();
    await Promise.all(
      this.instances.map(async (inst) => {
        if (!inst.worker || inst.dead) return;
        const w = inst.worker;
        const exited = new Promise<void>((r) => w.once('exit', () => r()));
        const timer = setTimeout(() => void w.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
    for (const p of this.ports) await p.close();
  }

  /** Whether the data path is running. */
  get isRunning(): boolean {
    return this.running;
  }
}

export { NfState };
