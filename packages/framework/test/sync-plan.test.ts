import { describe, expect, it } from 'vitest';
import { computeSyncPlan, type NfAccess } from '../src/index.js';

// Fields and their bytes per packet (payload: a 512 B packet's).
const sizes = { 'ip.hdr': 20, 'ip.dst': 4, 'tuple': 13, 'payload': 478, 'eth': 14, 'meta.action': 1, 'meta.nexthop': 2 };
const firewall: NfAccess = { name: 'firewall', gpuReads: ['tuple'], gpuWrites: ['meta.action'], postReads: ['meta.action'] };
const nids: NfAccess = { name: 'nids', gpuReads: ['payload'], gpuWrites: ['meta.action'], postReads: ['meta.action'] };
const ipsec: NfAccess = { name: 'ipsec', preWrites: ['ip.hdr'], gpuReads: ['ip.hdr', 'payload'], gpuWrites: ['payload'] };
const router: NfAccess = { name: 'router', gpuReads: ['ip.dst'], gpuWrites: ['meta.nexthop'], postReads: ['meta.nexthop'], postWrites: ['eth'] };

describe('data-sync plan', () => {
  it('a lone NF copies its GPU reads in and what the host needs back', () => {
    const p = computeSyncPlan([router], sizes);
    expect(p.nfs).toEqual([{ name: 'router', htod: ['ip.dst'], dtoh: ['meta.nexthop'] }]);
    expect(p.bytesPerPacket).toBe(6);
  });

  it('firewall → NIDS → IPsec → router: the payload crosses once each way, clean fields are not re-sent', () => {
    const p = computeSyncPlan([firewall, nids, ipsec, router], sizes);
    expect(p.nfs).toEqual([
      { name: 'firewall', htod: ['tuple'], dtoh: ['meta.action'] },
      { name: 'nids', htod: ['payload'], dtoh: ['meta.action'] },
      // ip.hdr was rewritten on the CPU (outer header), so it goes again; the payload is still on the GPU.
      // The encrypted payload is needed only for transmission: it comes back once, right after the
      // kernel that wrote it (while IPsec's stream still owns the batch), and never again.
      { name: 'ipsec', htod: ['ip.hdr'], dtoh: ['payload'] },
      { name: 'router', htod: ['ip.dst'], dtoh: ['meta.nexthop'] },
    ]);
    expect(p.bytesPerPacket).toBe(13 + 1 + 478 + 1 + 20 + 4 + 2 + 478);
    expect(p.naiveBytesPerPacket).toBe(13 + 1 + 478 + 1 + 20 + 478 + 478 + 4 + 2);
    expect(p.bytesPerPacket).toBeLessThan(p.naiveBytesPerPacket);
  });

  it('a field the GPU overwrites before any host read never comes back early', () => {
    const a: NfAccess = { name: 'a', gpuReads: ['payload'], gpuWrites: ['payload'] };
    const b: NfAccess = { name: 'b', gpuWrites: ['payload'] };
    const p = computeSyncPlan([a, b], sizes, ['payload']);
    expect(p.nfs).toEqual([
      { name: 'a', htod: ['payload'], dtoh: [] },
      { name: 'b', htod: [], dtoh: ['payload'] },
    ]);
  });

  it('a host write between two GPU reads forces a fresh copy', () => {
    const a: NfAccess = { name: 'a', gpuReads: ['ip.dst'] };
    const b: NfAccess = { name: 'b', preWrites: ['ip.dst'], gpuReads: ['ip.dst'] };
    const c: NfAccess = { name: 'c', gpuReads: ['ip.dst'] };
    expect(computeSyncPlan([a, b, c], sizes).nfs.map((n) => n.htod)).toEqual([['ip.dst'], ['ip.dst'], []]);
  });

  it('is recomputed when an NF leaves: without IPsec the payload stays clean on the host', () => {
    const p = computeSyncPlan([firewall, nids, router], sizes);
    expect(p.nfs.flatMap((n) => n.dtoh)).not.toContain('payload');
  });
});
