/**
 * A package smoke check that needs no test framework: the package resolves through its own `exports`
 * map as ESM and as CJS, and both formats expose the same names.
 * @module
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Loads package `name` as ESM and as CJS, resolved from `from` (a directory; default: the current
 * directory, where a package can import itself by name), and checks both expose the same non-default
 * names, at least one.
 * @returns the ESM namespace.
 * @throws Error naming the names one format has and the other lacks.
 */
export async function expectDualPackage(name: string, from: string = process.cwd()): Promise<Record<string, unknown>> {
  const require = createRequire(join(from, 'package.json'));
  const cjsPath = require.resolve(name);
  const cjs = require(name) as Record<string, unknown>;
  // The require condition resolves to the .cjs build; its ESM twin sits beside it.
  const esmPath = cjsPath.replace(/\.cjs$/, '.js');
  const esm = (await import(pathToFileURL(esmPath).href)) as Record<string, unknown>;
  const names = Object.keys(esm).filter((k) => k !== 'default').sort();
  const cjsNames = Object.keys(cjs).filter((k) => k !== '__esModule').sort();
  if (names.length === 0) throw new Error(`${name}: the ESM build exports nothing`);
  const onlyEsm = names.filter((n) => !cjsNames.includes(n));
  const onlyCjs = cjsNames.filter((n) => !names.includes(n));
  if (onlyEsm.length || onlyCjs.length) {
    throw new Error(`${name}: ESM and CJS builds differ (only ESM: ${onlyEsm.join(', ') || '-'}; only CJS: ${onlyCjs.join(', ') || '-'})`);
  }
  return esm;
}
