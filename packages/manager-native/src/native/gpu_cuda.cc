#include "gpu_cuda.h"

#include <cstring>
#include <deque>

#include "cuda_driver.h"

namespace gnet::gpu {
namespace {

using cuda::CUDA_SUCCESS;

const cuda::Driver& drv() { return cuda::driver(); }

// Makes `ctx` current on the calling thread (once per thread; the driver API is per-thread current).
void bind(cuda::CUcontext ctx) {
  thread_local cuda::CUcontext current = nullptr;
  if (current == ctx) return;
  checkCuda(drv().cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  current = ctx;
}

class CudaModule : public Module {
 public:
  CudaModule(const std::string& path, cuda::CUcontext ctx, cuda::CUmodule mod,
             std::vector<std::pair<std::string, std::vector<ParamLayout>>> signatures)
      : Module(path), ctx_(ctx), mod_(mod), signatures_(std::move(signatures)) {}
  ~CudaModule() override {
    try {
      bind(ctx_);
      drv().cuModuleUnload(mod_);
    } catch (...) {
      // A destructor cannot report; the context is going away with the process or already broken.
    }
  }

  std::vector<std::string> entries() const override {
    std::vector<std::string> names;
    for (const auto& s : signatures_) names.push_back(s.first);
    return names;
  }

  std::shared_ptr<Function> function(const std::string& name) override {
    const std::vector<ParamLayout>* params = nullptr;
    for (const auto& s : signatures_)
      if (s.first == name) params = &s.second;
    if (params == nullptr) unknownEntry(name);
    bind(ctx_);
    cuda::CUfunction f = nullptr;
    const cuda::CUresult r = drv().cuModuleGetFunction(&f, mod_, name.c_str());
    if (r == 500 /* CUDA_ERROR_NOT_FOUND */) unknownEntry(name);
    checkCuda(r, "cuModuleGetFunction", "entry " + name + " in " + path());
    auto fn = std::make_shared<Function>();
    fn->name = name;
    fn->params = *params;
    fn->module = shared_from_this();
    fn->handle = f;
    return fn;
  }

 private:
  cuda::CUcontext ctx_;
  cuda::CUmodule mod_;
  std::vector<std::pair<std::string, std::vector<ParamLayout>>> signatures_;
};

class CudaEvent : public Event {
 public:
  CudaEvent(cuda::CUcontext ctx, cuda::CUevent ev) : ctx_(ctx), ev_(ev) {}
  ~CudaEvent() override {
    try {
      bind(ctx_);
      drv().cuEventDestroy(ev_);
    } catch (...) {
    }
  }
  cuda::CUevent handle() const { return ev_; }
  bool recorded = false;

 private:
  cuda::CUcontext ctx_;
  cuda::CUevent ev_;
};

// A client's CUDA stream. Each batch ends with an event record; completion is learned by
// synchronizing (wait) or querying (poll) those events in order, so no driver callback thread is
// involved and a faulted context still reports through the waiting call.
class CudaStream : public Stream {
 public:
  CudaStream(int clientId, int32_t* status, cuda::CUcontext ctx) : Stream(clientId, status), ctx_(ctx) {
    bind(ctx_);
    checkCuda(drv().cuStreamCreate(&stream_, cuda::CU_STREAM_NON_BLOCKING), "cuStreamCreate", context());
  }
  ~CudaStream() override {
    try {
      bind(ctx_);
      drv().cuStreamSynchronize(stream_);
      for (auto& p : pending_) drv().cuEventDestroy(p.event);
      for (cuda::CUevent e : spare_) drv().cuEventDestroy(e);
      drv().cuStreamDestroy(stream_);
    } catch (...) {
    }
  }

  uint32_t poll() override {
    std::lock_guard<std::mutex> lock(mutex_);
    bind(ctx_);
    while (!pending_.empty()) {
      const cuda::CUresult r = drv().cuEventQuery(pending_.front().event);
      if (r == cuda::CUDA_ERROR_NOT_READY) break;
      const uint32_t seq = pending_.front().seq;
      if (r != CUDA_SUCCESS) failLocked(seq, std::make_exception_ptr(CudaError("cuEventQuery", r, context())));
      retireLocked(seq);
    }
    return doneLocked();
  }

 protected:
  void issue(Batch& batch, std::unique_lock<std::mutex>&) override {
    bind(ctx_);
    const auto& d = drv();
    for (Request& r : batch.requests) {
      switch (r.op) {
        case Op::HtoD:
          checkCuda(d.cuMemcpyHtoDAsync(r.dptr, r.host, r.bytes, stream_), "cuMemcpyHtoDAsync_v2", context());
          break;
        case Op::DtoH:
          checkCuda(d.cuMemcpyDtoHAsync(r.host, r.dptr, r.bytes, stream_), "cuMemcpyDtoHAsync_v2", context());
          break;
        case Op::Memset:
          checkCuda(d.cuMemsetD8Async(r.dptr, r.value, r.bytes, stream_), "cuMemsetD8Async", context());
          break;
        case Op::Launch:
          checkCuda(d.cuLaunchKernel(static_cast<cuda::CUfunction>(r.fn->handle), r.grid.x, r.grid.y, r.grid.z,
                                     r.block.x, r.block.y, r.block.z, r.sharedMem, stream_,
                                     const_cast<void**>(r.args->params.data()), nullptr),
                    "cuLaunchKernel", "entry " + r.fn->name + ", " + context());
          break;
        case Op::Record: {
          auto& ev = static_cast<CudaEvent&>(*r.event);
          checkCuda(d.cuEventRecord(ev.handle(), stream_), "cuEventRecord", context());
          ev.recorded = true;
          break;
        }
      }
    }
    cuda::CUevent done = takeEvent();
    const cuda::CUresult r = d.cuEventRecord(done, stream_);
    if (r != CUDA_SUCCESS) {
      spare_.push_back(done);
      throw CudaError("cuEventRecord", r, context());
    }
    pending_.push_back(Pending{batch.seq, done, std::move(batch)});
  }

  void waitLocked(uint32_t ticket, std::unique_lock<std::mutex>& lock) override {
    while (!reached(doneLocked(), ticket) && !pending_.empty()) {
      // The oldest batch first; the lock is dropped while the driver blocks.
      const cuda::CUevent ev = pending_.front().event;
      const uint32_t seq = pending_.front().seq;
      lock.unlock();
      cuda::CUresult r = CUDA_SUCCESS;
      try {
        bind(ctx_);
        r = drv().cuEventSynchronize(ev);
      } catch (...) {
        lock.lock();
        throw;
      }
      lock.lock();
      if (r != CUDA_SUCCESS) {
        retireLocked(seq);
        throw CudaError("cuEventSynchronize", r, context());
      }
      retireLocked(seq);
    }
  }

 private:
  struct Pending {
    uint32_t seq;
    cuda::CUevent event;
    Batch batch;  // keeps the host blocks and modules the work uses until it completes
  };

  std::string context() const { return "stream of client " + std::to_string(clientId()); }

  cuda::CUevent takeEvent() {
    if (!spare_.empty()) {
      cuda::CUevent e = spare_.back();
      spare_.pop_back();
      return e;
    }
    cuda::CUevent e = nullptr;
    checkCuda(drv().cuEventCreate(&e, cuda::CU_EVENT_DISABLE_TIMING), "cuEventCreate", context());
    return e;
  }

  // Every batch up to `seq` is complete: recycle their events and publish the done word.
  void retireLocked(uint32_t seq) {
    while (!pending_.empty() && reached(seq, pending_.front().seq)) {
      spare_.push_back(pending_.front().event);
      pending_.pop_front();
    }
    completeLocked(seq);
  }

  cuda::CUcontext ctx_;
  cuda::CUstream stream_ = nullptr;
  std::deque<Pending> pending_;
  std::vector<cuda::CUevent> spare_;
};

class CudaBackend : public Backend {
 public:
  explicit CudaBackend(int ordinal) : ordinal_(ordinal) {
    const cuda::DriverStatus& st = cuda::openDriver();
    if (!st.available) throw Error("GNET_NO_GPU", "no usable GPU: " + st.reason);
    if (ordinal < 0 || ordinal >= st.deviceCount)
      throw Error("GNET_NO_GPU", "GPU " + std::to_string(ordinal) + " does not exist (the driver reports " +
                                     std::to_string(st.deviceCount) + ")");
    const auto& d = drv();
    checkCuda(d.cuDeviceGet(&dev_, ordinal), "cuDeviceGet");
    checkCuda(d.cuDevicePrimaryCtxRetain(&ctx_, dev_), "cuDevicePrimaryCtxRetain");
    bind(ctx_);
    char name[256] = {0};
    d.cuDeviceGetName(name, sizeof(name) - 1, dev_);
    info_.name = name;
    size_t mem = 0;
    d.cuDeviceTotalMem(&mem, dev_);
    info_.totalMem = mem;
    int major = 0, minor = 0;
    d.cuDeviceGetAttribute(&info_.smCount, cuda::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev_);
    d.cuDeviceGetAttribute(&major, cuda::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev_);
    d.cuDeviceGetAttribute(&minor, cuda::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev_);
    info_.computeCapability = std::to_string(major) + "." + std::to_string(minor);
  }

  Mode mode() const override { return Mode::Gpu; }
  DeviceInfo info() const override { return info_; }

  void* hostAlloc(size_t bytes) override {
    bind(ctx_);
    void* p = nullptr;
    checkCuda(drv().cuMemAllocHost(&p, bytes == 0 ? 1 : bytes), "cuMemAllocHost_v2", std::to_string(bytes) + " bytes");
    return p;  // the proxy zeroes it
  }
  void hostFree(void* p) noexcept override {
    try {
      bind(ctx_);
      drv().cuMemFreeHost(p);
    } catch (...) {
    }
  }

  uint64_t deviceAlloc(size_t bytes) override {
    bind(ctx_);
    cuda::CUdeviceptr p = 0;
    checkCuda(drv().cuMemAlloc(&p, bytes == 0 ? 1 : bytes), "cuMemAlloc_v2", std::to_string(bytes) + " bytes");
    return p;
  }
  void deviceFree(uint64_t p) override {
    bind(ctx_);
    checkCuda(drv().cuMemFree(p), "cuMemFree_v2");
  }

  void copyHtoD(uint64_t dst, const void* src, size_t bytes) override {
    bind(ctx_);
    checkCuda(drv().cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD_v2");
  }
  void copyDtoH(void* dst, uint64_t src, size_t bytes) override {
    bind(ctx_);
    checkCuda(drv().cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH_v2");
  }
  void memset(uint64_t dst, uint8_t value, size_t bytes) override {
    bind(ctx_);
    checkCuda(drv().cuMemsetD8(dst, value, bytes), "cuMemsetD8_v2");
  }

  std::shared_ptr<Module> loadModule(
      const std::string& path, const std::string& image,
      const std::vector<std::pair<std::string, std::vector<ParamLayout>>>& signatures) override {
    bind(ctx_);
    // The JIT's error log makes a rejected PTX (too new for the driver, wrong target) explainable.
    char log[4096] = {0};
    cuda::CUjit_option opts[] = {cuda::CU_JIT_ERROR_LOG_BUFFER, cuda::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void* vals[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof(log) - 1))};
    cuda::CUmodule mod = nullptr;
    const cuda::CUresult r = drv().cuModuleLoadDataEx(&mod, image.c_str(), 2, opts, vals);
    if (r != CUDA_SUCCESS) {
      std::string context = path;
      if (log[0] != '\0') context += "; JIT log: " + std::string(log);
      throw CudaError("cuModuleLoadDataEx", r, context);
    }
    return std::make_shared<CudaModule>(path, ctx_, mod, signatures);
  }

  std::unique_ptr<Stream> createStream(int clientId, int32_t* status) override {
    return std::make_unique<CudaStream>(clientId, status, ctx_);
  }

  void synchronize() override {
    bind(ctx_);
    checkCuda(drv().cuCtxSynchronize(), "cuCtxSynchronize");
  }

  std::shared_ptr<Event> createEvent() override {
    bind(ctx_);
    cuda::CUevent e = nullptr;
    checkCuda(drv().cuEventCreate(&e, cuda::CU_EVENT_DEFAULT), "cuEventCreate");
    return std::make_shared<CudaEvent>(ctx_, e);
  }
  void eventSynchronize(Event& e) override {
    auto& ev = static_cast<CudaEvent&>(e);
    if (!ev.recorded) throw Error("GNET_EVENT_NOT_RECORDED", "the event was never recorded on a stream");
    bind(ctx_);
    checkCuda(drv().cuEventSynchronize(ev.handle()), "cuEventSynchronize");
  }
  float elapsedMs(Event& start, Event& end) override {
    eventSynchronize(end);
    eventSynchronize(start);
    float ms = 0;
    checkCuda(
        drv().cuEventElapsedTime(&ms, static_cast<CudaEvent&>(start).handle(), static_cast<CudaEvent&>(end).handle()),
        "cuEventElapsedTime");
    return ms;
  }

 private:
  int ordinal_;
  cuda::CUdevice dev_ = 0;
  cuda::CUcontext ctx_ = nullptr;
  DeviceInfo info_;
};

}  // namespace

std::unique_ptr<Backend> createCudaBackend(int ordinal) { return std::make_unique<CudaBackend>(ordinal); }

}  // namespace gnet::gpu
