/**
 * What `gnet run` and `gnet manager` share once their manager is built: live stats, the metrics
 * endpoint, SIGINT/SIGTERM, running until the input is drained (or a signal), and the final summary.
 * Also the option handling both commands share: config file, ports.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError, parseLocatedJson, type LocatedJson } from '../config/located-json.js';
import type { Accounting, PortConfig } from '../runtime/manager.js';
import { formatStatsJson, formatStatsTable } from '../stats/format.js';
import { startMetricsServer } from '../stats/metrics-server.js';
import type { StatsSnapshot } from '../stats/snapshot.js';
import { intFlag, UsageError, type ParsedFlags } from './options.js';

/** Where a command writes: stdout lines and stderr lines. */
export interface CliIo {
  /** Writes a line on stdout. */
  out: (s: string) => void;
  /** Writes a line on stderr. */
  err: (s: string) => void;
}

/** What {@link serveUntilDone} drives: the embedded or the multi-process manager. */
export interface Servable {
  /** Runs the data path until stopped, or until drained with `untilDrained`. */
  run(options: { untilDrained?: boolean }): Promise<void>;
  /** Asks `run` to return. */
  stop(): void;
  /** A stats snapshot. */
  snapshot(): StatsSnapshot;
  /** The accounting terms. */
  accounting(): Accounting;
  /** Stops the NFs and closes the ports. */
  close(): Promise<void>;
}

/** The final JSON summary line (`--in pcap:` runs end with it). */
export function summaryLine(s: StatsSnapshot, accounting: { received: number; transmitted: number }): string {
  const nfs: Record<string, { rx: number; tx: number; drops: Record<string, number>; counters: Record<string, number> }> = {};
  for (const n of s.nfs) {
    const e = (nfs[n.tag] ??= { rx: 0, tx: 0, drops: {}, counters: {} });
    e.rx += n.rxPackets;
    e.tx += n.txPackets;
    for (const [k, v] of Object.entries(n.drops)) e.drops[k] = (e.drops[k] ?? 0) + v;
    for (const [k, v] of Object.entries(n.counters ?? {})) e.counters[k] = (e.counters[k] ?? 0) + v;
  }
  // `drops` holds the manager's own drops (a port refusing to send is one: `tx_full`), so
  // rx = tx + Σdrops + inFlight exactly; what ports lose before the manager sees it (malformed
  // frames, a full kernel ring) is in `portDrops`.
  const drops: Record<string, number> = { ...s.drops };
  const portDrops: Record<string, Record<string, number>> = {};
  for (const p of s.ports) {
    const own = Object.entries(p.drops).filter(([k, v]) => k !== 'tx_full' && v > 0);
    if (own.length) portDrops[String(p.id)] = Object.fromEntries(own);
  }
  return JSON.stringify({ rx: accounting.received, tx: accounting.transmitted, drops, inFlight: s.inFlight, portDrops, nfs, ...(s.policy ? { policy: s.policy } : {}) });
}

/** Checks `--stats[=json]`; returns undefined (off), '' (table) or 'json'. */
export function statsFlag(flags: ParsedFlags): string | undefined {
  const stats = flags.values.get('stats');
  if (stats !== undefined && stats !== '' && stats !== 'json') throw new UsageError(`--stats takes no value or "json", got "${stats}"`);
  return stats;
}

/** Reads and parses `--config FILE` (an object with one section per NF name). */
export function loadConfig(configPath: string | undefined): LocatedJson | undefined {
  if (!configPath) return undefined;
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    throw new ConfigError(configPath, 0, 0, '', `cannot read: ${(err as Error).message}`);
  }
  const config = parseLocatedJson(text, configPath);
  if (config.value === null || typeof config.value !== 'object' || Array.isArray(config.value)) {
    throw new ConfigError(configPath, 1, 1, '', 'must be an object with one section per NF name');
  }
  return config;
}

function isLive(spec: string | undefined): boolean {
  return spec !== undefined && spec.startsWith('afpacket:');
}

/** The ports of `--in` (id 0), `--out` (id 1) and each `--port` (ids 2...). */
export function portsFrom(flags: ParsedFlags): PortConfig[] {
  const input = flags.values.get('in');
  const output = flags.values.get('out');
  if (!input && !output) throw new UsageError('give at least --in <port> and --out <port>');
  const ports: PortConfig[] = [
    // A live interface is a two-way port: `--in`/`--out` name which side traffic enters first, and
    // replies on `--out` go back out `--in` (see the manager's per-port default chains).
    { spec: input ?? 'mem', role: isLive(input) ? 'rxtx' : 'rx' },
    { spec: output ?? 'mem', role: isLive(output) ? 'rxtx' : 'tx' },
  ];
  for (const p of flags.lists.get('port') ?? []) ports.push({ spec: p, role: 'rxtx' });
  return ports;
}

/**
 * Runs `target` until its input is drained or SIGINT/SIGTERM, with live stats (`stats`: '' table,
 * 'json', undefined off) and a metrics endpoint (`metricsPort` >= 0), then closes it and prints the
 * summary line on stdout. Resolves with exit code 0.
 */
export async function serveUntilDone(target: Servable, stats: string | undefined, flags: ParsedFlags, io: CliIo): Promise<number> {
  let prev: StatsSnapshot | undefined;
  const timer =
    stats !== undefined
      ? setInterval(() => {
          const now = target.snapshot();
          io.err(stats === 'json' ? formatStatsJson(now, prev) : `\n${formatStatsTable(now, prev)}`);
          prev = now;
        }, 1000)
      : null;
  const metricsPort = flags.values.has('metrics-port') ? intFlag(flags, 'metrics-port', 0, 65535, 0) : -1;
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | null = null;
  const onSignal = () => target.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    metrics = metricsPort >= 0 ? await startMetricsServer(metricsPort, () => target.snapshot()) : null;
    // A finite input (pcap, gen with count) ends the run once drained; live inputs run until a signal.
    await target.run({ untilDrained: true });
  } catch (err) {
    await target.close().catch(() => undefined);
    throw err;
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    metrics?.close();
  }
  const final = target.snapshot();
  const accounting = target.accounting();
  await target.close();
  if (stats !== undefined) io.err(stats === 'json' ? formatStatsJson(final, prev) : `\n${formatStatsTable(final, prev)}`);
  io.out(summaryLine(final, accounting));
  return 0;
}
