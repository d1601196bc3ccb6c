/**
 * The Internet checksum (RFC 1071) over byte ranges, and its incremental update (RFC 1624).
 *
 * A checksum is built in three steps so that discontiguous pieces (pseudo-header, header with the
 * checksum field skipped, payload) can be summed without copying: {@link checksumAdd} accumulates
 * 16-bit words into an unfolded sum (a plain JS number, exact far beyond any packet size),
 * {@link checksumFold} folds it to 16 bits with end-around carry, and {@link checksumFinish}
 * complements it. Every piece but the last must have an even length, so that words stay aligned.
 *
 * @module
 */

/**
 * Adds the big-endian 16-bit words of bytes `[off, off + len)` to the unfolded `sum` and returns
 * the new sum. An odd trailing byte counts as the high byte of a zero-padded word.
 */
export function checksumAdd(view: DataView, off: number, len: number, sum: number): number {
  if (len <= 0) return sum;
  let s = sum;
  let i = off;
  // Whole 32-bit words: hi·2^16 + lo ≡ hi + lo (mod 2^16 − 1), so they fold to the same result.
  const end4 = off + (len & ~3);
  for (; i < end4; i += 4) s += view.getUint32(i);
  if ((len & 2) !== 0) {
    s += view.getUint16(i);
    i += 2;
  }
  if ((len & 1) !== 0) s += view.getUint8(i) << 8;
  return s;
}

/** Folds an unfolded sum to 16 bits with end-around carry (0 only when the sum was 0). */
export function checksumFold(sum: number): number {
  let s = sum;
  // Above 2^31 bit operators would truncate, so the first steps use arithmetic.
  while (s > 0x7fffffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The checksum to store for an unfolded sum: the one's complement of its fold. */
export function checksumFinish(sum: number): number {
  return ~checksumFold(sum) & 0xffff;
}

/** The Internet checksum of bytes `[off, off + len)` (RFC 1071). */
export function internetChecksum(view: DataView, off: number, len: number): number {
  return ~checksumFold(checksumAdd(view, off, len, 0)) & 0xffff;
}

/**
 * Updates `checksum` for one 16-bit word of the covered data changing from `oldWord` to `newWord`,
 * per RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). The result equals a full recomputation whenever the
 * covered data is not entirely zero, which holds for every IP, TCP, UDP and ICMP header.
 */
export function checksumAdjust16(checksum: number, oldWord: number, newWord: number): number {
  const s = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~checksumFold(s) & 0xffff;
}

/**
 * Updates `checksum` for a 32-bit value of the covered data (an IPv4 address, a TCP sequence number)
 * changing from `oldValue` to `newValue`: eqn. 3 applied to both 16-bit halves at once.
 */
export function checksumAdjust32(checksum: number, oldValue: number, newValue: number): number {
  const s =
    (~checksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    (newValue >>> 16) +
    (newValue & 0xffff);
  return ~checksumFold(s) & 0xffff;
}

/**
 * {@link checksumAdjust16} with UDP's rules: a zero checksum means "no checksum" and stays zero, and a
 * result of 0 is sent as 0xffff (RFC 768).
 */
export function udpChecksumAdjust16(checksum: number, oldWord: number, newWord: number): number {
  if (checksum === 0) return 0;
  const c = checksumAdjust16(checksum, oldWord, newWord);
  return c === 0 ? 0xffff : c;
}

/** {@link checksumAdjust32} with UDP's zero rules (see {@link udpChecksumAdjust16}). */
export function udpChecksumAdjust32(checksum: number, oldValue: number, newValue: number): number {
  if (checksum === 0) return 0;
  const c = checksumAdjust32(checksum, oldValue, newValue);
  return c === 0 ? 0xffff : c;
}
