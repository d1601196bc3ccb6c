// bench.mjs: packets per second of an NF through `gnet run` over generated traffic, beside a chain
// with no NF (the wire: what the manager and ports cost alone). Prints one BENCH line per case.
// Usage: node bench.mjs [nf.mjs] [packets]
import { spawnSync } from 'node:child_process';
import { gnetCli } from '@gnet/nflib/testing';

const nf = process.argv[2] ?? 'my-nf.mjs';
const count = Number(process.argv[3] ?? 2_000_000);
for (const [name, chain] of [['wire', []], [nf, ['--chain', nf]]]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [gnetCli, 'run', ...chain, '--in', `gen:count=${count},size=64,flows=1024`, '--out', 'null', '--mode', 'cpu'], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9; // includes start-up: use enough packets
  if (r.status !== 0) throw new Error(`gnet run failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]); // the summary line is the last one
  const mpps = summary.rx / seconds / 1e6;
  console.log(`BENCH ${JSON.stringify({ group: 'guide', case: name, impl: 'gnet cpu', mpps: +mpps.toFixed(3), gbps: +((mpps * 84 * 8) / 1000).toFixed(3) /* 64 B + 20 B preamble and gap */, packets: summary.rx, seconds: +seconds.toFixed(2) })}`);
}
