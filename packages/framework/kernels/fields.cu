// fields.cu: the framework's own kernel. It puts the packet fields an NF uploaded for a batch into
// the device-resident field columns, one row per pool slot, where the kernels of the NFs after it
// in the chain find them (row `slot`, `words` 32-bit words a row) instead of copying them again.
#include "gnet_kernel.h"

/** One thread per 32-bit word: column[slots[i] * words + w] = values[i * words + w], for i < n. */
extern "C" __global__ void gnet_field_scatter(uint32_t* __restrict__ column, const uint32_t* __restrict__ values,
                                              const uint32_t* __restrict__ slots, uint32_t n, uint32_t words) {
  uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n * words) return;
  uint32_t i = t / words;
  uint32_t w = t - i * words;
  column[(uint64_t)slots[i] * words + w] = values[t];
}

/**
 * One thread per 32-bit word: out[i * words + w] = column[slots[i] * words + w], for i < n. Packs a
 * batch's rows of a resident field for a kernel that wants its input contiguous (launched before it
 * on the same stream).
 */
extern "C" __global__ void gnet_field_gather(uint32_t* __restrict__ out, const uint32_t* __restrict__ column,
                                             const uint32_t* __restrict__ slots, uint32_t n, uint32_t words) {
  uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n * words) return;
  uint32_t i = t / words;
  uint32_t w = t - i * words;
  out[t] = column[(uint64_t)slots[i] * words + w];
}
