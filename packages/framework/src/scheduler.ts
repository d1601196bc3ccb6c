/**
 * G-NET's GPU scheduler: given each NF's performance model, decide how many SMs (thread blocks run
 * concurrently) and what batch size each NF of a chain gets, so the chain's slowest NF is as fast as
 * possible while the chain's latency stays under a bound. FAIR and UNCOORDINATED policies are here
 * for comparison, as in the paper's evaluation.
 *
 * Model (G-NET §5, per packet-size class): a kernel over a batch of `B` packets on `N` SMs takes
 * `k1·B/N + b1` µs, and copying the batch's data takes `k2·B + b2` µs. With three buffers in flight
 * the copy and kernel stages overlap, so an NF processes `B / max(kernel, copy)` packets per µs, and a
 * packet waits at most one batch fill plus both stages.
 * @module
 */

/** One NF's performance model (µs; per packet-size class). */
export interface PerfModel {
  /** Kernel time per packet when run on one SM. */
  k1: number;
  /** Kernel launch overhead. */
  b1: number;
  /** Copy time per packet (HtoD + DtoH of its planned fields). */
  k2: number;
  /** Copy overhead per batch. */
  b2: number;
}

/** What the scheduler decided for one NF. */
export interface NfAllocation {
  name: string;
  /** SMs (concurrent thread blocks) given to the NF's kernels. */
  sms: number;
  /** Packets per batch. */
  batch: number;
  /** Predicted throughput, Mpps. */
  mpps: number;
  /** Predicted worst-case latency through this NF, µs. */
  latencyUs: number;
}

/** A scheduling policy. */
export type Policy = 'gnet' | 'fair' | 'uncoordinated';

/** Inputs of {@link schedule}. */
export interface ScheduleInput {
  /** The chain's NFs with their models. */
  nfs: readonly { name: string; model: PerfModel }[];
  /** SMs of the GPU (e.g. 132 on H100 SXM). */
  totalSms: number;
  /** Latency bound for the whole chain, µs. */
  latencyBoundUs: number;
  /** Offered load, Mpps (for the batch-fill term). */
  offeredMpps: number;
  /** Batch sizes to choose from (default powers of two 32..8192). */
  batchSizes?: readonly number[];
}

/** The decision for a chain. */
export interface Schedule {
  policy: Policy;
  nfs: NfAllocation[];
  /** Chain throughput: its slowest NF (or the shared-GPU bound for uncoordinated), Mpps. */
  mpps: number;
  /** Sum of the NFs' latencies, µs. */
  latencyUs: number;
}

const DEFAULT_BATCHES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** Predicted throughput (Mpps) of an NF with batch `b` on `n` SMs. */
export function predictMpps(m: PerfModel, b: number, n: number): number {
  const stage = Math.max((m.k1 * b) / n + m.b1, m.k2 * b + m.b2);
  return b / stage;
}

/** Predicted worst-case latency (µs) through an NF: batch fill at `offeredMpps` plus both stages. */
export function predictLatency(m: PerfModel, b: number, n: number, offeredMpps: number): number {
  const fill = offeredMpps > 0 ? b / offeredMpps : 0;
  return fill + (m.k1 * b) / n + m.b1 + m.k2 * b + m.b2;
}

/** Largest batch of `sizes` whose latency fits `budgetUs` (the smallest when none fits). */
function batchFor(m: PerfModel, n: number, budgetUs: number, offered: number, sizes: readonly number[]): number {
  let best = sizes[0];
  for (const b of sizes) if (predictLatency(m, b, n, offered) <= budgetUs) best = b;
  return best;
}

/**
 * Decides SMs and batch sizes for a chain under `policy`:
 * - `gnet`: start every NF at one SM, then hand each remaining SM to the NF with the lowest predicted
 *   throughput; batch sizes are the largest that keep each NF within its share of the latency bound
 *   (shares proportional to each NF's latency at the smallest batch).
 * - `fair`: SMs split evenly, the same latency share for every NF.
 * - `uncoordinated`: every NF sizes itself as if it owned the whole GPU; kernels then time-share it,
 *   so the chain gets what one GPU does when the NFs' kernels run one after another.
 * @throws RangeError when there are more NFs than SMs or an input is not positive.
 */
export function schedule(input: ScheduleInput, policy: Policy = 'gnet'): Schedule {
  const { nfs, totalSms, latencyBoundUs, offeredMpps } = input;
  const sizes = [...(input.batchSizes ?? DEFAULT_BATCHES)].sort((a, b) => a - b);
  if (nfs.length === 0) return { policy, nfs: [], mpps: 0, latencyUs: 0 };
  if (!(totalSms >= nfs.length)) throw new RangeError(`${nfs.length} NFs need at least as many SMs, got ${totalSms}`);
  if (!(latencyBoundUs > 0)) throw new RangeError(`latency bound must be positive, got ${latencyBoundUs}`);

  const alloc = (sms: number[], budgets: number[]): NfAllocation[] =>
    nfs.map((nf, i) => {
      const batch = batchFor(nf.model, sms[i], budgets[i], offeredMpps, sizes);
      return { name: nf.name, sms: sms[i], batch, mpps: predictMpps(nf.model, batch, sms[i]), latencyUs: predictLatency(nf.model, batch, sms[i], offeredMpps) };
    });
  const finish = (list: NfAllocation[], mpps?: number): Schedule => ({
    policy,
    nfs: list,
    mpps: mpps ?? Math.min(...list.map((a) => a.mpps)),
    latencyUs: list.reduce((s, a) => s + a.latencyUs, 0),
  });

  if (policy === 'uncoordinated') {
    const each = alloc(nfs.map(() => totalSms), nfs.map(() => latencyBoundUs / nfs.length));
    // Time sharing: per packet, the GPU spends the sum of the NFs' kernel times.
    const perPacketUs = each.reduce((s, a, i) => s + ((nfs[i].model.k1 * a.batch) / totalSms + nfs[i].model.b1) / a.batch, 0);
    return finish(each, Math.min(1 / perPacketUs, ...each.map((a) => a.mpps)));
  }
  if (policy === 'fair') {
    const share = Math.floor(totalSms / nfs.length);
    return finish(alloc(nfs.map(() => share), nfs.map(() => latencyBoundUs / nfs.length)));
  }
  // G-NET: latency shares by each NF's weight, then SMs to the bottleneck one at a time.
  const weights = nfs.map((nf) => predictLatency(nf.model, sizes[0], 1, offeredMpps));
  const wsum = weights.reduce((a, b) => a + b, 0);
  const budgets = weights.map((w) => (latencyBoundUs * w) / wsum);
  const sms = nfs.map(() => 1);
  for (let left = totalSms - nfs.length; left > 0; left--) {
    const now = alloc(sms, budgets);
    let worst = 0;
    for (let i = 1; i < now.length; i++) if (now[i].mpps < now[worst].mpps) worst = i;
    sms[worst]++;
  }
  return finish(alloc(sms, budgets));
}
