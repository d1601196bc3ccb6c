// barrier.cu: test kernels for the emulated device's block semantics: static and dynamic shared
// memory, __syncthreads() (and its reducing forms) between the threads of a block, and atomics
// across blocks. Built by the tests for the host with g++ and, when nvcc is installed, checked as PTX.
#include "gnet_kernel.h"

/**
 * Tree sum of each block's inputs in shared memory: every round reads what other threads wrote in the
 * previous one, so without a real barrier the sums come out wrong. blockSums[b] = sum of block b;
 * *total accumulates every block's sum with atomicAdd. blockDim.x must be a power of two <= 1024.
 */
extern "C" __global__ void gnet_test_block_sum(const uint32_t* __restrict__ in, uint32_t n,
                                               uint32_t* __restrict__ blockSums, unsigned long long* total) {
  __shared__ uint32_t s[1024];
  const uint32_t t = threadIdx.x;
  const uint32_t i = blockIdx.x * blockDim.x + t;
  s[t] = i < n ? in[i] : 0u;
  __syncthreads();
  for (uint32_t stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (t < stride) s[t] += s[t + stride];
    __syncthreads();
  }
  if (t == 0) {
    blockSums[blockIdx.x] = s[0];
    atomicAdd(total, (unsigned long long)s[0]);
  }
}

/**
 * out[i] = in of the next thread in the block (wrapping), passed through dynamic shared memory in
 * 2-D blocks; counts[b] = number of odd inputs in block b via __syncthreads_count, and flags[b] =
 * (__syncthreads_or(odd) << 1) | __syncthreads_and(odd).
 */
extern "C" __global__ void gnet_test_rotate(const int32_t* __restrict__ in, int32_t* __restrict__ out,
                                            int32_t* __restrict__ counts, int32_t* __restrict__ flags) {
  GNET_DYNAMIC_SHARED(int32_t, s);
  const uint32_t threads = blockDim.x * blockDim.y;
  const uint32_t t = threadIdx.y * blockDim.x + threadIdx.x;
  const uint32_t i = blockIdx.x * threads + t;
  const int32_t v = in[i];
  s[t] = v;
  __syncthreads();
  out[i] = s[(t + 1) % threads];
  const int odd = v & 1;
  const int c = __syncthreads_count(odd);
  const int all = __syncthreads_and(odd);
  const int any = __syncthreads_or(odd);
  if (t == 0) {
    counts[blockIdx.x] = c;
    flags[blockIdx.x] = (any << 1) | all;
  }
}

/**
 * Atomics on 32-bit ints across every thread of the grid: c[0] += 1, c[1] = max(i), c[2] = min(i),
 * c[3] counts successful atomicCAS claims of slot i % 8 in claims[] (exactly 8 succeed), c[4] ^= i.
 */
extern "C" __global__ void gnet_test_atomics(int32_t* __restrict__ c, uint32_t* __restrict__ claims, uint32_t n) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  atomicAdd(&c[0], 1);
  atomicMax(&c[1], (int32_t)i);
  atomicMin(&c[2], (int32_t)i);
  if (atomicCAS(&claims[i % 8], 0u, i + 1) == 0u) atomicAdd(&c[3], 1);
  atomicXor(&c[4], (int32_t)i);
  atomicExch(&c[5], 7);
}

/**
 * Threads t >= active return before the barrier (they count as arrived, as on Volta and later); the
 * others exchange values through shared memory: out[b * active + t] = in of thread (t + 1) % active.
 */
extern "C" __global__ void gnet_test_early_exit(const int32_t* __restrict__ in, int32_t* __restrict__ out,
                                                uint32_t active) {
  __shared__ int32_t s[1024];
  const uint32_t t = threadIdx.x;
  if (t >= active) return;
  s[t] = in[blockIdx.x * active + t];
  __syncthreads();
  out[blockIdx.x * active + t] = s[(t + 1) % active];
}
