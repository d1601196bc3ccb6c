/**
 * Building a classifier off the data path: {@link buildInWorker} parses and builds in a worker
 * thread (`build-worker.js`) while the calling thread keeps classifying with the old tables, then
 * hands back a ready {@link Classifier}. The caller swaps one reference (see `Firewall`), so the
 * data path pauses only for that assignment, not for the build (0.1-2 s for 1K-10K rules).
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Classifier, type AclTables, type BuildOptions, type BuildStats } from './classifier.js';
import type { RuleSet } from './rules.js';

/** What to build: a rule file (read by the worker) or rule text. */
export interface BuildRequest {
  /** Rule file to read and parse. */
  file?: string;
  /** Rule text (when there is no `file`). */
  text?: string;
  /** Name for errors about `text` (`<file>:<line>: ...`). */
  label: string;
  /** Build parameters. */
  options: BuildOptions;
}

/** The worker's answer: the parsed rules and built tables (buffers transferred), or the error. */
export type BuildReply = { ok: true; rules: RuleSet; tables: AclTables; stats: BuildStats; buildMs: number } | { ok: false; message: string };

/** The worker script: beside this module once built, or in `dist/` when running from the TypeScript sources (tests). */
function workerUrl(): URL {
  const beside = new URL('./build-worker.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL('../dist/build-worker.js', import.meta.url);
}

/**
 * Parses and builds `req` in a new worker thread. Resolves with the classifier; rejects with the
 * rule error (`file:line: field: problem`) or the worker's failure. The worker does not keep the
 * process alive.
 */
export function buildInWorker(req: BuildRequest): Promise<Classifier> {
  return new Promise((resolve, reject) => {
    // No inherited flags: `--input-type`, loaders or `--eval` of the host do not apply to this script.
    const worker = new Worker(workerUrl(), { execArgv: [] });
    worker.unref();
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (reply: BuildReply) =>
      settle(() => (reply.ok ? resolve(Classifier.fromBuilt(reply.rules, reply.tables, reply.stats, reply.buildMs)) : reject(new Error(reply.message)))),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the classifier build worker exited (code ${code}) without a result`))));
    worker.postMessage(req);
  });
}
