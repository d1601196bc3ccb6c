#!/usr/bin/env node
/**
 * `nf-firewall classify --rules FILE [--hits FILE] [--stats]`: reads ClassBench trace lines
 * (`src dst sport dport proto ...`, decimal addresses) from stdin and prints, per line, the 1-based
 * number of the first matching rule, or 0 where none matches. `--hits FILE` writes per-rule hit
 * counts as JSON; `--stats` prints build time and table size to stderr.
 * Exit codes: 0 done, 2 usage error, 3 bad rules or trace line.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Classifier, KEY_WORDS, packKey } from './classifier.js';
import { parseRules, parseTraceLine, RuleError } from './rules.js';

const USAGE = 'usage: nf-firewall classify --rules FILE [--hits FILE] [--stats]  (ClassBench trace lines on stdin)';

function fail(code: number, msg: string): never {
  process.stderr.write(`nf-firewall: ${msg}\n`);
  process.exit(code);
}

async function classify(argv: string[]): Promise<void> {
  let rulesPath: string | undefined;
  let hitsPath: string | undefined;
  let stats = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rules' || a === '--hits') {
      const v = argv[++i];
      if (v === undefined) fail(2, `${a} needs a file\n${USAGE}`);
      if (a === '--rules') rulesPath = v;
      else hitsPath = v;
    } else if (a.startsWith('--rules=')) rulesPath = a.slice(8);
    else if (a.startsWith('--hits=')) hitsPath = a.slice(7);
    else if (a === '--stats') stats = true;
    else fail(2, `unknown argument "${a}"\n${USAGE}`);
  }
  if (!rulesPath) fail(2, `--rules FILE is required\n${USAGE}`);
  let text: string;
  try {
    text = readFileSync(rulesPath, 'utf8');
  } catch (err) {
    fail(3, `cannot read ${rulesPath}: ${(err as Error).message}`);
  }
  let cls: Classifier;
  try {
    cls = new Classifier(parseRules(text, rulesPath));
  } catch (err) {
    if (err instanceof RuleError) fail(3, err.message);
    throw err;
  }
  if (stats) process.stderr.write(`nf-firewall: ${cls.rules.count} rules, built in ${cls.buildMs.toFixed(1)} ms, ${cls.stats.bytes} bytes, ${cls.stats.trees} trees\n`);
  const batch = 1024;
  const keys = new Uint32Array(batch * KEY_WORDS);
  const out = new Int32Array(batch);
  const hits = new Float64Array(cls.rules.count + 1);
  let n = 0;
  let text_ = '';
  const flush = () => {
    cls.classifyBatch(keys, out, n);
    for (let i = 0; i < n; i++) {
      text_ += `${out[i] + 1}\n`;
      hits[out[i] + 1]++;
    }
    process.stdout.write(text_);
    text_ = '';
    n = 0;
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let line = 0;
  for await (const l of rl) {
    line++;
    let h;
    try {
      h = parseTraceLine(l, line, '<stdin>');
    } catch (err) {
      if (n > 0) flush();
      if (err instanceof RuleError) fail(3, err.message);
      throw err;
    }
    if (!h) continue;
    packKey(keys, n++, h.src, h.dst, h.sport, h.dport, h.proto);
    if (n === batch) flush();
  }
  if (n > 0) flush();
  if (hitsPath) {
    const perRule = [];
    for (let r = 0; r < cls.rules.count; r++) if (hits[r + 1] > 0) perRule.push({ rule: r + 1, line: cls.rules.lines[r], hits: hits[r + 1] });
    writeFileSync(hitsPath, JSON.stringify({ rules: cls.rules.count, hits: perRule, defaultHits: hits[0] }) + '\n');
  }
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'classify') {
  classify(rest).catch((err: unknown) => fail(1, (err as Error).stack ?? String(err)));
}
else if (cmd === '--help' || cmd === '-h') process.stdout.write(USAGE + '\n');
else fail(2, cmd ? `unknown command "${cmd}"\n${USAGE}` : USAGE);
