import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// One vitest run over every package, one project per package. `forks` so the native addon (and the
// worker_threads that load it) get a clean process per test file.
const packages = readdirSync(new URL('./packages', import.meta.url));
// CI asks for a JSON report (GNET_TEST_REPORT=path) to print its closing line from.
const report = process.env.GNET_TEST_REPORT;

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: report ? ['default', 'json'] : ['default'],
    outputFile: report ? { json: report } : undefined,
    projects: [
      ...packages.map((name) => ({
        extends: true,
        test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'] },
      })),
      // The user's journey outside the monorepo: guides' code, packing, installing, templates.
      { extends: true, test: { name: 'journey', root: '.', include: ['e2e/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 } },
    ],
  },
});
