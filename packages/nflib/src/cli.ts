#!/usr/bin/env node
/**
 * The `gnet` command.
 * @module
 */
import { ConfigError } from './config/located-json.js';
import { managerCommand, MANAGER_HELP } from './cli/manager-command.js';
import { newCommand, NEW_HELP } from './cli/new-command.js';
import { nfsCommand, NFS_HELP } from './cli/nfs-command.js';
import { runCommand, RUN_HELP } from './cli/run-command.js';
import { statsCommand, STATS_HELP } from './cli/stats-command.js';
import { UsageError } from './cli/options.js';
import { NoManagerError } from './runtime/region.js';

const HELP = `Usage: gnet <command> [options]

Commands:
  run       run a service chain over ports in this process (the embedded default)
  manager   run the manager in its own process; NF processes join it (multi-process mode)
  nfs       list the NFs joined to a running manager
  stats     print a running manager's stats
  new       create an NF project from a template: gnet new my-nf --from router|firewall|nat|ipsec|empty
  help      show help for a command: gnet help run

Run \`gnet <command> --help\` for a command's options.`;

const HELPS: Record<string, string> = { run: RUN_HELP, manager: MANAGER_HELP, nfs: NFS_HELP, stats: STATS_HELP, new: NEW_HELP };

async function main(argv: string[]): Promise<number> {
  const io = { out: (s: string) => process.stdout.write(s + '\n'), err: (s: string) => process.stderr.write(s + '\n') };
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(HELPS[rest[0]] ?? HELP);
        return cmd === undefined ? 2 : 0;
      case 'run':
        return await runCommand(rest, io);
      case 'manager':
        return await managerCommand(rest, io);
      case 'nfs':
        return await nfsCommand(rest, io);
      case 'stats':
        return await statsCommand(rest, io);
      case 'new':
        return await newCommand(rest, io);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`gnet ${cmd ?? ''}: ${err.message}\nTry \`gnet ${cmd && cmd !== 'help' ? `${cmd} ` : ''}--help\`.`);
      return 2;
    }
    // A ConfigError thrown in an NF's thread arrives cloned: same name and message, not the class.
    if (err instanceof ConfigError || (err as Error)?.name === 'ConfigError') {
      io.err(`gnet: config error: ${(err as Error).message}`);
      return 3;
    }
    if (err instanceof NoManagerError) {
      io.err(`gnet ${cmd}: ${err.message}`);
      return 1;
    }
    io.err(`gnet: ${(err as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`gnet: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
