// The firewall state without the manager: the reload path (message body or file), atomic swap,
// failed reloads keeping the old rules, and per-rule hits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PacketBatch } from '@gnet/nflib';
import { batchOfFrames as batchOf } from '@gnet/nflib/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { COUNTER_NAMES, Firewall, readFirewallConfig } from '../src/index.js';
import { ip, ipv4Frame } from './frames.js';
import { generate } from './gen.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-fw-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const udp = (dport: number) => ipv4Frame({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), sport: 1234, dport, proto: 17 }, 1);

describe('Firewall', () => {
  it('reloads from a message body or the file, swapping the whole generation; a bad reload keeps the old rules', () => {
    const file = join(dir, 'a.rules');
    writeFileSync(file, 'accept proto udp dport 53\npolicy drop\n');
    const fw = new Firewall({ rulesFile: file, nonIpv4: 'accept', fragments: 'rules' });
    const c = (name: string) => fw.counters[COUNTER_NAMES.indexOf(name as (typeof COUNTER_NAMES)[number])];
    const b = batchOf([udp(53), udp(54)]);
    fw.process(b);
    expect([...b.action]).toEqual([1, 0]);
    const first = fw.gen;
    expect(fw.reload('drop dport 53\npolicy accept')).toBeNull();
    expect(fw.gen).not.toBe(first);
    const b2 = batchOf([udp(53), udp(54)]);
    fw.process(b2);
    expect([...b2.action]).toEqual([0, 1]);
    expect(c('reload')).toBe(1);
    const err = fw.reload('drop dport 99999');
    expect(err?.message).toContain('<reload message>:1: dport:');
    expect(c('reload_failed')).toBe(1);
    writeFileSync(file, 'out:3 dport 54\n');
    expect(fw.reload()).toBeNull();
    const b3 = batchOf([udp(53), udp(54)]);
    fw.process(b3);
    expect([...b3.action]).toEqual([0, 3]);
    expect(b3.destination[1]).toBe(3);
    expect(fw.hitsReport()).toEqual({ rules: 1, generation: 2, hits: [{ rule: 1, line: 1, hits: 1 }], defaultHits: 1 });
  });

  it('reads its config section with positions for errors', () => {
    const cfgPath = join(dir, 'c.json');
    writeFileSync(cfgPath, '{"firewall": {"rules": ["accept"], "watch": true}}');
    expect(() => readFirewallConfig({ rules: ['accept'], watch: true }, cfgPath)).toThrow(`${cfgPath}:1:45: firewall.watch: needs "rulesFile"`);
    expect(() => readFirewallConfig({}, '')).toThrow(/needs "rulesFile"/);
    expect(readFirewallConfig({ rules: ['accept'] }, '')).toMatchObject({ fragments: 'rules', nonIpv4: 'accept', watch: false });
  });
});

describe('Firewall.reloadInBackground', () => {
  /** A generated 10K-rule set whose every rule sends out of its own port `base + index` (so the port names rule and generation). */
  function rulesWithPorts(seed: number, base: number, policy: string): { text: string; trace: string[] } {
    const g = generate(seed, 10_000, 1500);
    const lines = g.rulesText.trimEnd().split('\n');
    return { text: lines.map((l, i) => `${l.trimEnd()}\tout:${base + i}`).join('\n') + `\npolicy ${policy}\n`, trace: g.trace };
  }

  it('builds a 10K-rule set in a worker while batches keep flowing, then swaps: each batch wholly old or wholly new', async () => {
    const a = rulesWithPorts(21, 1, 'drop');
    const b = rulesWithPorts(22, 20_001, 'accept');
    const fw = new Firewall({ rules: a.text.split('\n'), nonIpv4: 'accept', fragments: 'rules' });
    // Frames from both traces (ports only where the protocol has them, as the parser reads them).
    const frames = [...a.trace, ...b.trace].map((l, i) => {
      const [src, dst, sport, dport, proto] = l.split(/\s+/).map(Number);
      return ipv4Frame({ src, dst, sport, dport, proto }, i);
    });
    const BURST = 32;
    const batches: PacketBatch[] = [];
    for (let o = 0; o + BURST <= frames.length; o += BURST) batches.push(batchOf(frames.slice(o, o + BURST)));
    // Each batch's outcome (action << 16 | out port per packet) under the old and under the new rules.
    const outcome = (f: Firewall, bt: PacketBatch) => (f.process(bt), Int32Array.from(bt.action, (x, i) => (x << 16) | bt.destination[i]));
    const before = batches.map((bt) => outcome(fw, bt));
    const fwB = new Firewall({ rules: b.text.split('\n'), nonIpv4: 'accept', fragments: 'rules' });
    const after = batches.map((bt) => outcome(fwB, bt));
    // Old and new rules disagree on every batch (other out ports, other default).
    batches.forEach((_, j) => expect(after[j]).not.toEqual(before[j]));
    const OLD = 0;
    const NEW = 1;
    const MIXED = 2;
    const label = (bt: PacketBatch, j: number): number => {
      let old = 0;
      let nu = 0;
      for (let i = 0; i < BURST; i++) {
        const o = (bt.action[i] << 16) | bt.destination[i];
        if (o === before[j][i]) old++;
        if (o === after[j][i]) nu++;
      }
      return old === BURST ? OLD : nu === BURST ? NEW : MIXED;
    };

    let swapped = false;
    const done = fw.reloadInBackground(b.text).then((err) => ((swapped = true), err));
    const gens = new Uint8Array(1 << 20);
    let n = 0;
    let maxGapMs = 0;
    let last = performance.now();
    // Until the swap, then one more round of every batch.
    for (let end = Infinity; n < end && n < gens.length; n++) {
      if (swapped && end === Infinity) end = n + batches.length;
      const j = n % batches.length;
      fw.process(batches[j]);
      gens[n] = label(batches[j], j);
      // The NF's loop yields to its event loop between batches; that is where the swap lands.
      await new Promise((r) => setImmediate(r));
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }
    expect(await done).toBeNull();
    const seen = gens.subarray(0, n);
    expect(seen.includes(MIXED)).toBe(false);
    const firstNew = seen.indexOf(NEW);
    // Traffic kept flowing during the build: many batches went through on the old rules...
    expect(firstNew).toBeGreaterThan(20);
    // ...and after the one swap everything is new.
    expect(seen.subarray(firstNew).every((g) => g === NEW)).toBe(true);
    expect(fw.counters[COUNTER_NAMES.indexOf('reload')]).toBe(1);
    console.log(
      `reload of 10K rules: ${firstNew} batches of ${BURST} went through during the build (${fw.gen.classifier.buildMs.toFixed(0)} ms in the worker); longest gap between batches ${maxGapMs.toFixed(1)} ms (on a busy machine: scheduling)`,
    );
  });

  it('reads the rule file in the worker; a bad file keeps the old rules and counts reload_failed; reloads apply in order', async () => {
    const file = join(dir, 'bg.rules');
    writeFileSync(file, 'accept proto udp dport 53\npolicy drop\n');
    const fw = new Firewall({ rulesFile: file, nonIpv4: 'accept', fragments: 'rules' });
    const c = (name: string) => fw.counters[COUNTER_NAMES.indexOf(name as (typeof COUNTER_NAMES)[number])];
    writeFileSync(file, 'accept dport 99999\n');
    const bad = await fw.reloadInBackground();
    expect(bad?.message).toContain(`${file}:1: dport:`);
    expect(c('reload_failed')).toBe(1);
    const b = batchOf([udp(53), udp(54)]);
    fw.process(b);
    expect([...b.action]).toEqual([1, 0]);
    const first = fw.reloadInBackground('drop dport 53\npolicy accept');
    const second = fw.reloadInBackground('out:7 dport 54\npolicy drop');
    expect(await Promise.all([first, second])).toEqual([null, null]);
    const b2 = batchOf([udp(53), udp(54)]);
    fw.process(b2);
    expect([...b2.action]).toEqual([0, 3]);
    expect(b2.destination[1]).toBe(7);
    expect(c('reload')).toBe(2);
  });
});
