import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classify, Counter } from '../src/index.js';
import { arpFrame, framesAt, readPcap, runGnet, udpFrame, writePcap } from './util.js';

const dir = mkdtempSync(join(tmpdir(), 'gnet-nf-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('classify', () => {
  it('tells IPv4, other frames and runts apart', () => {
    expect(classify(udpFrame(1, 64), 0, 60)).toBe(Counter.IPV4);
    expect(classify(arpFrame(), 0, 60)).toBe(Counter.OTHER);
    expect(classify(new Uint8Array(10), 0, 10)).toBe(Counter.RUNT);
  });
});

describe('the NF through gnet run', () => {
  it('passes IPv4 and other frames unchanged and counts each kind', () => {
    const frames = [udpFrame(1, 64), arpFrame(), udpFrame(2, 3)];
    writePcap(join(dir, 'in.pcap'), framesAt(frames));
    const r = runGnet(['run', '--chain', join(__dirname, '..', 'dist', 'nf.js'), '--in', `pcap:${join(dir, 'in.pcap')}`, '--out', `pcap:${join(dir, 'out.pcap')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(readPcap(join(dir, 'out.pcap')).map((f) => f.bytes)).toEqual(frames);
    expect(r.summary).toMatchObject({ rx: 3, tx: 3, nfs: { empty: { counters: { ipv4: 2, other: 1, runt: 0 } } } });
  });
});
