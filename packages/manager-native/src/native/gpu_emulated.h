// The emulated device: the GPU proxy's requests served from host memory, with kernels compiled from
// the same `.cu` sources for the host (`.host.so`, see gnet_emu_abi.h) and run on a block pool.
// "Device pointers" are host addresses of allocations the proxy tracks, so a kernel dereferences them
// directly and every copy is a memcpy.
#pragma once
#include <memory>

#include "gpu_backend.h"

namespace gnet::gpu {

// `threads`: threads that run blocks, the launching thread included (0: BlockPool's default).
std::unique_ptr<Backend> createEmulatedBackend(unsigned threads);

}  // namespace gnet::gpu
