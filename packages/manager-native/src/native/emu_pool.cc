#include "emu_pool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>

#include "emu_fiber.h"

namespace gnet::emu {
namespace {

// Per-thread scratch reused across blocks: the dynamic shared memory and the fiber stacks.
struct Scratch {
  std::vector<std::max_align_t> shared;
  std::unique_ptr<FiberBlock> fibers;
  void* sharedMemory(uint32_t bytes) {
    const size_t words = (bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
    if (shared.size() < words) shared.resize(words);
    return shared.data();
  }
};
thread_local Scratch t_scratch;

// The pool's own fault code, beside the GNET_EMU_FAULT_* codes modules report.
constexpr int kFaultNoMemory = 1000;

}  // namespace

unsigned BlockPool::defaultThreads() {
  if (const char* env = std::getenv("GNET_EMU_THREADS"); env != nullptr && env[0] != '\0') {
    const long v = std::strtol(env, nullptr, 10);
    if (v >= 1 && v <= 1024) return static_cast<unsigned>(v);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

BlockPool& BlockPool::instance(unsigned threads) {
  // Never destroyed: pool threads may still sleep in it while the process exits.
  static BlockPool* pool = new BlockPool(threads == 0 ? defaultThreads() : threads);
  return *pool;
}

BlockPool::BlockPool(unsigned threads) {
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
  for (auto& t : workers_) t.detach();
}

void BlockPool::run(LaunchJob& job) {
  job.totalBlocks = job.grid.count();
  if (job.totalBlocks == 0) return;
  // Chunks small enough to balance, large enough that claiming is not the cost.
  job.chunk = std::max<uint64_t>(1, job.totalBlocks / (static_cast<uint64_t>(threads()) * 8));
  const bool share = !workers_.empty() && job.totalBlocks > job.chunk;
  if (share) {
    std::lock_guard<std::mutex> lock(mutex_);
    active_.push_back(&job);
    workCv_.notify_all();
  }
  work(job);
  if (share) {
    std::unique_lock<std::mutex> lock(mutex_);
    active_.erase(std::remove(active_.begin(), active_.end(), &job), active_.end());
    doneCv_.wait(lock, [&] { return job.users == 0 && job.finished.load() == job.totalBlocks; });
  }
  if (const int fault = job.fault.load()) {
    const std::string why =
        fault == GNET_EMU_FAULT_BARRIER_IN_LOOP
            ? " called __syncthreads() in a module built as barrier-free; rebuild it with gnet-compile-kernels"
        : fault == kFaultNoMemory ? ": no host memory left for its shared memory or fiber stacks"
                                  : " faulted on the emulated device (code " + std::to_string(fault) + ")";
    throw gpu::Error(fault == kFaultNoMemory ? "GNET_OUT_OF_MEMORY" : "GNET_KERNEL_FAULT",
                     std::string("kernel ") + job.kernel->name + why);
  }
}

void BlockPool::workerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    workCv_.wait(lock, [&] { return !active_.empty(); });
    LaunchJob* job = active_[rr_++ % active_.size()];
    ++job->users;
    lock.unlock();
    work(*job);
    lock.lock();
    // Nothing left to claim: take it off the list so idle threads stop picking it.
    active_.erase(std::remove(active_.begin(), active_.end(), job), active_.end());
    if (--job->users == 0) doneCv_.notify_all();
  }
}

void BlockPool::work(LaunchJob& job) {
  for (;;) {
    const uint64_t begin = job.next.fetch_add(job.chunk, std::memory_order_relaxed);
    if (begin >= job.totalBlocks) return;
    const uint64_t end = std::min(begin + job.chunk, job.totalBlocks);
    for (uint64_t b = begin; b < end; ++b) runBlock(job, b);
    job.finished.fetch_add(end - begin, std::memory_order_acq_rel);
  }
}

void BlockPool::runBlock(LaunchJob& job, uint64_t linear) {
  int fault = 0;
  gnet_emu_block blk{};
  blk.gridDim = {job.grid.x, job.grid.y, job.grid.z};
  blk.blockDim = {job.block.x, job.block.y, job.block.z};
  blk.blockIdx = {static_cast<unsigned>(linear % job.grid.x), static_cast<unsigned>((linear / job.grid.x) % job.grid.y),
                  static_cast<unsigned>(linear / (static_cast<uint64_t>(job.grid.x) * job.grid.y))};
  blk.dynamicSharedBytes = job.sharedMem;
  blk.fault = &fault;
  try {
    blk.dynamicShared = job.sharedMem > 0 ? t_scratch.sharedMemory(job.sharedMem) : nullptr;
    if (job.fibers) {
      if (!t_scratch.fibers) t_scratch.fibers = std::make_unique<FiberBlock>();
      t_scratch.fibers->run(job.kernel, blk, job.args);
    } else {
      job.kernel->run_block(&blk, job.args);
    }
  } catch (const std::bad_alloc&) {
    fault = kFaultNoMemory;
  }
  if (fault != 0) job.fault.store(fault);
}

}  // namespace gnet::emu
