/**
 * Several NFs in one worker_thread (`gnet run --chain a+b`), the NF side: openNetVM's shared-core
 * mode without the sleeping. Each NF keeps its own rings, control block and counters, so the
 * manager routes to it as to any instance; only the thread is shared. Its packet loop (`run` or
 * `runPipelined`) does not spin on its own ring but hands the thread's scheduler a {@link LoopStepper},
 * and the scheduler turns every NF's loop in round robin, sleeping on the thread's doorbell only
 * when none of them has work. With more NFs than cores this is what keeps a chain fast: one thread
 * passing batches from NF to NF costs a function call per batch, where a thread per NF costs the
 * kernel a wake-up and a context switch per hop.
 *
 * The thread's host script (`runtime/thread-host.ts`) imports the NF modules one after another; each
 * module's `init()` takes its attach record from the group this module keeps on `globalThis` (so
 * NF modules that resolve `@gnet/nflib` to another copy still find it), and its `run()` registers
 * its loop here. An NF whose handler never returns stops its thread mates too: share a thread only
 * between NFs that return from each batch.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { IdleBackoff } from '../ring/backoff.js';
import type { RingBase } from '../ring/ring-base.js';
import { ControlWord } from './attach.js';
import type { NfAttach } from './attach.js';
import { ManagerBell } from './manager-bell.js';

/** `workerData` key of a shared thread's members, for its host script. */
export const THREAD_KEY = '__gnetNfThread';

/** What the manager hands a shared thread in `workerData[THREAD_KEY]`. */
export interface ThreadData {
  /** Each NF of the thread, in chain order: its attach record and its module (path or file URL). */
  members: { attach: NfAttach; module: string }[];
  /** The thread's doorbell, rung by the manager (see `runtime/manager-bell.ts`). */
  bell: SharedArrayBuffer;
}

/** What one turn of a packet loop did. */
export const Step = {
  /** The loop ended (stopped, drained, its limit reached, its manager gone). */
  FINISHED: -1,
  /** Nothing to do: the loop may sleep until data comes. */
  IDLE: 0,
  /** Batches moved. */
  PROGRESS: 1,
  /** Nothing moved, but work is in flight (a batch on the device): poll again without sleeping. */
  POLLING: 2,
} as const;

/** The loop state a stepper belongs to (see `PacketLoop` in `nf/context.ts`). */
export interface SteppedLoop {
  /** The NF's rings and control words. */
  readonly link: { readonly rx: RingBase; readonly ctl: Int32Array };
  /** Whether a periodic check is due (every few milliseconds). */
  yieldDue(): boolean;
  /** Whether the loop must end (its `-t` deadline passed, its manager is gone); delivers messages. */
  mustEnd(): boolean;
  /** Marks the NF stopped and gives its place back. */
  end(): void;
}

/** One NF's packet loop, a turn at a time, so one thread can turn several. */
export interface LoopStepper {
  /** The loop's state. */
  readonly loop: SteppedLoop;
  /** One turn: a {@link Step} value (a promise of one only when a full ring made it wait). */
  step(): number | Promise<number>;
  /** The loop was asked to end between turns: returns true to end now, false to drain first. */
  interrupt(): boolean;
  /** Sleeps as this loop does when alone on its thread (after {@link Step.IDLE}). */
  idle(): void;
  /** `performance.now()` time by which the loop must turn again even without data (Infinity: none). */
  wakeBy(): number;
}

/** A loop the thread's scheduler turns. */
interface GroupLoop {
  stepper: LoopStepper;
  done: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A shared thread's state, kept on `globalThis` under a registered symbol. */
export interface NfThreadGroup {
  readonly version: 1;
  /** The attach record the NF module being imported takes in its `init()`; null once taken. */
  current: NfAttach | null;
  /** Called by `init()` once it took {@link NfThreadGroup.current}. */
  onInit: () => void;
  /** The doorbell the manager rings after handing any NF of this thread a batch. */
  readonly bell: SharedArrayBuffer;
  /** NFs of the thread, and which have left (the last one lets the thread end). */
  readonly size: number;
  readonly left: Set<number>;
  /** Registered loops, turned by {@link driveThread}. */
  readonly loops: GroupLoop[];
  /** Whether {@link driveThread} runs. */
  running: boolean;
}

const GROUP = Symbol.for('gnet.nfThread.v1');

/** This thread's group, when it hosts several NFs. */
export function threadGroup(): NfThreadGroup | undefined {
  return (globalThis as Record<symbol, NfThreadGroup | undefined>)[GROUP];
}

/** Makes this thread a shared one for `size` NFs ringing `bell` (the host script calls it first). */
export function createThreadGroup(size: number, bell: SharedArrayBuffer): NfThreadGroup {
  const g: NfThreadGroup = { version: 1, current: null, onInit: () => undefined, bell, size, left: new Set(), loops: [], running: false };
  (globalThis as Record<symbol, NfThreadGroup>)[GROUP] = g;
  return g;
}

/**
 * `init()`'s side: takes the attach record of the NF module being imported.
 * @throws Error when the module calls `init()` a second time (one NF per module in a shared thread).
 */
export function takeAttach(g: NfThreadGroup): NfAttach {
  const a = g.current;
  if (a === null) throw new Error('gnet: an NF sharing a thread called init() twice, or outside its module\'s start; call it once per NF module');
  g.current = null;
  g.onInit();
  return a;
}

/** NF `member` left (its loop ended, or it failed): the thread's port stops holding it open once every NF has. */
export function leaveThread(g: NfThreadGroup, member: number): void {
  g.left.add(member);
  if (g.left.size >= g.size) parentPort?.unref();
}

/**
 * `run()`'s side: hands the loop to the thread's scheduler; resolves when the loop ends (it is
 * ended with `loop.end()` first), rejects when a turn throws.
 */
export function joinThread(g: NfThreadGroup, stepper: LoopStepper): Promise<void> {
  return new Promise((resolve, reject) => {
    g.loops.push({ stepper, done: false, resolve, reject });
    if (!g.running) {
      g.running = true;
      void driveThread(g);
    }
  });
}

/** Ends one loop: its place back to the manager, its `run()` settled. */
function finish(l: GroupLoop, err?: unknown): void {
  l.done = true;
  try {
    l.stepper.loop.end();
  } finally {
    if (err === undefined) l.resolve();
    else l.reject(err);
  }
}

/**
 * The shared thread's scheduler: turns each registered loop once per round; after a round where
 * none moved anything it backs off as a lone NF does (spin while the manager grants it, then sleep)
 * on the thread's doorbell, never past the earliest deadline of a waiting batch. Every few
 * milliseconds it yields to the event loop (messages, timers) and checks each loop's limits.
 * Returns when no loop is left; a loop registered later starts it again.
 */
export async function driveThread(g: NfThreadGroup): Promise<void> {
  const bell = new ManagerBell(g.bell);
  const idle = new IdleBackoff({ spins: 64, maxSleepMs: 2 });
  const loops = g.loops;
  const hasWork = (): boolean => {
    for (const l of loops) {
      const rx = l.stepper.loop.link.rx;
      if (!l.done && (!rx.isEmpty || rx.closed)) return true;
    }
    return false;
  };
  let wakeBy = Infinity;
  // The doorbell seen as a ring's `waitForData`, for the back-off.
  const waiter = {
    waitForData(timeoutMs: number): boolean {
      const left = wakeBy - performance.now();
      if (left <= 0) return true;
      bell.sleep(left < timeoutMs ? left : timeoutMs, hasWork);
      return hasWork();
    },
  };
  let lastYield = Date.now();
  let empty = 0;
  try {
    for (;;) {
      let progress = false;
      let polling = false;
      wakeBy = Infinity;
      for (let i = 0; i < loops.length; i++) {
        const l = loops[i];
        if (l.done) continue;
        let r: number;
        try {
          const s = l.stepper.step();
          r = typeof s === 'number' ? s : await s;
        } catch (err) {
          finish(l, err);
          continue;
        }
        if (r === Step.FINISHED) finish(l);
        else if (r === Step.PROGRESS) progress = true;
        else if (r === Step.POLLING) polling = true;
        else {
          const w = l.stepper.wakeBy();
          if (w < wakeBy) wakeBy = w;
        }
      }
      for (let i = loops.length - 1; i >= 0; i--) if (loops[i].done) loops.splice(i, 1);
      if (loops.length === 0) return;
      if (progress || polling) {
        idle.reset();
        empty = 0;
      } else {
        idle.idle(waiter);
        if ((++empty & 63) !== 0) continue;
      }
      const now = Date.now();
      if (now - lastYield >= 5) {
        lastYield = now;
        idle.spinUs = Atomics.load(loops[0].stepper.loop.link.ctl, ControlWord.SPIN_US);
        for (const l of loops) {
          const loop = l.stepper.loop;
          if (loop.yieldDue() && loop.mustEnd() && l.stepper.interrupt()) finish(l);
        }
        await new Promise((r) => setImmediate(r));
      }
    }
  } finally {
    g.running = false;
  }
}
