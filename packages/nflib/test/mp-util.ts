// Helpers for the multi-process tests: start `gnet manager` and NF processes, read `gnet nfs` and
// `gnet stats`, wait for conditions, and always clean up (children killed, regions unlinked).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { unlinkSharedRegion } from '@gnet/manager-native';

export const cli = join(__dirname, '..', 'dist', 'cli.js');
export const fixtures = join(__dirname, 'fixtures');

/** A child process with its output collected. */
export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the exit code (or 128 + signal number style: null code gives -1). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live: ChildProcess[] = [];
const names: string[] = [];

/** A manager name unique to this test run (its region is unlinked by {@link cleanup}). */
export function uniqueName(tag: string): string {
  const name = `t${tag}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  names.push(name);
  return name;
}

/** Starts `node args...` with extra env; tracked for {@link cleanup}. */
export function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

/** Starts `gnet manager --name NAME ...args`. */
export function startManager(name: string, args: string[]): Proc {
  return start([cli, 'manager', '--name', name, ...args]);
}

/** Starts an NF fixture joined to manager `name`. */
export function startNf(fixture: string, name: string, nfArgs: string[], env: Record<string, string> = {}): Proc {
  return start([join(fixtures, fixture), ...nfArgs, '-m', name], env);
}

/** Runs `gnet args...` to completion. */
export function gnet(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `gnet nfs --name NAME --json`, parsed (empty when the manager is gone). */
export function nfs(name: string): { slot: number; serviceId: number; instanceId: number; tag: string; pid: number; state: string; rx: number; tx: number }[] {
  const r = gnet(['nfs', '--name', name, '--json']);
  return r.code === 0 ? JSON.parse(r.out) : [];
}

/** What `gnet stats --json` prints (the `--stats=json` line format). */
export interface StatsJson {
  received: number;
  transmitted: number;
  dropped: number;
  inFlight: number;
  drops: Record<string, number>;
  nfs: { key: string; tag: string; state: string; rxPackets: number; txPackets: number; drops: Record<string, number>; meta?: Record<string, unknown> }[];
}

/** The final summary line of `gnet run` / `gnet manager`. */
export interface Summary {
  rx: number;
  tx: number;
  inFlight: number;
  drops: Record<string, number>;
  nfs: Record<string, { rx: number; tx: number; drops: Record<string, number>; counters: Record<string, number> }>;
}

/** `gnet stats --name NAME --json`, parsed (null when not available yet). */
export function stats(name: string): StatsJson | null {
  const r = gnet(['stats', '--name', name, '--json']);
  return r.code === 0 ? JSON.parse(r.out) : null;
}

/** Polls `cond` every 50 ms until it returns a truthy value (returned), or throws after `ms`. */
export async function waitFor<T>(what: string, cond: () => T | false | null | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills every child still running and unlinks every region named by {@link uniqueName}. */
export function cleanup(): void {
  for (const c of live.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const n of names.splice(0)) {
    try {
      unlinkSharedRegion(`gnet-${n}`);
    } catch {
      // Already gone.
    }
  }
}

/** The summary line (last stdout line) of a finished manager. */
export function summary(p: Proc): Summary {
  const lines = p.out().trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Packets dropped before the manager received them (at the NIC), which are not in its `rx`. */
export const PORT_ONLY_DROPS = ['rx_invalid', 'rx_no_buffer', 'rx_port_dropped'];

/** Sum of the summary's drops that count against its `rx`. */
export function managerDrops(s: Summary): number {
  return Object.entries(s.drops)
    .filter(([k]) => !PORT_ONLY_DROPS.includes(k))
    .reduce((a, [, v]) => a + v, 0);
}
