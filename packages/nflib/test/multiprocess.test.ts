import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { probeSharedMemory } from '@gnet/manager-native';
import { chainInput, readPcap, rewriterOutput, writePcap } from './pcap-util.js';
import { cleanup, gnet, managerDrops, nfs, start, startManager, startNf, stats, summary, uniqueName, waitFor, fixtures } from './mp-util.js';

const shm = probeSharedMemory();
if (!shm.available) console.log(`multi-process tests skipped: shared memory is unavailable (${shm.reason})`);

const dir = mkdtempSync(join(tmpdir(), 'gnet-mp-'));
afterEach(cleanup);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!shm.available)('gnet manager (multi-process mode)', () => {
  it('runs counter → rewriter as separate processes over pcap; output matches byte by byte; gnet nfs and gnet stats show them', async () => {
    const frames = chainInput();
    const inPath = join(dir, 'in.pcap');
    const outPath = join(dir, 'out.pcap');
    const counterOut = join(dir, 'counter.json');
    writePcap(inPath, frames);
    const name = uniqueName('chain');
    // Services by tag: the NFs give no -r, the chain names their tags.
    const mgr = startManager(name, ['--in', `pcap:${inPath}`, '--out', `pcap:${outPath}`, '--chain', 'counter,rewriter']);
    await waitFor('the manager to start', () => /waiting for NFs of services counter, rewriter/.test(mgr.err()));
    expect(existsSync(`/dev/shm/gnet-${name}`)).toBe(true);

    const counter = startNf('counter-nf.mjs', name, [], { GNET_TEST_COUNTER_OUT: counterOut });
    const joined = await waitFor('the counter to join', () => nfs(name).find((n) => n.tag === 'counter' && n.state === 'running'));
    expect(joined).toMatchObject({ slot: 0, serviceId: 0xff00, instanceId: 0, pid: counter.child.pid, rx: 0, tx: 0 });
    // The table form, and stats while the chain still waits for its second service.
    const table = gnet(['nfs', '--name', name]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/SLOT\s+SERVICE\s+INSTANCE\s+TAG\s+PID\s+STATE\s+RX\s+TX/);
    expect(table.out).toMatch(new RegExp(`0\\s+65280\\s+0\\s+counter\\s+${counter.child.pid}\\s+running\\s+0\\s+0`));
    // Stats are published once a second: wait for one that has the counter in it.
    const before = await waitFor('stats with the counter and what it published', () => {
      const st = stats(name);
      return st?.nfs.length === 1 && st.nfs[0].meta && st;
    });
    expect(before).toMatchObject({ received: 0, transmitted: 0, inFlight: 0 });
    expect(before.nfs).toEqual([expect.objectContaining({ tag: 'counter', key: '65280/0', state: 'running' })]);
    // ctx.publish travels through the NF's outbox to the manager.
    expect(before.nfs[0].meta).toEqual({ fixture: { counts: ['packets', 'bytes', 'ipv4'] } });

    const rewriter = startNf('rewriter-nf.mjs', name, []);
    const done = await mgr.exited;
    expect(done.code, mgr.err()).toBe(0);
    const s = summary(mgr);
    const expected = rewriterOutput(frames);
    const out = readPcap(outPath);
    expect(out.length).toBe(expected.length);
    for (let i = 0; i < out.length; i++) expect(out[i].bytes).toEqual(expected[i]);
    expect(s).toMatchObject({ rx: 2000, tx: expected.length, inFlight: 0, drops: { nf: frames.length - expected.length } });
    expect(s.rx).toBe(s.tx + managerDrops(s));
    expect(s.nfs.counter).toMatchObject({ rx: 2000, tx: 2000 });
    expect(s.nfs.counter.counters.packets).toBe(2000);
    expect(s.nfs.rewriter).toMatchObject({ rx: 2000, tx: 2000 });
    // The manager stopped its NFs: they left cleanly (the counter wrote its count after run() returned).
    expect((await counter.exited).code, counter.err()).toBe(0);
    expect((await rewriter.exited).code, rewriter.err()).toBe(0);
    expect(JSON.parse(readFileSync(counterOut, 'utf8')).packets).toBe(2000);
    expect(mgr.err()).toMatch(/NF counter \(65280\/0, pid \d+\) left/);
    expect(mgr.err()).toMatch(/NF rewriter \(65281\/0, pid \d+\) left/);
    expect(existsSync(`/dev/shm/gnet-${name}`)).toBe(false);
  });

  it('lets NFs join and leave at any time: SIGTERM stops an NF cleanly, its slot is reused, messages pass between NF processes', async () => {
    const name = uniqueName('live');
    const msgs = join(dir, 'msgs.jsonl');
    // A live input (never exhausted): the manager runs until SIGINT.
    const mgr = startManager(name, ['--in', 'gen:size=64,flows=16,rate=20000pps', '--out', 'null', '--chain', '1,2', '--slots', '4']);
    await waitFor('the manager to start', () => /waiting for NFs/.test(mgr.err()));
    // The manager can also be named by GNET_MANAGER instead of -m.
    const receiver = start([join(fixtures, 'msg-nf.mjs'), '-r', '2'], { GNET_MANAGER: name, GNET_TEST_MSG_OUT: msgs, GNET_TEST_MSG_TAG: 'receiver' });
    await waitFor('the receiver to join', () => nfs(name).some((n) => n.tag === 'receiver' && n.state === 'running'));
    const sender = startNf('msg-nf.mjs', name, ['-r', '1'], { GNET_TEST_MSG_TO: '2', GNET_TEST_MSG_TAG: 'sender' });
    await waitFor('traffic through both', () => (stats(name)?.transmitted ?? 0) > 2000);
    const lines = await waitFor('the message', () => existsSync(msgs) && readFileSync(msgs, 'utf8').trim().split('\n'));
    expect(JSON.parse(lines[0])).toEqual({ from: 1, at: '2/0', hello: 'sender', list: [1, 2, 3], isDate: true });

    const senderSlot = nfs(name).find((n) => n.tag === 'sender')!.slot;
    sender.child.kill('SIGTERM');
    expect((await sender.exited).code, sender.err()).toBe(0);
    await waitFor('the sender to be gone from gnet nfs', () => !nfs(name).some((n) => n.tag === 'sender'));
    await waitFor('the manager to log the leave', () => /NF sender \(1\/0, pid \d+\) left/.test(mgr.err()));
    // A new instance of service 1 takes the free slot and the free instance id.
    const again = startNf('msg-nf.mjs', name, ['-r', '1'], { GNET_TEST_MSG_TAG: 'sender2' });
    const back = await waitFor('the new sender', () => nfs(name).find((n) => n.tag === 'sender2' && n.state === 'running'));
    expect(back).toMatchObject({ slot: senderSlot, serviceId: 1, instanceId: 0, pid: again.child.pid });
    const tx = stats(name)!.transmitted;
    await waitFor('traffic to resume', () => stats(name)!.transmitted > tx + 1000);

    mgr.child.kill('SIGINT');
    const done = await mgr.exited;
    expect(done.code, mgr.err()).toBe(0);
    const s = summary(mgr);
    expect(s.rx).toBe(s.tx + managerDrops(s) + s.inFlight);
    expect(s.nfs.sender.rx).toBeGreaterThan(0);
    expect(s.nfs.sender2.rx).toBeGreaterThan(0);
    expect((await receiver.exited).code, receiver.err()).toBe(0);
    expect((await again.exited).code, again.err()).toBe(0);
    expect(existsSync(`/dev/shm/gnet-${name}`)).toBe(false);
  });

  it('says how to start a manager when there is none, refuses duplicate names, replaces a stale region, and checks usage', async () => {
    const name = uniqueName('cli');
    for (const cmd of ['nfs', 'stats']) {
      const r = gnet([cmd, '--name', name]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`no gnet manager named "${name}" is running .* Start one: gnet manager --name ${name} --in <port>`));
    }
    const orphan = start([join(fixtures, 'counter-nf.mjs'), '-r', '1', '-m', name]);
    expect((await orphan.exited).code).not.toBe(0);
    expect(orphan.err()).toMatch(/Start one: gnet manager --name/);

    for (const cmd of ['manager', 'nfs', 'stats']) {
      const h = gnet([cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.out).toMatch(new RegExp(`^Usage: gnet ${cmd} --name NAME`));
    }
    expect(gnet(['help', 'manager']).out).toMatch(/^Usage: gnet manager/);
    let r = gnet(['manager', '--in', 'mem', '--out', 'mem']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--name NAME is required/);
    r = gnet(['manager', '--name', 'a/b', '--in', 'mem', '--out', 'mem']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/manager name must be/);
    r = gnet(['manager', '--name', name, '--in', 'mem', '--out', 'mem', '--chain', '1@jump']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"jump" is not an action/);
    r = gnet(['nfs', '--name', name, '--bogus']);
    expect(r.code).toBe(2);
    const cfg = join(dir, 'bad.json');
    require('node:fs').writeFileSync(cfg, '{"counter": [1,}');
    r = gnet(['manager', '--name', name, '--in', 'mem', '--out', 'mem', '--config', cfg]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/bad\.json:1:\d+: /);

    const first = startManager(name, ['--in', 'mem', '--out', 'mem']);
    await waitFor('the manager to start', () => /a wire/.test(first.err()));
    r = gnet(['manager', '--name', name, '--in', 'mem', '--out', 'mem']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`gnet manager "${name}" is already running \\(pid ${first.child.pid}\\)`));
    // Killed without a chance to clean up, it leaves its region behind...
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(`/dev/shm/gnet-${name}`)).toBe(true);
    r = gnet(['nfs', '--name', name]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`left by pid ${first.child.pid}, which is gone`));
    // ...which the next manager of that name replaces.
    const second = startManager(name, ['--in', 'mem', '--out', 'mem']);
    await waitFor('the second manager to start', () => /a wire/.test(second.err()));
    expect(gnet(['nfs', '--name', name]).out).toMatch(/no NFs joined to manager/);
    second.child.kill('SIGTERM');
    expect((await second.exited).code, second.err()).toBe(0);
    expect(existsSync(`/dev/shm/gnet-${name}`)).toBe(false);
  });

  it('refuses an NF whose service the chain does not name and that gives no -r, and a taken -n', async () => {
    const name = uniqueName('refuse');
    const mgr = startManager(name, ['--in', 'mem', '--out', 'mem', '--chain', 'counter']);
    await waitFor('the manager to start', () => /waiting for NFs/.test(mgr.err()));
    const stray = startNf('rewriter-nf.mjs', name, []);
    expect((await stray.exited).code).not.toBe(0);
    expect(stray.err()).toMatch(new RegExp(`gnet manager "${name}" refused NF rewriter: it gives no service id \\(-r N\\)`));
    const one = startNf('slow-nf.mjs', name, ['-r', '7', '-n', '3']);
    await waitFor('instance 3 to join', () => nfs(name).some((n) => n.instanceId === 3 && n.state === 'running'));
    const two = startNf('slow-nf.mjs', name, ['-r', '7', '-n', '3']);
    expect((await two.exited).code).not.toBe(0);
    expect(two.err()).toMatch(/instance 3 of service 7 is taken/);
    expect(nfs(name)).toHaveLength(1);
    one.child.kill('SIGINT');
    expect((await one.exited).code).toBe(0);
    mgr.child.kill('SIGTERM');
    expect((await mgr.exited).code).toBe(0);
  });
});
