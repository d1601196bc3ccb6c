// Shared plumbing for the examples: argument parsing, a run loop that stops after --seconds or on
// Ctrl-C, and Enso-style throughput lines once a second.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

/** The port the examples use when --port is not given: endless generated 64-byte UDP traffic. */
export const DEFAULT_PORT = 'gen:size=64,flows=64,dst=192.168.0.0/30,dport=5000';

/** Parses the command line; `extra` adds example-specific options. Prints usage and exits on error. */
export function cli(usage, extra = {}) {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        port: { type: 'string', default: DEFAULT_PORT },
        queues: { type: 'string', default: '1' },
        seconds: { type: 'string', default: '5' },
        help: { type: 'boolean', default: false },
        ...extra,
      },
    });
  } catch (err) {
    console.error(`${err.message}\n\n${usage}`);
    process.exit(1);
  }
}

/** Prints `usage` and exits with `code`. */
export function exitWithUsage(usage, code) {
  (code === 0 ? console.log : console.error)(usage);
  process.exit(code);
}

/** Counters a data-path loop bumps. */
export class Stats {
  pkts = 0;
  bytes = 0;
  batches = 0;
}

/**
 * Calls `step()` in a tight loop until `seconds` pass, SIGINT, or `step()` returns false, printing
 * Mpps / Gb/s once a second (bytes are the flit-aligned bytes moved, as Enso's examples count
 * them). Returns the totals.
 */
export function runLoop(seconds, stats, step) {
  let stop = false;
  const onSigint = () => (stop = true);
  process.once('SIGINT', onSigint);
  const start = performance.now();
  let lastT = start;
  let lastPkts = 0;
  let lastBytes = 0;
  for (let i = 0; !stop; i++) {
    if (step() === false) break;
    if ((i & 1023) !== 0) continue;
    const now = performance.now();
    if (now - lastT >= 1000) {
      const s = (now - lastT) / 1000;
      const mpps = (stats.pkts - lastPkts) / s / 1e6;
      const gbps = ((stats.bytes - lastBytes) * 8) / s / 1e9;
      console.log(`${mpps.toFixed(3)} Mpps  ${gbps.toFixed(3)} Gbps  (${stats.pkts} pkts, ${stats.batches} batches)`);
      lastT = now;
      lastPkts = stats.pkts;
      lastBytes = stats.bytes;
    }
    if (now - start >= seconds * 1000) stop = true;
  }
  process.off('SIGINT', onSigint);
  return { seconds: (performance.now() - start) / 1000, ...stats };
}

/** Spins for about `cycles` iterations: Enso's per-packet NB_CYCLES busy work. */
export function busy(cycles) {
  let x = 0;
  for (let i = 0; i < cycles; i++) x = (x + i) | 0;
  return x;
}
