/**
 * `gnet new <dir> --from router|firewall|nat|ipsec|empty|<path>`: starts a new NF project from a
 * template. It copies a reference NF (from the monorepo's `packages/nf-<x>`, or the installed
 * `@gnet/nf-<x>`) or nflib's `empty` template, renames the package and bin, and rewrites what only
 * worked inside the monorepo: the shared tsup and tsconfig bases are inlined, monorepo-only test
 * helper imports point at `@gnet/nflib/testing`, `@gnet/*` versions are the published ones, and the
 * build/test tools are pinned devDependencies.
 * @module
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags, UsageError } from './options.js';
import type { CliIo } from './serve.js';

/** Help text of `gnet new`. */
export const NEW_HELP = `Usage: gnet new <dir> [--from router|firewall|nat|ipsec|empty|<path>] [--name <npm-name>] [--force]

Creates an NF project in <dir> (new or empty) from a template, ready for npm install:
  --from T      empty (default): a minimal framework NF with a test;
                router | firewall | nat | ipsec: a copy of the reference NF @gnet/nf-<T>
                (from the gnet repository when run there, else from the installed package);
                or a path to an NF package directory
  --name N      the package name (default: the directory's name)
  --force       write into a non-empty directory
  --help        this text
The copy is renamed (package, bin), its build and test configs made self-contained, and its tests
import helpers from @gnet/nflib/testing. Exit codes: 0 done, 1 error, 2 usage error.`;

/** Templates `gnet new --from` knows by name. */
export const TEMPLATES = ['empty', 'router', 'firewall', 'nat', 'ipsec'] as const;

/**
 * Versions a new project pins for its build and test tools: those of the gnet repository's root
 * `package.json` (a test keeps them equal).
 */
export const TOOL_VERSIONS: Readonly<Record<string, string>> = {
  tsup: '8.5.1',
  typescript: '5.9.3',
  vitest: '4.1.12',
  '@types/node': '^20.19.0',
};

/** The compiler options of the repository's `tsconfig.base.json`, inlined into a copied template (a test keeps them equal). */
export const TSCONFIG_BASE: Readonly<Record<string, unknown>> = {
  target: 'ES2022',
  lib: ['ES2023'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: false,
  noImplicitOverride: true,
  noFallthroughCasesInSwitch: true,
  exactOptionalPropertyTypes: false,
  esModuleInterop: true,
  forceConsistentCasingInFileNames: true,
  isolatedModules: true,
  verbatimModuleSyntax: false,
  skipLibCheck: true,
  declaration: true,
  sourceMap: true,
  types: ['node'],
};

/** The repository's shared tsup settings (`tools/tsup.base.mjs`), inlined into a copied template's `tsup.config.mjs`. */
export const TSUP_BASE = `// Shared tsup settings: ESM + CJS + d.ts for Node 20.
/** @param {import('tsup').Options} extra */
function gnetTsup(extra = {}) {
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
`;

/** Vitest settings for a new project: the repository's (one process per test file, 60 s per test). */
const VITEST_CONFIG = `import { defineConfig } from 'vitest/config';

// One process per test file: the native addon and the NF worker threads get a clean process.
export default defineConfig({
  test: { pool: 'forks', testTimeout: 60_000, hookTimeout: 60_000, include: ['test/**/*.test.ts'] },
});
`;

const GITIGNORE = 'node_modules/\ndist/\nkernels/*.host.so\n*.tsbuildinfo\n';

/** Monorepo-only test helper modules and what a copied template imports instead. */
const HELPER_IMPORTS: ReadonlyArray<[RegExp, string]> = [
  [/(['"])(?:\.\.\/)+nflib\/test\/pcap-util(?:\.js|\.ts)?\1/g, "'@gnet/nflib/testing'"],
  [/(['"])(?:\.\.\/)+enso\/test\/afpacket-netns(?:\.js|\.ts)?\1/g, "'@gnet/nflib/testing'"],
  [/(['"])(?:\.\.\/)+tools\/package-smoke(?:\.js|\.ts)?\1/g, "'@gnet/nflib/testing'"],
  [/(['"])(?:\.\.\/)+nflib\/src\/testing(?:\/index)?(?:\.js|\.ts)?\1/g, "'@gnet/nflib/testing'"],
];

/** The monorepo path of the gnet CLI (`join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js')`), replaced by `gnetCli`. */
const CLI_PATH = /join\(\s*__dirname\s*,\s*(['"])\.\.\1\s*,\s*\1\.\.\1\s*,\s*\1nflib\1\s*,\s*\1dist\1\s*,\s*\1cli\.js\1\s*\)/g;

/** Files and folders never copied: build outputs and installs. */
const SKIP = new Set(['node_modules', 'dist', 'build', '.nx', 'coverage', '.turbo']);

/** What {@link createProject} did. */
export interface NewProjectResult {
  /** The project directory (absolute). */
  dir: string;
  /** The package name written to its `package.json`. */
  name: string;
  /** Where the template was copied from. */
  source: string;
  /** Files rewritten, relative to `dir`. */
  rewritten: string[];
  /** Imports that still point outside the project (they will not resolve there), as `file: specifier`. */
  warnings: string[];
}

/** Options of {@link createProject}. */
export interface NewProjectOptions {
  /** A template name from {@link TEMPLATES} or a path to an NF package directory. */
  from: string;
  /** The package name (default: the directory's base name). */
  name?: string;
  /** Write into a non-empty directory. */
  force?: boolean;
  /** Where names and relative paths resolve (default `process.cwd()`). */
  cwd?: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** nflib's package root: `dist/..` once built, `src/cli/../..` from sources. */
function nflibRoot(): string {
  for (let d = here; d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'templates'))) return d;
  }
  throw new Error(`cannot find @gnet/nflib's templates folder above ${here}`);
}

/** The template directory for `from`, or a UsageError that says where it looked. */
export function templateDir(from: string, cwd: string): string {
  if (from === 'empty') return join(nflibRoot(), 'templates', 'empty');
  if ((TEMPLATES as readonly string[]).includes(from)) {
    const tried: string[] = [];
    // Inside the gnet repository: the sibling package, with its sources and tests.
    const sibling = join(nflibRoot(), '..', `nf-${from}`);
    tried.push(sibling);
    if (existsSync(join(sibling, 'src'))) return resolve(sibling);
    for (const base of [join(cwd, 'package.json'), join(nflibRoot(), 'package.json')]) {
      try {
        const pkg = dirname(createRequire(base).resolve(`@gnet/nf-${from}/package.json`));
        tried.push(pkg);
        if (existsSync(join(pkg, 'src'))) return pkg;
      } catch {
        tried.push(`@gnet/nf-${from} from ${dirname(base)}: not installed`);
      }
    }
    throw new UsageError(
      `template "${from}" not found with its sources (src/); looked in: ${tried.join('; ')}. ` +
        `Install @gnet/nf-${from} (npm install -D @gnet/nf-${from}) or give --from a path to its directory`,
    );
  }
  const path = resolve(cwd, from);
  if (!existsSync(join(path, 'package.json')) && !existsSync(join(path, 'package.template.json'))) {
    throw new UsageError(`--from "${from}" is neither a template (${TEMPLATES.join(', ')}) nor a package directory (${path} has no package.json)`);
  }
  return path;
}

/** npm's rules for a package name (lower case, URL-safe, optional scope, at most 214 characters). */
export function validPackageName(name: string): boolean {
  return name.length > 0 && name.length <= 214 && /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/.test(name);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** Rewrites an `@gnet/*` dependency spec that only resolves in the workspace into the published version. */
function publishedSpec(spec: string, version: string): string {
  return /^(workspace:|file:|link:|\*$|\.{1,2}\/)/.test(spec) ? version : spec;
}

/**
 * Copies a template into `dir` and makes it a self-contained project (see the module comment).
 * @throws UsageError for a bad name, an unknown template or a non-empty `dir` without `force`.
 */
export function createProject(dirArg: string, options: NewProjectOptions): NewProjectResult {
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, dirArg);
  const name = options.name ?? basename(dir);
  if (!validPackageName(name)) {
    throw new UsageError(`"${name}" is not a valid npm package name (lower case letters, digits, - . _ ~, optional @scope/); pass --name`);
  }
  const source = templateDir(options.from, cwd);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !options.force) {
    throw new UsageError(`${dir} is not empty (use --force to write into it)`);
  }
  const rel = relative(source, dir);
  if (rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'))) throw new UsageError(`${dir} is inside the template ${source}`);
  mkdirSync(dir, { recursive: true });
  cpSync(source, dir, {
    recursive: true,
    filter: (src) => {
      const b = basename(src);
      return !SKIP.has(b) && !b.endsWith('.host.so') && !b.endsWith('.tsbuildinfo');
    },
  });

  const rewritten = new Set<string>();
  const write = (file: string, text: string) => {
    const path = join(dir, file);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
    writeFileSync(path, text);
    rewritten.add(file);
  };

  // package.json: name, bin, published @gnet versions, pinned tools, self-contained scripts. nflib's
  // own templates ship it as package.template.json: a nested package.json inside a published package
  // would be taken for a package by tools (publint, bundlers).
  if (existsSync(join(dir, 'package.template.json'))) renameSync(join(dir, 'package.template.json'), join(dir, 'package.json'));
  const pkgPath = join(dir, 'package.json');
  const pkg = readJson(pkgPath);
  const oldName = String(pkg.name ?? '');
  const nflibVersion = String(readJson(join(nflibRoot(), 'package.json')).version);
  const shortName = name.replace(/^@[^/]+\//, '');
  pkg.name = name;
  pkg.version = '0.1.0';
  delete pkg.nx;
  delete pkg.repository;
  delete pkg.publishConfig;
  if (pkg.bin && typeof pkg.bin === 'object') {
    const bins = Object.values(pkg.bin as Record<string, string>);
    pkg.bin = bins.length ? { [shortName]: bins[0] } : undefined;
  }
  const deps = { ...((pkg.dependencies as Record<string, string>) ?? {}) };
  for (const [dep, spec] of Object.entries(deps)) if (dep.startsWith('@gnet/')) deps[dep] = publishedSpec(spec, nflibVersion);
  deps['@gnet/nflib'] ??= nflibVersion; // the gnet CLI and @gnet/nflib/testing
  pkg.dependencies = Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));
  const devDeps = { ...((pkg.devDependencies as Record<string, string>) ?? {}), ...TOOL_VERSIONS };
  for (const [dep, spec] of Object.entries(devDeps)) if (dep.startsWith('@gnet/')) devDeps[dep] = publishedSpec(spec, nflibVersion);
  pkg.devDependencies = Object.fromEntries(Object.entries(devDeps).sort(([a], [b]) => a.localeCompare(b)));
  const hasKernels = existsSync(join(dir, 'kernels')) && readdirSync(join(dir, 'kernels')).some((f) => f.endsWith('.cu'));
  const scripts = { ...((pkg.scripts as Record<string, string>) ?? {}) };
  scripts.build = 'tsup';
  if (hasKernels) scripts.kernels = 'gnet-compile-kernels .';
  scripts.pretest = hasKernels ? 'npm run build && npm run kernels' : 'npm run build';
  scripts.test = 'vitest run';
  pkg.scripts = scripts;
  // A copied reference NF keeps answering to its name (`gnet run --chain router`, config section
  // "router") from inside the project: the name it provides is recorded here for the CLI to resolve.
  const refName = /^@gnet\/nf-([a-z0-9-]+)$/.exec(oldName)?.[1];
  if (refName) pkg.gnet = { ...((pkg.gnet as Record<string, unknown>) ?? {}), nf: refName };
  // npm >= 11 runs dependencies' install scripts only when allowed: the addon's builds or checks itself.
  pkg.allowScripts = { ...((pkg.allowScripts as Record<string, boolean>) ?? {}), '@gnet/manager-native': true };
  write('package.json', JSON.stringify(pkg, null, 2) + '\n');

  // tsup.config.mjs: inline the shared base.
  const tsupPath = join(dir, 'tsup.config.mjs');
  if (existsSync(tsupPath)) {
    const text = readFileSync(tsupPath, 'utf8');
    const importRe = /^import\s*\{\s*gnetTsup\s*\}\s*from\s*['"](?:\.\.\/)+tools\/tsup\.base\.mjs['"];?\s*$/m;
    if (importRe.test(text)) write('tsup.config.mjs', `import { defineConfig } from 'tsup';\n\n${TSUP_BASE}\n${text.replace(importRe, '').replace(/^\n+/, '')}`);
  } else {
    write('tsup.config.mjs', `import { defineConfig } from 'tsup';\n\n${TSUP_BASE}\nexport default gnetTsup();\n`);
  }

  // tsconfig.json: standalone compiler options.
  const tscPath = join(dir, 'tsconfig.json');
  const tsc = existsSync(tscPath) ? readJson(tscPath) : { include: ['src', 'test'] };
  if (typeof tsc.extends === 'string' && /tsconfig\.base\.json$/.test(tsc.extends) && tsc.extends.startsWith('..')) {
    delete tsc.extends;
    tsc.compilerOptions = { ...TSCONFIG_BASE, ...((tsc.compilerOptions as Record<string, unknown>) ?? {}) };
  } else if (!tsc.compilerOptions && !tsc.extends) {
    tsc.compilerOptions = { ...TSCONFIG_BASE };
  }
  write('tsconfig.json', JSON.stringify(tsc, null, 2) + '\n');

  if (!existsSync(join(dir, 'vitest.config.mjs')) && !existsSync(join(dir, 'vitest.config.ts'))) write('vitest.config.mjs', VITEST_CONFIG);
  // npm renames .gitignore in packed templates, so templates ship it as `gitignore`.
  if (existsSync(join(dir, 'gitignore'))) renameSync(join(dir, 'gitignore'), join(dir, '.gitignore'));
  if (!existsSync(join(dir, '.gitignore'))) write('.gitignore', GITIGNORE);
  const license = join(dir, 'LICENSE');
  if (existsSync(license) && statSync(license).size === 0) rmSync(license);

  // Sources, tests and docs: the new name, and published helper imports.
  const warnings: string[] = [];
  for (const path of walk(dir)) {
    const file = relative(dir, path);
    if (!/\.(ts|mts|cts|js|mjs|cjs|md|json)$/.test(file) || file === 'package.json' || file.startsWith('node_modules')) continue;
    let text = readFileSync(path, 'utf8');
    const before = text;
    if (oldName && oldName !== name) text = text.split(oldName).join(name);
    for (const [re, to] of HELPER_IMPORTS) text = text.replace(re, to);
    if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(file) && text.search(CLI_PATH) >= 0) {
      text = text.replace(CLI_PATH, 'gnetCli');
      if (!/\bimport\s*\{[^}]*\bgnetCli\b[^}]*\}/.test(text)) {
        const first = text.search(/^import\s/m);
        const line = "import { gnetCli } from '@gnet/nflib/testing';\n";
        text = first < 0 ? line + text : text.slice(0, first) + line + text.slice(first);
      }
    }
    if (text !== before) write(file, text);
    if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(file)) {
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|new URL\(\s*)(['"])(\.\.?\/[^'"]+)\1/g)) {
        const target = resolve(dirname(path), m[2]);
        if (relative(dir, target).startsWith('..')) warnings.push(`${file}: ${m[2]}`);
      }
    }
  }
  return { dir, name, source, rewritten: [...rewritten].sort(), warnings };
}

/** Runs `gnet new` with `argv` (after `new`); resolves with the exit code. */
export async function newCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, { valued: ['from', 'name'], bool: ['help', 'force'] });
  if (flags.booleans.has('help')) {
    io.out(NEW_HELP);
    return 0;
  }
  if (flags.positionals.length !== 1) throw new UsageError(flags.positionals.length ? `unexpected argument "${flags.positionals[1]}"` : 'give the new project directory: gnet new <dir>');
  const r = createProject(flags.positionals[0], {
    from: flags.values.get('from') ?? 'empty',
    name: flags.values.get('name'),
    force: flags.booleans.has('force'),
  });
  const shown = relative(process.cwd(), r.dir) || '.';
  io.out(`gnet new: created ${r.name} in ${shown} from ${r.source}`);
  for (const w of r.warnings) io.err(`gnet new: warning: ${w} points outside the project; make it a dependency or copy it in`);
  io.out(`Next steps:\n  cd ${shown}\n  npm install\n  npm test                 # builds (tsup${existsSync(join(r.dir, 'kernels')) ? ', kernels' : ''}), then runs the tests\n  npx gnet run --chain ./dist/nf.js --in pcap:in.pcap --out pcap:out.pcap`);
  return 0;
}
