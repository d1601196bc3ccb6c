// gnet_kernel.h: the one header every gnet kernel includes.
// Under nvcc it only brings fixed-width integer types; compiled for the host (the emulated
// device) it will map the CUDA built-ins the kernels use onto a CPU thread pool.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define GNET_DEVICE __device__ __forceinline__
#else
#error "host (emulated device) compilation of gnet kernels is provided by the framework's emulator"
#endif
