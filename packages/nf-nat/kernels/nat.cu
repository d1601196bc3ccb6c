// nat.cu: batch lookup of the NAT's flow table (an open-addressed hash table, linear probing).
//
// Table layout, shared with the CPU implementation in src/flow-table.ts:
//   slots[8*slot .. 8*slot+7]  the key words k0..k3 of a slot, then its value (not read here);
//   bits 16..31 of word 3 are flags, not key; word 3 == 0 marks an empty slot
// The hash (nat_hash), the home slot (nat_home) and the probe sequence (slot + 1, wrapping at the
// capacity) are the CPU's (hashKey, homeOf, find).
// Output: per query, the slot holding the key, or -1. The CPU checks the slot against the key before
// using it (its table may have changed since the copy was uploaded), so a stale answer costs a
// CPU probe, never a wrong translation.
#include "gnet_kernel.h"

GNET_DEVICE uint32_t nat_mul(uint32_t a, uint32_t b) { return a * b; }

/** The CPU's hashKey: murmur3's finalizer over a multiply-xor chain of the four key words. */
GNET_DEVICE uint32_t nat_hash(uint32_t k0, uint32_t k1, uint32_t k2, uint32_t k3) {
  uint32_t h = nat_mul(k0 ^ 0x9e3779b9u, 0x85ebca6bu);
  h = nat_mul(h ^ (h >> 15) ^ k1, 0xc2b2ae35u);
  h = nat_mul(h ^ (h >> 13) ^ k2, 0x85ebca6bu);
  h = nat_mul(h ^ (h >> 16) ^ k3, 0xc2b2ae35u);
  h ^= h >> 16;
  h = nat_mul(h, 0x85ebca6bu);
  h ^= h >> 13;
  h = nat_mul(h, 0xc2b2ae35u);
  h ^= h >> 16;
  return h;
}

/** The CPU's homeOf: the start (an even slot) of a 64-byte line; the top 24 bits of the hash scaled to the lines. */
GNET_DEVICE uint32_t nat_home(uint32_t h, uint32_t capacity) {
  return 2u * (uint32_t)(((uint64_t)(h >> 8) * (capacity >> 1)) >> 24);
}

/** One thread per query: found[i] = the slot of key queries[4i..4i+3] in the table, or -1. */
extern "C" __global__ void gnet_nat_lookup(const uint32_t* __restrict__ slots, uint32_t capacity,
                                           const uint32_t* __restrict__ queries, int32_t* __restrict__ found,
                                           uint32_t n) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t q0 = queries[4 * i], q1 = queries[4 * i + 1], q2 = queries[4 * i + 2], q3 = queries[4 * i + 3];
  int32_t at = -1;
  if (q3 != 0) {
    uint32_t s = nat_home(nat_hash(q0, q1, q2, q3), capacity);
    // The table is never more than 7/8 full, so an empty slot ends every probe; the bound only
    // guards against a torn copy.
    for (uint32_t step = 0; step < capacity; step++) {
      const uint32_t* k = slots + 8 * (size_t)s;
      if (k[3] == 0) break;
      if ((k[3] & 0xffffu) == q3 && k[0] == q0 && k[1] == q1 && k[2] == q2) {
        at = (int32_t)s;
        break;
      }
      s = s + 1 == capacity ? 0 : s + 1;
    }
  }
  found[i] = at;
}
