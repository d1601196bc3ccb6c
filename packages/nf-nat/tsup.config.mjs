import { gnetTsup } from '../../tools/tsup.base.mjs';

// The NF entry uses top-level await (it starts itself), so it is ESM only: workers load the ESM build.
export default [
  gnetTsup({ entry: ['src/index.ts', 'src/cli.ts'], clean: false }),
  gnetTsup({ entry: ['src/nf.ts'], format: ['esm'], clean: false }),
];
