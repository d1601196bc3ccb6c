// nflib's runPipelined under gnet run, with batches that complete out of order (random times) and
// batches that fail: packets still leave in arrival order, failures are dropped and counted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPcap, udpFrame, writePcap, type Frame } from '../../nflib/test/pcap-util.js';

const cli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');
const fixture = join(__dirname, 'fixtures', 'pipe-nf.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gnet-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frames: Frame[] = [];
for (let i = 0; i < 5000; i++) frames.push({ sec: 1_700_000_000, usec: i, bytes: udpFrame(i, 64, 18 + (i % 50)) });
const inPath = join(dir, 'in.pcap');
writePcap(inPath, frames);

function gnet(name: string, section: object, burst: string) {
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ 'pipe-nf': section }));
  const out = join(dir, `${name}.pcap`);
  const r = spawnSync(process.execPath, [cli, 'run', '--chain', fixture, '--config', config, '--burst', burst, '--in', `pcap:${inPath}`, '--out', `pcap:${out}`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return { summary: JSON.parse(r.stdout.trim().split('\n').pop() as string), out: readPcap(out), stderr: r.stderr };
}

/** Index in `frames` of each output frame (its IP id), checking the bytes are unchanged. */
function positions(out: Frame[]): number[] {
  return out.map((f) => {
    const i = (f.bytes[18] << 8) | f.bytes[19];
    expect(f.bytes).toEqual(frames[i].bytes);
    return i;
  });
}

describe('runPipelined', () => {
  it('returns batches in arrival order when they complete out of order (depth 3 and 8)', () => {
    for (const depth of [3, 8]) {
      const r = gnet(`order-${depth}`, { pipelineDepth: depth }, '16');
      expect(r.summary).toMatchObject({ rx: 5000, tx: 5000, inFlight: 0, nfs: { pipe: { rx: 5000, tx: 5000 } } });
      expect(positions(r.out)).toEqual(frames.map((_, i) => i));
    }
  });

  it('drops and counts a batch whose start throws, keeps order for the rest and goes on', () => {
    const r = gnet('fail', { failEvery: 5 }, '16');
    const dropped = r.summary.drops.nf as number;
    expect(dropped).toBeGreaterThan(0);
    expect(r.summary).toMatchObject({ rx: 5000, tx: 5000 - dropped, inFlight: 0 });
    const pos = positions(r.out);
    expect(pos.length).toBe(5000 - dropped);
    for (let k = 1; k < pos.length; k++) expect(pos[k]).toBeGreaterThan(pos[k - 1]);
    expect(r.stderr).toContain('fails on purpose');
  });
});
