/**
 * A mailbox: a single-producer single-consumer ring of variable-length records in shared memory,
 * carrying NF messages (`sendMsgToNf`) between processes. Messages are control traffic, never
 * packets, so they are serialized (`v8.serialize`, the structured-clone format `postMessage` uses).
 *
 * Layout (version 1, in a slot of the manager region): a 64-byte header of Int32 words, HEAD at
 * word 0 (bytes the producer published, free-running modulo 2^32) and TAIL at word 8 (bytes the
 * consumer released), then `capacity` data bytes (a power of two). A record is a u32 length `L`,
 * a u32 peer (the receiving service for an outbox, the sending service for an inbox) and `L` bytes,
 * padded to a multiple of 4. A record never wraps: when it does not fit before the end of the data,
 * the producer writes the length {@link MAILBOX_WRAP} there and starts at the beginning.
 *
 * @module
 */
import { deserialize, serialize } from 'node:v8';

/** Bytes before the data. */
export const MAILBOX_HEADER_BYTES = 64;
/** Length word that means "the rest of the data area is unused: continue at its start". */
export const MAILBOX_WRAP = 0xffffffff;
/**
 * The peer an NF's outbox names for what it tells the manager itself (`ctx.publish`: `{key, value}`)
 * rather than another NF: no service has id 0.
 */
export const MANAGER_PEER = 0;
const HEAD = 0;
const TAIL = 8;

/** One side's view of a mailbox. */
export class Mailbox {
  private readonly hdr: Int32Array;
  private readonly data: Uint8Array;
  private readonly words: DataView;
  private readonly capacity: number;

  /** Views the mailbox of `bytes` bytes at `byteOffset` of `buffer` (it must be formatted). */
  constructor(buffer: ArrayBufferLike, byteOffset: number, bytes: number) {
    this.hdr = new Int32Array(buffer, byteOffset, MAILBOX_HEADER_BYTES / 4);
    this.capacity = bytes - MAILBOX_HEADER_BYTES;
    this.data = new Uint8Array(buffer, byteOffset + MAILBOX_HEADER_BYTES, this.capacity);
    this.words = new DataView(buffer, byteOffset + MAILBOX_HEADER_BYTES, this.capacity);
  }

  /** Empties the mailbox (only while neither side uses it). */
  reset(): void {
    Atomics.store(this.hdr, HEAD, 0);
    Atomics.store(this.hdr, TAIL, 0);
  }

  /** Producer: posts `payload` for `peer`; false when it does not fit now. */
  postBytes(peer: number, payload: Uint8Array): boolean {
    const need = 8 + ((payload.length + 3) & ~3);
    if (need > this.capacity / 2) return false;
    const head = Atomics.load(this.hdr, HEAD);
    const used = (head - Atomics.load(this.hdr, TAIL)) | 0;
    let at = head & (this.capacity - 1);
    const skip = at + need > this.capacity ? this.capacity - at : 0;
    if (used + skip + need > this.capacity) return false;
    if (skip > 0) {
      this.words.setUint32(at, MAILBOX_WRAP, true);
      at = 0;
    }
    this.words.setUint32(at, payload.length, true);
    this.words.setUint32(at + 4, peer >>> 0, true);
    this.data.set(payload, at + 8);
    // Publishes the record (TSO: the plain writes above are visible first).
    Atomics.store(this.hdr, HEAD, (head + skip + need) | 0);
    return true;
  }

  /** Producer: serializes and posts `body` for `peer`; false when the mailbox has no room now. */
  post(peer: number, body: unknown): boolean {
    return this.postBytes(peer, serialize(body));
  }

  /**
   * Consumer: takes the next record and calls `take(peer, payload)` with a view that is valid only
   * during the call; false when there is none.
   */
  takeBytes(take: (peer: number, payload: Uint8Array) => void): boolean {
    let tail = Atomics.load(this.hdr, TAIL);
    const head = Atomics.load(this.hdr, HEAD);
    if (tail === head) return false;
    let at = tail & (this.capacity - 1);
    if (this.words.getUint32(at, true) === MAILBOX_WRAP) {
      tail = (tail + (this.capacity - at)) | 0;
      at = 0;
    }
    const len = this.words.getUint32(at, true);
    const peer = this.words.getUint32(at + 4, true);
    take(peer, this.data.subarray(at + 8, at + 8 + len));
    Atomics.store(this.hdr, TAIL, (tail + 8 + ((len + 3) & ~3)) | 0);
    return true;
  }

  /** Consumer: takes and deserializes the next message; null when there is none. */
  take(): { peer: number; body: unknown } | null {
    let out: { peer: number; body: unknown } | null = null;
    this.takeBytes((peer, payload) => {
      out = { peer, body: deserialize(payload) };
    });
    return out;
  }
}
