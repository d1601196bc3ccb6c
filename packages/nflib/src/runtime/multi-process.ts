/**
 * Multi-process mode, manager side (`gnet manager`): the {@link Manager} data path with its pool in
 * a shared memory region, and NF processes that join and leave through the region's slots at any
 * time (protocol: `runtime/region-layout.ts`). A housekeeping timer, between data-path turns,
 * accepts joining NFs, reclaims the slots of NFs that left or died, relays NF messages, and
 * publishes stats into the region for `gnet nfs` and `gnet stats`.
 * @module
 */
import { deserialize } from 'node:v8';
import { parseChain, type ServiceChain } from '../chain/service-chain.js';
import { Action } from '../nf/actions.js';
import type { StatsSnapshot } from '../stats/snapshot.js';
import { ControlWord, NfState } from './attach.js';
import { DEFAULT_BURST, Manager, type Accounting, type ManagerOptions } from './manager.js';
import { ProcessInstance } from './process-instance.js';
import { ManagerRegion, pidAlive } from './region.js';
import { MAILBOX_HEADER_BYTES, MANAGER_PEER } from './mailbox.js';
import { RegionState, SlotPhase, SlotReject, SlotWord, TAG_SERVICE_BASE } from './region-layout.js';

/** Options of {@link MultiProcessManager.create}. */
export interface MultiProcessOptions extends Omit<ManagerOptions, 'nfs' | 'instances' | 'pool' | 'chain' | 'waitForChain'> {
  /** The manager's name: NFs join it with `-m NAME`; its region is `gnet-NAME`. */
  name: string;
  /**
   * The default chain as text: services by id (`1,2`) or by NF tag (`counter,rewriter`), optionally
   * `@<final action>` (`1,2@out:1`); empty for a wire. Tags get service ids from {@link TAG_SERVICE_BASE}.
   */
  chain?: string;
  /** NF slots: most NF instances at once (default 16). */
  slots?: number;
  /**
   * Milliseconds a running NF may go without a heartbeat before the manager kills it (SIGKILL) and
   * reclaims its slot; 0 never (default 10000).
   */
  nfTimeoutMs?: number;
  /** How often stats are published to the region, in ms (default 1000). */
  statsIntervalMs?: number;
  /** The config file's JSON text; NFs read the section named by their tag. */
  configText?: string;
  /** Called with a line for each NF that joins, leaves or is refused. */
  onNfEvent?: (line: string) => void;
}

/** What the manager publishes in its region's stats area (JSON), read by `gnet stats`. */
export interface PublishedStats {
  /** The manager's name. */
  name: string;
  /** Its process id. */
  pid: number;
  /** The latest snapshot. */
  now: StatsSnapshot;
  /** The one before it (for rates), if any. */
  prev?: StatsSnapshot;
}

/** How often (ms) the manager checks that each NF process still exists. */
const LIVENESS_MS = 50;
/** Housekeeping period (ms). */
const TICK_MS = 5;

/** The multi-process manager: a {@link Manager} whose NFs are processes joined through shared memory. */
export class MultiProcessManager {
  /** The manager's name. */
  readonly name: string;
  /** The shared memory region NFs join. */
  readonly region: ManagerRegion;
  /** The data path. */
  readonly manager: Manager;
  /** Service ids the chain gave NF tags. */
  readonly tagServices: ReadonlyMap<string, number>;
  private readonly bySlot: (ProcessInstance | null)[];
  private readonly nfTimeoutMs: number;
  private readonly statsIntervalMs: number;
  private readonly onNfEvent: (line: string) => void;
  private timer: NodeJS.Timeout | null = null;
  private nextLiveness = 0;
  private lastTick = Date.now();
  private nextStats = 0;
  private prevStats: StatsSnapshot | undefined;
  private stopping = false;
  private unlinked = false;
  private readonly onProcessExit = () => this.unlink();

  private constructor(name: string, region: ManagerRegion, manager: Manager, tagServices: Map<string, number>, options: MultiProcessOptions) {
    this.name = name;
    this.region = region;
    this.manager = manager;
    this.tagServices = tagServices;
    this.bySlot = new Array<ProcessInstance | null>(region.slotCount).fill(null);
    this.nfTimeoutMs = options.nfTimeoutMs ?? 10_000;
    this.statsIntervalMs = options.statsIntervalMs ?? 1000;
    this.onNfEvent = options.onNfEvent ?? (() => undefined);
  }

  /**
   * Builds the region `gnet-<name>` (replacing one left by a manager that is gone), opens the ports
   * and starts accepting NFs. RX waits until every service of the default chain has an instance.
   * @throws Error when a live manager has the name, a port cannot be opened, or the chain is bad.
   */
  static async create(options: MultiProcessOptions): Promise<MultiProcessManager> {
    const tagServices = new Map<string, number>();
    const ports = options.ports;
    const defaultOut = ports.length > 1 ? 1 : 0;
    const chain: ServiceChain = options.chain
      ? parseChain(
          options.chain,
          (tag) => {
            if (!tagServices.has(tag)) tagServices.set(tag, TAG_SERVICE_BASE + tagServices.size);
            return tagServices.get(tag);
          },
          defaultOut,
        )
      : { services: [], finalAction: Action.OUT, finalDestination: defaultOut };
    const ringSize = options.ringSize ?? 1024;
    const burst = options.burst ?? DEFAULT_BURST;
    const region = ManagerRegion.create(options.name, {
      slotCount: options.slots ?? 16,
      ringCapacity: ringSize,
      poolSlots: options.poolSlots ?? 16384,
      poolSlotSize: options.slotSize ?? 2048,
      mailboxBytes: MAILBOX_HEADER_BYTES + 16384,
      statsBytes: 65536 + 1024 * (options.slots ?? 16),
      configBytes: 0,
      burst,
      configText: options.configText,
      configSource: options.configSource,
    });
    let manager: Manager;
    try {
      manager = await Manager.create({ ...options, chain, ringSize, burst, pool: region.attachPool(), waitForChain: chain.services.length > 0 });
    } catch (err) {
      region.setState(RegionState.EXITED);
      region.unlink();
      throw err;
    }
    const m = new MultiProcessManager(options.name, region, manager, tagServices, options);
    process.once('exit', m.onProcessExit);
    region.setState(RegionState.RUNNING);
    m.timer = setInterval(() => m.tick(), TICK_MS);
    m.tick();
    return m;
  }

  /** Runs the data path (see {@link Manager.run}); with `untilDrained` a finite input ends it once every packet left. */
  run(options: { untilDrained?: boolean } = {}): Promise<void> {
    return this.manager.run(options);
  }

  /** Asks {@link MultiProcessManager.run} to return after its current turn. */
  stop(): void {
    this.manager.stop();
  }

  /** The accounting identity's terms now. */
  accounting(): Accounting {
    return this.manager.accounting();
  }

  /** {@link Manager.resetLatency}: latencies count from now. */
  resetLatency(): void {
    this.manager.resetLatency();
  }

  /** A stats snapshot now. */
  snapshot(): StatsSnapshot {
    return this.manager.snapshot();
  }

  /** Live NF instances by slot. */
  get nfs(): ProcessInstance[] {
    return this.bySlot.filter((i): i is ProcessInstance => i !== null);
  }

  /**
   * Stops: asks every NF to stop and waits (2 s at most) for each to leave, closes the ports,
   * publishes the final stats, marks the region exited and unlinks it.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.region.setState(RegionState.STOPPING);
    const offPath = this.nfs.filter((i) => !i.onPath);
    for (const inst of this.nfs) {
      // One that does not leave in time is taken off as dead; its slot is not reused any more.
      inst.onStopTimeout = (i) => this.reclaim(i, 'dead', 'did not stop within 2 s of the manager stopping', false);
    }
    for (const inst of offPath) inst.requestStop();
    try {
      // The manager stops the NFs on its data path; the housekeeping timer reclaims each as it leaves.
      await this.manager.close();
      await Promise.all(offPath.map((i) => i.whenStopped(2000)));
    } finally {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.publishStats();
      this.unlink();
    }
  }

  /** Marks the region exited and removes its name (idempotent; also runs at process exit). */
  private unlink(): void {
    if (this.unlinked) return;
    this.unlinked = true;
    process.off('exit', this.onProcessExit);
    this.region.setState(RegionState.EXITED);
    try {
      this.region.unlink();
    } catch {
      // Already removed by someone else: nothing left to clean.
    }
  }

  /** Housekeeping between data-path turns. */
  private tick(): void {
    const now = Date.now();
    this.region.beat(now);
    // After a stall of this process (a long GC, SIGSTOP), NFs had no chance to be seen beating.
    if (now - this.lastTick > 1000) for (const inst of this.nfs) inst.lastBeatAt = now;
    this.lastTick = now;
    const checkLiveness = now >= this.nextLiveness;
    if (checkLiveness) this.nextLiveness = now + LIVENESS_MS;
    for (let i = 0; i < this.region.slotCount; i++) {
      const inst = this.bySlot[i];
      if (inst) this.watch(inst, now, checkLiveness);
      else this.scanFree(i, checkLiveness);
    }
    if (now >= this.nextStats) {
      this.nextStats = now + this.statsIntervalMs;
      this.publishStats();
    }
  }

  /** An occupied slot: a leave, a death, a hang, or messages to relay. */
  private watch(inst: ProcessInstance, now: number, checkLiveness: boolean): void {
    const ctl = inst.slot.ctl;
    if (Atomics.load(ctl, SlotWord.PHASE) === SlotPhase.LEAVING) return this.reclaim(inst, 'left', 'left', true);
    if (checkLiveness && !pidAlive(inst.pid)) {
      return this.reclaim(inst, 'dead', inst.killed ? inst.exitReason : `pid ${inst.pid} is gone`, true);
    }
    this.relayMessages(inst);
    const running = Atomics.load(ctl, ControlWord.STATE) === NfState.RUNNING;
    if (running && !inst.onPath) {
      // Packets go to an NF only once its loop runs (its setup may take long; nothing piles up meanwhile).
      inst.onPath = true;
      this.manager.attach(inst);
    }
    if (this.nfTimeoutMs <= 0 || inst.killed || !running) {
      inst.lastBeatAt = now;
      return;
    }
    const beat = Atomics.load(ctl, ControlWord.HEARTBEAT);
    if (beat !== inst.lastBeat) {
      inst.lastBeat = beat;
      inst.lastBeatAt = now;
    } else if (now - inst.lastBeatAt > this.nfTimeoutMs) {
      // A hung NF holds its packets forever: kill it, and reclaim once the process is gone.
      inst.killed = true;
      inst.exitReason = `no heartbeat for ${this.nfTimeoutMs} ms: killed (SIGKILL)`;
      try {
        process.kill(inst.pid, 'SIGKILL');
      } catch {
        // Gone already: the next liveness check reclaims it.
      }
    }
  }

  /** A slot with no accepted NF: a join to answer, or a claim by a process that died. */
  private scanFree(i: number, checkLiveness: boolean): void {
    const ctl = this.region.slot(i).ctl;
    const pid = Atomics.load(ctl, SlotWord.PID);
    if (pid === 0) return;
    const phase = Atomics.load(ctl, SlotWord.PHASE);
    if (phase === SlotPhase.JOINING) this.accept(i, pid);
    else if (checkLiveness && !pidAlive(pid)) this.region.resetSlot(i);
  }

  /** Accepts (or refuses) the NF joining in slot `i`. */
  private accept(i: number, pid: number): void {
    const s = this.region.slot(i);
    const tag = this.region.readTag(i);
    const reqService = Atomics.load(s.ctl, SlotWord.REQ_SERVICE);
    const reqInstance = Atomics.load(s.ctl, SlotWord.REQ_INSTANCE);
    const serviceId = this.tagServices.get(tag) ?? (reqService > 0 ? reqService : 0);
    const reject = (code: number, why: string) => {
      Atomics.store(s.ctl, SlotWord.REJECT, code);
      Atomics.store(s.ctl, SlotWord.PHASE, SlotPhase.REJECTED);
      this.onNfEvent(`NF ${tag} (pid ${pid}) refused: ${why}`);
    };
    if (this.stopping) return reject(SlotReject.STOPPING, 'the manager is stopping');
    if (serviceId === 0) return reject(SlotReject.NO_SERVICE, 'no service id (-r) and the chain does not name its tag');
    const used = new Set(this.nfs.filter((x) => x.serviceId === serviceId).map((x) => x.instanceId));
    let instanceId = reqInstance;
    if (instanceId >= 0 && used.has(instanceId)) return reject(SlotReject.INSTANCE_TAKEN, `instance ${instanceId} of service ${serviceId} is taken`);
    if (instanceId < 0) for (instanceId = 0; used.has(instanceId); ) instanceId++;
    Atomics.store(s.ctl, SlotWord.SERVICE_ID, serviceId);
    Atomics.store(s.ctl, SlotWord.INSTANCE_ID, instanceId);
    this.bySlot[i] = new ProcessInstance(s, this.region.rings(i), serviceId, instanceId, tag, pid);
    // A reused slot may still hold the previous NF's counter names: start this NF with none.
    this.bySlot[i].named.reset();
    Atomics.store(s.ctl, SlotWord.PHASE, SlotPhase.ACTIVE);
    this.onNfEvent(`NF ${tag} joined as service ${serviceId} instance ${instanceId} (pid ${pid}, slot ${i})`);
  }

  /**
   * Takes an NF off the data path and, when `reuse`, frees its slot for the next NF. A dead NF's
   * packets are counted `nf_dead`; a leaving NF's queued packets go to the rest of its service.
   */
  private reclaim(inst: ProcessInstance, how: 'left' | 'dead', reason: string, reuse: boolean): void {
    if (this.bySlot[inst.index] !== inst) return;
    this.relayMessages(inst);
    if (inst.onPath) this.manager.detach(inst, how, reason);
    else {
      // Never on the data path: it held no packets.
      inst.dead = true;
      inst.exitReason ||= reason;
      if (how === 'dead') this.onNfEvent(`NF ${inst.tag} (${inst.key}, pid ${inst.pid}) ${reason} before it ran`);
    }
    this.bySlot[inst.index] = null;
    if (how === 'left') this.onNfEvent(`NF ${inst.tag} (${inst.key}, pid ${inst.pid}) left`);
    if (reuse) this.region.resetSlot(inst.index);
  }

  /**
   * Moves an NF's outgoing messages to the inboxes of every instance of the service they name;
   * what it tells the manager itself (`ctx.publish`) goes into the instance's `meta`.
   */
  private relayMessages(from: ProcessInstance): void {
    while (
      from.slot.outbox.takeBytes((to, payload) => {
        if (to === MANAGER_PEER) {
          const m = deserialize(payload) as { key?: unknown; value?: unknown } | null;
          if (m !== null && typeof m === 'object' && typeof m.key === 'string') from.meta[m.key] = m.value;
          return;
        }
        for (const target of this.manager.instancesOf(to)) {
          if (target instanceof ProcessInstance && !target.slot.inbox.postBytes(from.serviceId, payload)) target.lostMessages++;
        }
      })
    );
  }

  /** Writes the current stats (with the previous ones, for rates) to the region. */
  private publishStats(): void {
    const now = this.manager.snapshot();
    this.region.publishStats(JSON.stringify({ name: this.name, pid: process.pid, now, prev: this.prevStats } satisfies PublishedStats));
    this.prevStats = now;
  }
}
