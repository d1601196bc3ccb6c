/**
 * The pipelined packet loop: several batches in flight at once, as G-NET's three buffers per worker
 * (one receiving, one on the GPU, one being sent). Built on the same loop machinery as `run`.
 * @module
 */
import { ControlWord, NfCounter } from '../runtime/attach.js';
import { Step, type LoopStepper } from '../runtime/thread-group.js';
import { BatchViews, PacketBatch } from './batch.js';
import { PacketLoop, type NfContext } from './context.js';

/** The stages of a pipelined NF: start work on a batch, and say when it is done. */
export interface PipelineStages {
  /**
   * Batches in flight at most, counting the one being received (default 3: G-NET's receiving, on
   * the GPU and sending buffers). 1 turns pipelining off: each batch completes before the next is received.
   */
  depth?: number;
  /**
   * Microseconds a partly filled batch waits for more packets before it is started anyway
   * (default 100), so a trickle of packets is never stuck waiting for a full batch.
   */
  deadlineUs?: number;
  /**
   * Most packets per batch (default: the manager's burst). A batch fills from several ring bursts
   * up to this, or up to the smaller target a control-plane policy (G-NET's scheduler) sets at run
   * time ({@link NfContext.batchTarget}), read each time a new batch starts filling.
   */
  maxBatch?: number;
  /**
   * Starts the work on a received batch (pre-process, submit GPU work). `slot` (0 ≤ slot < depth)
   * names the batch's buffer set: the same `slot` is never in flight twice. Throwing drops the batch.
   */
  start(batch: PacketBatch, slot: number, ctx: NfContext): void;
  /**
   * Whether the batch started in `slot` is done; when it says true it has applied its results
   * (post-process: `batch.action`, `batch.destination`, packet bytes). Called only for the oldest
   * batch in flight, so batches return to the manager in the order they were received. Throwing
   * drops the batch.
   */
  poll(batch: PacketBatch, slot: number, ctx: NfContext): boolean;
}

/**
 * Runs the NF's packet loop with up to `depth` batches in flight (onvm_nflib_run for a GPU NF).
 * Packets from the NF's ring (batch descriptors of the shared pool) are gathered into a batch of up
 * to `maxBatch` packets; the batch is started ({@link PipelineStages.start}) when it is full
 * (`maxBatch`, or the policy's smaller target) or when its first packet has waited `deadlineUs`; the
 * loop then receives the next batch while earlier ones are in flight, and returns batches to the
 * manager in order once {@link PipelineStages.poll} says they are done (their decisions are written
 * back into the descriptors, and a descriptor goes back once all its packets are done: one may
 * span two batches). Stopping (manager, {@link stop}, `-l`, `-t`, a closed ring) finishes the
 * batches in flight first. Counters, idle back-off, heartbeat and message delivery are those of `run`.
 * @throws RangeError when `depth` is not an integer in 1..64 or `deadlineUs` is negative.
 */
export async function runPipelined(ctx: NfContext, stages: PipelineStages): Promise<void> {
  const depth = stages.depth ?? 3;
  const deadlineMs = (stages.deadlineUs ?? 100) / 1000;
  if (!Number.isInteger(depth) || depth < 1 || depth > 64) throw new RangeError(`pipeline depth must be an integer in 1..64, got ${depth}`);
  if (!(deadlineMs >= 0)) throw new RangeError(`pipeline deadlineUs must be >= 0, got ${stages.deadlineUs}`);
  const cap = stages.maxBatch ?? ctx.burst;
  if (!Number.isInteger(cap) || cap < 1 || cap > 1 << 16) throw new RangeError(`pipeline maxBatch must be an integer in 1..65536, got ${cap}`);
  const loop = await PacketLoop.begin(ctx);
  return loop.drive(pipelineStepper(loop, stages, depth, deadlineMs, cap));
}

/** `runPipelined`'s loop, a turn at a time: receive into the free buffer, start it, return finished ones. */
function pipelineStepper(loop: PacketLoop, stages: PipelineStages, depth: number, deadlineMs: number, cap: number): LoopStepper {
  const c = loop.ctx;
  const { rx, ctl, counters, pool } = loop.link;
  const idle = loop.idle;
  const table = pool.batches;
  const views = new BatchViews(pool);
  const batches: PacketBatch[] = [];
  const parts: BatchParts[] = [];
  for (let i = 0; i < depth; i++) {
    batches.push(new PacketBatch(pool, cap));
    parts.push(new BatchParts(cap));
  }
  const failed = new Uint8Array(depth);
  const one = new Uint32Array(1);
  const back = new Uint32Array(cap); // descriptors a finished batch completes
  let cur: PacketBatch | null = null; // descriptor being taken apart, and how far
  let curId = 0;
  let curAt = 0;
  let limit = cap; // packets that make the batch being received full
  let head = 0; // oldest batch in flight
  let inFlight = 0;
  let firstAt = 0; // when the first packet of the batch being received came
  let draining = false;
  const afterSlow = (ok: boolean): number => (ok ? Step.PROGRESS : Step.FINISHED);

  function step(): number | Promise<number> {
    const t0 = performance.now();
    let progress = false;
    if (!draining && (loop.stopRequested || loop.limitReached)) draining = true;
    // Receive into the free buffer.
    if (inFlight < depth) {
      const slot = (head + inFlight) % depth;
      const b = batches[slot];
      const p = parts[slot];
      if (b.count === 0) {
        const target = Atomics.load(ctl, ControlWord.BATCH_TARGET);
        limit = target > 0 && target < cap ? target : cap;
      }
      // A descriptor already begun is finished even while draining: its packets must go back.
      while (b.count < limit && (cur !== null || !draining)) {
        if (cur === null) {
          const n = rx.dequeueBurst(one, 1);
          Atomics.add(ctl, ControlWord.HEARTBEAT, 1);
          if (n === 0) {
            if (rx.closed) draining = true;
            break;
          }
          curId = one[0];
          if (curId >= table.batchCount) continue; // not a descriptor: never sent by a manager
          const count = table.count[curId];
          if (!(count > 0 && count <= table.capacity)) {
            // Nothing to process: hand it straight back.
            const done = loop.complete(one, 1, 0);
            if (done !== true) return done.then(afterSlow);
            continue;
          }
          cur = views.get(curId);
          cur.count = count;
          curAt = 0;
          counters[NfCounter.RX] += count;
        }
        if (b.count === 0) firstAt = performance.now();
        const room = limit - b.count;
        const left = cur.count - curAt;
        const n = left < room ? left : room;
        b.append(cur, curAt, n);
        p.add(curId, curAt, n, curAt + n === cur.count);
        curAt += n;
        if (curAt === cur.count) cur = null;
        progress = true;
      }
      // Start it when full, when its deadline expired, or when no more packets will come.
      if (p.count > 0 && (b.count >= limit || draining || performance.now() - firstAt >= deadlineMs)) {
        failed[slot] = 0;
        try {
          stages.start(b, slot, c);
        } catch (err) {
          loop.handlerFailed(b, err);
          failed[slot] = 1;
        }
        inFlight++;
        progress = true;
      }
    }
    // Return finished batches, oldest first.
    while (inFlight > 0) {
      const b = batches[head];
      const p = parts[head];
      if (failed[head] === 0) {
        let finished: boolean;
        try {
          finished = stages.poll(b, head, c);
        } catch (err) {
          loop.handlerFailed(b, err);
          finished = true;
        }
        if (!finished) break;
      }
      // Decisions go back into the descriptors; those whose last packet this batch held go back.
      let nb = 0;
      let at = 0;
      for (let k = 0; k < p.count; k++) {
        const id = p.id[k];
        const n = p.n[k];
        b.returnTo(views.get(id), p.from[k], n, at);
        at += n;
        if (p.last[k] === 1) back[nb++] = id;
      }
      const packets = b.count;
      b.count = 0;
      p.count = 0;
      head = head + 1 === depth ? 0 : head + 1;
      inFlight--;
      progress = true;
      const done = loop.complete(back, nb, packets);
      if (done !== true) {
        counters[NfCounter.BUSY_US] += (performance.now() - t0) * 1000;
        return done.then(afterSlow);
      }
    }
    if (progress) counters[NfCounter.BUSY_US] += (performance.now() - t0) * 1000;
    if (draining && inFlight === 0 && parts[head].count === 0 && cur === null) return Step.FINISHED;
    // With work in flight the loop polls it without sleeping.
    return progress ? Step.PROGRESS : inFlight > 0 ? Step.POLLING : Step.IDLE;
  }

  return {
    loop,
    step,
    // Asked to end (`-t`, the manager gone): finish what is in flight first, unless nobody is left to take it.
    interrupt(): boolean {
      if (loop.gone !== null) return true;
      draining = true;
      return false;
    },
    // Nothing in flight: sleep on the ring, but never past a waiting batch's deadline.
    idle(): void {
      if (batches[head].count === 0) idle.idle(rx);
      else {
        const left = firstAt + deadlineMs - performance.now();
        if (left > 0) rx.waitForData(left);
      }
    },
    wakeBy: () => (inFlight === 0 && batches[head].count > 0 ? firstAt + deadlineMs : Infinity),
  };
}

/** Which parts of which descriptors one pipeline batch holds, in order. */
class BatchParts {
  /** Parts in use. */
  count = 0;
  readonly id: Uint32Array;
  readonly from: Uint32Array;
  readonly n: Uint32Array;
  /** 1 where the part ends its descriptor (the descriptor goes back with this batch). */
  readonly last: Uint8Array;

  constructor(cap: number) {
    this.id = new Uint32Array(cap);
    this.from = new Uint32Array(cap);
    this.n = new Uint32Array(cap);
    this.last = new Uint8Array(cap);
  }

  add(id: number, from: number, n: number, last: boolean): void {
    const k = this.count++;
    this.id[k] = id;
    this.from[k] = from;
    this.n[k] = n;
    this.last[k] = last ? 1 : 0;
  }
}
