#!/usr/bin/env node
/**
 * `nf-nat`: checks a NAT config. `nf-nat check --config FILE` validates the file's `nat` section and
 * prints the resolved settings as JSON (exit 0), or the problem with its file, line and field (exit 3).
 * Run the NF itself with `gnet run --chain nat ...`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError, numberToIp4 } from '@gnet/nflib';
import { parseNatConfig } from './config.js';
import { NatEngine } from './nat.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--config');
if (argv[0] !== 'check' || at < 0 || !argv[at + 1]) {
  console.error('usage: nf-nat check --config FILE');
  process.exit(2);
}
const file = argv[at + 1];
try {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const cfg = parseNatConfig(doc.nat, file);
  const engine = new NatEngine({ ...cfg, maxFlows: 16 });
  const perFlow = new NatEngine(cfg).bytesPerFlow;
  console.log(JSON.stringify({ ...cfg, external: cfg.external.map(numberToIp4), forwards: cfg.forwards.length, staticMappings: engine.mappings, bytesPerFlow: Math.round(perFlow) }));
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `nf-nat: ${(err as Error).message}`);
  process.exit(err instanceof ConfigError || err instanceof SyntaxError ? 3 : 1);
}
