#!/usr/bin/env node
// Checks (or with --fix, rewrites) every C++/CUDA source with the clang-format shipped by the
// `clang-format` npm package, so lint needs no system install.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const fix = process.argv.includes('--fix');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.cc', '*.h', '*.cu', '*.cuh'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const bin = join(dirname(createRequire(import.meta.url).resolve('clang-format/package.json')), 'index.js');
const args = fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
try {
  execFileSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
  console.log(`clang-format: ${files.length} files ${fix ? 'formatted' : 'clean'}`);
} catch {
  console.error('clang-format: files above need formatting; run `npm run format`');
  process.exit(1);
}
