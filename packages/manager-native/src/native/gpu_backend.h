// What a device must provide to serve the GPU proxy's requests: the CUDA driver, or the emulated
// device that runs host-compiled kernels on a thread pool. Validation (pointers, sizes, argument
// layouts) is the proxy's; a backend gets only requests that passed it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gpu_core.h"
#include "gpu_stream.h"

namespace gnet::gpu {

// What `open` reports about the device.
struct DeviceInfo {
  std::string name;
  uint64_t totalMem = 0;
  int smCount = 0;
  std::string computeCapability;
  unsigned emulatorThreads = 0;  // emulated: threads that run blocks (the submitting thread included)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Mode mode() const = 0;
  virtual DeviceInfo info() const = 0;

  // Page-locked (gpu) or plain (emulated) host memory.
  virtual void* hostAlloc(size_t bytes) = 0;
  virtual void hostFree(void* p) noexcept = 0;
  virtual uint64_t deviceAlloc(size_t bytes) = 0;
  virtual void deviceFree(uint64_t p) = 0;

  // Synchronous operations, run in the calling thread and unordered with work on streams.
  virtual void copyHtoD(uint64_t dst, const void* src, size_t bytes) = 0;
  virtual void copyDtoH(void* dst, uint64_t src, size_t bytes) = 0;
  virtual void memset(uint64_t dst, uint8_t value, size_t bytes) = 0;

  // gpu: `image` is the PTX text (NUL-terminated), `signatures` its entries' parameter layouts as
  // parsed from it; emulated: `path` is the `.host.so` and the other two are unused.
  virtual std::shared_ptr<Module> loadModule(
      const std::string& path, const std::string& image,
      const std::vector<std::pair<std::string, std::vector<ParamLayout>>>& signatures) = 0;

  // A stream for one client; `status` is the SharedArrayBuffer words the stream publishes into.
  virtual std::unique_ptr<Stream> createStream(int clientId, int32_t* status) = 0;
  // Waits for all work on the device (cuCtxSynchronize; every emulated stream drained).
  virtual void synchronize() = 0;

  virtual std::shared_ptr<Event> createEvent() = 0;
  // Blocks until the event's last recorded point is reached.
  virtual void eventSynchronize(Event& e) = 0;
  // Milliseconds between two reached events.
  virtual float elapsedMs(Event& start, Event& end) = 0;
};

}  // namespace gnet::gpu
