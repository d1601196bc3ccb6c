// The GPU backend: the proxy's requests issued through the CUDA driver API (opened with dlopen, see
// cuda_driver.h) on the device's primary context, one non-blocking CUDA stream per client. Every
// driver failure becomes a CudaError naming the call and the result code.
#pragma once
#include <memory>

#include "gpu_backend.h"

namespace gnet::gpu {

// Retains device `ordinal`'s primary context. Throws Error GNET_NO_GPU (with the driver's reason)
// when no GPU is usable, CudaError when the driver refuses.
std::unique_ptr<Backend> createCudaBackend(int ordinal);

}  // namespace gnet::gpu
