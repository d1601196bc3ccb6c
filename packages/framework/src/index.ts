/**
 * `@gnet/framework`: G-NET's NF framework for TypeScript — the batch pipeline with hooks, the GPU
 * scheduler and the data-sync plan.
 *
 * @packageDocumentation
 */
export { computeSyncPlan, type NfAccess, type NfSync, type SyncPlan } from './sync-plan.js';
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
