#!/usr/bin/env node
// Rewrites each guide's file-tied fenced blocks (`<!-- file: code/NAME -->` right above a fence) from
// the files in code/, which the journey tests compile and run. Run it after editing code/.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const guide of readdirSync(here).filter((f) => f.endsWith('.md'))) {
  const path = join(here, guide);
  const md = readFileSync(path, 'utf8');
  const next = md.replace(/(<!-- file: (\S+) -->\n```[a-z]*\n)[\s\S]*?^```$/gm, (_, head, file) => `${head}${readFileSync(join(here, file), 'utf8')}\`\`\``);
  if (next !== md) {
    writeFileSync(path, next);
    console.log(`updated ${guide}`);
  }
}
