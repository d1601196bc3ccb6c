/**
 * `gnet stats`: prints the stats a running `gnet manager` publishes in its shared memory region
 * once per interval.
 * @module
 */
import { ManagerRegion } from '../runtime/region.js';
import type { PublishedStats } from '../runtime/multi-process.js';
import { formatStatsJson, formatStatsTable } from '../stats/format.js';
import { managerName } from './manager-command.js';
import { parseFlags, UsageError } from './options.js';
import type { CliIo } from './serve.js';

/** Help text of `gnet stats`. */
export const STATS_HELP = `Usage: gnet stats --name NAME [--json]

Prints the latest stats of the running manager NAME (gnet manager --name NAME), which it refreshes
every second: per port and per NF instance packets, rates and drops by reason, ring occupancy, and
the accounting terms (received = transmitted + dropped + in flight).
  --json    one JSON object (the format of --stats=json) instead of a table
  --help    this text
Exit codes: 0 done, 1 no such manager (or another runtime error), 2 usage error.`;

/** Runs `gnet stats` with `argv` (after `stats`); resolves with the exit code. */
export async function statsCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, { valued: ['name'], bool: ['help', 'json'] });
  if (flags.booleans.has('help')) {
    io.out(STATS_HELP);
    return 0;
  }
  if (flags.positionals.length) throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const name = managerName(flags.values.get('name'));
  const text = ManagerRegion.open(name).readStats();
  if (!text) throw new Error(`manager ${name} has not published stats yet; try again in a second`);
  const published = JSON.parse(text) as PublishedStats & { error?: string };
  if (published.error) throw new Error(`manager ${name}: ${published.error}`);
  io.out(flags.booleans.has('json') ? formatStatsJson(published.now, published.prev) : formatStatsTable(published.now, published.prev));
  return 0;
}
