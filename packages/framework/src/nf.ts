/**
 * G-NET's NF abstraction (`onvm_framework`): an NF is a set of hooks that the framework runs over
 * batches, on the CPU (`cpu` mode) or with a kernel on the GPU proxy (`gpu`, or `emulated` without a
 * GPU), with several batches in flight.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError, init, parseLocatedJson, run, runPipelined, type NfContext, type PacketBatch } from '@gnet/nflib';
import { GpuDevice, KernelArgs, gpuInfo, type GpuModule, type GpuStream, type LaunchShape } from '@gnet/manager-native';
import type { NfAccess } from './sync-plan.js';
import { fieldLayout, MAX_RESIDENT_FIELDS, ResidentFields, type FieldLayout, type ResidentView } from './resident.js';
import type { PerfModel } from './scheduler.js';

/** Where an NF's batch work runs. */
export type NfMode = 'cpu' | 'emulated' | 'gpu';

/** Least default batch capacity on a device (see {@link NfDefinition.maxBatch}). */
const DEFAULT_DEVICE_BATCH = 256;

/** A mode as asked for (`--mode`): one of {@link NfMode}, or `auto` (gpu when usable, else cpu). */
export type NfModeSetting = NfMode | 'auto';

/** Packet fields and meta an NF's stages touch, per stage (G-NET's read/write sets). */
export interface StageFields {
  /** The CPU pre-process stage (before HtoD). */
  pre?: readonly string[];
  /** The kernel. */
  gpu?: readonly string[];
  /** The CPU post-process stage (after DtoH). */
  post?: readonly string[];
}

/** What every hook sees besides the batch: the NF, its mode and, off the CPU, its device. */
export interface NfEnv {
  /** The NF's handle from nflib. */
  readonly ctx: NfContext;
  /** The mode the NF runs in. */
  readonly mode: NfMode;
  /** The NF's config section, without the keys the framework consumes (`mode`, `workers`, `maxBatch`, `pipelineDepth`, `batchDeadlineUs`, `emulatedSubmit`). */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Most packets per batch: the manager's burst in cpu mode, the NF's `maxBatch` (config key
   * `maxBatch`) on a device. Size host and device buffers by it.
   */
  readonly burst: number;
  /** The GPU proxy (`gpu` or `emulated` mode; undefined in `cpu` mode). */
  readonly device: GpuDevice | undefined;
  /** The NF's kernel module, loaded (undefined in `cpu` mode). */
  readonly module: GpuModule | undefined;
  /** This NF worker's stream (undefined in `cpu` mode): queue `htod`/`dtoh` requests on it. */
  readonly stream: GpuStream | undefined;
  /**
   * The NF's device-resident fields ({@link NfDefinition.residentFields}) in `gpu`/`emulated` mode:
   * in `setArg`, pass the kernel `fields.column(name)` and `fields.slots` (undefined otherwise).
   */
  readonly fields: ResidentView | undefined;
}

/** The hooks' view once the NF's `init` ran: {@link NfEnv} plus the state `init` returned. */
export interface NfRuntime<S> extends NfEnv {
  /** What {@link NfDefinition.init} returned (tables, device copies of them, ...). */
  readonly state: S;
}

/**
 * An NF for the framework: G-NET's hooks, its kernel, its read/write sets and performance model.
 * `S` is the NF's state (built once by `init`), `B` one pipeline buffer's host/device buffers
 * (built per buffer by `initHostBuf`). Hooks run on the NF's worker thread; none is called per packet.
 */
export interface NfDefinition<S = undefined, B = undefined> {
  /** The NF's name (its tag in stats, and its section in `--config`). */
  name: string;
  /** The kernel: a `.ptx` path (its sibling `.host.so` on the emulated device) and its entry name. */
  kernel?: { module: string; entry: string };
  /** Batches in flight per worker in `gpu`/`emulated` mode (default 3: receiving, on the GPU, sending). */
  depth?: number;
  /** Microseconds a partly filled batch waits before it is launched anyway (default 100). */
  deadlineUs?: number;
  /**
   * Most packets per batch in `gpu`/`emulated` mode (default: the manager's burst, at least 256).
   * Buffers are sized by it (`env.burst`); the scheduler may ask for smaller batches at run time.
   */
  maxBatch?: number;
  /** Once, before the first batch, in every mode (G-NET's init): builds the NF's state. */
  init?(env: NfEnv): S;
  /** Once per pipeline buffer, off the CPU (G-NET's init_host_buf): allocates pinned host and device buffers. */
  initHostBuf?(rt: NfRuntime<S>, slot: number): B;
  /** CPU pre-processing of a batch: gather the kernel's input into the buffer's pinned host memory. */
  pre?(batch: PacketBatch, buf: B, rt: NfRuntime<S>): void;
  /** Queues the batch's host→device copies on `rt.stream` (G-NET's gcudaMemcpyHtoD, async). */
  htod?(batch: PacketBatch, buf: B, rt: NfRuntime<S>): void;
  /** Sets the kernel's arguments (typed setters on `args`) and returns the launch shape. */
  setArg?(args: KernelArgs, batch: PacketBatch, buf: B, rt: NfRuntime<S>): LaunchShape;
  /** Queues the batch's device→host copies on `rt.stream` (G-NET's gcudaMemcpyDtoH, async). */
  dtoh?(batch: PacketBatch, buf: B, rt: NfRuntime<S>): void;
  /** CPU post-processing once the batch's GPU work completed: apply results (actions, packet bytes). */
  post?(batch: PacketBatch, buf: B, rt: NfRuntime<S>): void;
  /** The whole batch on the CPU (`cpu` mode, G-NET's cpu-only mode): no GPU call at all. */
  cpu?(batch: PacketBatch, rt: NfRuntime<S>): void;
  /** Fields each stage reads (for the data-sync plan). */
  readSet?: StageFields;
  /** Fields each stage writes (for the data-sync plan). */
  writeSet?: StageFields;
  /**
   * Bytes per packet of the fields in the read/write sets (e.g. `{"ip.dst": 4, "payload": 1400}`),
   * so the data-sync plan can say how many bytes cross PCIe.
   */
  fieldBytes?: Readonly<Record<string, number>>;
  /**
   * Packet fields the kernel reads that the framework uploads itself and keeps on the device for
   * the NFs after this one (G-NET's data-sync plan, applied; see `resident.ts`): names of
   * {@link PACKET_FIELDS} or of {@link NfDefinition.fieldLayouts}. Per batch only the rows the device
   * lacks cross PCIe; the kernel reads packet `i`'s value at row `slots[i]` of the field's column
   * (`rt.fields`). They count as kernel reads in the read set.
   */
  residentFields?: readonly string[];
  /** Layouts of resident fields that are not in {@link PACKET_FIELDS}. */
  fieldLayouts?: Readonly<Record<string, FieldLayout>>;
  /** G-NET's performance model of the NF (kernel `k1·B/N + b1`, copy `k2·B + b2`), for the scheduler. */
  model?: PerfModel;
}

/**
 * Checks an NF definition and returns it, typed (G-NET's `onvm_framework` registration).
 * @throws Error when the NF can run in no mode (no `cpu` hook and no kernel), or a kernel NF lacks `setArg`.
 */
export function defineNf<S = undefined, B = undefined>(def: NfDefinition<S, B>): NfDefinition<S, B> {
  if (!def.name) throw new Error('defineNf: an NF needs a name');
  if (!def.cpu && !def.kernel) throw new Error(`defineNf(${def.name}): give a cpu hook, a kernel, or both`);
  if (def.kernel && !def.setArg) throw new Error(`defineNf(${def.name}): a kernel NF needs a setArg hook`);
  if (def.residentFields?.length) {
    if (!def.kernel) throw new Error(`defineNf(${def.name}): residentFields need a kernel to read them`);
    if (def.residentFields.length > MAX_RESIDENT_FIELDS) throw new Error(`defineNf(${def.name}): at most ${MAX_RESIDENT_FIELDS} residentFields`);
    if (new Set(def.residentFields).size !== def.residentFields.length) throw new Error(`defineNf(${def.name}): residentFields has a name twice`);
    for (const f of def.residentFields) fieldLayout(f, def.fieldLayouts);
  }
  return def;
}

/** The NF's read/write sets as {@link NfAccess}, for `computeSyncPlan`. */
export function nfAccess(def: NfDefinition<unknown, unknown>): NfAccess {
  const r = def.readSet ?? {};
  const w = def.writeSet ?? {};
  const gpuReads = def.residentFields?.length ? [...new Set([...(r.gpu ?? []), ...def.residentFields])] : r.gpu;
  return { name: def.name, preReads: r.pre, preWrites: w.pre, gpuReads, gpuWrites: w.gpu, postReads: r.post, postWrites: w.post };
}

/** A mode choice and why it was made. */
export interface ModeChoice {
  /** The mode the NF runs in. */
  mode: NfMode;
  /** Why (printed at start). */
  reason: string;
}

/**
 * Resolves the asked-for mode for an NF: `auto` is `gpu` when the NF has a kernel and a GPU is
 * usable, else `cpu` (or `emulated` when the NF has no cpu hook).
 * @param options.chainWide - the mode was asked for a whole chain (`gnet run --mode`), not for this
 * NF: an NF that cannot run in it (no kernel for `gpu`/`emulated`, no cpu hook for `cpu`) takes
 * `auto`'s choice instead of failing, and the reason says so.
 * @throws Error when the NF cannot run in a mode asked for it alone (cpu without a cpu hook,
 * gpu/emulated without a kernel).
 */
export function chooseMode(def: NfDefinition<unknown, unknown>, asked: NfModeSetting, options: { chainWide?: boolean } = {}): ModeChoice {
  const missing = asked === 'cpu' ? (def.cpu ? null : 'cpu hook') : asked === 'gpu' || asked === 'emulated' ? (def.kernel ? null : 'kernel') : null;
  if (missing !== null) {
    if (!options.chainWide) throw new Error(`NF ${def.name} has no ${missing}, so it cannot run in ${asked} mode`);
    const auto = chooseMode(def, 'auto');
    return { mode: auto.mode, reason: `--mode ${asked} is for the chain and this NF has no ${missing}; ${auto.reason}` };
  }
  if (asked !== 'auto') return { mode: asked, reason: 'asked for' };
  if (!def.kernel) return { mode: 'cpu', reason: 'auto: the NF has no kernel' };
  const info = gpuInfo();
  if (info.available) return { mode: 'gpu', reason: `auto: GPU usable (${info.devices[0]?.name ?? 'device 0'})` };
  if (def.cpu) return { mode: 'cpu', reason: `auto: no usable GPU (${info.reason})` };
  return { mode: 'emulated', reason: `auto: no usable GPU (${info.reason}) and the NF has no cpu hook` };
}

/** Options of {@link startNf}. */
export interface StartOptions {
  /**
   * The NF's mode, over its config section's `mode` and the chain's `chainMode` (which `gnet run
   * --mode` sets for every NF).
   */
  mode?: NfModeSetting;
  /** An nflib context already made by `init()` (default: `init({ tag: def.name })`). */
  ctx?: NfContext;
  /** Where the mode line goes (default `console.error`; stdout belongs to the summary line). */
  log?: (line: string) => void;
}

/** A number from the NF's config section (`pipelineDepth`, `batchDeadlineUs`), or undefined when absent. */
function positiveSetting(config: Record<string, unknown>, key: string): number | undefined {
  const v = config[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0)) throw new Error(`config ${key} must be a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * A ConfigError at the `mode` field of the NF's section in its config file: the one section whose
 * `mode` is `asked` (the NF does not know its section's name), else the file without a position.
 */
function modeConfigError(ctx: NfContext, asked: unknown, problem: string): ConfigError {
  let field = 'mode';
  let pos = { line: 0, column: 0 };
  try {
    const doc = parseLocatedJson(readFileSync(ctx.configSource, 'utf8'), ctx.configSource);
    const top = (doc.value ?? {}) as Record<string, { mode?: unknown } | null>;
    const names = Object.keys(top).filter((k) => top[k]?.mode === asked);
    if (names.length === 1) field = `${names[0]}.mode`;
    pos = doc.positions.get(field) ?? pos;
  } catch {
    // No readable config file (an API caller's label): the message still names the field.
  }
  return new ConfigError(ctx.configSource, pos.line, pos.column, field, problem);
}

function modeSetting(v: unknown): NfModeSetting {
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'cpu' || v === 'emulated' || v === 'gpu') return v;
  throw new Error(`mode must be auto, cpu, emulated or gpu, got ${JSON.stringify(v)}`);
}

/**
 * Runs an NF under the framework until its manager stops it (joins with nflib's `init`, then runs
 * the batch loop). In `cpu` mode each batch goes to the `cpu` hook in the NF thread, through nflib's
 * `run`, with no GPU call. In `gpu`/`emulated` mode the NF's kernel module is loaded, `init` and, per
 * pipeline buffer, `initHostBuf` run, and each batch goes `pre → htod → setArg/launch → dtoh` as one
 * submission on the worker's own stream; `post` runs when it completed. Up to `depth` batches are in
 * flight (`runPipelined`), and return to the manager in order. The NF's config section may set
 * `pipelineDepth`, `batchDeadlineUs` and `maxBatch` (overriding the definition's `depth`,
 * `deadlineUs` and `maxBatch`), and, on the emulated device, `emulatedSubmit`: `inline` (each
 * submission runs in the NF thread) or `stream` (on the stream's thread); by default inline on
 * machines with two cores or fewer. On a device the NF publishes `fw.batches`, `fw.packets` and
 * `fw.gpu_us` counters (and its `model.*`), which the run-time scheduler reads; the batch size
 * it asks for is applied as each batch starts filling, and its SM share is `ctx.smShare`.
 *
 * The mode is `options.mode`, else the config section's `mode`, else `chainMode` (`gnet run
 * --mode`, asked of every NF of a chain), else `auto`. A mode asked of the NF itself must be one it
 * can run in; one asked of the chain falls back to `auto`'s choice for an NF that cannot (a
 * kernel-less NF under `--mode emulated` runs its cpu hook), with the reason on stderr.
 * @throws Error for a mode asked of this NF that it cannot run in; GpuError when the device or the module cannot be opened.
 */
export async function startNf<S, B>(def: NfDefinition<S, B>, options: StartOptions = {}): Promise<void> {
  const ctx = options.ctx ?? init({ tag: def.name });
  const config: Record<string, unknown> = { ...((ctx.config ?? {}) as Record<string, unknown>) };
  // The NF's own `mode` (its config section, or `options.mode`) binds it; `chainMode` (`gnet run
  // --mode`) is asked of every NF of the chain, and one that cannot run in it takes auto's choice.
  let own = options.mode;
  if (own === undefined && config.mode !== undefined) {
    try {
      own = modeSetting(config.mode);
    } catch (err) {
      throw modeConfigError(ctx, config.mode, (err as Error).message);
    }
  }
  const asked = own ?? modeSetting(config.chainMode);
  delete config.mode;
  delete config.chainMode;
  delete config.workers;
  // The framework's own keys are read here and never reach the NF (whose config may reject them).
  const askedBatch = positiveSetting(config, 'maxBatch');
  const askedDepth = positiveSetting(config, 'pipelineDepth');
  const askedDeadline = positiveSetting(config, 'batchDeadlineUs');
  const askedSubmit = config.emulatedSubmit;
  if (askedSubmit !== undefined && askedSubmit !== 'inline' && askedSubmit !== 'stream') {
    throw new Error(`config emulatedSubmit must be "inline" or "stream", got ${JSON.stringify(askedSubmit)}`);
  }
  for (const k of ['maxBatch', 'pipelineDepth', 'batchDeadlineUs', 'emulatedSubmit']) delete config[k];
  let choice: ModeChoice;
  try {
    choice = chooseMode(def as NfDefinition<unknown, unknown>, asked, { chainWide: own === undefined });
  } catch (err) {
    // Asked for in the NF's config section: a config error there (gnet run exits 3 and names it).
    throw options.mode === undefined ? modeConfigError(ctx, asked, (err as Error).message) : err;
  }
  (options.log ?? console.error)(`gnet: NF ${def.name}: ${choice.mode} mode (${choice.reason})`);
  // For the manager's scheduler: the chain's data-sync plan is computed from these.
  ctx.publish('framework', { mode: choice.mode, access: nfAccess(def as NfDefinition<unknown, unknown>), fieldBytes: def.fieldBytes ?? {}, resident: def.residentFields ?? [], layouts: def.fieldLayouts ?? {} });
  const burst = ctx.burst;
  if (choice.mode === 'cpu') {
    const env: NfEnv = { ctx, mode: 'cpu', config, burst, device: undefined, module: undefined, stream: undefined, fields: undefined };
    const rt: NfRuntime<S> = { ...env, state: def.init ? def.init(env) : (undefined as S) };
    const cpu = def.cpu as NonNullable<typeof def.cpu>;
    await run(ctx, (batch) => cpu(batch, rt));
    return;
  }
  const kernel = def.kernel as NonNullable<typeof def.kernel>;
  const setArg = def.setArg as NonNullable<typeof def.setArg>;
  // Device batches default to at least 256 packets whatever the manager's burst: a launch costs
  // microseconds, so small batches waste the device; the deadline still bounds a trickle's wait.
  const maxBatch = askedBatch ?? def.maxBatch ?? Math.max(burst, DEFAULT_DEVICE_BATCH);
  // What the run-time scheduler reads (scheduler-policy.ts): measurements, and the declared model.
  const fw = ctx.defineCounters(['fw.batches', 'fw.packets', 'fw.gpu_us']);
  if (def.model) ctx.defineCounters(['model.k1', 'model.b1', 'model.k2', 'model.b2']).set([def.model.k1, def.model.b1, def.model.k2, def.model.b2]);
  const device = GpuDevice.open({ mode: choice.mode });
  const module = device.loadModule(kernel.module);
  module.kernel(kernel.entry); // fails now, not on the first batch, when the entry is missing
  const stream = device.stream(ctx.serviceId * 1024 + ctx.instanceId);
  const depth = askedDepth ?? def.depth ?? 3;
  const w = def.writeSet ?? {};
  const fields = def.residentFields?.length
    ? new ResidentFields(device, ctx.pool, def.residentFields, [...(w.gpu ?? []), ...(w.post ?? [])], [...(w.pre ?? [])], def.fieldLayouts ?? {}, maxBatch, depth)
    : undefined;
  const fc = fields ? ctx.defineCounters(['fw.resident_hits', 'fw.field_bytes']) : undefined;
  const env: NfEnv = { ctx, mode: choice.mode, config, burst: maxBatch, device, module, stream, fields };
  const rt: NfRuntime<S> = { ...env, state: def.init ? def.init(env) : (undefined as S) };
  // The emulated device runs a submission on a stream thread and the blocks on a pool, beside the
  // manager and this NF; with two cores or fewer those threads only take turns with the ones that
  // wait for them (measured: 3.3-3.5 Mpps async, 5.0 inline, LPM NF at bursts of 256), so there the
  // batch runs inline, in this thread (its blocks still on the pool). `emulatedSubmit` chooses.
  const inline = choice.mode === 'emulated' && (askedSubmit === undefined ? availableParallelism() <= 2 : askedSubmit === 'inline');
  const deadlineUs = askedDeadline ?? def.deadlineUs;
  const bufs: B[] = [];
  for (let i = 0; i < depth; i++) bufs.push(def.initHostBuf ? def.initHostBuf(rt, i) : (undefined as B));
  const tickets = new Float64Array(depth);
  const submittedAt = new Float64Array(depth);
  const args = new KernelArgs();
  const { pre, htod, dtoh, post } = def;
  try {
    await runPipelined(ctx, {
      depth,
      deadlineUs,
      maxBatch,
      start(batch, slot) {
        const buf = bufs[slot];
        try {
          pre?.(batch, buf, rt);
          if (fields) {
            fields.invalidate(batch, 'pre');
            fields.stage(batch, slot, stream, ctx.residentMask);
          }
          htod?.(batch, buf, rt);
          const shape = setArg(args.reset(), batch, buf, rt);
          stream.launch(module, kernel.entry, shape, args);
          dtoh?.(batch, buf, rt);
        } catch (err) {
          // The batch is dropped; what its hooks queued (copies into its own buffers) must not
          // ride along with the next batch's submission.
          if (stream.pending > 0) stream.submit();
          throw err;
        }
        // Taken before submitting: inline, the batch's copies and kernel run inside submitSync().
        submittedAt[slot] = performance.now();
        if (inline) {
          stream.submitSync();
          tickets[slot] = stream.lastTicket;
        } else tickets[slot] = stream.submit();
      },
      poll(batch, slot) {
        const t = tickets[slot];
        if (!stream.done(t)) return false;
        stream.wait(t); // reports a failure of this batch's requests (a GpuError drops the batch)
        // Submission to completion as seen here (an upper bound: polled for the oldest batch only).
        fw[0]++;
        fw[1] += batch.count;
        fw[2] += (performance.now() - submittedAt[slot]) * 1000;
        post?.(batch, bufs[slot], rt);
        if (fields && fc) {
          fields.invalidate(batch, 'after');
          fc[0] = fields.counts.hits;
          fc[1] = fields.counts.bytes;
        }
        return true;
      },
    });
  } finally {
    try {
      stream.synchronize();
    } finally {
      device.close();
    }
  }
}

/** G-NET's `startCpu`: {@link startNf} in cpu-only mode (the `cpu` hook, no GPU call). */
export function startCpu<S, B>(def: NfDefinition<S, B>, options: Omit<StartOptions, 'mode'> = {}): Promise<void> {
  return startNf(def, { ...options, mode: 'cpu' });
}

/**
 * G-NET's `startGpu`: {@link startNf} with the kernel, on the GPU, or on the emulated device when
 * the config asks for it or no GPU is usable (never in cpu mode).
 */
export function startGpu<S, B>(def: NfDefinition<S, B>, options: Omit<StartOptions, 'mode'> = {}): Promise<void> {
  const ctx = options.ctx ?? init({ tag: def.name });
  const cfg = (ctx.config ?? {}) as Record<string, unknown>;
  const asked = modeSetting(cfg.mode ?? cfg.chainMode);
  const mode: NfMode = asked === 'gpu' || asked === 'emulated' ? asked : gpuInfo().available ? 'gpu' : 'emulated';
  return startNf(def, { ...options, ctx, mode });
}
