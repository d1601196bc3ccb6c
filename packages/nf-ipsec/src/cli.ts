#!/usr/bin/env node
/**
 * `nf-ipsec check --config FILE`: validates the `ipsec` section of a gnet config and prints its SAs
 * (SPI, tunnel endpoints, selector; never keys). Exit 0 valid, 3 config error, 2 usage error.
 * The gateway itself runs as `gnet run --chain ipsec --config FILE ...`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@gnet/nflib';
import { parseIpsecConfig, type SaConfig } from './config.js';

const USAGE = 'usage: nf-ipsec check --config FILE';

function ip(a: number): string {
  return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join('.');
}

function prefixLen(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

function describe(dir: string, sa: SaConfig): string {
  const s = sa.selector;
  return `${dir} spi=${sa.spi} tunnel ${ip(sa.tunnelSrc)} -> ${ip(sa.tunnelDst)} selector ${ip(s.src)}/${prefixLen(s.srcMask)} -> ${ip(s.dst)}/${prefixLen(s.dstMask)}`;
}

function main(argv: string[]): number {
  const i = argv.indexOf('--config');
  if (argv[0] !== 'check' || i < 0 || !argv[i + 1]) {
    console.error(USAGE);
    return 2;
  }
  const path = argv[i + 1];
  try {
    const text = readFileSync(path, 'utf8');
    const doc = JSON.parse(text) as Record<string, unknown>;
    const cfg = parseIpsecConfig(doc.ipsec, path, () => text);
    console.log(`ipsec: direction ${cfg.direction}, mtu ${cfg.mtu}, replay window ${cfg.replayWindow}`);
    for (const sa of cfg.outbound) console.log(describe('outbound', sa));
    for (const sa of cfg.inbound) console.log(describe('inbound', sa));
    return 0;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `nf-ipsec: ${(err as Error).message}`);
    return 3;
  }
}

process.exitCode = main(process.argv.slice(2));
