#include "cuda_driver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace gnet::cuda {
namespace {

Driver g_driver;
DriverStatus g_status;
std::once_flag g_once;

template <typename Fn>
bool resolve(void* lib, const char* name, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(lib, name));
  if (out == nullptr) missing = name;
  return out != nullptr;
}

// The first of two names the driver exports: the newer ABI where it has one, else the original.
template <typename Fn>
bool resolveEither(void* lib, const char* newer, const char* older, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(lib, newer));
  return out != nullptr || resolve(lib, older, out, missing);
}

// Entry points of the GPU proxy (context, modules, memory, streams, events); `_v2` where the ABI changed.
bool resolveProxy(void* lib, Driver& d, std::string& missing) {
  return resolve(lib, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, missing) &&
         resolveEither(lib, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease", d.cuDevicePrimaryCtxRelease,
                       missing) &&
         resolve(lib, "cuCtxSetCurrent", d.cuCtxSetCurrent, missing) &&
         resolve(lib, "cuCtxSynchronize", d.cuCtxSynchronize, missing) &&
         resolve(lib, "cuModuleLoadData", d.cuModuleLoadData, missing) &&
         resolve(lib, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, missing) &&
         resolve(lib, "cuModuleUnload", d.cuModuleUnload, missing) &&
         resolve(lib, "cuModuleGetFunction", d.cuModuleGetFunction, missing) &&
         resolve(lib, "cuMemAlloc_v2", d.cuMemAlloc, missing) && resolve(lib, "cuMemFree_v2", d.cuMemFree, missing) &&
         resolve(lib, "cuMemAllocHost_v2", d.cuMemAllocHost, missing) &&
         resolve(lib, "cuMemFreeHost", d.cuMemFreeHost, missing) &&
         resolve(lib, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, missing) &&
         resolve(lib, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, missing) &&
         resolve(lib, "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, missing) &&
         resolve(lib, "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync, missing) &&
         resolve(lib, "cuMemsetD8_v2", d.cuMemsetD8, missing) &&
         resolve(lib, "cuMemsetD8Async", d.cuMemsetD8Async, missing) &&
         resolve(lib, "cuStreamCreate", d.cuStreamCreate, missing) &&
         resolve(lib, "cuStreamDestroy_v2", d.cuStreamDestroy, missing) &&
         resolve(lib, "cuStreamSynchronize", d.cuStreamSynchronize, missing) &&
         resolve(lib, "cuLaunchKernel", d.cuLaunchKernel, missing) &&
         resolve(lib, "cuEventCreate", d.cuEventCreate, missing) &&
         resolve(lib, "cuEventDestroy_v2", d.cuEventDestroy, missing) &&
         resolve(lib, "cuEventRecord", d.cuEventRecord, missing) &&
         resolve(lib, "cuEventQuery", d.cuEventQuery, missing) &&
         resolve(lib, "cuEventSynchronize", d.cuEventSynchronize, missing) &&
         resolveEither(lib, "cuEventElapsedTime_v2", "cuEventElapsedTime", d.cuEventElapsedTime, missing);
}

// Names of the result codes gnet reports most, for when the driver cannot name a code itself.
const char* knownResultName(CUresult r) {
  switch (r) {
    case 0:
      return "CUDA_SUCCESS";
    case 1:
      return "CUDA_ERROR_INVALID_VALUE";
    case 2:
      return "CUDA_ERROR_OUT_OF_MEMORY";
    case 3:
      return "CUDA_ERROR_NOT_INITIALIZED";
    case 4:
      return "CUDA_ERROR_DEINITIALIZED";
    case 100:
      return "CUDA_ERROR_NO_DEVICE";
    case 101:
      return "CUDA_ERROR_INVALID_DEVICE";
    case 200:
      return "CUDA_ERROR_INVALID_IMAGE";
    case 201:
      return "CUDA_ERROR_INVALID_CONTEXT";
    case 209:
      return "CUDA_ERROR_NO_BINARY_FOR_GPU";
    case 218:
      return "CUDA_ERROR_INVALID_PTX";
    case 222:
      return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
    case 400:
      return "CUDA_ERROR_INVALID_HANDLE";
    case 500:
      return "CUDA_ERROR_NOT_FOUND";
    case 600:
      return "CUDA_ERROR_NOT_READY";
    case 700:
      return "CUDA_ERROR_ILLEGAL_ADDRESS";
    case 701:
      return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
    case 702:
      return "CUDA_ERROR_LAUNCH_TIMEOUT";
    case 719:
      return "CUDA_ERROR_LAUNCH_FAILED";
    case 999:
      return "CUDA_ERROR_UNKNOWN";
    default:
      return nullptr;
  }
}

void open() {
  // GNET_CUDA_DISABLE=1 forces the no-GPU path (tests, or a broken driver).
  if (const char* off = std::getenv("GNET_CUDA_DISABLE"); off != nullptr && off[0] == '1') {
    g_status.reason = "disabled by GNET_CUDA_DISABLE=1";
    return;
  }
  // GNET_CUDA_LIBRARY names another driver library, e.g. the forward-compatibility libcuda of a
  // cuda-compat package, which lets an older kernel driver run PTX from a newer toolkit.
  const char* custom = std::getenv("GNET_CUDA_LIBRARY");
  const std::string libName = custom != nullptr && custom[0] != '\0' ? custom : "libcuda.so.1";
  void* lib = dlopen(libName.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = dlerror();
    g_status.reason = libName + " could not be opened (" + (err ? err : "unknown error") +
                      "); install the NVIDIA driver to use a GPU, or run in cpu/emulated mode";
    return;
  }
  std::string missing;
  Driver d;
  bool ok = resolve(lib, "cuInit", d.cuInit, missing) &&
            resolve(lib, "cuDriverGetVersion", d.cuDriverGetVersion, missing) &&
            resolve(lib, "cuDeviceGetCount", d.cuDeviceGetCount, missing) &&
            resolve(lib, "cuDeviceGet", d.cuDeviceGet, missing) &&
            resolve(lib, "cuDeviceGetName", d.cuDeviceGetName, missing) &&
            resolve(lib, "cuDeviceTotalMem_v2", d.cuDeviceTotalMem, missing) &&
            resolve(lib, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, missing) &&
            resolve(lib, "cuGetErrorName", d.cuGetErrorName, missing) &&
            resolve(lib, "cuGetErrorString", d.cuGetErrorString, missing) && resolveProxy(lib, d, missing);
  if (!ok) {
    g_status.reason = libName + " lacks " + missing + "; the driver is too old for gnet";
    return;
  }
  g_driver = d;
  CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS) {
    g_status.reason = "cuInit failed: " + errorName(r);
    return;
  }
  d.cuDriverGetVersion(&g_status.driverVersion);
  r = d.cuDeviceGetCount(&g_status.deviceCount);
  if (r != CUDA_SUCCESS || g_status.deviceCount == 0) {
    g_status.reason =
        r != CUDA_SUCCESS ? "cuDeviceGetCount failed: " + errorName(r) : "the driver reports no CUDA device";
    return;
  }
  g_status.available = true;
}

}  // namespace

const DriverStatus& openDriver() {
  std::call_once(g_once, open);
  return g_status;
}

const Driver& driver() { return g_driver; }

std::string errorName(CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (g_driver.cuGetErrorName != nullptr) g_driver.cuGetErrorName(r, &name);
  if (g_driver.cuGetErrorString != nullptr) g_driver.cuGetErrorString(r, &text);
  if (name == nullptr) return "CUresult " + std::to_string(r);
  return text != nullptr ? std::string(name) + " (" + text + ")" : std::string(name);
}

std::string resultName(CUresult r) {
  const char* name = nullptr;
  if (g_driver.cuGetErrorName != nullptr && g_driver.cuGetErrorName(r, &name) == CUDA_SUCCESS && name != nullptr)
    return name;
  if (const char* known = knownResultName(r)) return known;
  return "CUDA_ERROR_UNKNOWN_" + std::to_string(r);
}

std::string resultText(CUresult r) {
  const char* text = nullptr;
  if (g_driver.cuGetErrorString != nullptr && g_driver.cuGetErrorString(r, &text) == CUDA_SUCCESS && text != nullptr)
    return text;
  return std::string();
}

}  // namespace gnet::cuda
