/**
 * Runs the `gnet` CLI from tests: the path of its script and a spawn helper that parses the JSON
 * summary line `gnet run` prints at the end of a pcap.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * Absolute path of the `gnet` CLI script: `dist/cli.js` of the installed `@gnet/nflib` (beside this
 * module once built; from `src/testing/` when tests run nflib's sources).
 */
export const gnetCli: string = [join(here, 'cli.js'), join(here, '..', '..', 'dist', 'cli.js')].find((p) => existsSync(p)) ?? join(here, 'cli.js');

/** What {@link runGnet} returns. */
export interface GnetResult {
  /** Exit status (null when killed by the timeout). */
  code: number | null;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr (mode lines, warnings, errors). */
  stderr: string;
  /** The last stdout line parsed as JSON when the run exited 0, else null. */
  summary: GnetSummary | null;
}

/** The summary line of `gnet run` (see docs/architecture.md). */
export interface GnetSummary {
  /** Packets received on all ports. */
  rx: number;
  /** Packets transmitted on all ports. */
  tx: number;
  /** Drops by reason. */
  drops: Record<string, number>;
  /** Packets still inside the chain when the run ended. */
  inFlight: number;
  /** Per-port drops. */
  portDrops?: Record<string, number>;
  /** Per-NF counts by tag, with the NF's own named counters. */
  nfs: Record<string, { rx: number; tx: number; drops: number; counters?: Record<string, number> }>;
}

/**
 * Runs `gnet <args...>` in a child Node.js process and waits for it.
 * @param args e.g. `['run', '--chain', 'my-nf.mjs', '--in', 'pcap:in.pcap', '--out', 'pcap:out.pcap']`
 * @param options `cwd` (where reference NF names and relative paths resolve) and `timeoutMs` (default 60 s).
 */
export function runGnet(args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): GnetResult {
  if (!existsSync(gnetCli)) throw new Error(`gnet CLI not found at ${gnetCli}: build @gnet/nflib first`);
  const r = spawnSync(process.execPath, [gnetCli, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  });
  const lines = (r.stdout ?? '').trim().split('\n');
  let summary: GnetSummary | null = null;
  if (r.status === 0) {
    try {
      summary = JSON.parse(lines[lines.length - 1]) as GnetSummary;
    } catch {
      summary = null;
    }
  }
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', summary };
}
