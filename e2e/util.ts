// Shared helpers of the journey tests: paths, guide code blocks, child processes with timing.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repo = join(__dirname, '..');
export const guidesDir = join(repo, 'docs', 'guides');
export const codeDir = join(guidesDir, 'code');

/** A fenced block tied to a file by a `<!-- file: code/NAME -->` line right above it. */
export interface GuideBlock {
  guide: string;
  file: string;
  text: string;
}

/** Every file-tied fenced block of every guide. */
export function guideBlocks(): GuideBlock[] {
  const out: GuideBlock[] = [];
  for (const guide of readdirSync(guidesDir).filter((f) => f.endsWith('.md'))) {
    const md = readFileSync(join(guidesDir, guide), 'utf8');
    for (const m of md.matchAll(/<!-- file: (\S+) -->\n```[a-z]*\n([\s\S]*?)^```$/gm)) out.push({ guide, file: m[1], text: m[2] });
  }
  return out;
}

/** Every file under docs/guides/code (relative, `/`-separated), build outputs excluded. */
export function codeFiles(dir = codeDir, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...codeFiles(join(dir, e.name), `${prefix}${e.name}/`));
    else if (!e.name.endsWith('.host.so')) out.push(prefix + e.name);
  }
  return out.sort();
}

/**
 * A scratch folder under the OS temp dir holding a copy of the guide code, whose `node_modules` links to
 * the monorepo's (its `@gnet/*` are the workspace packages) (so build outputs such as `.host.so` never land in docs/).
 */
export function linkedGuideProject(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gnet-guide-${tag}-`));
  cpSync(codeDir, dir, { recursive: true, filter: (p) => !p.endsWith('.host.so') });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Result of {@link run}. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command synchronously and times it; never throws. */
export function run(cmd: string, args: readonly string[], options: SpawnSyncOptions = {}): Ran {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? String(r.error) : ''), seconds: (performance.now() - t0) / 1000 };
}

/** The last line of stdout as JSON (gnet's summary line). */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}
