// A chain of test NFs (fixtures/*.mjs) under a manager with the scheduler policy, for the
// resident-field tests: generated 64 B traffic through it, every packet accounted for.
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Manager, type NfCounters } from '@gnet/nflib';
import { createSchedulerPolicy } from '../src/index.js';

/** Packets per chain run. */
export const N = 60_000;

/** Path of a test fixture NF. */
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs `nfs` as a chain in `mode` until N packets went through; returns the NFs' stats. */
export async function chain(nfs: { tag: string; module: string; serviceId: number }[], mode = 'emulated'): Promise<NfCounters[]> {
  const m = await Manager.create({
    ports: [
      { spec: `gen:count=${N},size=64,flows=1024`, role: 'rx' },
      { spec: 'null', role: 'tx' },
    ],
    nfs: nfs.map((n) => ({ ...n, config: { mode, maxBatch: 64 }, nfArgs: [] })),
    burst: 32,
    policy: createSchedulerPolicy(),
    policyIntervalMs: 0,
  });
  try {
    await m.run({ untilDrained: true });
    const s = m.snapshot();
    expect(s).toMatchObject({ received: N, transmitted: N, inFlight: 0 });
    return s.nfs;
  } finally {
    await m.close();
  }
}
