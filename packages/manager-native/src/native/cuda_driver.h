// CUDA driver API, opened at run time with dlopen so the addon never links libcuda.
// Only the types and entry points gnet uses are declared here; no CUDA headers are needed to build.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace gnet::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUstream = struct CUstream_st*;
using CUevent = struct CUevent_st*;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

/** Driver entry points resolved by name (the `_v2` names where the ABI changed). */
struct Driver {
  CUresult (*cuInit)(unsigned int) = nullptr;
  CUresult (*cuDriverGetVersion)(int*) = nullptr;
  CUresult (*cuDeviceGetCount)(int*) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice*, int) = nullptr;
  CUresult (*cuDeviceGetName)(char*, int, CUdevice) = nullptr;
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice) = nullptr;  // cuDeviceTotalMem_v2
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char**) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char**) = nullptr;
};

/** Result of trying to open the driver: `driver` is usable only when `available` is true. */
struct DriverStatus {
  bool available = false;
  std::string reason;  // why not, in words a user can act on
  int driverVersion = 0;
  int deviceCount = 0;
};

/** Opens libcuda once per process (thread-safe); later calls return the same status. */
const DriverStatus& openDriver();
/** The resolved entry points; valid only when openDriver().available. */
const Driver& driver();
/** "CUDA_ERROR_X (message)" for a result code, or "CUresult N" if the driver cannot name it. */
std::string errorName(CUresult r);

}  // namespace gnet::cuda
