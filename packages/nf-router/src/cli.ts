#!/usr/bin/env node
/**
 * The `nf-router` command:
 * - `nf-router lookup --routes FILE`: reads IPv4 addresses (one per line) from stdin and prints one
 *   next hop id per line (`-1` where no route matches).
 * - `nf-router [onvm flags] [-- NF args]`: runs the router NF as a process joining a `gnet manager`
 *   (`-m NAME` or `GNET_MANAGER`); its config section comes from the manager.
 * @module
 */
import { createInterface } from 'node:readline';
import { loadRoutesFile, parseIp4, RouteParseError } from './routes.js';

const HELP = `Usage:
  nf-router lookup --routes FILE   next hop per address read from stdin (-1: no route)
  nf-router [-r SERVICE] -m MANAGER  run the router NF, joined to a running \`gnet manager\`

Routes file: "prefix/len nexthop" lines or \`ip route\` lines ("prefix via GATEWAY dev IF ...";
their next hops get ids 0, 1, ... in order of appearance). IPv6 lines are skipped. ".gz" files are read gzipped.`;

async function lookup(argv: string[]): Promise<number> {
  const at = argv.indexOf('--routes');
  const file = at >= 0 ? argv[at + 1] : undefined;
  if (!file || argv.length !== 2) {
    process.stderr.write(`nf-router lookup: give --routes FILE\n${HELP}\n`);
    return 2;
  }
  let lpm;
  try {
    lpm = loadRoutesFile(file);
  } catch (err) {
    process.stderr.write(`nf-router lookup: ${err instanceof RouteParseError ? err.message : (err as Error).message}\n`);
    return 3;
  }
  let out = '';
  let lineNo = 0;
  for await (const raw of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    const a = parseIp4(line);
    if (a < 0) {
      process.stdout.write(out);
      process.stderr.write(`nf-router lookup: stdin:${lineNo}: "${line}" is not an IPv4 address\n`);
      return 2;
    }
    out += `${lpm.lookup(a)}\n`;
    if (out.length > 65536) {
      process.stdout.write(out);
      out = '';
    }
  }
  process.stdout.write(out);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'lookup') return lookup(argv.slice(1));
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  await import('./nf.js'); // joins the manager and runs until it is stopped
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`nf-router: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
