/**
 * The worker thread that builds a classifier off the data path (see `reload.ts`): it reads and
 * parses the rules, builds the tables and posts rules and tables back, transferring their buffers
 * so nothing is copied. One request per worker.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { buildTables } from './classifier.js';
import type { BuildReply, BuildRequest } from './reload.js';
import { parseRules } from './rules.js';

const port = parentPort;
if (!port) throw new Error('build-worker.js runs as a worker thread (see buildInWorker)');
port.once('message', (req: BuildRequest) => {
  let reply: BuildReply;
  try {
    const text = req.file !== undefined ? readFileSync(req.file, 'utf8') : (req.text ?? '');
    const rules = parseRules(text, req.file ?? req.label);
    const t0 = performance.now();
    const { tables, stats } = buildTables(rules, req.options);
    reply = { ok: true, rules, tables, stats, buildMs: performance.now() - t0 };
  } catch (err) {
    reply = { ok: false, message: (err as Error).message };
  }
  const buffers = new Set<ArrayBufferLike>();
  if (reply.ok) for (const a of [...Object.values(reply.rules), ...Object.values(reply.tables)]) if (ArrayBuffer.isView(a)) buffers.add(a.buffer);
  port.postMessage(reply, [...buffers] as ArrayBuffer[]);
});
