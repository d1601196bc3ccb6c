/**
 * Control-plane policies: code the manager consults once per interval, off the data path, to tune
 * its NFs at run time. G-NET's GPU scheduler (`@gnet/framework`'s `createSchedulerPolicy`) plugs in
 * here: it reads the NFs' measurements from a stats snapshot and answers with a batch size and an SM
 * share per NF instance, which the manager hands to the NFs through their control blocks.
 * @module
 */
import type { StatsSnapshot } from '../stats/snapshot.js';

/** What a policy decided for one NF instance. */
export interface InstanceSetting {
  /** Packets per batch the NF should aim for (0: its own maximum). */
  batch?: number;
  /** SMs (concurrent thread blocks) its kernels may use (0: no limit). */
  sms?: number;
  /**
   * Device-resident fields the NF may reuse (bit k: its k-th declared field; see
   * `ControlWord.RESIDENT`). Cleared by the manager whenever an NF joins or leaves.
   */
  resident?: number;
}

/** A policy's answer for one interval. */
export interface PolicyDecision {
  /** Settings by instance key (`service/instance`); instances not named keep their settings. */
  instances: Record<string, InstanceSetting>;
  /** What the policy decided and why, shown in stats and the summary line (JSON-serialisable). */
  info: Record<string, unknown>;
}

/** A control-plane policy (see the module comment). */
export interface ManagerPolicy {
  /** Its name in stats. */
  readonly name: string;
  /**
   * Called about once per interval with the current snapshot and the previous one (for rates).
   * Returns null to leave everything as it is. Must not throw; a throw is logged and the policy is dropped.
   */
  decide(now: StatsSnapshot, prev: StatsSnapshot | undefined): PolicyDecision | null;
}
