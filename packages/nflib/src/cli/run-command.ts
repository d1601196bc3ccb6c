/**
 * `gnet run`: the embedded default. Opens the ports, starts the chain's NFs as worker_threads and
 * runs the manager's data path in this process. With a pcap (or counted generator) input it runs
 * until the input is consumed and every packet has left, then prints one JSON summary line on
 * stdout and exits 0; otherwise it runs until SIGINT/SIGTERM.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError, parseLocatedJson, type LocatedJson } from '../config/located-json.js';
import { formatStatsJson, formatStatsTable } from '../stats/format.js';
import { startMetricsServer } from '../stats/metrics-server.js';
import { Manager, type PortConfig } from '../runtime/manager.js';
import type { NfSpec } from '../runtime/nf-instance.js';
import type { StatsSnapshot } from '../stats/snapshot.js';
import { intFlag, parseFlags, UsageError } from './options.js';
import { resolveNf } from './resolve-nf.js';

/** Help text of `gnet run`. */
export const RUN_HELP = `Usage: gnet run [--chain <nf>[,<nf>...]] --in <port> --out <port> [options]

Runs a service chain in this process (the embedded manager) over the given ports.
Without --chain the manager is a wire: every frame from --in leaves on --out unchanged.

Ports: pcap:PATH | gen:<spec> | afpacket:<ifname> | mem
  --in <port>          port 0, received from (a pcap is read to its end, then gnet exits)
  --out <port>         port 1, transmitted on
  --port <port>        more ports (ids 2, 3, ...), both directions; repeatable
Chain:
  --chain <nf,...>     reference NFs (router, firewall, nat, ipsec) or paths to NF modules
  --instances N        instances of each NF (flows are spread by hash; default 1)
  --config FILE        JSON with one section per NF name, e.g. {"router": {...}}
  --mode M             auto|cpu|emulated|gpu, passed to framework NFs (default auto)
  --workers N          worker threads per framework NF (default 1)
Data path:
  --burst N            packets per batch (default 32)
  --pool N             packet buffers (default 32768)
Output:
  --stats[=json]       live stats every second on stderr (a table, or one JSON object per line)
  --metrics-port N     serve Prometheus metrics on 127.0.0.1:N/metrics
  --help               this text

On exit it prints one JSON line on stdout:
  {"rx":N,"tx":N,"drops":{"reason":N},"inFlight":0,"nfs":{"tag":{"rx":N,"tx":N,"drops":{...}}}}
Exit codes: 0 done, 1 runtime error, 2 usage error, 3 config error.`;

/** The final JSON summary line (`--in pcap:` runs end with it). */
export function summaryLine(s: StatsSnapshot, accounting: { received: number; transmitted: number }): string {
  const nfs: Record<string, { rx: number; tx: number; drops: Record<string, number> }> = {};
  for (const n of s.nfs) {
    const e = (nfs[n.tag] ??= { rx: 0, tx: 0, drops: {} });
    e.rx += n.rxPackets;
    e.tx += n.txPackets;
    for (const [k, v] of Object.entries(n.drops)) e.drops[k] = (e.drops[k] ?? 0) + v;
  }
  const drops: Record<string, number> = { ...s.drops };
  for (const p of s.ports) for (const [k, v] of Object.entries(p.drops)) drops[k] = (drops[k] ?? 0) + v;
  return JSON.stringify({ rx: accounting.received, tx: accounting.transmitted, drops, inFlight: s.inFlight, nfs });
}

/** Runs `gnet run` with `argv` (after `run`); resolves with the exit code. */
export async function runCommand(argv: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const flags = parseFlags(argv, {
    valued: ['in', 'out', 'chain', 'config', 'mode', 'workers', 'instances', 'burst', 'pool', 'metrics-port'],
    optional: ['stats'],
    repeat: ['port'],
    bool: ['help'],
  });
  if (flags.booleans.has('help')) {
    io.out(RUN_HELP);
    return 0;
  }
  if (flags.positionals.length) throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const input = flags.values.get('in');
  const output = flags.values.get('out');
  if (!input && !output) throw new UsageError('give at least --in <port> and --out <port>');
  const mode = flags.values.get('mode') ?? 'auto';
  if (!['auto', 'cpu', 'emulated', 'gpu'].includes(mode)) throw new UsageError(`--mode must be auto, cpu, emulated or gpu, got "${mode}"`);
  const workers = intFlag(flags, 'workers', 1, 64, 1);
  const stats = flags.values.get('stats');
  if (stats !== undefined && stats !== '' && stats !== 'json') throw new UsageError(`--stats takes no value or "json", got "${stats}"`);

  let config: LocatedJson | undefined;
  const configPath = flags.values.get('config');
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new ConfigError(configPath, 0, 0, '', `cannot read: ${(err as Error).message}`);
    }
    config = parseLocatedJson(text, configPath);
    if (config.value === null || typeof config.value !== 'object' || Array.isArray(config.value)) {
      throw new ConfigError(configPath, 1, 1, '', 'must be an object with one section per NF name');
    }
  }

  const ports: PortConfig[] = [];
  ports.push({ spec: input ?? 'mem', role: 'rx' });
  ports.push({ spec: output ?? 'mem', role: 'tx' });
  for (const p of flags.lists.get('port') ?? []) ports.push({ spec: p, role: 'rxtx' });

  const chainText = flags.values.get('chain');
  const nfs: NfSpec[] = (chainText ? chainText.split(',').filter(Boolean) : []).map((el, i) => {
    const r = resolveNf(el.trim(), process.cwd());
    const section = (config?.value as Record<string, unknown> | undefined)?.[r.tag];
    return { tag: r.tag, module: r.module, serviceId: i + 1, config: { ...(section as object), mode, workers }, nfArgs: [] };
  });

  const manager = await Manager.create({
    ports,
    nfs,
    instances: intFlag(flags, 'instances', 1, 64, 1),
    burst: intFlag(flags, 'burst', 1, 1024, 32),
    poolSlots: intFlag(flags, 'pool', 1024, 1 << 22, 32768),
    configSource: configPath,
    onNfExit: (tag, key, reason) => io.err(`gnet: NF ${tag} (${key}) ${reason}; its in-flight packets were dropped (nf_dead)`),
  });

  let prev: StatsSnapshot | undefined;
  const timer =
    stats !== undefined
      ? setInterval(() => {
          const now = manager.snapshot();
          io.err(stats === 'json' ? formatStatsJson(now, prev) : `\n${formatStatsTable(now, prev)}`);
          prev = now;
        }, 1000)
      : null;
  const metricsPort = flags.values.has('metrics-port') ? intFlag(flags, 'metrics-port', 0, 65535, 0) : -1;
  const metrics = metricsPort >= 0 ? await startMetricsServer(metricsPort, () => manager.snapshot()) : null;
  const onSignal = () => manager.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // A finite input (pcap, gen with count) ends the run once drained; live inputs run until a signal.
    await manager.run({ untilDrained: true });
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    metrics?.close();
  }
  const final = manager.snapshot();
  const accounting = manager.accounting();
  await manager.close();
  if (stats !== undefined) io.err(stats === 'json' ? formatStatsJson(final, prev) : `\n${formatStatsTable(final, prev)}`);
  io.out(summaryLine(final, accounting));
  return 0;
}
