#!/usr/bin/env node
// Prints CI's closing line `N passed, N failed[, N skipped]` from vitest's JSON report and exits
// non-zero when any test failed or the report is missing.
import { existsSync, readFileSync } from 'node:fs';

const path = process.argv[2] ?? '.ci/vitest-report.json';
if (!existsSync(path)) {
  console.log('0 passed, 1 failed');
  console.error(`ci: no vitest report at ${path} (the test run did not finish)`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(path, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// A file that fails to load counts as a failure even though it reports no tests.
const failedSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
const failed = (r.numFailedTests ?? 0) + failedSuites;
const extra = process.argv.slice(3).map(Number).reduce((a, b) => a + b, 0); // failed non-vitest steps
console.log(`${r.numPassedTests} passed, ${failed + extra} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed + extra > 0 || r.numPassedTests === 0 ? 1 : 0);
