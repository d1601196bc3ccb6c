/**
 * POSIX shared memory regions (`shm_open` + `mmap`) mapped into JavaScript as `ArrayBuffer`s: the
 * memory a multi-process gnet manager shares with its NF processes (packet pool, rings, registry).
 *
 * A region is created with `O_EXCL` and mode 0600 (only the same user can open it) and stays
 * mapped as long as its `ArrayBuffer` is reachable; unlinking removes the name, not the mappings.
 * The buffers are plain (non-shared) `ArrayBuffer`s backed by memory other processes also map:
 * `Atomics.load/store/add/compareExchange` work on integer views of them, `Atomics.wait/notify`
 * do not (they need a `SharedArrayBuffer`, which Node-API cannot create over foreign memory).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { loadNative } from './loader.js';

/** The addon's shm functions (see `src/native/shm.h`). */
interface NativeShm {
  shmCreate(name: string, bytes: number): ArrayBuffer;
  shmOpen(name: string): ArrayBuffer;
  shmUnlink(name: string): boolean;
}

/** Largest region {@link createSharedRegion} makes (the native side's limit). */
export const SHARED_REGION_MAX_BYTES = 64 * 2 ** 30;

/**
 * A failure to create, open or unlink a shared memory region. `code` is the errno name when the
 * system reported one (`EEXIST`: the name is taken; `ENOENT`: no such region; `EACCES`: another
 * user's region), `EINVAL` for a bad name or size, `EIO` for anything not recognised.
 */
export class SharedRegionError extends Error {
  /** errno-style code of the failure. */
  readonly code: string;
  /** The region's name (without the leading `/`). */
  readonly region: string;
  constructor(message: string, code: string, region: string) {
    super(message);
    this.name = 'SharedRegionError';
    this.code = code;
    this.region = region;
  }
}

function native(): NativeShm {
  return loadNative() as unknown as NativeShm;
}

/** Turns the addon's Error into a {@link SharedRegionError} with a code and a sentence that says what to do. */
function wrap(err: unknown, name: string): SharedRegionError {
  const text = err instanceof Error ? err.message : String(err);
  // The addon sets `code` to the errno's name; its argument checks throw TypeError/RangeError.
  const own = (err as { code?: unknown } | null)?.code;
  const code = typeof own === 'string' ? own : err instanceof TypeError || err instanceof RangeError ? 'EINVAL' : 'EIO';
  let hint = '';
  if (code === 'EEXIST') hint = ` (a region named "${name}" already exists: another process owns it, or unlink it if it is stale)`;
  else if (code === 'ENOENT') hint = ` (no region named "${name}": the process that creates it is not running)`;
  else if (code === 'EACCES') hint = ` (region "${name}" belongs to another user; regions are created with mode 0600)`;
  return new SharedRegionError(text + hint, code, name);
}

/**
 * Creates the region `name` (1-200 characters, no `/`) of `bytes` bytes, zero-filled, mode 0600,
 * and maps it read-write. Fails if the name exists.
 * @throws SharedRegionError with code `EEXIST` when the name is taken, `EINVAL` for a bad name or size.
 */
export function createSharedRegion(name: string, bytes: number): ArrayBuffer {
  try {
    return native().shmCreate(name, bytes);
  } catch (err) {
    throw wrap(err, name);
  }
}

/**
 * Maps the existing region `name` read-write; the buffer's length is the region's size.
 * @throws SharedRegionError with code `ENOENT` when there is no such region.
 */
export function openSharedRegion(name: string): ArrayBuffer {
  try {
    return native().shmOpen(name);
  } catch (err) {
    throw wrap(err, name);
  }
}

/**
 * Removes the name `name` (mappings stay valid until their buffers are collected). Returns false
 * when there was no such region.
 * @throws SharedRegionError for other failures (a bad name, no permission).
 */
export function unlinkSharedRegion(name: string): boolean {
  try {
    return native().shmUnlink(name);
  } catch (err) {
    throw wrap(err, name);
  }
}

/**
 * Where the region `name` shows in the file system on Linux (`/dev/shm/<name>`), for tools that
 * inspect permissions or free space; null on systems without `/dev/shm`.
 */
export function sharedRegionPath(name: string): string | null {
  return existsSync('/dev/shm') ? `/dev/shm/${name}` : null;
}

/** Whether shared memory regions can be used here, and why not when they cannot. */
export interface SharedMemorySupport {
  /** True when a region could be created, mapped and unlinked. */
  available: boolean;
  /** Why not (the failure), when unavailable. */
  reason?: string;
}

/**
 * Probes for shared memory support by creating, writing and unlinking a small region (for tests and
 * tools that skip or fall back with a printed reason). Never throws.
 */
export function probeSharedMemory(): SharedMemorySupport {
  const name = `gnet-probe-${process.pid}-${Date.now().toString(36)}`;
  try {
    const buf = createSharedRegion(name, 4096);
    new Uint8Array(buf)[0] = 1;
    unlinkSharedRegion(name);
    return { available: true };
  } catch (err) {
    try {
      unlinkSharedRegion(name);
    } catch {
      // Nothing to clean up: the create failed.
    }
    return { available: false, reason: (err as Error).message };
  }
}
