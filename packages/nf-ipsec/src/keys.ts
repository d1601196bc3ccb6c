/**
 * Per-SA key material in the forms the crypto back ends take: raw bytes for the native batch
 * (OpenSSL), and the expanded AES-128 key schedule plus the HMAC-SHA1 inner/outer states for the
 * kernel, so the GPU never redoes per-SA work per packet.
 * @module
 */
import type { SaConfig } from './config.js';

const SBOX = new Uint8Array(256);
{
  // The AES S-box from its definition (multiplicative inverse in GF(2^8), then the affine map).
  let p = 1;
  let q = 1;
  do {
    p = p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const r = (x: number, n: number) => ((x << n) | (x >>> (8 - n))) & 0xff;
    SBOX[p] = q ^ r(q, 1) ^ r(q, 2) ^ r(q, 3) ^ r(q, 4) ^ 0x63;
  } while (p !== 1);
  SBOX[0] = 0x63;
}

/** The AES S-box (FIPS-197 §5.1.1). */
export const AES_SBOX: Readonly<Uint8Array> = SBOX;

/** The AES-128 key schedule (FIPS-197 §5.2): 44 words, big-endian word order. */
export function expandAes128Key(key: Uint8Array): Uint32Array {
  const w = new Uint32Array(44);
  for (let i = 0; i < 4; i++) w[i] = ((key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3]) >>> 0;
  let rcon = 1;
  for (let i = 4; i < 44; i++) {
    let t = w[i - 1];
    if (i % 4 === 0) {
      t = ((SBOX[(t >>> 16) & 0xff] << 24) | (SBOX[(t >>> 8) & 0xff] << 16) | (SBOX[t & 0xff] << 8) | SBOX[t >>> 24]) >>> 0;
      t = (t ^ (rcon << 24)) >>> 0;
      rcon = (rcon << 1) ^ (rcon & 0x80 ? 0x11b : 0);
    }
    w[i] = (w[i - 4] ^ t) >>> 0;
  }
  return w;
}

const rol = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;

/** One SHA-1 compression (FIPS 180-4 §6.1.2) of the 64-byte `block` at `off` into `h` (5 words). */
export function sha1Compress(h: Uint32Array, block: Uint8Array, off = 0): void {
  const w = new Uint32Array(80);
  for (let t = 0; t < 16; t++) w[t] = ((block[off + 4 * t] << 24) | (block[off + 4 * t + 1] << 16) | (block[off + 4 * t + 2] << 8) | block[off + 4 * t + 3]) >>> 0;
  for (let t = 16; t < 80; t++) w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  let [a, b, c, d, e] = h;
  for (let t = 0; t < 80; t++) {
    const f = t < 20 ? (b & c) | (~b & d) : t < 40 ? b ^ c ^ d : t < 60 ? (b & c) | (b & d) | (c & d) : b ^ c ^ d;
    const k = t < 20 ? 0x5a827999 : t < 40 ? 0x6ed9eba1 : t < 60 ? 0x8f1bbcdc : 0xca62c1d6;
    const tmp = (rol(a, 5) + f + e + k + w[t]) >>> 0;
    e = d;
    d = c;
    c = rol(b, 30);
    b = a;
    a = tmp;
  }
  h[0] = (h[0] + a) >>> 0;
  h[1] = (h[1] + b) >>> 0;
  h[2] = (h[2] + c) >>> 0;
  h[3] = (h[3] + d) >>> 0;
  h[4] = (h[4] + e) >>> 0;
}

/** HMAC-SHA1 (RFC 2104) state after the ipad block and after the opad block, for a key of at most 64 bytes. */
export function hmacSha1States(key: Uint8Array): { inner: Uint32Array; outer: Uint32Array } {
  const states = [0x36, 0x5c].map((pad) => {
    const block = new Uint8Array(64).fill(pad);
    for (let i = 0; i < key.length; i++) block[i] ^= key[i];
    const h = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0);
    sha1Compress(h, block);
    block.fill(0);
    return h;
  });
  return { inner: states[0], outer: states[1] };
}

/** Bytes per SA in {@link nativeKeyTable} (AES key 16 | nonce 4 | HMAC key 20), as `@gnet/manager-native`'s EspCryptoBatch takes them. */
export const NATIVE_KEY_BYTES = 40;
/** 32-bit words per SA in {@link kernelKeyTable}: round keys (44), nonce (1), HMAC inner (5) and outer (5) states, 1 spare. */
export const KERNEL_KEY_WORDS = 56;

/** The SAs' keys for the native batch crypto, SA index = position. */
export function nativeKeyTable(sas: readonly SaConfig[]): Uint8Array {
  const t = new Uint8Array(Math.max(1, sas.length) * NATIVE_KEY_BYTES);
  sas.forEach((sa, i) => {
    t.set(sa.encKey, i * NATIVE_KEY_BYTES);
    t.set(sa.nonce, i * NATIVE_KEY_BYTES + 16);
    t.set(sa.authKey, i * NATIVE_KEY_BYTES + 20);
  });
  return t;
}

/** The SAs' keys in the layout of kernels/esp.cu (`KEY_WORDS` words per SA, host-endian words). */
export function kernelKeyTable(sas: readonly SaConfig[]): Uint32Array {
  const t = new Uint32Array(Math.max(1, sas.length) * KERNEL_KEY_WORDS);
  sas.forEach((sa, i) => {
    const o = i * KERNEL_KEY_WORDS;
    t.set(expandAes128Key(sa.encKey), o);
    t[o + 44] = ((sa.nonce[0] << 24) | (sa.nonce[1] << 16) | (sa.nonce[2] << 8) | sa.nonce[3]) >>> 0;
    const { inner, outer } = hmacSha1States(sa.authKey);
    t.set(inner, o + 45);
    t.set(outer, o + 50);
  });
  return t;
}
