// gnet_kernel.h: the one header every gnet kernel includes.
// Under nvcc it only brings fixed-width integer types and two portable macros. Compiled for the host
// (the emulated device: `g++ -x c++`), it maps the CUDA built-ins the kernels use onto the emulator,
// so one `.cu` source serves the GPU and the CPU.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define GNET_DEVICE __device__ __forceinline__
// Dynamic shared memory (the launch's sharedMem bytes), as `T name[]`; use this instead of
// `extern __shared__ T name[]`, which has no host spelling.
#define GNET_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#else
// Angle brackets on purpose: host-only headers are not part of the PTX source hash (see kernels.ts).
#include <gnet_kernel_host.h>
#endif
