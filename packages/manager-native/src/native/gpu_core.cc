#include "gpu_core.h"

#include "cuda_driver.h"

namespace gnet::gpu {
namespace {

std::string cudaMessage(const std::string& call, int result, const std::string& context) {
  const std::string text = cuda::resultText(result);
  std::string msg = call + " failed: " + cuda::resultName(result) + " (" + std::to_string(result) + ")";
  if (!text.empty()) msg += ": " + text;
  if (!context.empty()) msg += " [" + context + "]";
  return msg;
}

}  // namespace

CudaError::CudaError(std::string call, int result, const std::string& context)
    : std::runtime_error(cudaMessage(call, result, context)),
      call_(std::move(call)),
      result_(result),
      name_(cuda::resultName(result)) {}

void checkCuda(int r, const char* call, const std::string& context) {
  if (r != cuda::CUDA_SUCCESS) throw CudaError(call, r, context);
}

void Module::unknownEntry(const std::string& name) const {
  std::string list;
  for (const std::string& e : entries()) list += (list.empty() ? "" : ", ") + e;
  throw Error("GNET_UNKNOWN_ENTRY", "module " + path_ + " has no kernel entry '" + name +
                                        "' (entries: " + (list.empty() ? "none" : list) + ")");
}

}  // namespace gnet::gpu
