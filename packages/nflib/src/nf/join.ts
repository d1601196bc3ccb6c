/**
 * Multi-process mode, NF side: joins a running `gnet manager` through its shared memory region
 * (protocol: `runtime/region-layout.ts`). The NF claims a free slot with compare-and-swap, writes
 * what it offers, waits for the manager to accept it, then moves packets through the slot's rings.
 * @module
 */
import { ControlWord, NfState } from '../runtime/attach.js';
import { MANAGER_PEER } from '../runtime/mailbox.js';
import { ManagerRegion, pidAlive, type SlotView } from '../runtime/region.js';
import { RegionState, SlotPhase, SlotWord, rejectReason } from '../runtime/region-layout.js';
import { sleepSync } from '../ring/sleep.js';
import type { NfArgs } from './args.js';
import type { NfLink, NfMessage } from './link.js';

/** How long an NF waits for the manager to accept it. */
const ACCEPT_TIMEOUT_MS = 5000;
/** How often (ms) a running NF checks that its manager still exists. */
const MANAGER_CHECK_MS = 250;

/** Claims a free slot of `region` for this process; returns it, or null when all are taken. */
function claimSlot(region: ManagerRegion): SlotView | null {
  for (let i = 0; i < region.slotCount; i++) {
    const s = region.slot(i);
    if (Atomics.compareExchange(s.ctl, SlotWord.PID, 0, process.pid) === 0) return s;
  }
  return null;
}

/** Gives up a claim the manager has not accepted (the manager never touched the slot). */
function releaseClaim(s: SlotView): void {
  Atomics.store(s.ctl, SlotWord.PHASE, SlotPhase.FREE);
  Atomics.store(s.ctl, SlotWord.PID, 0);
}

/**
 * Joins manager `name` as an NF tagged `tag` offering service `args.serviceId` (or the service the
 * manager's chain gives its tag). Blocks until the manager accepts it (at most 5 s).
 * @throws NoManagerError when no such manager runs; Error when it has no free slot or refuses the NF.
 */
export function joinManager(name: string, args: NfArgs, tag: string): NfLink {
  const region = ManagerRegion.open(name);
  const s = claimSlot(region);
  if (!s) throw new Error(`gnet manager "${name}" has no free NF slot (all ${region.slotCount} are taken); restart it with more --slots`);
  Atomics.store(s.ctl, SlotWord.REQ_SERVICE, args.serviceId ?? 0);
  Atomics.store(s.ctl, SlotWord.REQ_INSTANCE, args.instanceId ?? -1);
  region.writeTag(s.index, tag);
  Atomics.store(s.ctl, ControlWord.STATE, NfState.STARTING);
  Atomics.store(s.ctl, SlotWord.PHASE, SlotPhase.JOINING);

  const deadline = Date.now() + ACCEPT_TIMEOUT_MS;
  let phase = Atomics.load(s.ctl, SlotWord.PHASE);
  while (phase === SlotPhase.JOINING) {
    if (Date.now() >= deadline || !region.managerAlive) {
      // Withdraw, unless the manager accepted us at this very moment.
      if (Atomics.compareExchange(s.ctl, SlotWord.PHASE, SlotPhase.JOINING, SlotPhase.FREE) === SlotPhase.JOINING) {
        Atomics.store(s.ctl, SlotWord.PID, 0);
        const why = region.managerAlive ? `did not accept this NF within ${ACCEPT_TIMEOUT_MS / 1000} s` : 'exited while this NF was joining';
        throw new Error(`gnet manager "${name}" (pid ${region.managerPid}) ${why}`);
      }
    }
    sleepSync(1);
    phase = Atomics.load(s.ctl, SlotWord.PHASE);
  }
  if (phase === SlotPhase.REJECTED) {
    const code = Atomics.load(s.ctl, SlotWord.REJECT);
    releaseClaim(s);
    throw new Error(`gnet manager "${name}" refused NF ${tag}: ${rejectReason(code, args.serviceId ?? 0, args.instanceId ?? -1)}`);
  }
  return new ShmLink(region, s, tag);
}

/** The link of an NF process to its manager through a region slot. */
class ShmLink implements NfLink {
  readonly mode = 'multi-process' as const;
  readonly pool;
  readonly rx;
  readonly tx;
  readonly ctl: Int32Array;
  readonly counters: Float64Array;
  readonly named: { readonly buffer: ArrayBufferLike; readonly byteOffset: number };
  readonly burst: number;
  readonly serviceId: number;
  readonly instanceId: number;
  readonly tag: string;
  readonly config: unknown;
  readonly configSource: string;
  private readonly region: ManagerRegion;
  private readonly slot: SlotView;
  private readonly managerPid: number;
  private nextManagerCheck = 0;
  private left = false;

  constructor(region: ManagerRegion, slot: SlotView, tag: string) {
    this.region = region;
    this.slot = slot;
    this.tag = tag;
    this.managerPid = region.managerPid;
    this.pool = region.attachPool();
    const rings = region.rings(slot.index);
    this.rx = rings.rx;
    this.tx = rings.tx;
    this.ctl = slot.ctl;
    this.counters = slot.counters;
    this.named = slot.named;
    this.burst = region.burst;
    this.serviceId = Atomics.load(slot.ctl, SlotWord.SERVICE_ID);
    this.instanceId = Atomics.load(slot.ctl, SlotWord.INSTANCE_ID);
    const cfg = region.readConfig();
    this.configSource = cfg.source || '(no config)';
    this.config = cfg.text ? (JSON.parse(cfg.text) as Record<string, unknown>)[tag] : undefined;
  }

  send(_from: number, to: number, body: unknown): void {
    if (!this.slot.outbox.post(to, body)) throw new Error(`gnet: NF ${this.tag} could not send a message to service ${to}: its outbox is full (or the message is too large)`);
  }

  /** The manager of a region polls its rings (it cannot sleep on mapped memory): nothing to ring. */
  wakeManager(): void {}

  publish(key: string, value: unknown): void {
    if (!this.slot.outbox.post(MANAGER_PEER, { key, value })) throw new Error(`gnet: NF ${this.tag} could not publish "${key}": its outbox is full (or the value is too large)`);
  }

  poll(deliver: (msg: NfMessage) => void): string | null {
    for (let m = this.slot.inbox.take(); m !== null; m = this.slot.inbox.take()) deliver({ from: m.peer, body: m.body });
    const now = Date.now();
    if (now < this.nextManagerCheck) return null;
    this.nextManagerCheck = now + MANAGER_CHECK_MS;
    if (this.region.state === RegionState.EXITED || !pidAlive(this.managerPid)) return `its manager "${this.region.name}" (pid ${this.managerPid}) is gone`;
    if (Atomics.load(this.slot.ctl, SlotWord.PID) !== process.pid) return `its manager "${this.region.name}" gave its slot away`;
    return null;
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    // From here on this process touches neither the rings nor the slot: the manager reclaims them.
    if (Atomics.load(this.slot.ctl, SlotWord.PID) === process.pid) Atomics.store(this.slot.ctl, SlotWord.PHASE, SlotPhase.LEAVING);
  }
}
