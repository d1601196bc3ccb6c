#include "gpu_proxy.h"

#include <cstring>
#include <sstream>

#include "cuda_driver.h"
#include "gpu_cuda.h"
#include "gpu_emulated.h"

namespace gnet::gpu {
namespace {

constexpr size_t kFreedMemory = 4096;          // freed allocations remembered to name use-after-free
constexpr uint32_t kMaxSharedMem = 48 * 1024;  // CUDA's dynamic shared memory without an opt-in

std::mutex g_openMutex;
// Never destroyed, also when retired by a switch of mode: streams and pool threads may outlive static
// destructors, and a retired device's host blocks may still back a JS ArrayBuffer.
Proxy* g_proxy = nullptr;
unsigned g_clients = 0;  // threads that have g_proxy open (under g_openMutex)

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

const char* typeName(uint32_t t) {
  switch (static_cast<ArgType>(t)) {
    case ArgType::U8:
      return "u8";
    case ArgType::I8:
      return "i8";
    case ArgType::U16:
      return "u16";
    case ArgType::I16:
      return "i16";
    case ArgType::U32:
      return "u32";
    case ArgType::I32:
      return "i32";
    case ArgType::U64:
      return "u64";
    case ArgType::I64:
      return "i64";
    case ArgType::F32:
      return "f32";
    case ArgType::F64:
      return "f64";
    case ArgType::Ptr:
      return "ptr";
    case ArgType::Bytes:
      return "bytes";
  }
  return "unknown";
}

void checkDims(const Function& fn, Dim3 grid, Dim3 block, uint32_t sharedMem) {
  auto bad = [&](const std::string& why) { throw Error("GNET_BAD_LAUNCH", "launch of " + fn.name + ": " + why); };
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0)
    bad("grid and block dimensions must be at least 1");
  if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    bad("grid dimensions exceed CUDA's limits (2^31-1, 65535, 65535)");
  if (block.x > 1024 || block.y > 1024 || block.z > 64 || block.count() > 1024)
    bad("a block has at most 1024 threads (x, y <= 1024, z <= 64); got " + std::to_string(block.x) + "x" +
        std::to_string(block.y) + "x" + std::to_string(block.z));
  if (sharedMem > kMaxSharedMem)
    bad("sharedMem " + std::to_string(sharedMem) + " exceeds the " + std::to_string(kMaxSharedMem) +
        " bytes a launch gets without an opt-in");
}

}  // namespace

Proxy& Proxy::open(const OpenOptions& opt) {
  std::lock_guard<std::mutex> lock(g_openMutex);
  if (g_proxy != nullptr) {
    const Mode m = g_proxy->mode();
    const bool conflict = (opt.want == OpenOptions::Want::Gpu && m != Mode::Gpu) ||
                          (opt.want == OpenOptions::Want::Emulated && m != Mode::Emulated);
    if (!conflict) {
      ++g_clients;
      return *g_proxy;
    }
    if (g_clients > 0)
      throw Error("GNET_MODE_CONFLICT",
                  std::string("the process's GPU proxy is already open in ") + (m == Mode::Gpu ? "gpu" : "emulated") +
                      " mode by " + std::to_string(g_clients) +
                      " thread(s); one process serves one device at a time (open it with mode 'auto' to share it)");
    g_proxy = nullptr;  // nobody has it open: retire it, and open the mode asked for
  }
  std::unique_ptr<Backend> backend;
  std::string reason;
  switch (opt.want) {
    case OpenOptions::Want::Gpu:
      backend = createCudaBackend(opt.device);
      break;
    case OpenOptions::Want::Emulated:
      backend = createEmulatedBackend(opt.threads);
      break;
    case OpenOptions::Want::Auto: {
      const cuda::DriverStatus& st = cuda::openDriver();
      if (st.available) {
        try {
          backend = createCudaBackend(opt.device);
        } catch (const std::exception& e) {
          reason = e.what();
        }
      } else {
        reason = st.reason;
      }
      if (!backend) backend = createEmulatedBackend(opt.threads);
      break;
    }
  }
  g_proxy = new Proxy(std::move(backend), std::move(reason));
  ++g_clients;
  return *g_proxy;
}

void Proxy::release() {
  std::lock_guard<std::mutex> lock(g_openMutex);
  if (g_clients > 0) --g_clients;
}

Proxy::Proxy(std::unique_ptr<Backend> backend, std::string reason)
    : backend_(std::move(backend)), info_(backend_->info()), reason_(std::move(reason)) {}

// ---- memory ---------------------------------------------------------------------------------------

std::shared_ptr<HostBlock> Proxy::hostAlloc(size_t bytes, uint64_t owner) {
  void* p = backend_->hostAlloc(bytes);
  std::memset(p, 0, bytes);  // it becomes a JS ArrayBuffer, which JS expects zeroed
  auto block = std::make_shared<HostBlock>(*backend_, p, bytes);
  const uint64_t base = reinterpret_cast<uint64_t>(p);
  std::lock_guard<std::mutex> lock(mutex_);
  freed_.erase(freed_.lower_bound(base), freed_.lower_bound(base + (bytes == 0 ? 1 : bytes)));
  allocs_[base] = Alloc{bytes == 0 ? 1 : bytes, owner, block};
  return block;
}

std::shared_ptr<HostBlock> Proxy::hostBlock(uint64_t ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = allocs_.find(ptr);
  if (it == allocs_.end() || !it->second.host) {
    if (freed_.count(ptr) != 0) throw Error("GNET_USE_AFTER_FREE", "host allocation " + hex(ptr) + " was freed");
    throw Error("GNET_BAD_POINTER", hex(ptr) + " is not the address of a live host allocation");
  }
  return it->second.host;
}

uint64_t Proxy::malloc(size_t bytes, uint64_t owner) {
  const uint64_t p = backend_->deviceAlloc(bytes);
  const uint64_t size = bytes == 0 ? 1 : bytes;
  std::lock_guard<std::mutex> lock(mutex_);
  freed_.erase(freed_.lower_bound(p), freed_.lower_bound(p + size));
  allocs_[p] = Alloc{size, owner, nullptr};
  return p;
}

// Owner of the process-lifetime shared allocations: no JS environment has it (theirs start at 1).
constexpr uint64_t kProcessOwner = 0;

uint64_t Proxy::sharedMalloc(const std::string& name, size_t bytes) {
  std::lock_guard<std::mutex> g(sharedMutex_);
  auto it = sharedDevice_.find(name);
  if (it != sharedDevice_.end()) {
    if (it->second.second != bytes)
      throw Error("GNET_SHARED_SIZE", "shared device allocation \"" + name + "\" has " +
                                          std::to_string(it->second.second) + " bytes, not " + std::to_string(bytes));
    return it->second.first;
  }
  const uint64_t p = malloc(bytes, kProcessOwner);
  backend_->memset(p, 0, bytes == 0 ? 1 : bytes);
  sharedDevice_[name] = {p, bytes};
  return p;
}

std::shared_ptr<HostBlock> Proxy::sharedHostAlloc(const std::string& name, size_t bytes) {
  std::lock_guard<std::mutex> g(sharedMutex_);
  auto it = sharedHost_.find(name);
  if (it != sharedHost_.end()) {
    if (it->second->bytes != bytes)
      throw Error("GNET_SHARED_SIZE", "shared host allocation \"" + name + "\" has " +
                                          std::to_string(it->second->bytes) + " bytes, not " + std::to_string(bytes));
    return it->second;
  }
  auto block = hostAlloc(bytes, kProcessOwner);
  sharedHost_[name] = block;
  return block;
}

void Proxy::releaseLocked(uint64_t base) {
  auto it = allocs_.find(base);
  freed_[base] = it->second.bytes;
  freedOrder_.push_back(base);
  if (freedOrder_.size() > kFreedMemory) {
    auto old = freed_.find(freedOrder_.front());
    freedOrder_.pop_front();
    if (old != freed_.end()) freed_.erase(old);
  }
  allocs_.erase(it);
}

bool Proxy::free(uint64_t ptr) {
  Alloc gone;
  {
    std::unique_lock<std::shared_mutex> gate(gate_);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = allocs_.find(ptr);
    if (it == allocs_.end()) {
      if (freed_.count(ptr) != 0) throw Error("GNET_USE_AFTER_FREE", "free of " + hex(ptr) + ": already freed");
      throw Error("GNET_BAD_POINTER", "free of " + hex(ptr) + ": not the base address of a live allocation");
    }
    if (it->second.owner == kProcessOwner)
      throw Error("GNET_BAD_POINTER", "free of " + hex(ptr) + ": a shared allocation lives as long as the process");
    gone = it->second;
    releaseLocked(ptr);
  }
  drainAll();  // batches queued before the allocation left the table may still use it
  if (!gone.host) backend_->deviceFree(ptr);
  return static_cast<bool>(gone.host);  // host memory goes with the last ArrayBuffer over it
}

void Proxy::freeOwnedBy(uint64_t owner) {
  std::vector<uint64_t> device;
  {
    std::unique_lock<std::shared_mutex> gate(gate_);
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<uint64_t> mine;
    for (const auto& [base, a] : allocs_)
      if (a.owner == owner) mine.push_back(base);
    for (uint64_t base : mine) {
      if (!allocs_[base].host) device.push_back(base);
      releaseLocked(base);
    }
  }
  if (device.empty()) return;
  drainAll();
  for (uint64_t p : device) {
    try {
      backend_->deviceFree(p);
    } catch (const std::exception&) {
      // The environment is closing: a failing free (a faulted context) leaves nothing to report to.
    }
  }
}

const Proxy::Alloc& Proxy::findLocked(uint64_t p, uint64_t bytes, bool deviceOnly, const char* what,
                                      uint64_t* base) const {
  auto it = allocs_.upper_bound(p);
  if (it != allocs_.begin()) {
    --it;
    const Alloc& a = it->second;
    if (p < it->first + a.bytes) {
      if (deviceOnly && a.host)
        throw Error("GNET_BAD_POINTER",
                    std::string(what) + ": " + hex(p) + " is host memory (from hostAlloc), not a device allocation");
      if (bytes > it->first + a.bytes - p)
        throw Error("GNET_OUT_OF_RANGE", std::string(what) + ": " + hex(p) + " + " + std::to_string(bytes) +
                                             " bytes runs past the end of its allocation (" + hex(it->first) + ", " +
                                             std::to_string(a.bytes) + " bytes)");
      if (base != nullptr) *base = it->first;
      return a;
    }
  }
  auto f = freed_.upper_bound(p);
  if (f != freed_.begin()) {
    --f;
    if (p < f->first + f->second)
      throw Error("GNET_USE_AFTER_FREE", std::string(what) + ": " + hex(p) + " is in an allocation that was freed (" +
                                             hex(f->first) + ", " + std::to_string(f->second) + " bytes)");
  }
  throw Error("GNET_BAD_POINTER", std::string(what) + ": " + hex(p) + " is not inside any live " +
                                      (deviceOnly ? "device " : "") + "allocation");
}

void Proxy::addTo(std::vector<std::shared_ptr<void>>& keep, const uint8_t* host) {
  // A copy from or into a hostAlloc block keeps the block alive until the batch completes.
  const uint64_t p = reinterpret_cast<uint64_t>(host);
  auto it = allocs_.upper_bound(p);
  if (it == allocs_.begin()) return;
  --it;
  if (it->second.host && p < it->first + it->second.bytes) keep.push_back(it->second.host);
}

// ---- synchronous operations -----------------------------------------------------------------------

void Proxy::copyHtoD(uint64_t dst, const uint8_t* src, uint64_t bytes) {
  std::shared_lock<std::shared_mutex> gate(gate_);  // no free while the copy runs
  {
    std::lock_guard<std::mutex> lock(mutex_);
    findLocked(dst, bytes, true, "memcpyHtoD", nullptr);
  }
  if (bytes > 0) backend_->copyHtoD(dst, src, bytes);
}

void Proxy::copyDtoH(uint8_t* dst, uint64_t src, uint64_t bytes) {
  std::shared_lock<std::shared_mutex> gate(gate_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    findLocked(src, bytes, true, "memcpyDtoH", nullptr);
  }
  if (bytes > 0) backend_->copyDtoH(dst, src, bytes);
}

void Proxy::memset(uint64_t dst, uint8_t value, uint64_t bytes) {
  std::shared_lock<std::shared_mutex> gate(gate_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    findLocked(dst, bytes, true, "memset", nullptr);
  }
  if (bytes > 0) backend_->memset(dst, value, bytes);
}

// ---- modules --------------------------------------------------------------------------------------

std::shared_ptr<Module> Proxy::loadModule(
    const std::string& path, const std::string& image,
    const std::vector<std::pair<std::string, std::vector<ParamLayout>>>& signatures) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = modules_.find(path); it != modules_.end())
    if (auto m = it->second.lock()) return m;
  auto m = backend_->loadModule(path, image, signatures);
  modules_[path] = m;
  return m;
}

// ---- batches --------------------------------------------------------------------------------------

void Proxy::addHtoD(Batch& b, uint64_t dst, uint8_t* src, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  findLocked(dst, bytes, true, "memcpyHtoD", nullptr);
  Request r;
  r.op = Op::HtoD;
  r.dptr = dst;
  r.host = src;
  r.bytes = bytes;
  addTo(b.keepAlive, src);
  if (bytes > 0) b.requests.push_back(std::move(r));
}

void Proxy::addDtoH(Batch& b, uint8_t* dst, uint64_t src, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  findLocked(src, bytes, true, "memcpyDtoH", nullptr);
  Request r;
  r.op = Op::DtoH;
  r.dptr = src;
  r.host = dst;
  r.bytes = bytes;
  addTo(b.keepAlive, dst);
  if (bytes > 0) b.requests.push_back(std::move(r));
}

void Proxy::addMemset(Batch& b, uint64_t dst, uint8_t value, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  findLocked(dst, bytes, true, "memset", nullptr);
  Request r;
  r.op = Op::Memset;
  r.dptr = dst;
  r.value = value;
  r.bytes = bytes;
  if (bytes > 0) b.requests.push_back(std::move(r));
}

void Proxy::addLaunch(Batch& b, const std::shared_ptr<Function>& fn, Dim3 grid, Dim3 block, uint32_t sharedMem,
                      const uint8_t* values, size_t valuesLen, const uint32_t* desc, size_t descLen) {
  checkDims(*fn, grid, block, sharedMem);
  const size_t n = descLen / 3;
  if (n != fn->params.size())
    throw Error("GNET_BAD_ARGS", "kernel " + fn->name + " takes " + std::to_string(fn->params.size()) +
                                     " argument(s), got " + std::to_string(n));
  auto args = std::make_shared<LaunchArgs>();
  args->storage.resize((valuesLen + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t) + 1);
  auto* storage = reinterpret_cast<uint8_t*>(args->storage.data());
  if (valuesLen > 0) std::memcpy(storage, values, valuesLen);
  args->params.resize(n);
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t type = desc[3 * i], offset = desc[3 * i + 1], size = desc[3 * i + 2];
    const ParamLayout& want = fn->params[i];
    const std::string which = "argument " + std::to_string(i) + " of " + fn->name;
    if (size != want.size)
      throw Error("GNET_BAD_ARGS", which + " is " + std::to_string(want.size) + " bytes, got " + typeName(type) + " (" +
                                       std::to_string(size) + " bytes)");
    if (static_cast<uint64_t>(offset) + size > valuesLen || (want.align != 0 && offset % want.align != 0))
      throw Error("GNET_BAD_ARGS", which + ": misplaced in the argument buffer (offset " + std::to_string(offset) +
                                       ", alignment " + std::to_string(want.align) + ")");
    if (type == static_cast<uint32_t>(ArgType::Ptr)) {
      uint64_t p = 0;
      std::memcpy(&p, storage + offset, sizeof p);
      if (p != 0) findLocked(p, 0, false, which.c_str(), nullptr);
    }
    args->params[i] = storage + offset;
  }
  Request r;
  r.op = Op::Launch;
  r.fn = fn;
  r.grid = grid;
  r.block = block;
  r.sharedMem = sharedMem;
  r.args = std::move(args);
  b.requests.push_back(std::move(r));
}

void Proxy::addRecord(Batch& b, const std::shared_ptr<Event>& event) {
  Request r;
  r.op = Op::Record;
  r.event = event;
  b.requests.push_back(std::move(r));
}

// ---- streams --------------------------------------------------------------------------------------

std::shared_ptr<Stream> Proxy::createStream(int clientId, int32_t* status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = streams_.find(clientId); it != streams_.end() && !it->second.expired())
    throw Error("GNET_CLIENT_BUSY", "client " + std::to_string(clientId) + " already has a stream");
  std::shared_ptr<Stream> s = backend_->createStream(clientId, status);
  streams_[clientId] = s;
  return s;
}

void Proxy::destroyStream(const std::shared_ptr<Stream>& s) {
  s->drain();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(s->clientId());
  if (it != streams_.end() && it->second.lock() == s) streams_.erase(it);
}

uint32_t Proxy::submit(Stream& s, Batch batch) {
  std::shared_lock<std::shared_mutex> gate(gate_);
  return s.submit(std::move(batch));
}

void Proxy::submitSync(Stream& s, Batch batch) {
  SyncTicket t;
  {
    std::shared_lock<std::shared_mutex> gate(gate_);
    t = s.beginSync(batch);
  }
  s.finishSync(batch, t);
}

size_t Proxy::submitAll(const Batch& batch) {
  std::vector<std::shared_ptr<Stream>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, w] : streams_)
      if (auto s = w.lock()) all.push_back(std::move(s));
  }
  std::shared_lock<std::shared_mutex> gate(gate_);
  for (auto& s : all) s->submit(batch);
  return all.size();
}

void Proxy::drainAll() {
  std::vector<std::shared_ptr<Stream>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, w] : streams_)
      if (auto s = w.lock()) all.push_back(std::move(s));
  }
  for (auto& s : all) s->drain();
}

void Proxy::synchronize() {
  backend_->synchronize();
  drainAll();
}

}  // namespace gnet::gpu
