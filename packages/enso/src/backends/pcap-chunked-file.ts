/**
 * A read window over a file: one reusable buffer filled with `fs.readSync`, so a capture of any size
 * streams through a fixed amount of memory and records are parsed in place.
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Default bytes in the read window (1 MiB: few syscalls, stays in L2/L3 cache). */
export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Smallest read window accepted (tests use small windows to cross chunk boundaries often). */
export const MIN_CHUNK_BYTES = 64;

/**
 * The unread bytes of a file in a sliding window `[pos, end)` of {@link ChunkedFile.buf}.
 * `ensure(n)` makes `n` bytes available at `pos` (moving them to the front of the buffer and reading
 * more), so callers parse records at `pos` and then `advance` past them.
 */
export class ChunkedFile {
  /** The file it reads. */
  readonly path: string;
  /** File size in bytes at open. */
  readonly size: number;
  /** The window; replaced (grown) only when one record is larger than it, up to `maxBytes`. */
  buf: Uint8Array;
  /** A DataView over {@link ChunkedFile.buf}, for header fields. */
  view: DataView;
  /** First unread byte in `buf`. */
  pos = 0;
  /** One past the last valid byte in `buf`. */
  end = 0;
  /**
   * Called before the window's bytes move or are overwritten (a refill, a seek), so a reader's
   * consumer that still refers to them (a sink deferring its copies) can take them first.
   */
  beforeMove: (() => void) | null = null;
  private fd: number;
  private filePos = 0; // file offset of buf[end]
  private eof = false;
  private readonly maxBytes: number;

  /**
   * Opens `path` for reading with a window of `chunkBytes` that may grow to `maxBytes`.
   * Throws an Error naming the path when it cannot be opened.
   */
  constructor(path: string, chunkBytes: number, maxBytes: number) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES) {
      throw new Error(`pcap: chunkSize must be an integer >= ${MIN_CHUNK_BYTES}, got ${chunkBytes}`);
    }
    this.path = path;
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new Error(`pcap: cannot open ${path} for reading: ${(e as Error).message}`, { cause: e });
    }
    this.size = fstatSync(this.fd).size;
    this.maxBytes = Math.max(maxBytes, chunkBytes);
    this.buf = new Uint8Array(chunkBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes available at `pos` without reading. */
  get available(): number {
    return this.end - this.pos;
  }

  /** File offset of `buf[pos]`. */
  get offset(): number {
    return this.filePos - (this.end - this.pos);
  }

  /**
   * Makes at least `n` bytes available at `pos` (which may move). Returns false when the file ends
   * first (then `available` says how many trailing bytes there are) or `n` exceeds the largest window.
   */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    return this.fill(n);
  }

  /** Consumes `n` bytes; skipping past the window moves the file position without reading. */
  advance(n: number): void {
    const inWindow = this.end - this.pos;
    if (n <= inWindow) {
      this.pos += n;
      return;
    }
    this.filePos += n - inWindow;
    this.pos = 0;
    this.end = 0;
    this.eof = this.filePos >= this.size;
  }

  /** Moves to file offset `offset`, dropping the window. */
  seek(offset: number): void {
    this.beforeMove?.();
    this.filePos = offset;
    this.pos = 0;
    this.end = 0;
    this.eof = false;
  }

  /** Releases the file descriptor; safe to call twice. */
  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    this.eof = true;
  }

  private fill(n: number): boolean {
    if (n > this.maxBytes || this.fd < 0) return false;
    this.beforeMove?.();
    if (n > this.buf.length) this.grow(n);
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end < n && !this.eof) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.filePos);
      if (got === 0) this.eof = true;
      this.filePos += got;
      this.end += got;
    }
    return this.end >= n;
  }

  private grow(n: number): void {
    const next = new Uint8Array(Math.min(this.maxBytes, Math.max(n, this.buf.length * 2)));
    next.set(this.buf.subarray(this.pos, this.end));
    this.end -= this.pos;
    this.pos = 0;
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
