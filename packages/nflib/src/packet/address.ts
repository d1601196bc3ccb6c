/**
 * Parsing and formatting of IPv4/IPv6 addresses, CIDR prefixes and MAC addresses for configuration
 * files and logs. These allocate and throw; they are not for the data path. Every error is an
 * {@link AddressParseError} whose message quotes the offending text and says what is wrong with it.
 *
 * @module
 */

/** Thrown when an address, prefix or MAC string cannot be parsed. */
export class AddressParseError extends Error {
  /** The text that failed to parse. */
  readonly text: string;

  /**
   * @param kind - what was expected, e.g. `IPv4 address`
   * @param text - the text that failed to parse
   * @param reason - what is wrong with it
   */
  constructor(kind: string, text: string, reason: string) {
    super(`invalid ${kind} ${JSON.stringify(text)}: ${reason}`);
    this.name = 'AddressParseError';
    this.text = text;
  }
}

/** An IPv4 prefix: `network` with host bits cleared, `prefixLength` 0..32, and its `mask`. */
export interface Cidr4 {
  /** Network address (unsigned 32-bit) with the host bits cleared. */
  readonly network: number;
  /** Prefix length, 0..32. */
  readonly prefixLength: number;
  /** Netmask as an unsigned 32-bit number (0 for /0). */
  readonly mask: number;
}

/** An IPv6 prefix: `network` (16 bytes, host bits cleared) and `prefixLength` 0..128. */
export interface Cidr6 {
  /** Network address bytes with the host bits cleared. */
  readonly network: Uint8Array;
  /** Prefix length, 0..128. */
  readonly prefixLength: number;
}

const DECIMAL = /^(0|[1-9][0-9]{0,2})$/;
const HEX16 = /^[0-9a-fA-F]{1,4}$/;

/** Parses an IPv4 dotted quad, or returns a reason string; shared by the IPv4 and IPv6 parsers. */
function tryIp4(text: string): number | string {
  const parts = text.split('.');
  if (parts.length !== 4) return `expected 4 dot-separated parts, found ${parts.length}`;
  let n = 0;
  for (let k = 0; k < 4; k++) {
    const p = parts[k];
    if (!DECIMAL.test(p)) return `part ${k + 1} (${JSON.stringify(p)}) is not a decimal number without leading zeros`;
    const v = Number(p);
    if (v > 255) return `part ${k + 1} (${p}) is larger than 255`;
    n = n * 256 + v;
  }
  return n;
}

/** Parses a dotted-quad IPv4 address (`10.0.0.1`) to an unsigned 32-bit number (`0x0a000001`). */
export function ip4ToNumber(text: string): number {
  const r = tryIp4(text);
  if (typeof r === 'string') throw new AddressParseError('IPv4 address', text, r);
  return r;
}

/** Formats an unsigned 32-bit number as a dotted-quad IPv4 address. */
export function numberToIp4(addr: number): string {
  const a = addr >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** The netmask of an IPv4 prefix length (0..32) as an unsigned 32-bit number. */
export function ip4PrefixMask(prefixLength: number): number {
  // `x << 32` is `x << 0` in JS, so /0 needs its own case.
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parses the `/len` part of a prefix, or returns a reason. */
function tryPrefixLength(text: string, max: number): number | string {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) return `prefix length ${JSON.stringify(text)} is not a decimal number`;
  const n = Number(text);
  return n > max ? `prefix length ${n} is larger than ${max}` : n;
}

/**
 * Parses an IPv4 prefix `a.b.c.d/len`; a bare address is a /32. Host bits set in the address are
 * cleared, or rejected when `strict` is true.
 */
export function parseCidr4(text: string, strict = false): Cidr4 {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = tryIp4(addrText);
  if (typeof addr === 'string') throw new AddressParseError('IPv4 prefix', text, addr);
  const len = slash < 0 ? 32 : tryPrefixLength(text.slice(slash + 1), 32);
  if (typeof len === 'string') throw new AddressParseError('IPv4 prefix', text, len);
  const mask = ip4PrefixMask(len);
  const network = (addr & mask) >>> 0;
  if (strict && network !== addr) {
    throw new AddressParseError('IPv4 prefix', text, `host bits are set (network is ${numberToIp4(network)}/${len})`);
  }
  return { network, prefixLength: len, mask };
}

/** True when the unsigned 32-bit `addr` lies inside `cidr`. */
export function cidr4Contains(cidr: Cidr4, addr: number): boolean {
  return ((addr & cidr.mask) >>> 0) === cidr.network;
}

/** Appends the 16-bit groups of `parts` to `words` (a dotted-quad last part counts as two), or returns a reason. */
function tryGroups(parts: string[], v4TailAllowed: boolean, words: number[]): string | null {
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    if (v4TailAllowed && k === parts.length - 1 && p.includes('.')) {
      const v4 = tryIp4(p);
      if (typeof v4 === 'string') return `embedded IPv4 ${JSON.stringify(p)}: ${v4}`;
      words.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX16.test(p)) {
      words.push(parseInt(p, 16));
    } else {
      return `group ${JSON.stringify(p)} is not 1 to 4 hex digits`;
    }
  }
  return null;
}

/** Parses an IPv6 address into 16 bytes of `out`, or returns a reason. */
function tryIp6(text: string, out: Uint8Array): string | null {
  if (text.length === 0) return 'empty';
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return '"::" appears more than once';
  const head: number[] = [];
  const tail: number[] = [];
  if (dbl < 0) {
    const err = tryGroups(text.split(':'), true, head);
    if (err !== null) return err;
    if (head.length !== 8) return `expected 8 groups, found ${head.length}`;
  } else {
    const h = text.slice(0, dbl);
    const t = text.slice(dbl + 2);
    const err = tryGroups(h === '' ? [] : h.split(':'), false, head) ?? tryGroups(t === '' ? [] : t.split(':'), true, tail);
    if (err !== null) return err;
    if (head.length + tail.length > 7) return `"::" must stand for at least one group, but ${head.length + tail.length} are given`;
  }
  out.fill(0, 0, 16);
  for (let k = 0; k < head.length; k++) {
    out[2 * k] = head[k] >>> 8;
    out[2 * k + 1] = head[k] & 0xff;
  }
  const base = 8 - tail.length;
  for (let k = 0; k < tail.length; k++) {
    out[2 * (base + k)] = tail[k] >>> 8;
    out[2 * (base + k) + 1] = tail[k] & 0xff;
  }
  return null;
}

/** Parses an IPv6 address (RFC 4291 text forms, `::` and a dotted-quad tail included) into 16 bytes. */
export function ip6ToBytes(text: string, out: Uint8Array = new Uint8Array(16)): Uint8Array {
  if (out.length < 16) throw new RangeError('ip6ToBytes: output array must hold 16 bytes');
  const err = tryIp6(text, out);
  if (err !== null) throw new AddressParseError('IPv6 address', text, err);
  return out;
}

/**
 * Formats the 16 bytes at `bytes[off..off+16)` as an IPv6 address in the canonical form of RFC 5952:
 * lowercase, no leading zeros, the longest run of two or more zero groups (the first on a tie) as `::`.
 */
export function bytesToIp6(bytes: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let k = 0; k < 8; k++) g.push((bytes[off + 2 * k] << 8) | bytes[off + 2 * k + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (a: number, b: number): string => g.slice(a, b).map((v) => v.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/**
 * Parses an IPv6 prefix `addr/len`; a bare address is a /128. Host bits are cleared, or rejected
 * when `strict` is true.
 */
export function parseCidr6(text: string, strict = false): Cidr6 {
  const slash = text.indexOf('/');
  const network = new Uint8Array(16);
  const err = tryIp6(slash < 0 ? text : text.slice(0, slash), network);
  if (err !== null) throw new AddressParseError('IPv6 prefix', text, err);
  const len = slash < 0 ? 128 : tryPrefixLength(text.slice(slash + 1), 128);
  if (typeof len === 'string') throw new AddressParseError('IPv6 prefix', text, len);
  let hostBits = false;
  for (let k = 0; k < 16; k++) {
    const keep = Math.max(0, Math.min(8, len - k * 8));
    const m = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((network[k] & ~m & 0xff) !== 0) hostBits = true;
    network[k] &= m;
  }
  if (strict && hostBits) {
    throw new AddressParseError('IPv6 prefix', text, `host bits are set (network is ${bytesToIp6(network)}/${len})`);
  }
  return { network, prefixLength: len };
}

/** Parses a MAC address `aa:bb:cc:dd:ee:ff` (or with `-` separators) to a 48-bit number. */
export function macToNumber(text: string): number {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) throw new AddressParseError('MAC address', text, `expected 6 groups, found ${parts.length}`);
  let n = 0;
  for (let k = 0; k < 6; k++) {
    if (!/^[0-9a-fA-F]{2}$/.test(parts[k])) {
      throw new AddressParseError('MAC address', text, `group ${k + 1} (${JSON.stringify(parts[k])}) is not two hex digits`);
    }
    n = n * 256 + parseInt(parts[k], 16);
  }
  return n;
}

/** Formats a 48-bit number as a lowercase colon-separated MAC address. */
export function numberToMac(mac: number): string {
  const out: string[] = [];
  let v = mac;
  for (let k = 0; k < 6; k++) {
    out.push((v % 256).toString(16).padStart(2, '0'));
    v = Math.floor(v / 256);
  }
  return out.reverse().join(':');
}

/** The family of an address or prefix string: 4, 6, or 0 when it is neither (no throw). */
export function ipFamily(text: string): 4 | 6 | 0 {
  const addr = text.split('/')[0];
  if (typeof tryIp4(addr) === 'number') return 4;
  return tryIp6(addr, new Uint8Array(16)) === null ? 6 : 0;
}
