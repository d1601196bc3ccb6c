/**
 * `gnet nfs`: lists the NFs joined to a running `gnet manager`, read from its shared memory region.
 * @module
 */
import { ControlWord, NfCounter } from '../runtime/attach.js';
import { NF_STATE_NAMES } from '../runtime/instance.js';
import { ManagerRegion } from '../runtime/region.js';
import { SlotPhase, SlotWord } from '../runtime/region-layout.js';
import { managerName } from './manager-command.js';
import { parseFlags, UsageError } from './options.js';
import type { CliIo } from './serve.js';

/** Help text of `gnet nfs`. */
export const NFS_HELP = `Usage: gnet nfs --name NAME [--json]

Lists the NFs joined to the running manager NAME (gnet manager --name NAME): slot, service id,
instance id, tag, pid, state, and the packets each received (rx) and passed on (tx).
  --json    one JSON array instead of a table
  --help    this text
Exit codes: 0 done, 1 no such manager (or another runtime error), 2 usage error.`;

/** One joined NF as `gnet nfs` reports it. */
export interface NfListing {
  /** Slot index in the region. */
  slot: number;
  /** Service id (0 while joining). */
  serviceId: number;
  /** Instance id (-1 while joining). */
  instanceId: number;
  /** The NF's tag. */
  tag: string;
  /** Its process id. */
  pid: number;
  /** `joining`, `starting`, `running`, `stopping`, `stopped` or `leaving`. */
  state: string;
  /** Packets it received. */
  rx: number;
  /** Packets it returned. */
  tx: number;
}

/** The NFs in `region`'s slots now. */
export function listNfs(region: ManagerRegion): NfListing[] {
  const out: NfListing[] = [];
  for (let i = 0; i < region.slotCount; i++) {
    const s = region.slot(i);
    const pid = Atomics.load(s.ctl, SlotWord.PID);
    const phase = Atomics.load(s.ctl, SlotWord.PHASE);
    if (pid === 0 || phase === SlotPhase.FREE || phase === SlotPhase.REJECTED) continue;
    const active = phase === SlotPhase.ACTIVE;
    out.push({
      slot: i,
      serviceId: active ? Atomics.load(s.ctl, SlotWord.SERVICE_ID) : 0,
      instanceId: active ? Atomics.load(s.ctl, SlotWord.INSTANCE_ID) : -1,
      tag: region.readTag(i),
      pid,
      state: phase === SlotPhase.JOINING ? 'joining' : phase === SlotPhase.LEAVING ? 'leaving' : (NF_STATE_NAMES[Atomics.load(s.ctl, ControlWord.STATE)] ?? 'unknown'),
      rx: s.counters[NfCounter.RX],
      tx: s.counters[NfCounter.TX],
    });
  }
  return out;
}

/** Runs `gnet nfs` with `argv` (after `nfs`); resolves with the exit code. */
export async function nfsCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, { valued: ['name'], bool: ['help', 'json'] });
  if (flags.booleans.has('help')) {
    io.out(NFS_HELP);
    return 0;
  }
  if (flags.positionals.length) throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const name = managerName(flags.values.get('name'));
  const nfs = listNfs(ManagerRegion.open(name));
  if (flags.booleans.has('json')) {
    io.out(JSON.stringify(nfs));
    return 0;
  }
  if (nfs.length === 0) {
    io.out(`no NFs joined to manager ${name} (start one: node my-nf.mjs -r <service id> -m ${name})`);
    return 0;
  }
  io.out('SLOT  SERVICE  INSTANCE  TAG                PID  STATE            RX           TX');
  for (const n of nfs) {
    io.out(
      `${String(n.slot).padEnd(6)}${String(n.serviceId).padEnd(9)}${String(n.instanceId).padEnd(10)}${n.tag.slice(0, 16).padEnd(16)}` +
        `${String(n.pid).padStart(6)}  ${n.state.padEnd(9)}${String(n.rx).padStart(12)} ${String(n.tx).padStart(12)}`,
    );
  }
  return 0;
}
