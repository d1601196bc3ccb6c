import { afterEach, describe, expect, it } from 'vitest';
import { probeSharedMemory } from '@gnet/manager-native';
import { cleanup, managerDrops, nfs, startManager, startNf, stats, summary, uniqueName, waitFor, type StatsJson } from './mp-util.js';

const shm = probeSharedMemory();
if (!shm.available) console.log(`multi-process fault tests skipped: shared memory is unavailable (${shm.reason})`);

afterEach(cleanup);

/** Checks `received = transmitted + dropped + inFlight`, and that `dropped` is the sum of the reasons. */
function checkIdentity(s: StatsJson): void {
  expect(s.received).toBe(s.transmitted + s.dropped + s.inFlight);
  expect(s.dropped).toBe(Object.values(s.drops).reduce((a, b) => a + b, 0));
}

describe.skipIf(!shm.available)('gnet manager under NF faults', () => {
  it('kill -9 of one of two instances under traffic: forwarding goes on through the other, nf_dead is counted, the identity holds, a restart takes the slot', async () => {
    const name = uniqueName('kill');
    // ~7 s of generated traffic at 20k pps over 64 flows, spread over two instances of service 1 (long
    // enough for the kill, the reclaim and a restart even on a loaded machine).
    const mgr = startManager(name, ['--in', 'gen:count=140000,size=64,flows=64,rate=20000pps', '--out', 'null', '--chain', '1', '--slots', '4']);
    await waitFor('the manager to start', () => /waiting for NFs/.test(mgr.err()));
    // The victim spends 5 ms on every batch: it always holds packets, in its hands and in its ring.
    const victim = startNf('slow-nf.mjs', name, ['-r', '1', '-n', '0'], { GNET_TEST_BATCH_DELAY_US: '5000' });
    const survivor = startNf('slow-nf.mjs', name, ['-r', '1', '-n', '1']);
    await waitFor('both instances to run', () => nfs(name).filter((n) => n.state === 'running').length === 2);
    const loaded = await waitFor('traffic through both instances', () => {
      const list = nfs(name);
      return list.length === 2 && list.every((n) => n.rx > 500) && list;
    });
    const victimSlot = loaded.find((n) => n.pid === victim.child.pid)!.slot;

    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    await waitFor('the manager to reclaim the victim', () => /NF slow \(1\/0\) pid \d+ is gone; its in-flight packets were dropped \(nf_dead\)/.test(mgr.err()));
    expect(nfs(name).map((n) => n.pid)).toEqual([survivor.child.pid]);

    // Forwarding goes on through the survivor; every published snapshot satisfies the identity.
    const first = await waitFor('stats after the kill', () => {
      const s = stats(name);
      return s && (s.drops.nf_dead ?? 0) > 0 && s;
    });
    checkIdentity(first);
    const later = await waitFor('more traffic after the kill', () => {
      const s = stats(name);
      return s && s.transmitted > first.transmitted + 5000 && s;
    });
    checkIdentity(later);
    expect(later.nfs.find((n) => n.key === '1/1' && n.state === 'running')!.rxPackets).toBeGreaterThan(0);

    // A restarted instance takes the freed slot and instance id, and gets traffic.
    const restarted = startNf('slow-nf.mjs', name, ['-r', '1']);
    const back = await waitFor('the restarted instance to get traffic', () => nfs(name).find((n) => n.pid === restarted.child.pid && n.rx > 0));
    expect(back).toMatchObject({ slot: victimSlot, serviceId: 1, instanceId: 0, state: 'running' });

    const done = await mgr.exited;
    expect(done.code, mgr.err()).toBe(0);
    const s = summary(mgr);
    expect(s.inFlight).toBe(0);
    expect(s.drops.nf_dead).toBeGreaterThan(0);
    expect(s.rx).toBe(s.tx + managerDrops(s));
    expect(s.tx).toBeGreaterThanOrEqual(later.transmitted);
    // All three instances (the dead one's final counters included) are in the summary under their tag.
    expect(s.nfs.slow.rx).toBeGreaterThan(s.tx);
    expect((await survivor.exited).code, survivor.err()).toBe(0);
    expect((await restarted.exited).code, restarted.err()).toBe(0);
  });

  it('kills an NF whose heartbeat stops (hung handler) and reclaims its packets', async () => {
    const name = uniqueName('hang');
    const mgr = startManager(name, ['--in', 'gen:size=64,flows=8,rate=5000pps', '--out', 'null', '--chain', '1', '--nf-timeout', '500']);
    await waitFor('the manager to start', () => /waiting for NFs/.test(mgr.err()));
    // A 60 s "batch": the NF hangs holding its packets.
    const hung = startNf('slow-nf.mjs', name, ['-r', '1'], { GNET_TEST_BATCH_DELAY_US: '60000000' });
    const exit = await hung.exited;
    expect(exit.signal).toBe('SIGKILL');
    await waitFor('the reclaim', () => /no heartbeat for 500 ms: killed \(SIGKILL\); its in-flight packets were dropped \(nf_dead\)/.test(mgr.err()));
    const s = await waitFor('stats with nf_dead', () => {
      const st = stats(name);
      return st && (st.drops.nf_dead ?? 0) > 0 && st;
    });
    checkIdentity(s);
    mgr.child.kill('SIGINT');
    expect((await mgr.exited).code).toBe(0);
    const sum = summary(mgr);
    expect(sum.rx).toBe(sum.tx + managerDrops(sum) + sum.inFlight);
  });

  it('NFs stop by themselves when their manager is killed, and the next manager of that name starts over', async () => {
    const name = uniqueName('orphan');
    const mgr = startManager(name, ['--in', 'gen:size=64,flows=8,rate=5000pps', '--out', 'null', '--chain', '1']);
    await waitFor('the manager to start', () => /waiting for NFs/.test(mgr.err()));
    const nf = startNf('slow-nf.mjs', name, ['-r', '1']);
    await waitFor('traffic', () => nfs(name).some((n) => n.rx > 100));
    mgr.child.kill('SIGKILL');
    const exit = await nf.exited;
    expect(exit.code, nf.err()).toBe(0);
    expect(nf.err()).toMatch(new RegExp(`gnet: NF slow stopped: its manager "${name}" \\(pid ${mgr.child.pid}\\) is gone`));
    const next = startManager(name, ['--in', 'mem', '--out', 'mem']);
    await waitFor('the next manager', () => /a wire/.test(next.err()));
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  });
});
