// ttl.cu: the TTL guard's batch work, one thread per packet. In: the header word holding TTL and
// protocol, and the header checksum. Out: the new word and checksum (RFC 1624), or drop.
#include "gnet_kernel.h"

/** words[i] = TTL << 8 | protocol, sums[i] = header checksum; keep[i] = 0 drops packet i (TTL <= 1). */
extern "C" __global__ void gnet_ttl_guard(uint16_t* __restrict__ words, uint16_t* __restrict__ sums,
                                          uint8_t* __restrict__ keep, uint32_t n) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t w = words[i];
  if ((w >> 8) <= 1) {
    keep[i] = 0;
    return;
  }
  uint32_t nw = w - 0x100;
  // HC' = ~(~HC + ~m + m'), folded to 16 bits.
  uint32_t s = (~(uint32_t)sums[i] & 0xffffu) + (~w & 0xffffu) + nw;
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  words[i] = (uint16_t)nw;
  sums[i] = (uint16_t)(~s & 0xffffu);
  keep[i] = 1;
}
