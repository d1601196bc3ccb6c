import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveNf } from '../src/cli/resolve-nf.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-resolve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A project made by `gnet new`: its package.json names its NF and exports `./nf`. */
function project(name: string, nf: string): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name, type: 'module', gnet: { nf }, exports: { './nf': { import: './dist/nf.js', require: './dist/nf.cjs' } } }));
  writeFileSync(join(root, 'dist', 'nf.js'), '');
  writeFileSync(join(root, 'dist', 'nf.cjs'), '');
  return root;
}

describe('resolveNf', () => {
  it('resolves a reference NF name to the @gnet/nf-<name> package in the workspace', () => {
    const r = resolveNf('router', process.cwd());
    expect(r.tag).toBe('router');
    expect(r.module).toMatch(/nf-router\/dist\/nf\.js$/);
  });

  it("a template project's own NF name (package.json gnet.nf) means the project's ./nf entry, even for a reference name", () => {
    const copy = project('my-router', 'router');
    expect(resolveNf('router', copy)).toEqual({ tag: 'router', module: pathToFileURL(join(copy, 'dist', 'nf.js')).href });
    const fresh = project('ttl-guard', 'ttl-guard');
    expect(resolveNf('ttl-guard', fresh).module).toBe(pathToFileURL(join(fresh, 'dist', 'nf.js')).href);
  });

  it('names what is missing for an unknown element', () => {
    expect(() => resolveNf('no-such-nf', dir)).toThrow(/neither a reference NF .* nor an existing file/);
  });
});
