// Device-resident packet fields (G-NET's data-sync plan, applied): rows uploaded once per packet and
// reused by later NFs of the chain, the epoch check against slot reuse, clearing by writers, the
// policy's masks from the chain's plan, and a chain of real NF workers on the emulated device.
import { afterAll, describe, expect, it } from 'vitest';
import { GpuDevice } from '@gnet/manager-native';
import { PacketBatch, PacketPool, type NfCounters, type StatsSnapshot } from '@gnet/nflib';
import { arpFrame, udpFrame } from '@gnet/nflib/testing';
import { createSchedulerPolicy, defineNf, overlappingFields, PACKET_FIELDS, ResidentFields, residentMasks } from '../src/index.js';
import { N, chain, fixture } from './resident-chain.js';

const device = GpuDevice.open({ mode: 'emulated' });
afterAll(() => device.close());

/** A pool with `n` allocated slots holding UDP frames to 192.168.0.i (frame 3 is ARP), as one batch. */
function batchOf(n: number) {
  const pool = PacketPool.create({ slotCount: 64, slotSize: 2048, batchCount: 1, batchCapacity: 1 });
  const slots = new Uint32Array(n);
  expect(pool.allocBurst(slots, n)).toBe(n);
  const batch = new PacketBatch(pool, 64);
  for (let i = 0; i < n; i++) {
    const f = i === 3 ? arpFrame() : udpFrame(i, 64);
    if (i !== 3) f.set([192, 168, 0, i], 30);
    const at = pool.slotOffset(slots[i]);
    pool.bytes.set(f, at);
    batch.offsets[i] = at;
    batch.lengths[i] = f.length;
    batch.slots[i] = slots[i];
  }
  batch.begin(n);
  return { pool, batch };
}

/** The rows of `column` for the batch's slots, `words` words each, as bytes. */
function rows(column: number, words: number, batch: PacketBatch, slotCount = 64): Uint8Array[] {
  const all = new Uint8Array(slotCount * words * 4);
  device.memcpyDtoH(all, 0, column, all.length);
  return Array.from(batch.slots.subarray(0, batch.count), (s) => all.slice(s * words * 4, (s + 1) * words * 4));
}

describe('ResidentFields', () => {
  it('uploads each packet\u2019s field once, to the row of its slot, and reuses it when allowed', () => {
    const { pool, batch } = batchOf(8);
    const stream = device.stream(9001);
    const a = new ResidentFields(device, pool, ['ip.dst', 'l4.ports'], [], [], {}, 64, 2);
    a.stage(batch, 0, stream, 0);
    stream.submitSync();
    expect(a.counts).toEqual({ hits: 0, bytes: 8 * 4 + 8 * 4 });
    const dst = rows(a.column('ip.dst'), 1, batch);
    for (let i = 0; i < 8; i++) expect([...dst[i]]).toEqual(i === 3 ? [0, 0, 0, 0] : [192, 168, 0, i]);
    const ports = rows(a.column('l4.ports'), 1, batch);
    expect([...ports[5]]).toEqual([(1005 >> 8) & 0xff, 1005 & 0xff, 0, 53]);
    // The batch's slots went to the device for the NF's kernel.
    const slots = new Uint32Array(8);
    device.memcpyDtoH(slots, 0, a.slots, 32);
    expect([...slots]).toEqual([...batch.slots.subarray(0, 8)]);

    // A second NF worker of the same process shares the columns: with its bit set, nothing crosses.
    const b = new ResidentFields(device, pool, ['ip.dst'], [], [], {}, 64, 2);
    expect(b.column('ip.dst')).toBe(a.column('ip.dst'));
    b.stage(batch, 1, stream, 1);
    stream.submitSync();
    expect(b.counts).toEqual({ hits: 8, bytes: 0 });
    // Its bit clear (the plan says a host stage may have rewritten it): uploaded again.
    b.stage(batch, 0, stream, 0);
    stream.submitSync();
    expect(b.counts).toEqual({ hits: 8, bytes: 32 });
  });

  it('never takes a row for a later packet in the same slot (the slot\u2019s epoch)', () => {
    const { pool, batch } = batchOf(4);
    const stream = device.stream(9002);
    const r = new ResidentFields(device, pool, ['ip.dst'], [], [], {}, 64, 1);
    r.stage(batch, 0, stream, 1);
    stream.submitSync();
    expect(r.counts.bytes).toBe(16);
    // Slot of packet 2 freed and given to a new packet (same slot: the free list hands it back).
    const s = batch.slots[2];
    pool.free(s);
    const again = new Uint32Array(64);
    const got = pool.allocBurst(again, 64);
    expect([...again.subarray(0, got)]).toContain(s);
    pool.bytes[pool.slotOffset(s) + 33] = 99;
    r.stage(batch, 0, stream, 1);
    stream.submitSync();
    expect(r.counts).toEqual({ hits: 3, bytes: 20 });
    expect([...rows(r.column('ip.dst'), 1, batch)[2]]).toEqual([192, 168, 0, 99]);
  });

  it('clears the rows of fields an NF writes, so the next reader uploads them again', () => {
    const { pool, batch } = batchOf(6);
    const stream = device.stream(9003);
    const reader = new ResidentFields(device, pool, ['ip.dst'], [], [], {}, 64, 1);
    reader.stage(batch, 0, stream, 1);
    stream.submitSync();
    // A device NF whose post stage rewrites ip.dst (a NAT's inbound side), and one whose pre does.
    const writer = new ResidentFields(device, pool, ['l4.ports'], ['ip.dst'], [], {}, 64, 1);
    writer.invalidate(batch, 'pre');
    reader.stage(batch, 0, stream, 1);
    expect(reader.counts).toEqual({ hits: 6, bytes: 24 });
    writer.invalidate(batch, 'after');
    reader.stage(batch, 0, stream, 1);
    stream.submitSync();
    expect(reader.counts).toEqual({ hits: 6, bytes: 48 });
    const preWriter = new ResidentFields(device, pool, ['l4.ports'], [], ['ip.dst'], {}, 64, 1);
    preWriter.invalidate(batch, 'pre');
    reader.stage(batch, 0, stream, 1);
    stream.submitSync();
    expect(reader.counts.bytes).toBe(72);
    // A write inside a wider field clears the wider one: the TTL is part of the IPv4 header.
    const header = new ResidentFields(device, pool, ['ip.header'], [], [], {}, 64, 1);
    header.stage(batch, 0, stream, 1);
    header.stage(batch, 0, stream, 1);
    expect(header.counts).toEqual({ hits: 6, bytes: 120 });
    new ResidentFields(device, pool, ['l4.ports'], ['ip.ttl'], [], {}, 64, 1).invalidate(batch, 'after');
    header.stage(batch, 0, stream, 1);
    stream.submitSync();
    expect(header.counts).toEqual({ hits: 6, bytes: 240 });
  });

  it('knows which fields overlap', () => {
    expect(overlappingFields('ip.ttl').sort()).toEqual(['ip.header', 'ip.ttl']);
    expect(overlappingFields('ip.dst').sort()).toEqual(['ip.addrs', 'ip.dst', 'ip.header']);
    expect(overlappingFields('l4.ports').sort()).toEqual(['l4.header', 'l4.ports']);
    expect(overlappingFields('eth.dst')).toEqual(['eth.dst']);
    expect(overlappingFields('acl.key')).toEqual(['acl.key']);
    // Without a layout, by name: the NAT's `ip` and `l4`, IPsec's `esp`.
    expect(overlappingFields('ip')).toEqual(expect.arrayContaining(['ip', 'ip.dst', 'ip.header', 'ip.ttl']));
    expect(overlappingFields('ip')).not.toContain('l4.ports');
    expect(overlappingFields('l4')).toEqual(['l4', 'l4.ports', 'l4.header']);
    expect(overlappingFields('esp')).toEqual(expect.arrayContaining(['esp', 'ip.dst', 'l4.ports']));
    expect(overlappingFields('ip.ttl', { 'ip.ttlproto': { bytes: 2, base: 'l3', offset: 8 } }).sort()).toEqual(['ip.header', 'ip.ttl', 'ip.ttlproto']);
  });

  it('gathers custom layouts, pads rows to words, and refuses unknown fields', () => {
    const { pool, batch } = batchOf(4);
    const stream = device.stream(9004);
    const r = new ResidentFields(device, pool, ['ip.ttl', 'udp.len'], [], [], { 'udp.len': { bytes: 2, base: 'l4', offset: 4 } }, 64, 1);
    r.stage(batch, 0, stream, 0);
    stream.submitSync();
    expect(r.stride('ip.ttl')).toBe(1);
    expect([...rows(r.column('ip.ttl'), 1, batch)[0]]).toEqual([64, 0, 0, 0]);
    expect([...rows(r.column('udp.len'), 1, batch)[1]]).toEqual([0, 26, 0, 0]);
    expect(() => r.column('ip.dst')).toThrow(/not one of this NF's resident fields/);
    expect(() => new ResidentFields(device, pool, ['tcp.flags'], [], [], {}, 64, 1)).toThrow(/not a known packet field/);
    expect(Object.keys(PACKET_FIELDS)).toContain('ip.dst');
  });

  it('defineNf checks resident fields', () => {
    const base = { name: 'x', kernel: { module: 'k.ptx', entry: 'k' }, setArg: () => ({ grid: 1, block: 1 }) };
    expect(() => defineNf({ ...base, residentFields: ['ip.dst', 'ip.dst'] })).toThrow(/twice/);
    expect(() => defineNf({ ...base, residentFields: ['nope'] })).toThrow(/not a known packet field/);
    expect(() => defineNf({ name: 'y', cpu() {}, residentFields: ['ip.dst'] })).toThrow(/need a kernel/);
  });
});

describe('residentMasks (from the chain\u2019s data-sync plan)', () => {
  const dev = (key: string, sid: number, resident: string[], access: object = {}, mode = 'emulated'): NfCounters => ({
    key,
    tag: `nf${sid}`,
    serviceId: sid,
    instanceId: Number(key.split('/')[1]),
    rxPackets: 0,
    txPackets: 0,
    drops: {},
    rxRingOccupancy: 0,
    txRingOccupancy: 0,
    state: 'running',
    counters: { 'fw.batches': 0 },
    meta: { framework: { mode, access: { name: `nf${sid}`, gpuReads: resident, ...access }, fieldBytes: {}, resident } },
  });
  const plain = (key: string, sid: number): NfCounters => ({ ...dev(key, sid, []), meta: undefined });
  const snap = (nfs: NfCounters[], chains?: number[][]): StatsSnapshot => ({ time: 0, ports: [], nfs, drops: {}, inFlight: 0, ...(chains ? { chains } : {}) });

  it('lets an NF reuse what an earlier NF of every chain it is on uploaded', () => {
    const m = residentMasks(snap([dev('1/0', 1, ['ip.dst', 'l4.ports']), dev('2/0', 2, ['l4.ports', 'ip.dst', 'ip.src']), dev('2/1', 2, ['l4.ports', 'ip.dst', 'ip.src'])], [[1, 2]]));
    expect(m).toEqual({ '1/0': 0, '2/0': 0b011, '2/1': 0b011 });
  });

  it('withholds a field a host stage between them writes, or that an NF without read/write sets may', () => {
    const ttl = dev('3/0', 3, [], { postWrites: ['ip.ttl'] }, 'cpu');
    const dst = dev('3/0', 3, [], { preWrites: ['ip.dst'] }, 'cpu');
    const two = (mid: NfCounters) => residentMasks(snap([dev('1/0', 1, ['ip.dst']), mid, dev('2/0', 2, ['ip.dst'])], [[1, 3, 2]]))['2/0'];
    expect(two(ttl)).toBe(1);
    expect(two(dst)).toBe(0);
    expect(two(plain('3/0', 3))).toBe(0);
    // A service on a chain with no running instance counts as unknown too.
    expect(residentMasks(snap([dev('1/0', 1, ['ip.dst']), dev('2/0', 2, ['ip.dst'])], [[1, 4, 2]]))['2/0']).toBe(0);
    // A device NF's own post write of the field clears it for the NFs after it.
    // A write inside a wider field withholds the wider one (the router's TTL inside ip.header).
    const header = (mid: NfCounters) => residentMasks(snap([dev('1/0', 1, ['ip.header', 'ip.src']), mid, dev('2/0', 2, ['ip.header', 'ip.src'])], [[1, 3, 2]]))['2/0'];
    expect(header(ttl)).toBe(0b10);
    // The NAT's own write set (`ip`, `l4`): nothing of the IPv4 or transport header stays clean.
    const nat = dev('3/0', 3, [], { postWrites: ['eth', 'ip', 'l4', 'meta.action'] }, 'cpu');
    expect(header(nat)).toBe(0);
    const natIn = dev('3/0', 3, ['ip.dst'], { postWrites: ['ip.dst'] });
    expect(residentMasks(snap([dev('1/0', 1, ['ip.dst']), natIn, dev('2/0', 2, ['ip.dst'])], [[1, 3, 2]]))).toEqual({ '1/0': 0, '3/0': 1, '2/0': 0 });
  });

  it('needs every chain to agree, and follows the running services in id order without chains', () => {
    const nfs = [dev('1/0', 1, ['ip.dst']), dev('2/0', 2, ['ip.dst'])];
    expect(residentMasks(snap(nfs, [[1, 2], [2]]))['2/0']).toBe(0);
    expect(residentMasks(snap(nfs))['2/0']).toBe(1);
    expect(residentMasks(snap([plain('1/0', 1)]))).toEqual({});
  });

  it('reaches the instances through the scheduler policy\u2019s decision', () => {
    const d = createSchedulerPolicy().decide(snap([dev('1/0', 1, ['ip.dst']), dev('2/0', 2, ['ip.dst'])], [[1, 2]]), undefined)!;
    expect(d.instances).toEqual({ '1/0': { resident: 0 }, '2/0': { resident: 1 } });
    expect(d.info.resident).toEqual({ '1/0': 0, '2/0': 1 });
  });
});

describe('a chain of resident-field NFs on the emulated device', () => {
  const resident = fixture('resident-nf.mjs');
  const rewrite = fixture('rewrite-dst-nf.mjs');
  const readsDst = fixture('reads-dst-nf.mjs');

  it('the second NF reads the first one\u2019s upload: fewer bytes cross, the same values arrive', async () => {
    const [a, b] = await chain([
      { tag: 'a', module: resident, serviceId: 1 },
      { tag: 'b', module: resident, serviceId: 2 },
    ]);
    expect(a.counters).toMatchObject({ checked: N, mismatch: 0, 'fw.resident_hits': 0, 'fw.field_bytes': 4 * N });
    expect(b.counters).toMatchObject({ checked: N, mismatch: 0 });
    expect(b.counters['fw.resident_hits']).toBeGreaterThan(N / 2);
    expect(b.counters['fw.field_bytes'] + 4 * b.counters['fw.resident_hits']).toBe(4 * N);
    expect(b.residentMask).toBe(1);
  });

  it('with an NF between them that rewrites the address and declares nothing, the second uploads it again', async () => {
    const nfs = await chain([
      { tag: 'a', module: resident, serviceId: 1 },
      { tag: 'rewrite', module: rewrite, serviceId: 2 },
      { tag: 'b', module: resident, serviceId: 3 },
    ]);
    const b = nfs.find((n) => n.serviceId === 3)!;
    expect(b.counters).toMatchObject({ checked: N, mismatch: 0, 'fw.resident_hits': 0, 'fw.field_bytes': 4 * N });
    expect(b.residentMask).toBe(0);
  });

  it('allowed to reuse but with nothing uploaded for this packet (only rows of earlier packets in its slot), it uploads', async () => {
    // reads-dst reads ip.dst on the device without a resident copy: the plan lets b reuse, and the
    // manager recycles slots (a row b left for an earlier packet in the slot must not match).
    const [, b] = await chain([
      { tag: 'x', module: readsDst, serviceId: 1 },
      { tag: 'b', module: resident, serviceId: 2 },
    ]);
    expect(b.residentMask).toBe(1);
    expect(b.counters).toMatchObject({ checked: N, mismatch: 0, 'fw.resident_hits': 0, 'fw.field_bytes': 4 * N });
  });

});
