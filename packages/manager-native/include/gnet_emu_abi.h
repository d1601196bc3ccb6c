// gnet_emu_abi.h: the C interface between the emulated device (in the gnet addon) and a kernel
// module compiled for the host (`kernels/<name>.host.so`, built from the very same `.cu`).
//
// The module exports one `gnet_emu_kernel` named `gnet_host_kernel_<entry>` per `extern "C" __global__`
// kernel, plus `gnet_host_entries` (a NULL-terminated list of the entry names) and
// `gnet_host_uses_barrier()`. The addon runs blocks on its thread pool: a module whose code never calls
// `__syncthreads()` runs each block's threads as a plain loop (`run_block`); otherwise the addon runs
// each CUDA thread on its own fiber (`run_thread`) and `__syncthreads()` calls back into it (`barrier`).
#ifndef GNET_EMU_ABI_H
#define GNET_EMU_ABI_H

/* Bumped whenever a struct below changes; the addon refuses modules built for another version. */
#define GNET_EMU_ABI_VERSION 1

/* Operations of gnet_emu_block.barrier: plain __syncthreads() and its reducing forms. */
#define GNET_EMU_BARRIER_SYNC 0
#define GNET_EMU_BARRIER_COUNT 1
#define GNET_EMU_BARRIER_AND 2
#define GNET_EMU_BARRIER_OR 3

/* Faults a module reports through gnet_emu_block.fault (the launch then fails with a message). */
#define GNET_EMU_FAULT_BARRIER_IN_LOOP 1

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gnet_emu_dim3 {
  unsigned x, y, z;
} gnet_emu_dim3;

/* One block of a launch, as the addon hands it to a module. */
typedef struct gnet_emu_block {
  gnet_emu_dim3 gridDim;
  gnet_emu_dim3 blockDim;
  gnet_emu_dim3 blockIdx;
  void* dynamicShared; /* the launch's dynamic shared memory for this block (sharedMem bytes) */
  unsigned long long dynamicSharedBytes;
  void* engine; /* the addon's fiber scheduler running this block; NULL when threads run as a loop */
  /* __syncthreads(): suspends the calling CUDA thread until every live thread of the block arrives;
     returns the reduction `op` of the threads' predicates (count, and, or; 0 for a plain barrier). */
  int (*barrier)(void* engine, int predicate, int op);
  int* fault; /* a module sets *fault to a GNET_EMU_FAULT_* code when a kernel misuses the emulator */
} gnet_emu_block;

/* One kernel entry of a host-compiled module. */
typedef struct gnet_emu_kernel {
  unsigned abi; /* GNET_EMU_ABI_VERSION of the header the module was built with */
  const char* name;
  unsigned paramCount;
  const unsigned* paramSizes;  /* sizeof each parameter, in order */
  const unsigned* paramAligns; /* alignof each parameter, in order */
  /* Every thread of the block in order (threadIdx.x fastest); only for modules without barriers. */
  void (*run_block)(const gnet_emu_block* block, void** args);
  /* One CUDA thread; the addon calls it on that thread's fiber. */
  void (*run_thread)(const gnet_emu_block* block, unsigned tx, unsigned ty, unsigned tz, void** args);
} gnet_emu_kernel;

#ifdef __cplusplus
}
#endif

#endif /* GNET_EMU_ABI_H */
