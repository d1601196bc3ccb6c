/**
 * The entry script of a worker_thread shared by several NFs (`gnet run --chain a+b`): imports each
 * NF module in chain order, handing each its attach record through the thread group
 * (`runtime/thread-group.ts`), and reports an NF whose module fails on its own, so its thread mates
 * keep running. Started by the manager with `workerData[THREAD_KEY]`.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { createThreadGroup, leaveThread, THREAD_KEY, type ThreadData } from './thread-group.js';

/** How long an NF module that finished loading may take to call `init()` (it may await first). */
const INIT_GRACE_MS = 10_000;

const data = (workerData as Record<string, ThreadData>)[THREAD_KEY];
const group = createThreadGroup(data.members.length, data.bell);

/** Tells the manager NF `member` ended on its own (its module threw, or never called `init()`). */
function memberFailed(member: number, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort?.postMessage({ type: 'gnet:exit', member, name: e.name, message: e.message, stack: e.stack });
  // Its place counts as left, so the others can still let the thread end.
  leaveThread(group, member);
}

/** Imports the NFs one after another: each takes its record in `init()` before the next is imported. */
async function main(): Promise<void> {
  const loaded = new Map<string, number>();
  for (let i = 0; i < data.members.length; i++) {
    const m = data.members[i];
    let url = m.module.startsWith('file:') ? m.module : pathToFileURL(m.module).href;
    // The same script twice (two services of one NF file) must be two module instances, not one.
    const seen = loaded.get(url) ?? 0;
    loaded.set(url, seen + 1);
    if (seen > 0) url += `${url.includes('?') ? '&' : '?'}gnet-member=${i}`;
    group.current = m.attach;
    let inited!: () => void;
    const initCalled = new Promise<void>((r) => (inited = r));
    group.onInit = inited;
    let failed = false;
    const moduleLoaded = import(url).then(
      () => undefined,
      (err: unknown) => {
        failed = true;
        // Before init() the NF never started; after it, its loop has ended: either way it is gone.
        memberFailed(i, err);
      },
    );
    await Promise.race([initCalled, moduleLoaded]);
    if (group.current !== null && !failed) {
      // Loaded without calling init() yet: it may still, after an await of its own.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([initCalled, new Promise<void>((r) => (timer = setTimeout(r, INIT_GRACE_MS)))]);
      clearTimeout(timer);
    }
    // A module that throws right after init() has its import rejected a moment later: give it that
    // moment before saying the NF is ready (the manager counts it started only then).
    await new Promise((r) => setImmediate(r));
    // init() took the record (and cleared it) unless the module never called it.
    if (group.current === null && !failed) parentPort?.postMessage({ type: 'gnet:ready', member: i });
    if (group.current !== null) {
      group.current = null;
      if (!failed) {
        memberFailed(
          i,
          new Error(
            `its module ${m.module} did not call init() (a CommonJS script runs once per thread: give a second instance of it a thread of its own)`,
          ),
        );
      }
    }
  }
}

void main();
