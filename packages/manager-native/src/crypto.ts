/**
 * Batch ESP crypto over OpenSSL's libcrypto (AES-128-CTR per RFC 3686 + HMAC-SHA1-96 per RFC 2404):
 * a whole batch of packets per call, so the per-packet cost is the crypto itself, not a crossing from
 * JavaScript into native code. Present when the addon was built with OpenSSL's headers
 * (`find_package(OpenSSL)` in CMakeLists.txt) and the system's `libcrypto.so.3` opens at run time
 * (dlopen'ed with RTLD_DEEPBIND, so calls never land in the OpenSSL copy inside the node binary);
 * {@link espCryptoInfo} says whether it is.
 *
 * @module
 */
import { loadNative } from './loader.js';

/** The native side of {@link EspCryptoBatch} (see `src/native/crypto_batch.h`). */
interface NativeEspCrypto {
  run(encrypt: boolean, data: Uint8Array, sa: Int32Array, off: Uint32Array, len: Uint32Array, count: number, ok: Uint8Array): number;
}

interface NativeCryptoBinding {
  available: boolean;
  library: string;
  EspCrypto?: new (keys: Uint8Array) => NativeEspCrypto;
}

/** Bytes of one SA's key material for {@link EspCryptoBatch}: AES-128 key (16) | RFC 3686 nonce (4) | HMAC-SHA1 key (20). */
export const ESP_SA_KEY_BYTES = 40;

/** Whether the batch ESP crypto is in this build of the addon, and over which library. */
export interface EspCryptoInfo {
  /** True when the addon was built with OpenSSL. */
  available: boolean;
  /** The OpenSSL version string, or why it is absent. */
  library: string;
}

function binding(): NativeCryptoBinding | undefined {
  return (loadNative() as unknown as { crypto?: NativeCryptoBinding }).crypto;
}

/** Reports whether {@link EspCryptoBatch} can be used (never throws for a missing OpenSSL; throws only when the addon itself does not load). */
export function espCryptoInfo(): EspCryptoInfo {
  const b = binding();
  if (!b) return { available: false, library: 'none (the addon predates the crypto binding: rebuild it)' };
  return { available: b.available, library: b.library };
}

/**
 * ESP crypto for batches of packets under a fixed set of SAs (key schedules and HMAC ipad/opad states
 * are computed once, here). For packet `i` with `sa[i] >= 0`, `data[off[i], off[i] + len[i])` is an ESP
 * packet without its ICV: SPI (4), sequence number (4), IV (8), payload; the 12-byte ICV follows it.
 * - encrypt: AES-128-CTR over the payload with counter block `nonce | IV | 00000001`, then
 *   HMAC-SHA1 over SPI..payload, its first 12 bytes written right after the payload.
 * - decrypt: the ICV is compared first, in constant time; only when it matches is the payload
 *   decrypted in place.
 *
 * `ok[i]` becomes 1 for each packet done (and the ICV matched), 0 otherwise (`sa[i] < 0`, an SA
 * index out of range, a region outside `data`, or a bad ICV).
 */
export class EspCryptoBatch {
  private readonly native: NativeEspCrypto;

  /**
   * @param keys {@link ESP_SA_KEY_BYTES} per SA, SA index = position.
   * @throws Error when the addon has no OpenSSL ({@link espCryptoInfo}) or `keys` is not 40 bytes per SA.
   */
  constructor(keys: Uint8Array) {
    const b = binding();
    if (!b?.EspCrypto) throw new Error(`batch ESP crypto unavailable: ${espCryptoInfo().library}`);
    this.native = new b.EspCrypto(keys);
  }

  /**
   * Encrypts (`encrypt` true) or verifies and decrypts `count` packets in place; returns how many were done.
   * @throws RangeError when `count` exceeds one of the arrays.
   */
  run(encrypt: boolean, data: Uint8Array, sa: Int32Array, off: Uint32Array, len: Uint32Array, count: number, ok: Uint8Array): number {
    return this.native.run(encrypt, data, sa, off, len, count, ok);
  }
}
