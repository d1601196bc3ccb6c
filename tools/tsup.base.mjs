// Shared tsup settings: every @gnet package ships ESM + CJS + d.ts for Node 20.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} extra */
export function gnetTsup(extra = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    shims: true,
    ...extra,
  });
}
