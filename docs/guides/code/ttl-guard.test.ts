// ttl-guard.test.ts: runs my-nf.mjs through `gnet run` over a pcap and checks every output byte
// against the model, and the NF's counters in the summary line.
import { arpFrame, framesAt, readPcap, runGnet, udpFrame, writePcap } from '@gnet/nflib/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ttlGuardModel } from './ttl-guard-model.js';

it('drops expired packets and decrements the TTL of the others', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttl-guard-'));
  const frames = Array.from({ length: 1000 }, (_, i) => (i % 100 === 50 ? arpFrame() : udpFrame(i, 1 + (i % 8))));
  writePcap(join(dir, 'in.pcap'), framesAt(frames));
  const nf = process.env.TTL_GUARD_NF ?? 'my-nf.mjs';
  const r = runGnet(['run', '--chain', nf, '--in', `pcap:${join(dir, 'in.pcap')}`, '--out', `pcap:${join(dir, 'out.pcap')}`]);
  expect(r.code, r.stderr).toBe(0);
  const want = ttlGuardModel(frames);
  expect(readPcap(join(dir, 'out.pcap')).map((f) => f.bytes)).toEqual(want);
  expect(r.summary).toMatchObject({ rx: 1000, tx: want.length, nfs: { 'ttl-guard': { counters: { ttl_expired: 1000 - want.length, not_ipv4: 10 } } } });
});
