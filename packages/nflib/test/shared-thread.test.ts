// NFs sharing one worker_thread (`thread` in the NF spec, `--chain a+b` on the command line): the
// same packets, order and accounting as a thread per NF, one thread for all of them, pipelined and
// plain loops side by side, messages to the right NF, and failures that stay contained.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Manager, type NfSpec } from '../src/index.js';
import { chainInput, ipv4Frame, readPcap, rewriterOutput, writePcap } from './pcap-util.js';

const fixtures = join(__dirname, 'fixtures');
const turn = join(fixtures, 'turn-nf.mjs');
const cli = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'gnet-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** UDP packets of 16 flows with an 8-byte payload of zeros. */
function udpInput(n: number, name: string): string {
  const frames = Array.from({ length: n }, (_, i) => ({ sec: 1, usec: i, bytes: ipv4Frame({ src: 0x0a000000 + (i % 16), sport: 1000 + (i % 16), payload: new Uint8Array(8) }) }));
  const path = join(dir, name);
  writePcap(path, frames);
  return path;
}

function turnNf(index: number, extra: Record<string, unknown> = {}, thread: string | null = 'shared'): NfSpec {
  return { tag: `turn${index}`, module: turn, serviceId: index + 1, config: { index, ...extra }, ...(thread ? { thread } : {}) };
}

describe('NFs sharing a worker thread', () => {
  it('runs a chain in one thread: every NF sees every packet in chain order, plain and pipelined loops alike', async () => {
    const input = udpInput(3000, 'turns.pcap');
    const out = join(dir, 'turns-out.pcap');
    const m = await Manager.create({
      ports: [
        { spec: `pcap:${input}`, role: 'rx' },
        { spec: `pcap:${out}`, role: 'tx' },
      ],
      // The same script for every NF: each must still be its own module instance.
      nfs: [turnNf(0), turnNf(1, { pipelined: true }), turnNf(2), turnNf(3, {}, null)],
      burst: 64,
    });
    await m.run({ untilDrained: true });
    const snap = m.snapshot();
    await m.close();
    expect(m.accounting()).toMatchObject({ received: 3000, transmitted: 3000, dropped: 0, inFlight: 0 });
    const nfs = Object.fromEntries(snap.nfs.map((n) => [n.tag, n]));
    for (const tag of ['turn0', 'turn1', 'turn2', 'turn3']) {
      expect(nfs[tag]).toMatchObject({ rxPackets: 3000, txPackets: 3000, counters: { order_errors: 0, messages: 0 } });
    }
    // Three in one thread, the fourth in a thread of its own.
    const thread = (tag: string) => nfs[tag].meta?.thread as number;
    expect(thread('turn1')).toBe(thread('turn0'));
    expect(thread('turn2')).toBe(thread('turn0'));
    expect(thread('turn3')).not.toBe(thread('turn0'));
    expect(nfs.turn0.meta?.burst).toBe(64); // asked for: the shared-thread default does not apply
    const frames = readPcap(out);
    expect(frames.length).toBe(3000);
    for (const f of frames) expect([...f.bytes.subarray(44, 48)]).toEqual([0xa0, 0xa1, 0xa2, 0xa3]);
  });

  it('batches of 1024 by default when NFs share a thread (a hop costs a ring round trip per batch), 256 otherwise', async () => {
    for (const [nfs, burst] of [
      [[turnNf(0), turnNf(1)], 1024],
      [[turnNf(0, {}, null), turnNf(1, {}, null)], 256],
      [[turnNf(0, {}, 'a'), turnNf(1, {}, 'b')], 256],
    ] as const) {
      const m = await Manager.create({ ports: [{ spec: 'gen:count=3000,size=64', role: 'rx' }, { spec: 'null', role: 'tx' }], nfs: [...nfs] });
      await m.run({ untilDrained: true });
      const snap = m.snapshot();
      await m.close();
      expect(m.accounting()).toMatchObject({ received: 3000, transmitted: 3000, inFlight: 0 });
      for (const n of snap.nfs) expect(n.meta?.burst, n.tag).toBe(burst);
    }
  });

  it('delivers a message to the NF it is for, not to its thread mates', async () => {
    const m = await Manager.create({
      ports: [
        { spec: 'gen:count=2000,flows=8', role: 'rx' },
        { spec: 'null', role: 'tx' },
      ],
      nfs: [turnNf(0, { sendTo: 3 }), turnNf(1), turnNf(2)],
    });
    await m.run({ untilDrained: true });
    const deadline = Date.now() + 5000;
    const messages = (tag: string) => m.snapshot().nfs.find((n) => n.tag === tag)?.counters.messages;
    while (messages('turn2') !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect([messages('turn0'), messages('turn1'), messages('turn2')]).toEqual([0, 0, 1]);
    await m.close();
  });

  it('ends the thread when the manager closes (the thread exits by itself, not by a forced terminate)', async () => {
    const m = await Manager.create({
      ports: [
        { spec: 'gen:count=500', role: 'rx' },
        { spec: 'null', role: 'tx' },
      ],
      nfs: [turnNf(0), turnNf(1, { pipelined: true })],
    });
    const [a, b] = (m as unknown as { instances: { worker: import('node:worker_threads').Worker }[] }).instances;
    expect(a.worker).toBe(b.worker);
    const exit = new Promise<number>((r) => a.worker.once('exit', r));
    await m.run({ untilDrained: true });
    await m.close();
    // A thread the manager had to terminate (after 2 s) would exit with code 1.
    expect(await exit).toBe(0);
  });

  it('fails to start with the NF\'s own error (a ConfigError stays one) when one NF of the thread fails', async () => {
    const bad: NfSpec = { tag: 'bad', module: join(fixtures, 'bad-config-nf.mjs'), serviceId: 2, thread: 'shared' };
    const err = await Manager.create({
      ports: [
        { spec: 'gen:count=10', role: 'rx' },
        { spec: 'null', role: 'tx' },
      ],
      nfs: [turnNf(0), bad],
    }).then(
      async (m) => {
        await m.close();
        return m;
      },
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('ConfigError');
    expect((err as Error).message).toContain('bad.routes: must be an array');
  });

  it('gnet run --chain a+b: one thread, output byte for byte as with a thread each', () => {
    const frames = chainInput();
    writePcap(join(dir, 'in.pcap'), frames);
    const r = spawnSync(
      process.execPath,
      [cli, 'run', '--chain', `${join(fixtures, 'counter-nf.mjs')}+${join(fixtures, 'rewriter-nf.mjs')}`, '--in', `pcap:${join(dir, 'in.pcap')}`, '--out', `pcap:${join(dir, 'out.pcap')}`],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    const expected = rewriterOutput(frames);
    const out = readPcap(join(dir, 'out.pcap'));
    expect(out.map((f) => f.bytes)).toEqual(expected);
    expect(summary).toMatchObject({ rx: 2000, tx: expected.length, drops: { nf: 2000 - expected.length }, inFlight: 0 });
    expect(summary.nfs.counter).toMatchObject({ rx: 2000, tx: 2000, counters: { packets: 2000 } });
    expect(summary.nfs.rewriter).toMatchObject({ rx: 2000, tx: 2000 });
  });

  it('gnet run: a thread that dies takes its NFs off the data path, the manager keeps accounting; "a+" is a usage error', () => {
    const frames = chainInput();
    writePcap(join(dir, 'in-crash.pcap'), frames);
    const r = spawnSync(
      process.execPath,
      [cli, 'run', '--chain', `${join(fixtures, 'counter-nf.mjs')}+${join(fixtures, 'crash-nf.mjs')}`, '--in', `pcap:${join(dir, 'in-crash.pcap')}`, '--out', 'null'],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, GNET_TEST_CRASH_AFTER: '500' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/NF crasher \(2\/0\) exited with code 9/);
    expect(r.stderr).toMatch(/NF counter \(1\/0\) exited with code 9/);
    const s = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    const drops = Object.values(s.drops as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(s.rx).toBe(2000);
    expect(s.rx).toBe(s.tx + drops);
    expect((s.drops.no_instance ?? 0) + (s.drops.nf_dead ?? 0)).toBeGreaterThan(0);

    const bad = spawnSync(process.execPath, [cli, 'run', '--chain', `${join(fixtures, 'counter-nf.mjs')}+`, '--in', 'gen:count=1', '--out', 'null'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('has an empty NF around "+"');
  });
});
