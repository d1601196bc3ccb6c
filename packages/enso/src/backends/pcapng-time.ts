/**
 * pcapng timestamps: a 64-bit count of units (10^-r or 2^-b seconds, from `if_tsresol`) split in two
 * 32-bit words, converted to seconds + nanoseconds exactly with doubles (no BigInt per packet).
 *
 * @module
 */

/** How one interface's timestamp units map to seconds (from its `if_tsresol` and `if_tsoffset`). */
export class TimestampScale {
  /** Decimal exponent r (units of 10^-r s), or -1 for a binary resolution. */
  readonly decimalExponent: number;
  /** Binary exponent b (units of 2^-b s), or -1 for a decimal resolution. */
  readonly binaryExponent: number;
  /** Seconds added to every timestamp (`if_tsoffset`). */
  readonly offsetSec: number;
  private readonly unitsPerSec: number; // 10^r when r <= 9
  private readonly nsPerUnit: number; // 10^(9-r) when r <= 9
  private readonly preDivisor: number; // 10^(r-9) when r > 9: units per nanosecond

  /**
   * Builds the scale for an `if_tsresol` byte (default 6: microseconds) and an offset in seconds.
   * Throws when the resolution is finer than 10^-19 or 2^-63 s (no 64-bit clock has that).
   */
  constructor(tsresol = 6, offsetSec = 0) {
    this.offsetSec = offsetSec;
    if ((tsresol & 0x80) !== 0) {
      const b = tsresol & 0x7f;
      if (b > 63) throw new Error(`if_tsresol 2^-${b} is out of range`);
      this.decimalExponent = -1;
      this.binaryExponent = b;
      this.unitsPerSec = 2 ** b;
      this.nsPerUnit = 1e9 / 2 ** b;
      this.preDivisor = 1;
    } else {
      if (tsresol > 19) throw new Error(`if_tsresol 10^-${tsresol} is out of range`);
      this.decimalExponent = tsresol;
      this.binaryExponent = -1;
      this.unitsPerSec = 10 ** Math.min(tsresol, 9);
      this.nsPerUnit = tsresol <= 9 ? 10 ** (9 - tsresol) : 1;
      this.preDivisor = tsresol > 9 ? 10 ** (tsresol - 9) : 1;
    }
  }

  /** Converts the timestamp `hi * 2^32 + lo` and stores it in `out.tsSec` / `out.tsNsec`. */
  convert(hi: number, lo: number, out: { tsSec: number; tsNsec: number }): void {
    if (this.binaryExponent >= 0) {
      this.convertBinary(hi, lo, out);
      return;
    }
    if (this.preDivisor !== 1) {
      // Sub-nanosecond units: drop the digits below a nanosecond first.
      divmod64(hi, lo, this.preDivisor);
      hi = quotientHi;
      lo = quotientLo;
    }
    const d = this.unitsPerSec;
    if (hi < 0x200000) {
      // Below 2^53: the value is exact as a double.
      const ts = hi * 4294967296 + lo;
      const sec = Math.floor(ts / d);
      out.tsSec = sec + this.offsetSec;
      out.tsNsec = (ts - sec * d) * this.nsPerUnit;
      return;
    }
    divmod64(hi, lo, d);
    out.tsSec = quotientHi * 4294967296 + quotientLo + this.offsetSec;
    out.tsNsec = remainder * this.nsPerUnit;
  }

  private convertBinary(hi: number, lo: number, out: { tsSec: number; tsNsec: number }): void {
    const b = this.binaryExponent;
    let sec: number;
    let frac: number; // fraction of a second in units of 2^-b
    if (b >= 32) {
      const hb = b - 32;
      sec = hb >= 32 ? 0 : Math.floor(hi / 2 ** hb);
      frac = (hi - sec * 2 ** hb) * 4294967296 + lo;
    } else {
      sec = hi * 2 ** (32 - b) + Math.floor(lo / 2 ** b);
      frac = lo % 2 ** b;
    }
    let nsec = Math.floor(frac * this.nsPerUnit);
    if (nsec > 999_999_999) nsec = 999_999_999; // rounding at the top of the second
    out.tsSec = sec + this.offsetSec;
    out.tsNsec = nsec;
  }
}

// Results of divmod64, kept in module scope so a conversion allocates nothing.
let quotientHi = 0;
let quotientLo = 0;
let remainder = 0;

/**
 * Divides the unsigned 64-bit value `hi * 2^32 + lo` by `d` (1 <= d < 2^37) by long division in
 * 16-bit limbs, so every intermediate stays below 2^53 and is exact as a double.
 */
function divmod64(hi: number, lo: number, d: number): void {
  let cur = hi >>> 16;
  const q3 = Math.floor(cur / d);
  let r = cur - q3 * d;
  cur = r * 65536 + (hi & 0xffff);
  const q2 = Math.floor(cur / d);
  r = cur - q2 * d;
  cur = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(cur / d);
  r = cur - q1 * d;
  cur = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(cur / d);
  r = cur - q0 * d;
  // Each limb quotient is below 65536 because r < d before every step.
  quotientHi = q3 * 65536 + q2;
  quotientLo = q1 * 65536 + q0;
  remainder = r;
}
