/**
 * `gnet run`: the embedded default. Opens the ports, starts the chain's NFs as worker_threads and
 * runs the manager's data path in this process. With a pcap (or counted generator) input it runs
 * until the input is consumed and every packet has left, then prints one JSON summary line on
 * stdout and exits 0; otherwise it runs until SIGINT/SIGTERM.
 * @module
 */
import { availableParallelism } from 'node:os';
import { gpuInfo } from '@gnet/manager-native';
import { DEFAULT_BURST, Manager } from '../runtime/manager.js';
import type { ManagerPolicy } from '../runtime/policy.js';
import type { NfSpec } from '../runtime/nf-instance.js';
import { intFlag, parseFlags, slotSizeFlag, UsageError } from './options.js';
import { resolveNf } from './resolve-nf.js';
import { loadConfig, portsFrom, serveUntilDone, statsFlag, type CliIo } from './serve.js';

export { summaryLine } from './serve.js';

/** Help text of `gnet run`. */
export const RUN_HELP = `Usage: gnet run [--chain <nf>[+<nf>...][,<nf>...]] --in <port> --out <port> [options]

Runs a service chain in this process (the embedded manager) over the given ports.
Without --chain the manager is a wire: every frame from --in leaves on --out unchanged.

Ports: pcap:PATH | gen:<spec> | afpacket:<ifname> | mem
  --in <port>          port 0, received from (a pcap is read to its end, then gnet exits)
  --out <port>         port 1, transmitted on
  --port <port>        more ports (ids 2, 3, ...), both directions; repeatable
Chain:
  --chain <nf,...>     reference NFs (router, firewall, nat, ipsec) or paths to NF modules;
                       a+b runs a and b in one worker thread, taking turns (for chains
                       longer than the cores: no thread wake-up per hop)
  --instances N        instances of each NF (flows are spread by hash; default 1)
  --config FILE        JSON with one section per NF name, e.g. {"router": {...}}
  --mode M             auto|cpu|emulated|gpu for every framework NF of the chain (default
                       auto); an NF's config section "mode" wins for that NF, and an NF
                       that cannot run in M (no kernel, no cpu hook) takes auto's choice
  --workers N          worker threads per instance (G-NET's -k; default 1): each is an
                       instance with its own ring, stream and pipeline buffers
  --schedule P         gnet|fair|uncoordinated|off: G-NET's scheduler sets the batch size and
                       SM share of NFs running kernels once a second, and which resident
                       fields they may reuse from the data-sync plan (default gnet; needs
                       @gnet/framework; shown in stats and the summary's "policy")
  --latency-bound US   the scheduler's latency bound for the chain, µs (default 1000)
  --sms N              SMs the scheduler shares out (default: the GPU's, else 8)
Data path:
  --burst N            most packets per batch (default 256; 1024 when NFs share a thread)
  --pool N             packet buffers (default 32768)
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

On exit it prints one JSON line on stdout:
  {"rx":N,"tx":N,"drops":{"reason":N},"inFlight":0,"portDrops":{"port":{"reason":N}},"nfs":{"tag":{...}}}
  rx = tx + sum(drops) + inFlight; portDrops are frames a port lost before the manager received them.
Exit codes: 0 done, 1 runtime error, 2 usage error, 3 config error.`;

/** Runs `gnet run` with `argv` (after `run`); resolves with the exit code. */
export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, {
    valued: ['in', 'out', 'chain', 'config', 'mode', 'workers', 'instances', 'burst', 'pool', 'slot-size', 'in-flight', 'nf-queue', 'metrics-port', 'schedule', 'latency-bound', 'sms'],
    optional: ['stats'],
    repeat: ['port'],
    bool: ['help'],
  });
  if (flags.booleans.has('help')) {
    io.out(RUN_HELP);
    return 0;
  }
  if (flags.positionals.length) throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const ports = portsFrom(flags);
  const mode = flags.values.get('mode');
  if (mode !== undefined && !['auto', 'cpu', 'emulated', 'gpu'].includes(mode)) throw new UsageError(`--mode must be auto, cpu, emulated or gpu, got "${mode}"`);
  const workers = intFlag(flags, 'workers', 1, 64, 1);
  const stats = statsFlag(flags);
  const configPath = flags.values.get('config');
  const config = loadConfig(configPath);

  const chainText = flags.values.get('chain');
  const nfs: NfSpec[] = [];
  // `a+b`: a and b share a worker_thread (their loops take turns on it).
  (chainText ? chainText.split(',').filter(Boolean) : []).forEach((el, t) => {
    const members = el.split('+').map((m) => m.trim());
    if (members.some((m) => m === '')) throw new UsageError(`--chain element "${el}" has an empty NF around "+"`);
    for (const name of members) {
      const r = resolveNf(name, process.cwd());
      const section = (config?.value as Record<string, unknown> | undefined)?.[r.tag];
      nfs.push({ tag: r.tag, module: r.module, serviceId: nfs.length + 1, config: { ...(section as object), ...(mode === undefined ? {} : { chainMode: mode }), workers }, nfArgs: [], ...(members.length > 1 ? { thread: `t${t}` } : {}) });
    }
  });

  let configFailure: Error | undefined;
  const policy = await schedulerPolicy(flags.values.get('schedule') ?? 'gnet', intFlag(flags, 'latency-bound', 1, 1e8, 1000), flags.values.has('sms') ? intFlag(flags, 'sms', 1, 1 << 16, 8) : undefined);
  const manager = await Manager.create({
    ports,
    nfs,
    policy,
    instances: intFlag(flags, 'instances', 1, 64, 1) * workers,
    ...(flags.values.has('burst') ? { burst: intFlag(flags, 'burst', 1, 1024, DEFAULT_BURST) } : {}),
    poolSlots: intFlag(flags, 'pool', 1024, 1 << 22, 32768),
    slotSize: slotSizeFlag(flags),
    ...(flags.values.has('in-flight') ? { maxInFlight: intFlag(flags, 'in-flight', 1, 1 << 22, 4096) } : {}),
    ...(flags.values.has('nf-queue') ? { nfQueue: intFlag(flags, 'nf-queue', 1, 1 << 22, 4096) } : {}),
    configSource: configPath,
    onNfExit: (tag, key, reason, error) => {
      // Bad config found by the NF itself (a ConfigError from its init): the run cannot be right.
      if (error?.name === 'ConfigError') {
        configFailure ??= error;
        manager.stop();
        return;
      }
      io.err(`gnet: NF ${tag} (${key}) ${reason}; its in-flight packets were dropped (nf_dead)`);
    },
  });

  const threads = new Set(nfs.map((n, i) => n.thread ?? `nf${i}`)).size * intFlag(flags, 'instances', 1, 64, 1) * workers;
  if (nfs.length > 1 && threads + 1 > availableParallelism() && !chainText?.includes('+')) {
    io.err(`gnet: ${threads} NF threads and the manager on ${availableParallelism()} cores: each hop waits for a thread to be woken; --chain a+b runs NFs in one thread, taking turns`);
  }
  const code = await serveUntilDone(manager, stats, flags, io);
  if (configFailure) {
    io.err(`gnet: config error: ${(configFailure as Error).message}`);
    return 3;
  }
  return code;
}

/**
 * G-NET's run-time scheduler from `@gnet/framework` (loaded only when asked for: nflib does not
 * depend on the framework). With the default `gnet` and no framework installed it is simply off.
 */
async function schedulerPolicy(name: string, latencyBoundUs: number, sms: number | undefined): Promise<ManagerPolicy | undefined> {
  if (name === 'off') return undefined;
  if (!['gnet', 'fair', 'uncoordinated'].includes(name)) throw new UsageError(`--schedule must be gnet, fair, uncoordinated or off, got "${name}"`);
  let fw: { createSchedulerPolicy?: (o: object) => ManagerPolicy };
  try {
    const spec = '@gnet/framework';
    fw = (await import(spec)) as typeof fw;
  } catch {
    return undefined;
  }
  if (!fw.createSchedulerPolicy) return undefined;
  let totalSms = sms;
  if (totalSms === undefined) {
    try {
      const info = gpuInfo();
      totalSms = info.available ? info.devices[0]?.smCount : undefined;
    } catch {
      totalSms = undefined; // no native addon: the emulated default
    }
  }
  return fw.createSchedulerPolicy({ policy: name, latencyBoundUs, totalSms });
}

