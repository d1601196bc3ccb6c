import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSharedRegion,
  openSharedRegion,
  packageRoot,
  probeSharedMemory,
  SharedRegionError,
  sharedRegionPath,
  unlinkSharedRegion,
} from '../src/index.js';

const support = probeSharedMemory();
if (!support.available) console.log(`shm tests skipped: ${support.reason}`);

const created: string[] = [];
/** A name unique to this test run; unlinked after each test even when it fails. */
function regionName(tag: string): string {
  const name = `gnet-test-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  created.push(name);
  return name;
}
afterEach(() => {
  for (const name of created.splice(0)) {
    try {
      unlinkSharedRegion(name);
    } catch {
      // Already gone.
    }
  }
});

describe.skipIf(!support.available)('shared memory regions', () => {
  it('creates a zeroed region of the asked size, mode 0600, that another process maps and writes', () => {
    const name = regionName('child');
    const buf = createSharedRegion(name, 1 << 16);
    expect(buf).toBeInstanceOf(ArrayBuffer);
    expect(buf.byteLength).toBe(1 << 16);
    const bytes = new Uint8Array(buf);
    expect(bytes.every((b) => b === 0)).toBe(true);
    const path = sharedRegionPath(name);
    if (path) expect(statSync(path).mode & 0o777).toBe(0o600);

    bytes.set([1, 2, 3, 4], 100);
    const words = new Int32Array(buf);
    Atomics.store(words, 64, 7);
    // A child process (the built package, as an NF process would load it) sees the bytes and writes back.
    const script = `const m = require(${JSON.stringify(join(packageRoot, 'dist', 'index.cjs'))});
      const b = m.openSharedRegion(${JSON.stringify(name)}); const u = new Uint8Array(b); const w = new Int32Array(b);
      process.stdout.write(JSON.stringify({ len: b.byteLength, bytes: [...u.subarray(100, 104)], word: Atomics.load(w, 64) }));
      Atomics.add(w, 64, 1); u[200] = 99;`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ len: 1 << 16, bytes: [1, 2, 3, 4], word: 7 });
    expect(Atomics.load(words, 64)).toBe(8);
    expect(bytes[200]).toBe(99);
  });

  it('maps the same memory twice in one process', () => {
    const name = regionName('twice');
    const a = new Int32Array(createSharedRegion(name, 4096));
    const b = new Int32Array(openSharedRegion(name));
    Atomics.compareExchange(a, 3, 0, 42);
    expect(Atomics.load(b, 3)).toBe(42);
  });

  it('refuses to create an existing name with EEXIST and says what it means', () => {
    const name = regionName('exists');
    createSharedRegion(name, 4096);
    let caught: unknown;
    try {
      createSharedRegion(name, 4096);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SharedRegionError);
    const e = caught as SharedRegionError;
    expect(e.code).toBe('EEXIST');
    expect(e.region).toBe(name);
    expect(e.message).toMatch(new RegExp(`shm: create /${name}: File exists \\(a region named "${name}" already exists`));
  });

  it('unlinks a name (false the second time); existing mappings stay valid, new opens fail with ENOENT', () => {
    const name = regionName('unlink');
    const buf = createSharedRegion(name, 4096);
    expect(unlinkSharedRegion(name)).toBe(true);
    expect(unlinkSharedRegion(name)).toBe(false);
    new Uint8Array(buf)[0] = 5;
    expect(new Uint8Array(buf)[0]).toBe(5);
    expect(() => openSharedRegion(name)).toThrow(expect.objectContaining({ code: 'ENOENT', message: expect.stringMatching(/No such file or directory \(no region named/) }));
    const path = sharedRegionPath(name);
    if (path) expect(() => statSync(path)).toThrow(/ENOENT/);
  });

  it('rejects bad names and sizes with EINVAL', () => {
    expect(() => createSharedRegion('a/b', 4096)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/without '\/'/) }));
    expect(() => createSharedRegion('', 4096)).toThrow(SharedRegionError);
    expect(() => createSharedRegion(regionName('size'), 0)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/bytes must be in/) }));
    expect(() => openSharedRegion('x'.repeat(300))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
