// Shared smoke check: a package resolves through its own `exports` map, as ESM and as CJS, and both
// module formats expose the same names.
import { createRequire } from 'node:module';
import { expect } from 'vitest';

export async function expectDualPackage(name: string): Promise<Record<string, unknown>> {
  const esm = (await import(name)) as Record<string, unknown>;
  const cjs = createRequire(import.meta.url)(name) as Record<string, unknown>;
  const names = Object.keys(esm).filter((k) => k !== 'default').sort();
  expect(names.length).toBeGreaterThan(0);
  expect(Object.keys(cjs).sort()).toEqual(names);
  return esm;
}
