/**
 * `@gnet/framework`: G-NET's NF framework for TypeScript — the batch pipeline with hooks, the GPU
 * scheduler and the data-sync plan. An NF is defined with {@link defineNf} and run with {@link startNf}
 * (G-NET's `startCpu` / `startGpu`: {@link startCpu}, {@link startGpu}).
 *
 * @packageDocumentation
 */
export { ANY_FIELD, computeSyncPlan, type NfAccess, type NfSync, type SyncPlan } from './sync-plan.js';
export { MAX_RESIDENT_FIELDS, PACKET_FIELDS, ResidentFields, fieldLayout, fieldsKernelPath, overlappingFields, type FieldLayout, type ResidentCounts, type ResidentView } from './resident.js';
export {
  schedule,
  predictMpps,
  predictLatency,
  type PerfModel,
  type NfAllocation,
  type Policy,
  type ScheduleInput,
  type Schedule,
} from './scheduler.js';
export { createSchedulerPolicy, chainSyncPlan, residentMasks, type SchedulerPolicyOptions } from './scheduler-policy.js';
export {
  defineNf,
  startNf,
  startCpu,
  startGpu,
  chooseMode,
  nfAccess,
  type NfDefinition,
  type NfEnv,
  type NfRuntime,
  type NfMode,
  type NfModeSetting,
  type ModeChoice,
  type StageFields,
  type StartOptions,
} from './nf.js';
