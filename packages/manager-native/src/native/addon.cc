// Entry point of the gnet native addon. Napi::Addon makes it context-aware: every environment
// (main thread or worker_thread) gets its own instance, so it loads anywhere in a process.
#include <napi.h>

#include "afpacket.h"
#include "bytes.h"
#include "crypto_batch.h"
#include "cuda_driver.h"
#include "flow_probe.h"
#include "gpu_binding.h"
#include "rx_fill.h"
#include "shm.h"

namespace gnet {

class NativeAddon : public Napi::Addon<NativeAddon> {
 public:
  NativeAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod("gpuInfo", &NativeAddon::GpuInfo),
                             InstanceValue("abiVersion", Napi::Number::New(env, 1), napi_enumerable),
                             InstanceValue("AfPacketSocket", AfPacketSocketWrap::Define(env), napi_enumerable),
                             InstanceValue("gpu", gpu::DefineBinding(env), napi_enumerable),
                             InstanceValue("shmCreate", Napi::Function::New(env, shm::Create), napi_enumerable),
                             InstanceValue("shmOpen", Napi::Function::New(env, shm::Open), napi_enumerable),
                             InstanceValue("shmUnlink", Napi::Function::New(env, shm::Unlink), napi_enumerable),
                             InstanceValue("crypto", crypto::DefineBinding(env), napi_enumerable),
                             InstanceValue("moveRanges", Napi::Function::New(env, bytes::MoveRanges), napi_enumerable),
                             InstanceValue("copyRanges", Napi::Function::New(env, bytes::CopyRanges), napi_enumerable),
                             InstanceValue("RxFill", RxFillWrap::Define(env), napi_enumerable),
                             InstanceValue("FlowProbe", FlowProbeWrap::Define(env), napi_enumerable),
                         });
  }

 private:
  // { available, reason?, driverVersion, devices: [{ ordinal, name, totalMem, smCount, computeCapability }] }
  Napi::Value GpuInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const cuda::DriverStatus& st = cuda::openDriver();
    Napi::Object out = Napi::Object::New(env);
    out.Set("available", st.available);
    out.Set("driverVersion", st.driverVersion);
    Napi::Array devices = Napi::Array::New(env);
    if (!st.available) {
      out.Set("reason", st.reason);
    } else {
      const cuda::Driver& d = cuda::driver();
      for (int i = 0; i < st.deviceCount; ++i) {
        cuda::CUdevice dev = 0;
        if (d.cuDeviceGet(&dev, i) != cuda::CUDA_SUCCESS) continue;
        char name[256] = {0};
        d.cuDeviceGetName(name, sizeof(name) - 1, dev);
        size_t mem = 0;
        d.cuDeviceTotalMem(&mem, dev);
        int sm = 0, major = 0, minor = 0;
        d.cuDeviceGetAttribute(&sm, cuda::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
        d.cuDeviceGetAttribute(&major, cuda::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        d.cuDeviceGetAttribute(&minor, cuda::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
        Napi::Object o = Napi::Object::New(env);
        o.Set("ordinal", i);
        o.Set("name", name);
        o.Set("totalMem", static_cast<double>(mem));
        o.Set("smCount", sm);
        o.Set("computeCapability", std::to_string(major) + "." + std::to_string(minor));
        devices.Set(devices.Length(), o);
      }
    }
    out.Set("devices", devices);
    return out;
  }
};

}  // namespace gnet

using GnetNativeAddon = gnet::NativeAddon;
NODE_API_ADDON(GnetNativeAddon)
