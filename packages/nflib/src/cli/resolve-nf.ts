/**
 * Resolves a `--chain` element to an NF script: a reference NF name (`router`, `firewall`, `nat`,
 * `ipsec`: the `./nf` entry of `@gnet/nf-<name>`) or a path to an NF module.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './options.js';

/** The reference NFs `gnet run --chain` knows by name. */
export const REFERENCE_NFS = ['router', 'firewall', 'nat', 'ipsec'] as const;

/** An NF to start: its tag and the file URL of its script. */
export interface ResolvedNf {
  tag: string;
  module: string;
}

/**
 * Resolves one chain element relative to `cwd`.
 * @throws UsageError that names the element and what was looked for.
 */
export function resolveNf(element: string, cwd: string): ResolvedNf {
  const own = projectNf(cwd);
  if ((REFERENCE_NFS as readonly string[]).includes(element) || element === own?.nf) {
    const require = createRequire(resolve(cwd, 'package.json'));
    // A project made from a template (`gnet new`) names its NF in package.json ("gnet": {"nf": …}):
    // the name then means the project's own `./nf` entry (a package can import itself by name).
    const target = element === own?.nf ? `${own.name}/nf` : `@gnet/nf-${element}/nf`;
    let path: string;
    try {
      path = require.resolve(target);
    } catch {
      try {
        path = createRequire(import.meta.url).resolve(target);
      } catch {
        throw new UsageError(`NF "${element}" is not available: install ${target.replace(/\/nf$/, '')} (it provides the "./nf" entry; build it first if it is this project)`);
      }
    }
    // The CJS condition resolves to the .cjs file; workers start the ESM build beside it.
    const esm = path.replace(/\.cjs$/, '.js');
    return { tag: element, module: pathToFileURL(existsSync(esm) ? esm : path).href };
  }
  const path = resolve(cwd, element);
  if (!existsSync(path)) {
    throw new UsageError(`--chain element "${element}" is neither a reference NF (${REFERENCE_NFS.join(', ')}) nor an existing file (${path})`);
  }
  return { tag: basename(path, extname(path)), module: pathToFileURL(path).href };
}

/** The NF a project's package.json names (`"gnet": {"nf": "<name>"}`, written by `gnet new`), if any. */
function projectNf(cwd: string): { name: string; nf: string } | undefined {
  try {
    const pkg = JSON.parse(readFileSync(resolve(cwd, 'package.json'), 'utf8')) as { name?: unknown; gnet?: { nf?: unknown } };
    return typeof pkg.name === 'string' && typeof pkg.gnet?.nf === 'string' ? { name: pkg.name, nf: pkg.gnet.nf } : undefined;
  } catch {
    return undefined;
  }
}
