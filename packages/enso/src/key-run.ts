/**
 * Batch classification for the NIC's receive path. Once one frame has been steered, the frames
 * right behind it that carry the same steering key must go to the same pipe; so instead of
 * classifying each, the NIC compares a few masked 32-bit header words of each following frame with
 * the first one's and takes the whole run with one block copy.
 *
 * Which words are compared depends on how the first frame was steered:
 * - by its flow-table key ({@link KEY_RUN_FLOW}): UDP compares the fields of its key (dst IP,
 *   dst port); TCP the 5-tuple and the SYN bit (stricter than the SYN key, never looser);
 * - by the hash of its tuple ({@link KEY_RUN_TUPLE}, a hashed fallback): the 5-tuple, which the
 *   hash covers, plus the SYN bit for TCP (a SYN has another key, which may be bound).
 *
 * Every frame of a run also has the shape the NIC's single-frame fast path requires: IPv4 without
 * options (so the ports lie at byte 34), not a later fragment, UDP or TCP, and at least 48 bytes.
 * Anything else ends the run and goes through full classification. Words are read little-endian
 * (the masks are laid out for it); on a big-endian host runs are never extended.
 *
 * @module
 */

/** The first frame was steered some other way (round robin, dropped): no run. */
export const KEY_RUN_NONE = 0;
/** The first frame was steered by its flow-table key. */
export const KEY_RUN_FLOW = 1;
/** The first frame was steered by the hash of its 5-tuple (a fallback pipe). */
export const KEY_RUN_TUPLE = 2;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Shortest frame a run takes (the SYN bit is byte 47). */
const MIN_RUN_FRAME = 48;
// Little-endian masks of the words at byte 12 (EtherType, version/IHL) and byte 20 (fragment
// offset, protocol) and the values an option-less, unfragmented IPv4 header has there.
const ETH_IHL_MASK = 0x00ffffff;
const ETH_IHL_IPV4 = 0x00450008;
const FRAG_MASK = 0x0000ff1f;
const FRAG_PROTO_MASK = 0xff00ff1f;
const TCP_SYN_MASK = 0x02000000; // byte 47, in the word at byte 44
const PROTO_TCP = 6;
const PROTO_UDP = 17;

/** Finds runs of frames with the first frame's key; results in {@link frames} / {@link bytes}. */
export class KeyRunScanner {
  /** Frames the last {@link scan} took. */
  frames = 0;
  /** Sum of their lengths. */
  bytes = 0;

  private buf: Uint8Array | null = null;
  private words: Int32Array | null = null;

  /**
   * Scans the frames laid out in flits in `buf` from byte `p` on, which follow the frame at byte
   * `first` (already steered, `how` says how), and returns where the run of frames with its key
   * ends: `p` when the next frame differs. A frame is taken only if it starts before `stopStart`
   * and ends by `stopEnd`. `lens` holds each frame's length at its first flit, as in
   * `FlitSink.pushFlits`.
   */
  scan(buf: Uint8Array, lens: Uint16Array, first: number, p: number, stopEnd: number, stopStart: number, how: number): number {
    this.frames = 0;
    this.bytes = 0;
    if (how === KEY_RUN_NONE || p >= stopStart || p >= stopEnd || !LITTLE_ENDIAN) return p;
    if (buf !== this.buf) this.bind(buf);
    const w = this.words;
    if (w === null) return p;
    const f = first >>> 2;
    const proto = w[f + 5] >>> 24;
    if (lens[first >>> 6] < MIN_RUN_FRAME || (w[f + 3] & ETH_IHL_MASK) !== ETH_IHL_IPV4 || (w[f + 5] & FRAG_MASK) !== 0) return p;
    // Masks of the words at bytes 24 (src IP, high half), 28 (src IP low, dst IP high),
    // 32 (dst IP low, src port) and 44 (TCP flags); the dst port is the low half of byte 36's word.
    let m6 = 0xffff0000 | 0;
    let m7 = -1;
    let m8 = -1;
    let m11 = 0;
    if (proto === PROTO_TCP) {
      m11 = TCP_SYN_MASK;
    } else if (proto !== PROTO_UDP) {
      return p;
    } else if (how === KEY_RUN_FLOW) {
      m6 = 0;
      m7 = 0xffff0000 | 0;
      m8 = 0x0000ffff;
    }
    // Interleaved flows: most often the very next frame differs here, so check it before the rest.
    const q0 = p >>> 2;
    if (((w[q0 + 9] ^ w[f + 9]) & 0xffff) !== 0 || ((w[q0 + 8] ^ w[f + 8]) & m8) !== 0) return p;
    const t5 = w[f + 5] & FRAG_PROTO_MASK;
    const t6 = w[f + 6] & m6;
    const t7 = w[f + 7] & m7;
    const t8 = w[f + 8] & m8;
    const t9 = w[f + 9] & 0xffff;
    const t11 = w[f + 11] & m11;
    let frames = 0;
    let bytes = 0;
    while (p < stopStart) {
      const len = lens[p >>> 6];
      const need = (len + 63) & ~63;
      if (len < MIN_RUN_FRAME || p + need > stopEnd) break;
      const q = p >>> 2;
      if (
        (w[q + 9] & 0xffff) !== t9 ||
        (w[q + 7] & m7) !== t7 ||
        (w[q + 8] & m8) !== t8 ||
        (w[q + 3] & ETH_IHL_MASK) !== ETH_IHL_IPV4 ||
        (w[q + 5] & FRAG_PROTO_MASK) !== t5 ||
        (w[q + 6] & m6) !== t6 ||
        (w[q + 11] & m11) !== t11
      ) {
        break;
      }
      frames++;
      bytes += len;
      p += need;
    }
    this.frames = frames;
    this.bytes = bytes;
    return p;
  }

  /** Views `buf` as 32-bit words (frames start on flits, so header words are aligned). */
  private bind(buf: Uint8Array): void {
    this.buf = buf;
    if ((buf.byteOffset & 3) !== 0) {
      this.words = null;
      return;
    }
    this.words = new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  }
}
