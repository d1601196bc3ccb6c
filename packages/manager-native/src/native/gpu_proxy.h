// The GPU proxy: the process's one device (one CUDA context, or the emulated device), shared by every
// JS thread. It owns the allocation, module, stream and event tables, validates every request
// (pointers inside live allocations, argument layouts against the kernel's parameters, launch
// dimensions) and hands batches to the client's stream.
//
// Requests are issued from the submitting thread rather than through a central proxy thread: the
// driver API is thread-safe and its stream operations are asynchronous, so a hop through another
// thread would only add two wake-ups per batch and serialise the NF workers. (G-NET's proxy thread
// exists because its NFs are processes without access to the context; gnet's multi-process mode can
// serve a shared-memory ring with this same submit path.)
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "gpu_backend.h"

namespace gnet::gpu {

// Host memory from hostAlloc, freed when its last holder (the proxy's table, a JS ArrayBuffer over
// it, a batch using it) lets go.
struct HostBlock {
  HostBlock(Backend& backend, void* data, size_t bytes) : backend(backend), data(data), bytes(bytes) {}
  ~HostBlock() { backend.hostFree(data); }
  HostBlock(const HostBlock&) = delete;
  HostBlock& operator=(const HostBlock&) = delete;
  Backend& backend;
  void* const data;
  const size_t bytes;
};

struct OpenOptions {
  enum class Want { Gpu, Emulated, Auto } want = Want::Auto;
  int device = 0;        // GPU ordinal
  unsigned threads = 0;  // emulator threads (0: default)
};

// A kernel argument as KernelArgs encodes it: a type code, its offset and size in the value buffer.
enum class ArgType : uint32_t { U8 = 1, I8, U16, I16, U32, I32, U64, I64, F32, F64, Ptr, Bytes };

class Proxy {
 public:
  // Opens the process's device for one more client (a thread), or returns the one already open when
  // `opt` is compatible with it. When no client has the device open, another mode replaces it (the old
  // one is retired, never destroyed). Throws Error GNET_MODE_CONFLICT when another mode is open,
  // GNET_NO_GPU when mode gpu has no GPU.
  static Proxy& open(const OpenOptions& opt);
  // The end of one client's open (its resources are already released).
  static void release();

  Mode mode() const { return backend_->mode(); }
  const DeviceInfo& info() const { return info_; }
  // Why `auto` chose the emulated device ("" when it chose the GPU or a mode was asked for).
  const std::string& reason() const { return reason_; }

  // ---- memory -----------------------------------------------------------------------------------
  std::shared_ptr<HostBlock> hostAlloc(size_t bytes, uint64_t owner);
  // The live host allocation that starts at `ptr`; throws when there is none.
  std::shared_ptr<HostBlock> hostBlock(uint64_t ptr);
  uint64_t malloc(size_t bytes, uint64_t owner);
  // Device / host memory every thread of the process reaches by `name`: allocated (zeroed) by the
  // first caller, kept while the process lives (free refuses it). Throws GNET_SHARED_SIZE when the
  // name exists with another size. This is how NF workers keep packet fields resident on the device.
  uint64_t sharedMalloc(const std::string& name, size_t bytes);
  std::shared_ptr<HostBlock> sharedHostAlloc(const std::string& name, size_t bytes);
  // Frees a host or device allocation by its base address, after the work in flight (which may still
  // use it) completes, as cudaFree does. Returns whether it was a host allocation.
  bool free(uint64_t ptr);
  // Frees everything `owner` allocated (a JS environment closing).
  void freeOwnedBy(uint64_t owner);

  // ---- synchronous operations (calling thread, unordered with streams) -----------------------------
  void copyHtoD(uint64_t dst, const uint8_t* src, uint64_t bytes);
  void copyDtoH(uint8_t* dst, uint64_t src, uint64_t bytes);
  void memset(uint64_t dst, uint8_t value, uint64_t bytes);

  // ---- modules -------------------------------------------------------------------------------------
  // A module, shared by every thread that loads the same path while it stays loaded.
  std::shared_ptr<Module> loadModule(const std::string& path, const std::string& image,
                                     const std::vector<std::pair<std::string, std::vector<ParamLayout>>>& signatures);

  // ---- batches -------------------------------------------------------------------------------------
  // Each validates and appends one request; throws Error (GNET_*) naming what is wrong.
  void addHtoD(Batch& b, uint64_t dst, uint8_t* src, uint64_t bytes);
  void addDtoH(Batch& b, uint8_t* dst, uint64_t src, uint64_t bytes);
  void addMemset(Batch& b, uint64_t dst, uint8_t value, uint64_t bytes);
  void addLaunch(Batch& b, const std::shared_ptr<Function>& fn, Dim3 grid, Dim3 block, uint32_t sharedMem,
                 const uint8_t* values, size_t valuesLen, const uint32_t* desc, size_t descLen);
  void addRecord(Batch& b, const std::shared_ptr<Event>& event);

  // ---- streams -------------------------------------------------------------------------------------
  // One stream per client id in the process; throws GNET_CLIENT_BUSY when the id has one.
  std::shared_ptr<Stream> createStream(int clientId, int32_t* status);
  void destroyStream(const std::shared_ptr<Stream>& s);
  uint32_t submit(Stream& s, Batch batch);
  // A synchronous submit: beginSync then finishSync (which may run the batch in this thread).
  void submitSync(Stream& s, Batch batch);
  // Submits a copy of the batch to every stream ("launch on all streams"); returns how many.
  size_t submitAll(const Batch& batch);
  // Every stream's work so far, and the device's, complete.
  void synchronize();

  Backend& backend() { return *backend_; }

 private:
  struct Alloc {
    uint64_t bytes;
    uint64_t owner;
    std::shared_ptr<HostBlock> host;  // null for device memory
  };
  Proxy(std::unique_ptr<Backend> backend, std::string reason);

  // The allocation containing [p, p + bytes), or an Error saying why there is none; mutex_ held.
  const Alloc& findLocked(uint64_t p, uint64_t bytes, bool deviceOnly, const char* what, uint64_t* base) const;
  void addTo(std::vector<std::shared_ptr<void>>& keep, const uint8_t* host);
  void releaseLocked(uint64_t base);  // moves an allocation from live to freed; mutex_ held
  void drainAll();

  std::unique_ptr<Backend> backend_;
  DeviceInfo info_;
  std::string reason_;

  // Submits (validate + enqueue) hold it shared; free holds it exclusively while it takes the
  // allocation out of the table, so every batch that saw the allocation is queued before the drain.
  std::shared_mutex gate_;
  mutable std::mutex mutex_;
  std::map<uint64_t, Alloc> allocs_;
  std::map<uint64_t, uint64_t> freed_;  // recently freed base -> bytes, to name use-after-free
  std::deque<uint64_t> freedOrder_;
  std::map<std::string, std::weak_ptr<Module>> modules_;
  std::map<int, std::weak_ptr<Stream>> streams_;
  std::mutex sharedMutex_;                                             // taken before mutex_, never inside it
  std::map<std::string, std::pair<uint64_t, uint64_t>> sharedDevice_;  // name -> (ptr, bytes)
  std::map<std::string, std::shared_ptr<HostBlock>> sharedHost_;
};

}  // namespace gnet::gpu
