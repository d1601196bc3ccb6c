// lpm.cu: batch IPv4 longest-prefix-match lookup on a DIR-24-8 table (as DPDK rte_lpm).
//
// Table layout, shared with the CPU implementation in src/lpm.ts:
//   tbl24[addr >> 8]      entry for the top 24 bits
//   tbl8[group*256 + lo]  entry for the low 8 bits, when the tbl24 entry points to a group
// Entry (u32): bit 31 = valid, bit 30 = "points to a tbl8 group", bits 0..29 = next hop id or group.
#include "gnet_kernel.h"

#define LPM_VALID 0x80000000u
#define LPM_EXT 0x40000000u
#define LPM_VALUE 0x3fffffffu

/** One thread per address: nexthops[i] = next hop id of addrs[i] (host byte order), or -1. */
extern "C" __global__ void gnet_lpm_lookup(const uint32_t* __restrict__ tbl24, const uint32_t* __restrict__ tbl8,
                                           const uint32_t* __restrict__ addrs, int32_t* __restrict__ nexthops,
                                           uint32_t n) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t a = addrs[i];
  uint32_t e = tbl24[a >> 8];
  if ((e & (LPM_VALID | LPM_EXT)) == (LPM_VALID | LPM_EXT)) e = tbl8[((e & LPM_VALUE) << 8) | (a & 0xffu)];
  nexthops[i] = (e & LPM_VALID) ? (int32_t)(e & LPM_VALUE) : -1;
}
