/**
 * G-NET's scheduler at run time: a manager policy (`@gnet/nflib`'s `ManagerPolicy`) that, once per
 * interval, reads what each framework NF measured (`fw.*` counters: batches, packets, GPU time) and
 * declared (`model.*`: its performance model), runs {@link schedule} over the chain, and hands each
 * NF instance its batch size and SM share through the manager. `gnet run --schedule gnet|fair|uncoordinated`
 * installs it; its decision is shown in stats and in the summary line under `policy`.
 * @module
 */
import type { ManagerPolicy, NfCounters, PolicyDecision, StatsSnapshot } from '@gnet/nflib';
import { schedule, type PerfModel, type Policy } from './scheduler.js';
import { ANY_FIELD, computeSyncPlan, type NfAccess, type SyncPlan } from './sync-plan.js';
import { overlappingFields, type FieldLayout } from './resident.js';

/** Options of {@link createSchedulerPolicy}. */
export interface SchedulerPolicyOptions {
  /** `gnet` (default), `fair` or `uncoordinated`. */
  policy?: Policy;
  /** SMs to share (default: the GPU's, or 8 on the emulated device). */
  totalSms?: number;
  /** Latency bound for the whole chain, µs (default 1000). */
  latencyBoundUs?: number;
  /** Batch sizes to choose from (default powers of two 32..8192). */
  batchSizes?: readonly number[];
}

/** One framework NF (service) as the policy sees it. */
interface Service {
  tag: string;
  serviceId: number;
  keys: string[];
  model: PerfModel;
  source: 'declared' | 'measured';
}

const sum = (list: NfCounters[], k: string): number => list.reduce((a, n) => a + (n.counters[k] ?? 0), 0);

/**
 * The model an NF declared (`model.k1` … counters), or one fitted from what it measured: per-packet
 * GPU time on its current SM share as `k1`, with the copy folded in (`k2 = b2 = 0`) and the
 * per-batch launch cost `b1` taken as a tenth of a batch's time (G-NET fits both from a batch-size
 * sweep; one operating point only fixes their sum).
 */
function modelOf(list: NfCounters[], prev: NfCounters[]): { model: PerfModel; source: 'declared' | 'measured' } | null {
  const c = list[0].counters;
  if ((c['model.k1'] ?? 0) > 0) return { model: { k1: c['model.k1'], b1: c['model.b1'] ?? 0, k2: c['model.k2'] ?? 0, b2: c['model.b2'] ?? 0 }, source: 'declared' };
  // The last interval's measurements, or the lifetime ones when it saw no batch (a lull).
  let batches = sum(list, 'fw.batches') - sum(prev, 'fw.batches');
  let packets = sum(list, 'fw.packets') - sum(prev, 'fw.packets');
  let gpuUs = sum(list, 'fw.gpu_us') - sum(prev, 'fw.gpu_us');
  if (batches <= 0 || packets <= 0 || gpuUs <= 0) {
    batches = sum(list, 'fw.batches');
    packets = sum(list, 'fw.packets');
    gpuUs = sum(list, 'fw.gpu_us');
  }
  if (batches <= 0 || packets <= 0 || gpuUs <= 0) return null;
  const perBatch = gpuUs / batches;
  const sms = Math.max(1, list[0].smShare || 1);
  const b1 = perBatch / 10;
  return { model: { k1: ((perBatch - b1) * sms) / (packets / batches), b1, k2: 0, b2: 0 }, source: 'measured' };
}

/**
 * Creates the run-time scheduler policy. It acts only on NFs that run a kernel (they publish `fw.*`
 * counters), in chain order (service ids ascending), and leaves cpu-mode NFs alone. Offered load
 * is the chain's measured input rate over the last interval.
 */
export function createSchedulerPolicy(options: SchedulerPolicyOptions = {}): ManagerPolicy {
  const policy = options.policy ?? 'gnet';
  const latencyBoundUs = options.latencyBoundUs ?? 1000;
  const totalSms = options.totalSms ?? 8;
  return {
    name: `scheduler:${policy}`,
    decide(now: StatsSnapshot, prev: StatsSnapshot | undefined): PolicyDecision | null {
      const running = now.nfs.filter((n) => n.state === 'running' && 'fw.batches' in n.counters);
      if (running.length === 0) return null;
      const byService = new Map<number, NfCounters[]>();
      for (const n of running) {
        const list = byService.get(n.serviceId) ?? [];
        list.push(n);
        byService.set(n.serviceId, list);
      }
      const services: Service[] = [];
      const waiting: string[] = [];
      for (const [serviceId, list] of [...byService].sort((a, b) => a[0] - b[0])) {
        const before = prev?.nfs.filter((n) => n.serviceId === serviceId) ?? [];
        const m = modelOf(list, before);
        if (!m) waiting.push(list[0].tag);
        else services.push({ tag: list[0].tag, serviceId, keys: list.map((n) => n.key), ...m });
      }
      const plan = chainSyncPlan(now);
      const resident = residentMasks(now);
      const syncPlan = { ...(plan ? { syncPlan: plan } : {}), ...(Object.keys(resident).length ? { resident } : {}) };
      const residentOnly = Object.fromEntries(Object.entries(resident).map(([k, mask]) => [k, { resident: mask }]));
      if (services.length === 0) return { instances: residentOnly, info: { waitingForMeasurements: waiting, ...syncPlan } };
      const dt = prev ? (now.time - prev.time) / 1000 : 0; // seconds
      const offeredMpps = dt > 0 && now.received !== undefined && prev?.received !== undefined ? (now.received - prev.received) / dt / 1e6 : 0;
      const sms = Math.max(totalSms, services.length);
      const s = schedule({ nfs: services.map((v) => ({ name: v.tag, model: v.model })), totalSms: sms, latencyBoundUs, offeredMpps, batchSizes: options.batchSizes }, policy);
      const instances: PolicyDecision['instances'] = residentOnly;
      const nfs: Record<string, unknown> = {};
      s.nfs.forEach((a, i) => {
        const v = services[i];
        // Instances of a service share its SMs; each gets the service's batch size.
        const each = Math.max(1, Math.floor(a.sms / v.keys.length));
        for (const key of v.keys) instances[key] = { ...instances[key], batch: a.batch, sms: each };
        nfs[v.tag] = { sms: a.sms, batch: a.batch, predictedMpps: round(a.mpps), predictedLatencyUs: round(a.latencyUs), model: v.source };
      });
      return {
        instances,
        info: { totalSms: sms, latencyBoundUs, offeredMpps: round(offeredMpps), chainMpps: round(s.mpps), chainLatencyUs: round(s.latencyUs), nfs, ...(waiting.length ? { waitingForMeasurements: waiting } : {}), ...syncPlan },
      };
    },
  };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

/** What the framework publishes about an NF (`ctx.publish('framework', ...)` in nf.ts). */
interface Published {
  mode: string;
  access: NfAccess;
  fieldBytes: Record<string, number>;
  /** Its resident fields, in the order of its mask bits. */
  resident?: string[];
  /** Layouts of fields it named that are not in PACKET_FIELDS. */
  layouts?: Record<string, FieldLayout>;
}

/**
 * Which resident fields each device NF instance may reuse from an earlier NF's upload (its
 * `ControlWord.RESIDENT` mask, by instance key): bit k is set when, in every service chain the
 * instance's service is on, the data-sync plan has no copy of its k-th resident field before it,
 * i.e. the field reached the device earlier in the chain and no host stage rewrote it since. A
 * service without framework read/write sets (a plain nflib NF) or without a running instance counts
 * as reading and rewriting every field. Chains are the manager's (`snapshot.chains`); without them,
 * one chain of the running services in id order. A packet an NF sends elsewhere with `TONF` leaves
 * the plan's path; its rows then still carry the epoch check (an upload of this very packet) but not
 * the plan's, so NFs that jump over a rewriting NF should not declare resident fields.
 */
export function residentMasks(now: StatsSnapshot): Record<string, number> {
  const running = now.nfs.filter((n) => n.state === 'running');
  const published = new Map<number, Published>();
  for (const n of running) {
    const p = n.meta?.framework as Published | undefined;
    if (p && !published.has(n.serviceId)) published.set(n.serviceId, p);
  }
  const allowed = new Map<number, Set<string>>();
  for (const [sid, p] of published) if (p.mode !== 'cpu' && p.resident?.length) allowed.set(sid, new Set(p.resident));
  if (allowed.size === 0) return {};
  const chains = now.chains ?? [[...new Set(running.map((n) => n.serviceId))].sort((a, b) => a - b)];
  // A write to a field also dirties every field it overlaps (ip.ttl inside ip.header).
  const layouts: Record<string, FieldLayout> = Object.assign({}, ...[...published.values()].map((p) => p.layouts ?? {}));
  const widen = (list: readonly string[] | undefined) =>
    list && [...new Set(list.flatMap((f) => (f === ANY_FIELD ? [f] : overlappingFields(f, layouts))))];
  for (const chain of chains) {
    const access = chain.map((sid): NfAccess => {
      const p = published.get(sid);
      if (!p) return { name: `service ${sid}`, preReads: [ANY_FIELD], postWrites: [ANY_FIELD] };
      const a = p.mode === 'cpu' ? cpuOnly(p.access) : p.access;
      return { ...a, preWrites: widen(a.preWrites), gpuWrites: widen(a.gpuWrites), postWrites: widen(a.postWrites) };
    });
    const plan = computeSyncPlan(access);
    chain.forEach((sid, pos) => {
      const set = allowed.get(sid);
      if (set) for (const f of plan.nfs[pos].htod) set.delete(f);
    });
  }
  const masks: Record<string, number> = {};
  for (const n of running) {
    const set = allowed.get(n.serviceId);
    const names = (n.meta?.framework as Published | undefined)?.resident;
    if (!set || !names) continue;
    let mask = 0;
    names.forEach((f, k) => {
      if (set.has(f)) mask |= 1 << k;
    });
    masks[n.key] = mask >>> 0;
  }
  return masks;
}

/**
 * The chain's data-sync plan from the read/write sets the framework NFs published, one entry per
 * service in chain order (service ids ascending); recomputed at every decision, so it follows NFs
 * joining and leaving. Cpu-mode NFs take part with their stages on the host.
 */
export function chainSyncPlan(now: StatsSnapshot): SyncPlan | null {
  const byService = new Map<number, Published>();
  for (const n of now.nfs) {
    const p = n.meta?.framework as Published | undefined;
    if (n.state === 'running' && p && !byService.has(n.serviceId)) byService.set(n.serviceId, p);
  }
  if (byService.size === 0) return null;
  const chain = [...byService].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  const access = chain.map((p) => (p.mode === 'cpu' ? cpuOnly(p.access) : p.access));
  return computeSyncPlan(access, Object.assign({}, ...chain.map((p) => p.fieldBytes)) as Record<string, number>);
}

/** A cpu-mode NF touches everything on the host: its kernel's reads and writes happen in `cpu`. */
function cpuOnly(a: NfAccess): NfAccess {
  return { name: a.name, preReads: [...(a.preReads ?? []), ...(a.gpuReads ?? []), ...(a.postReads ?? [])], postWrites: [...(a.preWrites ?? []), ...(a.gpuWrites ?? []), ...(a.postWrites ?? [])] };
}
