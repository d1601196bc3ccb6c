import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ESP_SA_KEY_BYTES, EspCryptoBatch, espCryptoInfo } from '../src/index.js';

const info = espCryptoInfo();
if (!info.available) console.log(`EspCryptoBatch cases skipped: ${info.library}`);
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

describe('batch ESP crypto (OpenSSL)', () => {
  it('reports whether it is available and over which library', () => {
    expect(typeof info.available).toBe('boolean');
    expect(info.library.length).toBeGreaterThan(0);
  });

  it.skipIf(!info.available)('RFC 3686 vector #2 (AES-128-CTR) and an HMAC-SHA1-96 ICV; a bad ICV is refused without decrypting', () => {
    const keys = new Uint8Array(ESP_SA_KEY_BYTES);
    keys.set(hex('7E24067817FAE0D743D6CE1F32539163'), 0);
    keys.set(hex('006CB6DB'), 16);
    keys.set(hex('0b'.repeat(20)), 20);
    const c = new EspCryptoBatch(keys);
    const data = new Uint8Array(200);
    data.set(hex('00001000' + '00000001' + 'C0543B59DA48D90B'), 3); // SPI, sequence number, IV
    data.set(hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F'), 19);
    const ok = new Uint8Array(2);
    expect(c.run(true, data, Int32Array.of(0, -1), Uint32Array.of(3, 0), Uint32Array.of(48, 0), 2, ok)).toBe(1);
    expect(Array.from(ok)).toEqual([1, 0]);
    expect(Buffer.from(data.subarray(19, 51)).toString('hex').toUpperCase()).toBe('5104A106168A72D9790D41EE8EDAD388EB2E1EFC46DA57C8FCE630DF9141BE28');
    const icv = createHmac('sha1', Buffer.alloc(20, 0x0b)).update(data.subarray(3, 51)).digest().subarray(0, 12);
    expect(Buffer.from(data.subarray(51, 63)).equals(icv)).toBe(true);
    const tampered = data.slice();
    tampered[20] ^= 1;
    expect(c.run(false, tampered, Int32Array.of(0), Uint32Array.of(3), Uint32Array.of(48), 1, ok)).toBe(0);
    expect(tampered[20]).toBe(data[20] ^ 1); // untouched
    expect(c.run(false, data, Int32Array.of(0), Uint32Array.of(3), Uint32Array.of(48), 1, ok)).toBe(1);
    expect(Buffer.from(data.subarray(19, 51)).toString('hex')).toBe('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  });

  it.skipIf(!info.available)('refuses bad keys, bad counts and regions outside the buffer', () => {
    expect(() => new EspCryptoBatch(new Uint8Array(39))).toThrow(/40 bytes per SA/);
    const c = new EspCryptoBatch(new Uint8Array(40));
    const ok = new Uint8Array(1);
    expect(() => c.run(true, new Uint8Array(64), Int32Array.of(0), Uint32Array.of(0), Uint32Array.of(16), 2, ok)).toThrow(RangeError);
    expect(c.run(true, new Uint8Array(64), Int32Array.of(0), Uint32Array.of(40), Uint32Array.of(16), 1, ok)).toBe(0);
    expect(c.run(true, new Uint8Array(64), Int32Array.of(1), Uint32Array.of(0), Uint32Array.of(16), 1, ok)).toBe(0);
    // An array of another element type is refused, not read as the one expected.
    expect(() => c.run(true, new Uint8Array(64), Int32Array.of(0), Uint8Array.of(0, 0, 0, 0) as unknown as Uint32Array, Uint32Array.of(16), 1, ok)).toThrow(/off must be a Uint32Array/);
  });
});
