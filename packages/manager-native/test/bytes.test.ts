import { describe, expect, it } from 'vitest';
import { copyRanges, moveRanges } from '../src/index.js';

/** The reference: the same moves one by one with copyWithin on a private copy. */
function expected(init: Uint8Array, moves: [number, number, number][]): Uint8Array {
  const r = Uint8Array.from(init);
  for (const [d, s, n] of moves) r.copyWithin(d, s, s + n);
  return r;
}

function run(data: Uint8Array, moves: [number, number, number][]): number {
  const dst = Uint32Array.from(moves, (m) => m[0]);
  const src = Uint32Array.from(moves, (m) => m[1]);
  const len = Uint32Array.from(moves, (m) => m[2]);
  return moveRanges(data, dst, src, len, moves.length);
}

describe('moveRanges', () => {
  for (const shared of [false, true]) {
    it(`moves overlapping ranges up and down like memmove (${shared ? 'SharedArrayBuffer' : 'ArrayBuffer'})`, () => {
      const data = new Uint8Array(shared ? new SharedArrayBuffer(8192) : new ArrayBuffer(8192));
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
      const init = Uint8Array.from(data);
      // ESP encapsulation shifts the inner packet up 36 bytes, decapsulation down 36; odd sizes and offsets too.
      const moves: [number, number, number][] = [
        [50, 14, 1400],
        [2048 + 14, 2048 + 50, 512],
        [4096 + 3, 4096, 61],
        [6000, 6001, 1],
        [7000, 7000, 100],
        [7500, 7400, 0],
      ];
      expect(run(data, moves)).toBe(moves.length);
      expect(data).toEqual(expected(init, moves));
    });
  }

  it('skips ranges outside the buffer and moves the rest', () => {
    const data = new Uint8Array(256).map((_, i) => i);
    const moves: [number, number, number][] = [
      [200, 0, 57], // ends at 257: outside
      [0, 250, 10], // source outside
      [10, 0, 4],
    ];
    expect(run(data, moves)).toBe(1);
    expect(Array.from(data.subarray(0, 14))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3]);
    expect(data[200]).toBe(200);
  });

  it('throws a RangeError when count exceeds an array, and a TypeError for arrays of another element type', () => {
    const one = new Uint32Array(1);
    expect(() => moveRanges(new Uint8Array(8), one, one, one, 2)).toThrow(RangeError);
    // Four Uint8 "offsets" must not be read as four Uint32 ones (past the array's end).
    const bytes = new Uint8Array([1, 0, 0, 0]) as unknown as Uint32Array;
    expect(() => moveRanges(new Uint8Array(64), bytes, bytes, bytes, 4)).toThrow(/dst must be a Uint32Array/);
    expect(() => moveRanges(new Uint16Array(8) as unknown as Uint8Array, one, one, one, 1)).toThrow(/data must be a Uint8Array/);
  });
});

describe('copyRanges', () => {
  it('gathers ranges of a shared pool into another buffer and scatters them back, skipping ranges outside either', () => {
    const pool = new Uint8Array(new SharedArrayBuffer(8192)).map((_, i) => (i * 13 + 5) & 0xff);
    const stage = new Uint8Array(4096);
    // Odd source offsets into 4-byte aligned destinations, as ESP packets are staged for the GPU.
    const src = Uint32Array.of(50, 2048 + 50, 4096 + 1, 8000, 100);
    const len = Uint32Array.of(1412, 524, 61, 300, 8);
    const dst = Uint32Array.of(0, 1412, 1936, 2000, 4092);
    expect(copyRanges(stage, dst, pool, src, len, 5)).toBe(3); // 8000 + 300 and 4092 + 8 lie outside
    for (let k = 0; k < 3; k++) expect(stage.subarray(dst[k], dst[k] + len[k])).toEqual(pool.subarray(src[k], src[k] + len[k]));
    expect(stage.subarray(2000, 2300).every((b) => b === 0)).toBe(true);
    // Back into other places of the pool: the pool now holds the staged bytes there.
    stage.fill(0xab, 0, 1412);
    expect(copyRanges(pool, Uint32Array.of(6000), stage, Uint32Array.of(0), Uint32Array.of(1412), 1)).toBe(1);
    expect(pool.subarray(6000, 7412).every((b) => b === 0xab)).toBe(true);
  });

  it('throws a RangeError when count exceeds an array, and a TypeError for arrays of another element type', () => {
    const one = new Uint32Array(1);
    expect(() => copyRanges(new Uint8Array(8), one, new Uint8Array(8), one, one, 2)).toThrow(RangeError);
    expect(() => copyRanges(new Uint8Array(8), one, new Uint16Array(4) as unknown as Uint8Array, one, one, 1)).toThrow(/from must be a Uint8Array/);
  });
});
