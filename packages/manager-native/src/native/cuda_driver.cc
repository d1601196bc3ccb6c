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

void open() {
  // GNET_CUDA_DISABLE=1 forces the no-GPU path (tests, or a broken driver).
  if (const char* off = std::getenv("GNET_CUDA_DISABLE"); off != nullptr && off[0] == '1') {
    g_status.reason = "disabled by GNET_CUDA_DISABLE=1";
    return;
  }
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = dlerror();
    g_status.reason = std::string("libcuda.so.1 could not be opened (") + (err ? err : "unknown error") +
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
            resolve(lib, "cuGetErrorString", d.cuGetErrorString, missing);
  if (!ok) {
    g_status.reason = "libcuda.so.1 lacks " + missing + "; the driver is too old for gnet";
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

}  // namespace gnet::cuda
