import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/nf.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  shims: true,
});
