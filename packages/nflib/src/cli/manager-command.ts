/**
 * `gnet manager`: the manager in its own process (multi-process mode). NF processes join it by
 * name through shared memory; it runs until its input is drained (pcap, counted generator) or
 * SIGINT/SIGTERM, then prints the same final JSON summary line as `gnet run`.
 * @module
 */
import { DEFAULT_BURST } from '../runtime/manager.js';
import { MultiProcessManager } from '../runtime/multi-process.js';
import { regionNameOf } from '../runtime/region-layout.js';
import { intFlag, parseFlags, slotSizeFlag, UsageError } from './options.js';
import { loadConfig, portsFrom, serveUntilDone, statsFlag, type CliIo } from './serve.js';

/** Help text of `gnet manager`. */
export const MANAGER_HELP = `Usage: gnet manager --name NAME --in <port> --out <port> [--chain <service>[,<service>...]] [options]

Runs the manager in this process (multi-process mode). NFs run as their own processes and join it
through shared memory (/dev/shm/gnet-NAME, mode 0600), at any time:
  node my-nf.mjs -r <service id> -m NAME        (or GNET_MANAGER=NAME node my-nf.mjs -r <service id>)
Several instances of one service share its traffic by flow; an NF that dies or is killed is taken
off (its in-flight packets counted as nf_dead) and a restarted one takes its place.

  --name NAME          the manager's name (letters, digits, . _ -); NFs join it with -m NAME
Ports: pcap:PATH | gen:<spec> | afpacket:<ifname> | mem
  --in <port>          port 0, received from (a pcap is read to its end, then the manager exits)
  --out <port>         port 1, transmitted on
  --port <port>        more ports (ids 2, 3, ...), both directions; repeatable
Chain:
  --chain <svc,...>    services by id (1,2) or by NF tag (counter,rewriter), then optionally
                       @<final action> (e.g. 1,2@out:1; default out to port 1). Packets wait until
                       every service has an NF. Without --chain the manager is a wire.
  --config FILE        JSON with one section per NF tag; each NF reads its own section
NFs:
  --slots N            most NF instances at once (default 16)
  --nf-timeout MS      kill (SIGKILL) an NF whose heartbeat stops for MS ms (default 10000; 0 never)
Data path:
  --burst N            most packets per batch (default 256)
  --ring N             batches per NF ring, a power of two (default 1024); as many batch
                       descriptors are kept in the pool
  --pool N             packet buffers (default 16384)
  --slot-size N        bytes per packet buffer, a multiple of 64 (default 2048); longer frames
                       are dropped as rx_invalid: 9088 takes 9000-byte jumbo frames
  --in-flight N        most packets received and not yet sent or dropped (default 4096,
                       or 16 bursts when --burst is above 256)
  --nf-queue N         most packets one NF instance may hold; more are dropped as nf_ring_full
                       (default: --in-flight, i.e. never: a slow NF slows the ports instead)
Output:
  --stats[=json]       live stats every second on stderr (a table, or one JSON object per line)
  --metrics-port N     serve Prometheus metrics on 127.0.0.1:N/metrics
  --help               this text
While it runs: \`gnet nfs --name NAME\` lists its NFs, \`gnet stats --name NAME\` prints its stats.

On exit it prints one JSON line on stdout:
  {"rx":N,"tx":N,"drops":{"reason":N},"inFlight":0,"portDrops":{"port":{"reason":N}},"nfs":{"tag":{...}}}
  rx = tx + sum(drops) + inFlight; portDrops are frames a port lost before the manager received them.
Exit codes: 0 done, 1 runtime error, 2 usage error, 3 config error.`;

/** Runs `gnet manager` with `argv` (after `manager`); resolves with the exit code. */
export async function managerCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, {
    valued: ['name', 'in', 'out', 'chain', 'config', 'slots', 'nf-timeout', 'burst', 'ring', 'pool', 'slot-size', 'in-flight', 'nf-queue', 'metrics-port'],
    optional: ['stats'],
    repeat: ['port'],
    bool: ['help'],
  });
  if (flags.booleans.has('help')) {
    io.out(MANAGER_HELP);
    return 0;
  }
  if (flags.positionals.length) throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const name = managerName(flags.values.get('name'));
  const ports = portsFrom(flags);
  const stats = statsFlag(flags);
  const ring = intFlag(flags, 'ring', 64, 1 << 16, 1024);
  if ((ring & (ring - 1)) !== 0) throw new UsageError(`--ring must be a power of two, got ${ring}`);
  const burst = intFlag(flags, 'burst', 1, 1024, DEFAULT_BURST);
  const configPath = flags.values.get('config');
  const config = loadConfig(configPath);
  let manager: MultiProcessManager;
  try {
    manager = await MultiProcessManager.create({
      name,
      ports,
      chain: flags.values.get('chain'),
      slots: intFlag(flags, 'slots', 1, 4096, 16),
      nfTimeoutMs: intFlag(flags, 'nf-timeout', 0, 3_600_000, 10_000),
      burst,
      ringSize: ring,
      poolSlots: intFlag(flags, 'pool', 1024, 1 << 22, 16384),
      slotSize: slotSizeFlag(flags),
      ...(flags.values.has('in-flight') ? { maxInFlight: intFlag(flags, 'in-flight', 1, 1 << 22, 4096) } : {}),
      ...(flags.values.has('nf-queue') ? { nfQueue: intFlag(flags, 'nf-queue', 1, 1 << 22, 4096) } : {}),
      configText: config ? JSON.stringify(config.value) : undefined,
      configSource: configPath,
      onNfExit: (tag, key, reason) => io.err(`gnet manager ${name}: NF ${tag} (${key}) ${reason}; its in-flight packets were dropped (nf_dead)`),
      onNfEvent: (line) => io.err(`gnet manager ${name}: ${line}`),
    });
  } catch (err) {
    // A chain naming a bad action is the user's to fix.
    if (/is not an action|needs a destination|takes no destination/.test((err as Error).message)) throw new UsageError(`--chain: ${(err as Error).message}`);
    throw err;
  }
  const services = manager.manager.chains.get(0).services;
  const byTag = new Map([...manager.tagServices].map(([tag, id]) => [id, tag]));
  io.err(
    `gnet manager ${name}: pid ${process.pid}, shared memory /dev/shm/${manager.region.shmName}, ${manager.region.slotCount} NF slots` +
      (services.length ? `; waiting for NFs of service${services.length > 1 ? 's' : ''} ${services.map((s) => byTag.get(s) ?? s).join(', ')}` : '; a wire'),
  );
  return serveUntilDone(manager, stats, flags, io);
}

/** Checks `--name` (required; it also names the shared memory region). */
export function managerName(name: string | undefined): string {
  if (!name) throw new UsageError('--name NAME is required (NFs join the manager by this name)');
  try {
    regionNameOf(name);
  } catch (err) {
    throw new UsageError(`--name: ${(err as Error).message}`);
  }
  return name;
}
