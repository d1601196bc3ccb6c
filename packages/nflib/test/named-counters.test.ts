import { describe, expect, it } from 'vitest';
import { defineNamedCounters, MAX_NAMED_COUNTERS, NAMED_BLOCK_BYTES, NamedCountersReader } from '../src/runtime/named-counters.js';

describe('named NF counters', () => {
  it('publishes names and values through shared memory', () => {
    const sab = new SharedArrayBuffer(128 + NAMED_BLOCK_BYTES);
    const reader = new NamedCountersReader(sab, 128);
    expect(reader.read()).toEqual({});
    const c = defineNamedCounters(sab, 128, ['no_route', 'ttl_expired', 'sa:4096.bytes']);
    c[0] += 3;
    c[2] = 1500;
    expect(reader.read()).toEqual({ no_route: 3, ttl_expired: 0, 'sa:4096.bytes': 1500 });
  });

  it('rejects bad names, duplicates and too many names', () => {
    const sab = new SharedArrayBuffer(NAMED_BLOCK_BYTES);
    expect(() => defineNamedCounters(sab, 0, ['Bad Name'])).toThrow(/bad counter name/);
    expect(() => defineNamedCounters(sab, 0, ['a'.repeat(32)])).toThrow(/bad counter name/);
    expect(() => defineNamedCounters(sab, 0, ['x', 'x'])).toThrow(/duplicate/);
    expect(() => defineNamedCounters(sab, 0, Array.from({ length: MAX_NAMED_COUNTERS + 1 }, (_, i) => `c${i}`))).toThrow(/1 to 64 counters in all/);
    expect(new NamedCountersReader(sab, 0).read()).toEqual({});
  });

  it('a reused block shows only the new names after a reset or a redefinition', () => {
    const sab = new SharedArrayBuffer(NAMED_BLOCK_BYTES);
    const reader = new NamedCountersReader(sab, 0);
    defineNamedCounters(sab, 0, ['aaaaaaaaaaaa', 'b'])[0] = 5;
    expect(reader.read()).toEqual({ aaaaaaaaaaaa: 5, b: 0 });
    reader.reset();
    expect(reader.read()).toEqual({});
    defineNamedCounters(sab, 0, ['c']);
    expect(reader.read()).toEqual({ c: 0 });
  });

  it('appends names defined later (framework first, then the NF) with their own views', () => {
    const sab = new SharedArrayBuffer(NAMED_BLOCK_BYTES);
    const reader = new NamedCountersReader(sab, 0);
    const fw = defineNamedCounters(sab, 0, ['fw.batches']);
    const nf = defineNamedCounters(sab, 0, ['no_route', 'ttl'], ['fw.batches']);
    fw[0] = 2;
    nf[1] = 7;
    expect(reader.read()).toEqual({ 'fw.batches': 2, no_route: 0, ttl: 7 });
    expect(() => defineNamedCounters(sab, 0, ['ttl'], ['fw.batches', 'no_route', 'ttl'])).toThrow(/duplicate/);
  });
});
