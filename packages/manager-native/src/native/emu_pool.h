// The emulated device's "SMs": a process-wide pool of threads that runs the blocks of launches.
// The thread that launches (a stream's executor, or a JS thread running a synchronous launch) works
// on its own launch too, so a pool of N-1 threads keeps N cores busy and a launch never waits for a
// pool thread to wake up before progress starts.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gnet_emu_abi.h"
#include "gpu_core.h"

namespace gnet::emu {

// One launch as the pool sees it. Lives on the launching thread's stack for the launch's duration.
struct LaunchJob {
  const gnet_emu_kernel* kernel = nullptr;
  void** args = nullptr;
  gpu::Dim3 grid, block;
  uint32_t sharedMem = 0;
  bool fibers = false;
  uint64_t totalBlocks = 0;
  uint64_t chunk = 1;  // blocks claimed at a time
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> finished{0};
  std::atomic<int> fault{0};
  int users = 0;  // pool threads working on it (guarded by the pool's mutex)
};

class BlockPool {
 public:
  // The process's pool; the first call fixes its size (threads in all, the launching thread included).
  static BlockPool& instance(unsigned threads);
  // Default size: GNET_EMU_THREADS when set, else every hardware thread.
  static unsigned defaultThreads();

  // Runs every block of `job`; returns when all have run. Throws gpu::Error when the kernel faulted.
  void run(LaunchJob& job);
  unsigned threads() const { return static_cast<unsigned>(workers_.size()) + 1; }

 private:
  explicit BlockPool(unsigned threads);
  void workerLoop();
  static void work(LaunchJob& job);
  static void runBlock(LaunchJob& job, uint64_t linear);

  std::mutex mutex_;
  std::condition_variable workCv_;
  std::condition_variable doneCv_;
  std::vector<LaunchJob*> active_;
  size_t rr_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace gnet::emu
