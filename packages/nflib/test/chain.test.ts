import { describe, expect, it } from 'vitest';
import { Action, parseAction } from '../src/nf/actions.js';
import { parseNfArgs } from '../src/nf/args.js';
import { ChainDrop, ChainTable, Hop, parseChain } from '../src/chain/service-chain.js';
import { FlowDirector, hash5 } from '../src/chain/flow-director.js';

const names: Record<string, number> = { firewall: 1, router: 2, nat: 3 };

describe('actions and NF args', () => {
  it('parses actions like onvm', () => {
    expect(parseAction('out:1')).toEqual({ action: Action.OUT, destination: 1 });
    expect(parseAction('tonf:7')).toEqual({ action: Action.TONF, destination: 7 });
    expect(parseAction('drop')).toEqual({ action: Action.DROP, destination: 0 });
    expect(() => parseAction('out')).toThrow(/needs a destination/);
    expect(() => parseAction('drop:1')).toThrow(/takes no destination/);
    expect(() => parseAction('forward')).toThrow(/is not an action/);
  });

  it('parses onvm flags before -- and NF args after', () => {
    const a = parseNfArgs(['-r', '2', '-n', '3', '-t', '10', '--', '--routes', 'x']);
    expect(a).toMatchObject({ serviceId: 2, instanceId: 3, timeToLive: 10, packetLimit: 0, nfArgs: ['--routes', 'x'] });
    expect(() => parseNfArgs(['-r', 'abc'])).toThrow('-r expects an integer in [1, 65535], got abc');
    expect(() => parseNfArgs(['-x'])).toThrow(/unknown NF flag -x/);
  });
});

describe('service chains', () => {
  const table = new ChainTable();
  const def = table.add(parseChain('firewall,router@out:1', (n) => names[n], 0));
  const alt = table.add(parseChain('nat', (n) => names[n], 0));
  const dropEnd = table.add(parseChain('3@drop', (n) => names[n], 0));
  const pos = new Uint8Array(1);

  it('walks the chain with NEXT and applies the final action', () => {
    expect(def).toBe(0);
    let hop = table.route(def, -1, Action.NEXT, 0, pos, 0);
    expect([hop & 3, hop >>> 2, pos[0]]).toEqual([Hop.SERVICE, 1, 0]);
    hop = table.route(def, pos[0], Action.NEXT, 0, pos, 0);
    expect([hop & 3, hop >>> 2, pos[0]]).toEqual([Hop.SERVICE, 2, 1]);
    hop = table.route(def, pos[0], Action.NEXT, 0, pos, 0);
    expect([hop & 3, hop >>> 2]).toEqual([Hop.PORT, 1]);
    hop = table.route(alt, 0, Action.NEXT, 0, pos, 0);
    expect([hop & 3, hop >>> 2]).toEqual([Hop.PORT, 0]);
    hop = table.route(dropEnd, 0, Action.NEXT, 0, pos, 0);
    expect([hop & 3, hop >>> 2]).toEqual([Hop.DROP, ChainDrop.CHAIN_END]);
  });

  it('honours DROP, OUT and TONF (which keeps chain order)', () => {
    let hop = table.route(def, 0, Action.DROP, 0, pos, 0);
    expect([hop & 3, hop >>> 2]).toEqual([Hop.DROP, ChainDrop.NF]);
    hop = table.route(def, 0, Action.OUT, 5, pos, 0);
    expect([hop & 3, hop >>> 2]).toEqual([Hop.PORT, 5]);
    hop = table.route(def, -1, Action.TONF, 2, pos, 0);
    expect([hop & 3, hop >>> 2, pos[0]]).toEqual([Hop.SERVICE, 2, 1]);
    hop = table.route(def, pos[0], Action.NEXT, 0, pos, 0);
    expect(hop & 3).toBe(Hop.PORT);
    expect(table.route(def, 0, 9, 0, pos, 0) >>> 2).toBe(ChainDrop.BAD_DESTINATION);
  });

  it('rejects unknown services', () => {
    expect(() => parseChain('firewall,ids', (n) => names[n], 0)).toThrow('unknown service "ids"');
  });
});

describe('flow director', () => {
  it('maps exact 5-tuples to chains, replaces, deletes and misses', () => {
    const fd = new FlowDirector(64);
    fd.set(0x0a000001, 0x0a000002, 1234, 80, 6, 2);
    fd.set(0x0a000001, 0x0a000002, 1234, 81, 6, 1);
    expect(fd.lookup(0x0a000001, 0x0a000002, 1234, 80, 6)).toBe(2);
    expect(fd.lookup(0x0a000001, 0x0a000002, 1234, 80, 17)).toBe(-1);
    fd.set(0x0a000001, 0x0a000002, 1234, 80, 6, 3);
    expect(fd.lookup(0x0a000001, 0x0a000002, 1234, 80, 6)).toBe(3);
    expect(fd.size).toBe(2);
    expect(fd.delete(0x0a000001, 0x0a000002, 1234, 80, 6)).toBe(true);
    expect(fd.lookup(0x0a000001, 0x0a000002, 1234, 80, 6)).toBe(-1);
    expect(fd.lookup(0x0a000001, 0x0a000002, 1234, 81, 6)).toBe(1);
  });

  it('holds its capacity under churn and reports full', () => {
    const fd = new FlowDirector(100);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 100; i++) fd.set(i, 0xc0a80000 + round, i, 53, 17, i % 7);
      for (let i = 0; i < 100; i++) expect(fd.lookup(i, 0xc0a80000 + round, i, 53, 17)).toBe(i % 7);
      for (let i = 0; i < 100; i++) fd.delete(i, 0xc0a80000 + round, i, 53, 17);
      expect(fd.size).toBe(0);
    }
    const small = new FlowDirector(4);
    expect(() => {
      for (let i = 0; i < 100; i++) small.set(i, 1, 1, 1, 6, 0);
    }).toThrow(/flow director full/);
  });

  it('spreads hashes', () => {
    const buckets = new Uint32Array(8);
    for (let i = 0; i < 8000; i++) buckets[hash5(0x0a000000 + i, 0x0a010001, 1000 + i, 80, 6) & 7]++;
    for (const b of buckets) expect(b).toBeGreaterThan(800);
  });
});
