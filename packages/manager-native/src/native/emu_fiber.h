// Runs the CUDA threads of one emulated block as fibers, so that __syncthreads() is a real barrier:
// a thread that reaches it is suspended until every live thread of its block has arrived (threads
// that returned count as arrived, as on Volta and later). Scheduling is cooperative on one OS thread,
// so a block costs one pool thread and no locks; switching is a few instructions on x86-64 (hand-
// written, no signal-mask syscall) and ucontext elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gnet_emu_abi.h"

namespace gnet::emu {

class FiberBlock {
 public:
  FiberBlock() = default;
  ~FiberBlock();
  FiberBlock(const FiberBlock&) = delete;
  FiberBlock& operator=(const FiberBlock&) = delete;

  // Runs every thread of `block` (whose engine/barrier fields this sets) to completion.
  // Throws std::bad_alloc when the fiber stacks cannot be mapped.
  void run(const gnet_emu_kernel* kernel, gnet_emu_block& block, void** args);

  // Bytes of stack each CUDA thread gets (a guard page below it catches overflow).
  static constexpr size_t kStackBytes = 64 * 1024;

 private:
  struct Context;
  enum class State : uint8_t { Runnable, AtBarrier, Done };
  struct Fiber {
    Context* ctx;
    State state;
  };

  static int barrierThunk(void* engine, int predicate, int op);
  static void entry(void* self);
  int barrier(int predicate, int op);
  void reserve(unsigned threads);
  void* stackTop(unsigned i) const;

  std::vector<Fiber> fibers_;
  Context* contexts_ = nullptr;  // capacity_ fibers' contexts, then the scheduler's
  Context* scheduler_ = nullptr;
  unsigned char* stacks_ = nullptr;
  size_t stacksBytes_ = 0;
  unsigned capacity_ = 0;
  unsigned current_ = 0;
  const gnet_emu_kernel* kernel_ = nullptr;
  gnet_emu_block* block_ = nullptr;
  void** args_ = nullptr;
  int arrived_ = 0, trueCount_ = 0;          // the barrier generation being gathered
  int lastArrived_ = 0, lastTrueCount_ = 0;  // the generation just released
};

}  // namespace gnet::emu
