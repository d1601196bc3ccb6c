/**
 * Resolves a `--chain` element to an NF script: a reference NF name (`router`, `firewall`, `nat`,
 * `ipsec`: the `./nf` entry of `@gnet/nf-<name>`) or a path to an NF module.
 * @module
 */
import { existsSync } from 'node:fs';
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
  if ((REFERENCE_NFS as readonly string[]).includes(element)) {
    const require = createRequire(resolve(cwd, 'package.json'));
    let path: string;
    try {
      path = require.resolve(`@gnet/nf-${element}/nf`);
    } catch {
      try {
        path = createRequire(import.meta.url).resolve(`@gnet/nf-${element}/nf`);
      } catch {
        throw new UsageError(`NF "${element}" is not available: install @gnet/nf-${element} (it provides the "./nf" entry)`);
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
