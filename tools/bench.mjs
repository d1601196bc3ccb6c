#!/usr/bin/env node
// `npm run bench [-- <filter>...]`: runs every packages/*/bench/*.bench.mjs (after the build) one at
// a time, collects their `BENCH {json}` lines and writes docs/BENCHMARKS.md: one table per group,
// gnet beside its peer, with the machine it ran on. BENCH_QUICK=1 asks each bench for a short run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = readdirSync(join(root, 'packages'))
  .flatMap((pkg) => {
    const dir = join(root, 'packages', pkg, 'bench');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bench.mjs')).map((f) => join(dir, f)) : [];
  })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const rows = [];
const notes = [];
for (const file of files) {
  const rel = relative(root, file);
  console.log(`bench: ${rel}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', file], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 15 * 60_000 });
  for (const line of (r.stdout ?? '').split('\n')) {
    if (line.startsWith('BENCH ')) {
      try {
        rows.push({ source: rel, ...JSON.parse(line.slice(6)) });
      } catch {
        notes.push(`${rel}: unparsable line ${line}`);
      }
    } else if (line.trim()) console.log(`  ${line}`);
  }
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}`;
    notes.push(`${rel} failed (${why}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    console.error(`  failed: ${why}\n${r.stderr}`);
  }
  console.log(`  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** The GPU the GPU rows ran on, or why there is none. */
async function gpuLine() {
  try {
    // Imported here: a bench run without the addon's build still writes its tables.
    const { gpuInfo } = await import('@gnet/manager-native');
    const g = gpuInfo();
    if (!g.available) return `none (${g.reason})`;
    return g.devices.map((d) => `${d.name}, ${d.smCount} SMs, ${(d.totalMem / 2 ** 30).toFixed(0)} GiB, compute ${d.computeCapability}`).join('; ') + `; driver ${g.driverVersion}`;
  } catch (err) {
    return `unknown (${err.message.split('\n')[0]})`;
  }
}

const cpu = cpus();
const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout ?? '';
const model = /Model name:\s*(.+)/.exec(lscpu)?.[1] ?? cpu[0]?.model ?? 'unknown';
const machine = [
  `- CPU: ${model}, ${cpu.length} cores visible`,
  `- Memory: ${(totalmem() / 2 ** 30).toFixed(0)} GiB; kernel ${release()}; Node ${process.version}`,
  `- GPU: ${await gpuLine()}`,
  `- Date: ${new Date().toISOString()}; ${process.env.BENCH_QUICK === '1' ? 'quick run (BENCH_QUICK=1)' : 'full run'}${filters.length ? ` of the benches matching ${filters.map((f) => `\`${f}\``).join(', ')}` : ''}`,
];
// BENCH_OUT: another report file (the lent GPU machine writes docs/BENCHMARKS-gpu.md).
const out = process.env.BENCH_OUT ? join(root, process.env.BENCH_OUT) : join(root, 'docs', 'BENCHMARKS.md');
const gpuReport = join(root, 'docs', 'BENCHMARKS-gpu.md');
if (out !== gpuReport && existsSync(gpuReport)) {
  const when = /^- Date: (.*)$/m.exec(readFileSync(gpuReport, 'utf8'))?.[1] ?? 'an earlier run';
  machine.push(`- GPU rows measured on a lent GPU machine: [BENCHMARKS-gpu.md](BENCHMARKS-gpu.md) (${when})`);
}
// A filtered run keeps the other groups of the previous file, and says when those were measured.
if (filters.length && existsSync(out)) {
  const dates = readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => /^- (Date|Other groups): /.test(l))
    .map((l) => l.replace(/^- Date: /, '').replace(/^- Other groups: from earlier runs \((.*)\)$/, '$1'))
    .join(' | ')
    .split(' | ');
  // The three latest earlier runs, newest first (older groups were mostly measured again since).
  if (dates.length) machine.push(`- Other groups: from earlier runs (${dates.slice(0, 3).join(' | ')})`);
}

const fmt = (v, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : v == null ? '–' : String(v));
const known = new Set(['source', 'group', 'case', 'impl', 'mpps', 'gbps', 'latencyUs', 'notes']);
const groups = new Map();
for (const row of rows) {
  if (!groups.has(row.group)) groups.set(row.group, []);
  groups.get(row.group).push(row);
}
let md = `# gnet benchmarks\n\nWritten by \`npm run bench\`. Each table puts gnet beside its peer, measured in the same run.\n\n## Machine\n${machine.join('\n')}\n`;
for (const [group, list] of groups) {
  const extra = [...new Set(list.flatMap((r) => Object.keys(r).filter((k) => !known.has(k))))];
  md += `\n## ${group}\n_source: \`${[...new Set(list.map((r) => r.source))].join('`, `')}\`_\n\n`;
  md += `| case | impl | Mpps | Gb/s | latency (µs) | ${extra.join(' | ')}${extra.length ? ' | ' : ''}notes |\n`;
  md += `|${' --- |'.repeat(6 + extra.length)}\n`;
  for (const r of list) {
    md += `| ${r.case ?? ''} | ${r.impl ?? ''} | ${fmt(r.mpps)} | ${fmt(r.gbps)} | ${fmt(r.latencyUs)} | ${extra.map((k) => fmt(r[k])).join(' | ')}${extra.length ? ' | ' : ''}${r.notes ?? ''} |\n`;
  }
}
if (notes.length) md += `\n## Problems in this run\n${notes.map((n) => `- ${n}`).join('\n')}\n`;

// A filtered run keeps the groups of the previous file that it did not measure.
if (filters.length && existsSync(out)) {
  const old = readFileSync(out, 'utf8');
  const kept = old.split(/\n(?=## )/).filter((sec) => {
    const title = /^## (.+)/.exec(sec)?.[1];
    return title && !['Machine', 'Problems in this run'].includes(title) && !groups.has(title);
  });
  if (kept.length) md += `\n${kept.join('\n')}\n`;
}
writeFileSync(out, md);
console.log(`bench: ${rows.length} results in ${groups.size} groups -> ${relative(root, out)}`);
process.exit(notes.length ? 1 : 0);
