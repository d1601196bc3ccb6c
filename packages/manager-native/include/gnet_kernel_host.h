// gnet_kernel_host.h: the host branch of gnet_kernel.h. A kernel `.cu` compiled with
// `g++ -x c++ -std=c++17` sees CUDA's built-ins mapped onto gnet's emulated device:
//
//   __global__ __device__ __host__ __forceinline__ __noinline__ __constant__ __launch_bounds__
//                               -> plain C++ (a __device__ global is an ordinary global, shared by all blocks)
//   __shared__                  -> `static thread_local`: a block runs wholly on one pool thread, so each
//                                  block sees its own copy (not zeroed between blocks, as on a GPU)
//   GNET_DYNAMIC_SHARED(T, n)   -> the launch's dynamic shared memory
//   threadIdx blockIdx blockDim gridDim warpSize, dim3 uint3 and the usual vector types
//   __syncthreads() and its _count/_and/_or forms -> a real barrier between the block's CUDA threads,
//                                  which then run as fibers (see gnet_emu_abi.h)
//   atomic{Add,Sub,Exch,CAS,Min,Max,And,Or,Xor,Inc,Dec} -> GCC atomics (blocks run concurrently)
//   __threadfence, __ldg, __popc, __clz, __ffs, __brev, __byte_perm, __funnelshift_*, __umulhi, min/max
//
// Not emulated: warp-level primitives (__shfl_*, __ballot_sync, __syncwarp, cooperative groups) and
// warp-synchronous code that relies on 32 threads running in lockstep; a kernel using the former does
// not compile for the host, which is the intended, visible failure.
#pragma once
#ifdef __CUDACC__
#error "gnet_kernel_host.h is the host branch of gnet_kernel.h; nvcc never needs it"
#endif

#include <gnet_emu_abi.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <type_traits>
#include <utility>

// ---- qualifiers -------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __constant__
#define __shared__ static thread_local
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// `__restrict__` is already a GNU C++ keyword.
#define GNET_DEVICE inline __attribute__((always_inline))
#define GNET_DYNAMIC_SHARED(T, name) T* const name = static_cast<T*>(::gnet_emu::block().dynamicShared)

// ---- vector and index types -------------------------------------------------------------------------
struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

#define GNET_VEC2(T, N, A)                             \
  struct __attribute__((aligned(A))) N##2 { T x, y; }; \
  inline N##2 make_##N##2(T x, T y) {                  \
    N##2 v;                                            \
    v.x = x;                                           \
    v.y = y;                                           \
    return v;                                          \
  }
#define GNET_VEC4(T, N, A)                                   \
  struct __attribute__((aligned(A))) N##4 { T x, y, z, w; }; \
  inline N##4 make_##N##4(T x, T y, T z, T w) {              \
    N##4 v;                                                  \
    v.x = x;                                                 \
    v.y = y;                                                 \
    v.z = z;                                                 \
    v.w = w;                                                 \
    return v;                                                \
  }
GNET_VEC2(unsigned char, uchar, 2)
GNET_VEC4(unsigned char, uchar, 4)
GNET_VEC2(unsigned short, ushort, 4)
GNET_VEC4(unsigned short, ushort, 8)
GNET_VEC2(int, int, 8)
GNET_VEC4(int, int, 16)
GNET_VEC2(unsigned int, uint, 8)
GNET_VEC4(unsigned int, uint, 16)
GNET_VEC2(float, float, 8)
GNET_VEC4(float, float, 16)
GNET_VEC2(unsigned long long, ulonglong, 16)
#undef GNET_VEC2
#undef GNET_VEC4

namespace gnet_emu {

// The CUDA thread running on this OS thread (a block runs wholly on one pool thread; with fibers the
// state is saved and restored around every barrier).
struct ThreadState {
  const gnet_emu_block* block;
  unsigned tx, ty, tz;
};
inline thread_local ThreadState tls{nullptr, 0, 0, 0};

inline const gnet_emu_block& block() { return *tls.block; }
inline uint3 thread_index() { return uint3{tls.tx, tls.ty, tls.tz}; }
inline uint3 block_index() {
  const gnet_emu_dim3& d = tls.block->blockIdx;
  return uint3{d.x, d.y, d.z};
}
inline dim3 block_dim() {
  const gnet_emu_dim3& d = tls.block->blockDim;
  return dim3(d.x, d.y, d.z);
}
inline dim3 grid_dim() {
  const gnet_emu_dim3& d = tls.block->gridDim;
  return dim3(d.x, d.y, d.z);
}

// Whether any code of this module calls a barrier. A template's static member is instantiated only
// where __syncthreads() is actually used, and its initializer runs when the module is loaded, so the
// addon learns before the first launch whether blocks need fibers or can run as a loop.
inline bool& barrier_flag() {
  static bool used = false;
  return used;
}
template <int N>
struct BarrierUse {
  static const bool marked;
};
template <int N>
const bool BarrierUse<N>::marked = (barrier_flag() = true);

inline int barrier(int predicate, int op) {
  const ThreadState saved = tls;  // the block's other fibers run on this OS thread meanwhile
  const gnet_emu_block* b = saved.block;
  if (b->engine == nullptr) {
    *b->fault = GNET_EMU_FAULT_BARRIER_IN_LOOP;
    return 0;
  }
  const int r = b->barrier(b->engine, predicate, op);
  tls = saved;
  return r;
}

template <typename T>
inline T cas_loop_update(T* p, T (*f)(T, T), T v) {
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &old, f(old, v), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <typename T, typename I>
inline T cas_loop_bits(T* p, T (*f)(T, T), T v) {
  static_assert(sizeof(T) == sizeof(I), "float/int width mismatch");
  I* ip = reinterpret_cast<I*>(p);
  I old = __atomic_load_n(ip, __ATOMIC_RELAXED);
  for (;;) {
    T cur;
    memcpy(&cur, &old, sizeof(T));
    const T next = f(cur, v);
    I bits;
    memcpy(&bits, &next, sizeof(T));
    if (__atomic_compare_exchange_n(ip, &old, bits, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return cur;
  }
}

// Kernel entry glue: unpacks the launch's `void** args` (each pointing at one argument, laid out as
// cuLaunchKernel's kernelParams) into a call of the kernel, for one thread or a whole block.
template <auto F>
struct Entry;
template <typename... P, void (*F)(P...)>
struct Entry<F> {
  static_assert((std::is_trivially_copyable_v<P> && ...), "kernel parameters must be trivially copyable");
  static constexpr unsigned sizes[sizeof...(P) + 1] = {static_cast<unsigned>(sizeof(P))..., 0u};
  static constexpr unsigned aligns[sizeof...(P) + 1] = {static_cast<unsigned>(alignof(P))..., 0u};

  template <size_t... I>
  static inline __attribute__((always_inline)) void call(void** a, std::index_sequence<I...>) {
    F(*static_cast<P*>(a[I])...);
  }
  static void run_block(const gnet_emu_block* b, void** a) {
    tls.block = b;
    const unsigned nx = b->blockDim.x, ny = b->blockDim.y, nz = b->blockDim.z;
    for (unsigned z = 0; z < nz; ++z) {
      for (unsigned y = 0; y < ny; ++y) {
        for (unsigned x = 0; x < nx; ++x) {
          tls.tx = x;
          tls.ty = y;
          tls.tz = z;
          call(a, std::index_sequence_for<P...>{});
        }
      }
    }
  }
  static void run_thread(const gnet_emu_block* b, unsigned x, unsigned y, unsigned z, void** a) {
    tls.block = b;
    tls.tx = x;
    tls.ty = y;
    tls.tz = z;
    call(a, std::index_sequence_for<P...>{});
  }
  static constexpr gnet_emu_kernel describe(const char* name) {
    return gnet_emu_kernel{GNET_EMU_ABI_VERSION, name, sizeof...(P), sizes, aligns, &run_block, &run_thread};
  }
};

}  // namespace gnet_emu

#define threadIdx (::gnet_emu::thread_index())
#define blockIdx (::gnet_emu::block_index())
#define blockDim (::gnet_emu::block_dim())
#define gridDim (::gnet_emu::grid_dim())
constexpr int warpSize = 32;

// ---- barriers and fences ----------------------------------------------------------------------------
template <int N = 0>
inline void __syncthreads() {
  (void)gnet_emu::BarrierUse<N>::marked;
  gnet_emu::barrier(1, GNET_EMU_BARRIER_SYNC);
}
template <int N = 0>
inline int __syncthreads_count(int predicate) {
  (void)gnet_emu::BarrierUse<N>::marked;
  return gnet_emu::barrier(predicate != 0, GNET_EMU_BARRIER_COUNT);
}
template <int N = 0>
inline int __syncthreads_and(int predicate) {
  (void)gnet_emu::BarrierUse<N>::marked;
  return gnet_emu::barrier(predicate != 0, GNET_EMU_BARRIER_AND);
}
template <int N = 0>
inline int __syncthreads_or(int predicate) {
  (void)gnet_emu::BarrierUse<N>::marked;
  return gnet_emu::barrier(predicate != 0, GNET_EMU_BARRIER_OR);
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
// A block's threads share one OS thread: only the compiler must not reorder across the fence.
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
template <typename T>
inline T __ldg(const T* p) {
  return *p;
}

// ---- atomics (CUDA atomics are relaxed, device-wide) ------------------------------------------------
#define GNET_ATOMIC_RMW(name, builtin, T) \
  inline T name(T* p, T v) { return builtin(p, v, __ATOMIC_RELAXED); }
GNET_ATOMIC_RMW(atomicAdd, __atomic_fetch_add, int)
GNET_ATOMIC_RMW(atomicAdd, __atomic_fetch_add, unsigned int)
GNET_ATOMIC_RMW(atomicAdd, __atomic_fetch_add, unsigned long long int)
GNET_ATOMIC_RMW(atomicSub, __atomic_fetch_sub, int)
GNET_ATOMIC_RMW(atomicSub, __atomic_fetch_sub, unsigned int)
GNET_ATOMIC_RMW(atomicExch, __atomic_exchange_n, int)
GNET_ATOMIC_RMW(atomicExch, __atomic_exchange_n, unsigned int)
GNET_ATOMIC_RMW(atomicExch, __atomic_exchange_n, unsigned long long int)
GNET_ATOMIC_RMW(atomicAnd, __atomic_fetch_and, int)
GNET_ATOMIC_RMW(atomicAnd, __atomic_fetch_and, unsigned int)
GNET_ATOMIC_RMW(atomicAnd, __atomic_fetch_and, unsigned long long int)
GNET_ATOMIC_RMW(atomicOr, __atomic_fetch_or, int)
GNET_ATOMIC_RMW(atomicOr, __atomic_fetch_or, unsigned int)
GNET_ATOMIC_RMW(atomicOr, __atomic_fetch_or, unsigned long long int)
GNET_ATOMIC_RMW(atomicXor, __atomic_fetch_xor, int)
GNET_ATOMIC_RMW(atomicXor, __atomic_fetch_xor, unsigned int)
GNET_ATOMIC_RMW(atomicXor, __atomic_fetch_xor, unsigned long long int)
#undef GNET_ATOMIC_RMW

#define GNET_ATOMIC_CAS(T)                                                                  \
  inline T atomicCAS(T* p, T compare, T v) {                                                \
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
    return compare;                                                                         \
  }
GNET_ATOMIC_CAS(int)
GNET_ATOMIC_CAS(unsigned int)
GNET_ATOMIC_CAS(unsigned long long int)
GNET_ATOMIC_CAS(unsigned short int)
#undef GNET_ATOMIC_CAS

#define GNET_ATOMIC_MINMAX(T)                          \
  inline T atomicMin(T* p, T v) {                      \
    return gnet_emu::cas_loop_update<T>(               \
        p, [](T a, T b) { return b < a ? b : a; }, v); \
  }                                                    \
  inline T atomicMax(T* p, T v) {                      \
    return gnet_emu::cas_loop_update<T>(               \
        p, [](T a, T b) { return b > a ? b : a; }, v); \
  }
GNET_ATOMIC_MINMAX(int)
GNET_ATOMIC_MINMAX(unsigned int)
GNET_ATOMIC_MINMAX(long long int)
GNET_ATOMIC_MINMAX(unsigned long long int)
#undef GNET_ATOMIC_MINMAX

inline unsigned int atomicInc(unsigned int* p, unsigned int limit) {
  return gnet_emu::cas_loop_update<unsigned int>(
      p, [](unsigned a, unsigned l) { return a >= l ? 0u : a + 1; }, limit);
}
inline unsigned int atomicDec(unsigned int* p, unsigned int limit) {
  return gnet_emu::cas_loop_update<unsigned int>(
      p, [](unsigned a, unsigned l) { return (a == 0 || a > l) ? l : a - 1; }, limit);
}
inline float atomicAdd(float* p, float v) {
  return gnet_emu::cas_loop_bits<float, uint32_t>(
      p, [](float a, float b) { return a + b; }, v);
}
inline double atomicAdd(double* p, double v) {
  return gnet_emu::cas_loop_bits<double, uint64_t>(
      p, [](double a, double b) { return a + b; }, v);
}
inline float atomicExch(float* p, float v) {
  return gnet_emu::cas_loop_bits<float, uint32_t>(
      p, [](float, float b) { return b; }, v);
}

// ---- integer and float intrinsics -------------------------------------------------------------------
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  return __builtin_bswap32(x);
}
inline unsigned long long __brevll(unsigned long long x) {
  return (static_cast<unsigned long long>(__brev(static_cast<unsigned>(x))) << 32) |
         __brev(static_cast<unsigned>(x >> 32));
}
// Byte i of the result is byte (s >> 4i) & 7 of the 8-byte value {y:x}.
inline unsigned int __byte_perm(unsigned int x, unsigned int y, unsigned int s) {
  const unsigned long long v = (static_cast<unsigned long long>(y) << 32) | x;
  unsigned int r = 0;
  for (int i = 0; i < 4; ++i) r |= static_cast<unsigned>((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
  return r;
}
inline unsigned int __funnelshift_l(unsigned int lo, unsigned int hi, unsigned int shift) {
  const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
  return static_cast<unsigned int>((v << (shift & 31)) >> 32);
}
inline unsigned int __funnelshift_lc(unsigned int lo, unsigned int hi, unsigned int shift) {
  const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
  return static_cast<unsigned int>((v << (shift > 32 ? 32 : shift)) >> 32);
}
inline unsigned int __funnelshift_r(unsigned int lo, unsigned int hi, unsigned int shift) {
  const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
  return static_cast<unsigned int>(v >> (shift & 31));
}
inline unsigned int __funnelshift_rc(unsigned int lo, unsigned int hi, unsigned int shift) {
  const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
  return static_cast<unsigned int>(v >> (shift > 32 ? 32 : shift));
}
inline unsigned int __umulhi(unsigned int x, unsigned int y) {
  return static_cast<unsigned int>((static_cast<unsigned long long>(x) * y) >> 32);
}
inline int __mulhi(int x, int y) { return static_cast<int>((static_cast<long long>(x) * y) >> 32); }
inline unsigned long long __umul64hi(unsigned long long x, unsigned long long y) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(x) * y) >> 64);
}
inline int __float_as_int(float f) {
  int i;
  memcpy(&i, &f, sizeof i);
  return i;
}
inline unsigned int __float_as_uint(float f) {
  unsigned int i;
  memcpy(&i, &f, sizeof i);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  memcpy(&f, &i, sizeof f);
  return f;
}
inline float __uint_as_float(unsigned int i) {
  float f;
  memcpy(&f, &i, sizeof f);
  return f;
}
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

#define GNET_MINMAX(T, F_MIN, F_MAX)                 \
  inline T F_MIN(T a, T b) { return b < a ? b : a; } \
  inline T F_MAX(T a, T b) { return b > a ? b : a; }
GNET_MINMAX(int, min, max)
GNET_MINMAX(unsigned int, min, max)
GNET_MINMAX(long long int, min, max)
GNET_MINMAX(unsigned long long int, min, max)
GNET_MINMAX(unsigned int, umin, umax)
GNET_MINMAX(long long int, llmin, llmax)
GNET_MINMAX(unsigned long long int, ullmin, ullmax)
#undef GNET_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- module exports (used by the wrapper that gnet-compile-kernels generates) -----------------------
// GNET_HOST_ENTRY(kernel): exports `gnet_host_kernel_<kernel>`, the kernel's descriptor.
#define GNET_HOST_ENTRY(name)                                                                       \
  extern "C" __attribute__((visibility("default"))) const gnet_emu_kernel gnet_host_kernel_##name = \
      ::gnet_emu::Entry<&name>::describe(#name);
// GNET_HOST_MODULE(hash, "entry", ...): the module's source hash, entry list and barrier flag.
#define GNET_HOST_MODULE(hash, ...)                                                                                   \
  extern "C" __attribute__((visibility("default"))) const char gnet_host_source[] = "gnet-host-source-sha256: " hash; \
  extern "C" __attribute__((visibility("default"))) const char* const gnet_host_entries[] = {__VA_ARGS__, nullptr};   \
  extern "C" __attribute__((visibility("default"))) int gnet_host_uses_barrier(void) {                                \
    return ::gnet_emu::barrier_flag() ? 1 : 0;                                                                        \
  }
