// esp.cu: ESP crypto for a batch of packets, one packet per thread: AES-128-CTR (RFC 3686) and
// HMAC-SHA1-96 (RFC 2404), byte-identical to the CPU path (OpenSSL / node:crypto in src/cpu-crypto.ts).
//
// Layout, shared with src/gpu.ts:
//   keys  56 words per SA (src/keys.ts kernelKeyTable): AES-128 round keys w[0..43] (FIPS-197 word
//         order), RFC 3686 nonce at 44, HMAC-SHA1 state after the ipad block at 45..49 and after the
//         opad block at 50..54 (so no per-packet key set-up).
//   pkts  the ESP packets of the batch, packet i at byte off[i] (4-byte aligned): SPI, sequence
//         number, IV (8), then len[i] - 16 bytes of payload (a multiple of 4), then the 12-byte ICV.
//   job   -1: nothing; else 2 * SA index + (1 to verify and decrypt, 0 to encrypt and MAC).
//   ok    1 when done (decrypting: the ICV matched and the payload was decrypted), else 0.
#include "gnet_kernel.h"

#define ESP_KEY_WORDS 56
#define ESP_HDR_WORDS 4

__constant__ uint32_t kTe0[256] = {
    0xc66363a5u, 0xf87c7c84u, 0xee777799u, 0xf67b7b8du, 0xfff2f20du, 0xd66b6bbdu, 0xde6f6fb1u, 0x91c5c554u, 0x60303050u,
    0x02010103u, 0xce6767a9u, 0x562b2b7du, 0xe7fefe19u, 0xb5d7d762u, 0x4dababe6u, 0xec76769au, 0x8fcaca45u, 0x1f82829du,
    0x89c9c940u, 0xfa7d7d87u, 0xeffafa15u, 0xb25959ebu, 0x8e4747c9u, 0xfbf0f00bu, 0x41adadecu, 0xb3d4d467u, 0x5fa2a2fdu,
    0x45afafeau, 0x239c9cbfu, 0x53a4a4f7u, 0xe4727296u, 0x9bc0c05bu, 0x75b7b7c2u, 0xe1fdfd1cu, 0x3d9393aeu, 0x4c26266au,
    0x6c36365au, 0x7e3f3f41u, 0xf5f7f702u, 0x83cccc4fu, 0x6834345cu, 0x51a5a5f4u, 0xd1e5e534u, 0xf9f1f108u, 0xe2717193u,
    0xabd8d873u, 0x62313153u, 0x2a15153fu, 0x0804040cu, 0x95c7c752u, 0x46232365u, 0x9dc3c35eu, 0x30181828u, 0x379696a1u,
    0x0a05050fu, 0x2f9a9ab5u, 0x0e070709u, 0x24121236u, 0x1b80809bu, 0xdfe2e23du, 0xcdebeb26u, 0x4e272769u, 0x7fb2b2cdu,
    0xea75759fu, 0x1209091bu, 0x1d83839eu, 0x582c2c74u, 0x341a1a2eu, 0x361b1b2du, 0xdc6e6eb2u, 0xb45a5aeeu, 0x5ba0a0fbu,
    0xa45252f6u, 0x763b3b4du, 0xb7d6d661u, 0x7db3b3ceu, 0x5229297bu, 0xdde3e33eu, 0x5e2f2f71u, 0x13848497u, 0xa65353f5u,
    0xb9d1d168u, 0x00000000u, 0xc1eded2cu, 0x40202060u, 0xe3fcfc1fu, 0x79b1b1c8u, 0xb65b5bedu, 0xd46a6abeu, 0x8dcbcb46u,
    0x67bebed9u, 0x7239394bu, 0x944a4adeu, 0x984c4cd4u, 0xb05858e8u, 0x85cfcf4au, 0xbbd0d06bu, 0xc5efef2au, 0x4faaaae5u,
    0xedfbfb16u, 0x864343c5u, 0x9a4d4dd7u, 0x66333355u, 0x11858594u, 0x8a4545cfu, 0xe9f9f910u, 0x04020206u, 0xfe7f7f81u,
    0xa05050f0u, 0x783c3c44u, 0x259f9fbau, 0x4ba8a8e3u, 0xa25151f3u, 0x5da3a3feu, 0x804040c0u, 0x058f8f8au, 0x3f9292adu,
    0x219d9dbcu, 0x70383848u, 0xf1f5f504u, 0x63bcbcdfu, 0x77b6b6c1u, 0xafdada75u, 0x42212163u, 0x20101030u, 0xe5ffff1au,
    0xfdf3f30eu, 0xbfd2d26du, 0x81cdcd4cu, 0x180c0c14u, 0x26131335u, 0xc3ecec2fu, 0xbe5f5fe1u, 0x359797a2u, 0x884444ccu,
    0x2e171739u, 0x93c4c457u, 0x55a7a7f2u, 0xfc7e7e82u, 0x7a3d3d47u, 0xc86464acu, 0xba5d5de7u, 0x3219192bu, 0xe6737395u,
    0xc06060a0u, 0x19818198u, 0x9e4f4fd1u, 0xa3dcdc7fu, 0x44222266u, 0x542a2a7eu, 0x3b9090abu, 0x0b888883u, 0x8c4646cau,
    0xc7eeee29u, 0x6bb8b8d3u, 0x2814143cu, 0xa7dede79u, 0xbc5e5ee2u, 0x160b0b1du, 0xaddbdb76u, 0xdbe0e03bu, 0x64323256u,
    0x743a3a4eu, 0x140a0a1eu, 0x924949dbu, 0x0c06060au, 0x4824246cu, 0xb85c5ce4u, 0x9fc2c25du, 0xbdd3d36eu, 0x43acacefu,
    0xc46262a6u, 0x399191a8u, 0x319595a4u, 0xd3e4e437u, 0xf279798bu, 0xd5e7e732u, 0x8bc8c843u, 0x6e373759u, 0xda6d6db7u,
    0x018d8d8cu, 0xb1d5d564u, 0x9c4e4ed2u, 0x49a9a9e0u, 0xd86c6cb4u, 0xac5656fau, 0xf3f4f407u, 0xcfeaea25u, 0xca6565afu,
    0xf47a7a8eu, 0x47aeaee9u, 0x10080818u, 0x6fbabad5u, 0xf0787888u, 0x4a25256fu, 0x5c2e2e72u, 0x381c1c24u, 0x57a6a6f1u,
    0x73b4b4c7u, 0x97c6c651u, 0xcbe8e823u, 0xa1dddd7cu, 0xe874749cu, 0x3e1f1f21u, 0x964b4bddu, 0x61bdbddcu, 0x0d8b8b86u,
    0x0f8a8a85u, 0xe0707090u, 0x7c3e3e42u, 0x71b5b5c4u, 0xcc6666aau, 0x904848d8u, 0x06030305u, 0xf7f6f601u, 0x1c0e0e12u,
    0xc26161a3u, 0x6a35355fu, 0xae5757f9u, 0x69b9b9d0u, 0x17868691u, 0x99c1c158u, 0x3a1d1d27u, 0x279e9eb9u, 0xd9e1e138u,
    0xebf8f813u, 0x2b9898b3u, 0x22111133u, 0xd26969bbu, 0xa9d9d970u, 0x078e8e89u, 0x339494a7u, 0x2d9b9bb6u, 0x3c1e1e22u,
    0x15878792u, 0xc9e9e920u, 0x87cece49u, 0xaa5555ffu, 0x50282878u, 0xa5dfdf7au, 0x038c8c8fu, 0x59a1a1f8u, 0x09898980u,
    0x1a0d0d17u, 0x65bfbfdau, 0xd7e6e631u, 0x844242c6u, 0xd06868b8u, 0x824141c3u, 0x299999b0u, 0x5a2d2d77u, 0x1e0f0f11u,
    0x7bb0b0cbu, 0xa85454fcu, 0x6dbbbbd6u, 0x2c16163au,
};

GNET_DEVICE uint32_t esp_ror8(uint32_t x) { return (x >> 8) | (x << 24); }
GNET_DEVICE uint32_t esp_rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
// Packet bytes are read as little-endian words; AES and SHA-1 work on big-endian words.
GNET_DEVICE uint32_t esp_bswap(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}
GNET_DEVICE uint32_t esp_sbox(const uint32_t* te, uint32_t x) { return (te[x] >> 16) & 0xffu; }

// One AES-128 block (FIPS-197) with the T-table formulation; te = Te0 (Te1..3 are rotations of it).
GNET_DEVICE void esp_aes128(const uint32_t* te, const uint32_t* rk, const uint32_t in[4], uint32_t out[4]) {
  uint32_t s0 = in[0] ^ rk[0], s1 = in[1] ^ rk[1], s2 = in[2] ^ rk[2], s3 = in[3] ^ rk[3];
  for (int r = 1; r < 10; ++r) {
    const uint32_t* k = rk + 4 * r;
    uint32_t t0 = te[s0 >> 24] ^ esp_ror8(te[(s1 >> 16) & 0xff]) ^ esp_ror8(esp_ror8(te[(s2 >> 8) & 0xff])) ^
                  esp_ror8(esp_ror8(esp_ror8(te[s3 & 0xff]))) ^ k[0];
    uint32_t t1 = te[s1 >> 24] ^ esp_ror8(te[(s2 >> 16) & 0xff]) ^ esp_ror8(esp_ror8(te[(s3 >> 8) & 0xff])) ^
                  esp_ror8(esp_ror8(esp_ror8(te[s0 & 0xff]))) ^ k[1];
    uint32_t t2 = te[s2 >> 24] ^ esp_ror8(te[(s3 >> 16) & 0xff]) ^ esp_ror8(esp_ror8(te[(s0 >> 8) & 0xff])) ^
                  esp_ror8(esp_ror8(esp_ror8(te[s1 & 0xff]))) ^ k[2];
    uint32_t t3 = te[s3 >> 24] ^ esp_ror8(te[(s0 >> 16) & 0xff]) ^ esp_ror8(esp_ror8(te[(s1 >> 8) & 0xff])) ^
                  esp_ror8(esp_ror8(esp_ror8(te[s2 & 0xff]))) ^ k[3];
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  const uint32_t* k = rk + 40;
  out[0] = ((esp_sbox(te, s0 >> 24) << 24) | (esp_sbox(te, (s1 >> 16) & 0xff) << 16) |
            (esp_sbox(te, (s2 >> 8) & 0xff) << 8) | esp_sbox(te, s3 & 0xff)) ^
           k[0];
  out[1] = ((esp_sbox(te, s1 >> 24) << 24) | (esp_sbox(te, (s2 >> 16) & 0xff) << 16) |
            (esp_sbox(te, (s3 >> 8) & 0xff) << 8) | esp_sbox(te, s0 & 0xff)) ^
           k[1];
  out[2] = ((esp_sbox(te, s2 >> 24) << 24) | (esp_sbox(te, (s3 >> 16) & 0xff) << 16) |
            (esp_sbox(te, (s0 >> 8) & 0xff) << 8) | esp_sbox(te, s1 & 0xff)) ^
           k[2];
  out[3] = ((esp_sbox(te, s3 >> 24) << 24) | (esp_sbox(te, (s0 >> 16) & 0xff) << 16) |
            (esp_sbox(te, (s1 >> 8) & 0xff) << 8) | esp_sbox(te, s2 & 0xff)) ^
           k[3];
}

// AES-128-CTR over `words` payload words at p (RFC 3686 counter block: nonce | IV | block counter from 1).
GNET_DEVICE void esp_ctr(const uint32_t* te, const uint32_t* key, uint32_t* p, uint32_t words) {
  uint32_t c[4] = {key[44], esp_bswap(p[2]), esp_bswap(p[3]), 1u};
  uint32_t* d = p + ESP_HDR_WORDS;
  for (uint32_t b = 0; b < words; b += 4, ++c[3]) {
    uint32_t ks[4];
    esp_aes128(te, key, c, ks);
    for (uint32_t j = 0; j < 4 && b + j < words; ++j) d[b + j] ^= esp_bswap(ks[j]);
  }
}

// One SHA-1 compression (FIPS 180-4) of w[16] into h[5]; w is used as the rolling schedule.
GNET_DEVICE void esp_sha1_block(uint32_t h[5], uint32_t w[16]) {
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int t = 0; t < 80; ++t) {
    uint32_t wt;
    if (t < 16) {
      wt = w[t];
    } else {
      wt = esp_rol(w[(t + 13) & 15] ^ w[(t + 8) & 15] ^ w[(t + 2) & 15] ^ w[t & 15], 1);
      w[t & 15] = wt;
    }
    uint32_t f, k;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999u;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1u;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdcu;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6u;
    }
    uint32_t tmp = esp_rol(a, 5) + f + e + k + wt;
    e = d;
    d = c;
    c = esp_rol(b, 30);
    b = a;
    a = tmp;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

// HMAC-SHA1 over `words` words at p from the SA's precomputed ipad/opad states; digest into mac[5].
GNET_DEVICE void esp_hmac(const uint32_t* key, const uint32_t* p, uint32_t words, uint32_t mac[5]) {
  uint32_t h[5] = {key[45], key[46], key[47], key[48], key[49]};
  uint32_t w[16];
  const uint32_t full = words / 16, rem = words % 16;
  for (uint32_t blk = 0; blk < full; ++blk) {
    for (int t = 0; t < 16; ++t) w[t] = esp_bswap(p[blk * 16 + t]);
    esp_sha1_block(h, w);
  }
  for (uint32_t t = 0; t < 16; ++t) w[t] = t < rem ? esp_bswap(p[full * 16 + t]) : 0u;
  w[rem] = 0x80000000u;
  if (rem >= 14) {
    esp_sha1_block(h, w);
    for (int t = 0; t < 16; ++t) w[t] = 0u;
  }
  w[15] = (64u + 4u * words) * 8u;  // the ipad block is part of the message
  esp_sha1_block(h, w);
  uint32_t g[5] = {key[50], key[51], key[52], key[53], key[54]};
  for (int t = 0; t < 16; ++t) w[t] = t < 5 ? h[t] : 0u;
  w[5] = 0x80000000u;
  w[15] = (64u + 20u) * 8u;
  esp_sha1_block(g, w);
  for (int t = 0; t < 5; ++t) mac[t] = g[t];
}

/** One thread per packet: encrypt + MAC, or verify (constant time) + decrypt; see the layout above. */
extern "C" __global__ void gnet_esp_crypt(const uint32_t* __restrict__ keys, uint8_t* __restrict__ pkts,
                                          const uint32_t* __restrict__ off, const uint32_t* __restrict__ len,
                                          const int32_t* __restrict__ job, uint8_t* __restrict__ ok, uint32_t n) {
#if defined(__CUDACC__)
  // The T-table in shared memory: data-dependent lookups in constant memory would serialize.
  __shared__ uint32_t te[256];
  for (uint32_t k = threadIdx.x; k < 256; k += blockDim.x) te[k] = kTe0[k];
  __syncthreads();
#else
  const uint32_t* te = kTe0;  // the emulated device: no barrier needed (blocks run as plain loops)
#endif
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int32_t j = job[i];
  if (j < 0) {
    ok[i] = 0;
    return;
  }
  const uint32_t* key = keys + (uint32_t)(j >> 1) * ESP_KEY_WORDS;
  uint32_t* p = reinterpret_cast<uint32_t*>(pkts + off[i]);
  const uint32_t words = len[i] / 4;
  uint32_t mac[5];
  if ((j & 1) == 0) {
    esp_ctr(te, key, p, words - ESP_HDR_WORDS);
    esp_hmac(key, p, words, mac);
    for (int t = 0; t < 3; ++t) p[words + t] = esp_bswap(mac[t]);
    ok[i] = 1;
  } else {
    esp_hmac(key, p, words, mac);
    uint32_t diff = 0;
    for (int t = 0; t < 3; ++t) diff |= mac[t] ^ esp_bswap(p[words + t]);
    if (diff == 0) esp_ctr(te, key, p, words - ESP_HDR_WORDS);
    ok[i] = diff == 0 ? 1 : 0;
  }
}
