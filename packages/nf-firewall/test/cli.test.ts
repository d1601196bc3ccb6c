// The bin contract: `nf-firewall classify --rules FILE` prints the 1-based first matching rule per
// ClassBench trace line (0 where none matches), checked against the linear-scan oracle; errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linearClassify, parseRules } from '../src/index.js';
import { generate } from './gen.js';

const bin = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'gnet-fw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('nf-firewall classify', () => {
  it('prints the first matching rule (1-based, 0 for none) per trace line, and per-rule hits with --hits', () => {
    const g = generate(11, 800, 3000);
    const rules = join(dir, 'gen.rules');
    writeFileSync(rules, g.rulesText);
    const rs = parseRules(g.rulesText);
    const want = g.trace.map((l) => {
      const t = l.split('\t').map(Number);
      return linearClassify(rs, t[0], t[1], t[2], t[3], t[4]) + 1;
    });
    const hitsPath = join(dir, 'hits.json');
    const r = run(['classify', '--rules', rules, '--hits', hitsPath], g.trace.join('\n') + '\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map(Number)).toEqual(want);
    expect(want.filter((w) => w === 0).length).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(hitsPath, 'utf8'));
    expect(report.defaultHits).toBe(want.filter((w) => w === 0).length);
    expect(report.hits.reduce((s: number, h: { hits: number }) => s + h.hits, 0)).toBe(want.filter((w) => w > 0).length);
  });

  it('reads space-separated lines without the rule column', () => {
    const rules = join(dir, 'two.rules');
    writeFileSync(rules, '@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF 0x0000/0x0000\n@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 0x0000/0x0000\n');
    const r = run(['classify', '--rules', rules], '167772161 1 1000 80 6\n167772161 1 1000 81 6\n\n');
    expect(r.stdout).toBe('1\n2\n');
  });

  it('reports bad rules (file, line, field), bad trace lines and usage errors', () => {
    const rules = join(dir, 'bad.rules');
    writeFileSync(rules, '@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF\n@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06\n');
    const a = run(['classify', '--rules', rules]);
    expect(a.code).toBe(3);
    expect(a.stderr).toContain(`${rules}:2: proto: "0x06" is not value/mask`);
    const ok = join(dir, 'ok.rules');
    writeFileSync(ok, 'accept\n');
    const b = run(['classify', '--rules', ok], '1 2 3 4 6\n1 2 3 x 6\n');
    expect(b.code).toBe(3);
    expect(b.stdout).toBe('1\n');
    expect(b.stderr).toContain('<stdin>:2: dport:');
    expect(run(['classify']).code).toBe(2);
    expect(run(['frobnicate']).code).toBe(2);
    expect(run(['classify', '--rules', join(dir, 'missing')]).code).toBe(3);
  });
});
