// Types shared by the GPU proxy and its two backends (CUDA and the emulated device): errors,
// kernels and their parameter layouts, requests and the batches they travel in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gnet::gpu {

enum class Mode { Gpu, Emulated };

// A failure of the proxy itself (bad pointer, unknown entry, ...): `code` names its kind (GNET_*),
// the message says what happened and what to do.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// A CUDA driver call that failed: which call, its result code and that code's enum name.
class CudaError : public std::runtime_error {
 public:
  CudaError(std::string call, int result, const std::string& context);
  const std::string& call() const { return call_; }
  int result() const { return result_; }
  const std::string& name() const { return name_; }

 private:
  std::string call_;
  int result_;
  std::string name_;
};

// Throws CudaError(call, r, context) unless r is CUDA_SUCCESS.
void checkCuda(int r, const char* call, const std::string& context = std::string());

struct Dim3 {
  uint32_t x = 1, y = 1, z = 1;
  uint64_t count() const { return static_cast<uint64_t>(x) * y * z; }
};

// How one kernel parameter sits in CUDA's parameter buffer.
struct ParamLayout {
  uint32_t size;
  uint32_t align;
};

class Module;

// A kernel entry resolved in a loaded module.
struct Function {
  std::string name;
  std::vector<ParamLayout> params;
  std::shared_ptr<Module> module;  // keeps the code loaded while requests use the function
  void* handle = nullptr;          // CUfunction (gpu) or const gnet_emu_kernel* (emulated)
  bool fibers = false;             // emulated: the module calls __syncthreads, threads need fibers
};

// A loaded kernel module: PTX on the GPU, a host-compiled `.host.so` on the emulated device.
class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string path) : path_(std::move(path)) {}
  virtual ~Module() = default;
  const std::string& path() const { return path_; }
  // Every entry (kernel) the module defines, in source order.
  virtual std::vector<std::string> entries() const = 0;
  // The named entry; throws Error GNET_UNKNOWN_ENTRY listing the entries when there is none.
  virtual std::shared_ptr<Function> function(const std::string& name) = 0;

 protected:
  [[noreturn]] void unknownEntry(const std::string& name) const;

 private:
  std::string path_;
};

// A timing event (cuEvent on the GPU; a host timestamp on the emulated device).
class Event {
 public:
  virtual ~Event() = default;
};

// Kernel arguments as cuLaunchKernel takes them: `params[i]` points at argument i inside `storage`,
// which is aligned for any parameter type, laid out as CUDA's parameter buffer.
struct LaunchArgs {
  std::vector<std::max_align_t> storage;
  std::vector<void*> params;
};

enum class Op : uint8_t { HtoD = 1, DtoH = 2, Memset = 3, Launch = 4, Record = 5 };

// One request of a batch, validated by the proxy before any backend sees it.
struct Request {
  Op op = Op::HtoD;
  uint64_t dptr = 0;        // device address: HtoD destination, DtoH source, Memset destination
  uint8_t* host = nullptr;  // host address: HtoD source, DtoH destination
  uint64_t bytes = 0;
  uint8_t value = 0;  // Memset byte
  std::shared_ptr<Function> fn;
  Dim3 grid, block;
  uint32_t sharedMem = 0;
  std::shared_ptr<const LaunchArgs> args;
  std::shared_ptr<Event> event;  // Record
};

// Requests a client submits together; they run in order on its stream and complete as one ticket.
struct Batch {
  uint32_t seq = 0;
  std::vector<Request> requests;
  // Whatever must outlive the batch's execution (host blocks the copies use).
  std::vector<std::shared_ptr<void>> keepAlive;
};

}  // namespace gnet::gpu
