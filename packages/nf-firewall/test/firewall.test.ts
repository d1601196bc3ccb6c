// The firewall state without the manager: the reload path (message body or file), atomic swap,
// failed reloads keeping the old rules, and per-rule hits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PacketBatch } from '@gnet/nflib';
import { afterAll, describe, expect, it } from 'vitest';
import { COUNTER_NAMES, Firewall, readFirewallConfig } from '../src/index.js';
import { ip, ipv4Frame } from './frames.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-fw-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A batch over plain memory, shaped like nflib's PacketBatch. */
function batchOf(frames: Uint8Array[]): PacketBatch {
  const data = new Uint8Array(frames.length * 2048);
  const n = frames.length;
  const b = {
    count: n,
    data,
    view: new DataView(data.buffer),
    offsets: new Uint32Array(n),
    lengths: new Uint32Array(n),
    capacity: 2048,
    action: new Uint8Array(n).fill(1),
    destination: new Uint16Array(n),
    port: new Uint16Array(n),
    flowHash: new Uint32Array(n),
    slots: new Uint32Array(n),
  };
  frames.forEach((f, i) => {
    b.offsets[i] = i * 2048;
    b.lengths[i] = f.length;
    data.set(f, i * 2048);
  });
  return b as unknown as PacketBatch;
}

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
