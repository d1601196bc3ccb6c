#include "emu_fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

#if defined(__x86_64__) && !defined(GNET_EMU_UCONTEXT)
#define GNET_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

#ifndef MAP_STACK
#define MAP_STACK 0  // a hint only; not every system has it
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

namespace gnet::emu {

#if GNET_EMU_ASM_SWITCH
// gnet_emu_switch(from, to): saves the callee-saved registers on the current stack, stores the stack
// pointer in *from and resumes the context whose stack pointer is `to`. A new context's stack is laid
// out as if it had been suspended here, returning into gnet_emu_fiber_start, which calls r13(r12).
// MXCSR and the x87 control word are not switched: a block's fibers share their OS thread's floating-
// point environment, which kernels do not change (saving them cost 80% of a switch, measured).
extern "C" void gnet_emu_switch(void** from, void* to);
asm(R"(
  .pushsection .text
  .globl gnet_emu_switch
  .hidden gnet_emu_switch
  .type gnet_emu_switch, @function
  .p2align 4
gnet_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size gnet_emu_switch, .-gnet_emu_switch

  .globl gnet_emu_fiber_start
  .hidden gnet_emu_fiber_start
  .type gnet_emu_fiber_start, @function
  .p2align 4
gnet_emu_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size gnet_emu_fiber_start, .-gnet_emu_fiber_start
  .popsection
)");
extern "C" void gnet_emu_fiber_start();

struct FiberBlock::Context {
  void* sp;
};
#else
struct FiberBlock::Context {
  ucontext_t uc;
};
#endif

namespace {

#if GNET_EMU_ASM_SWITCH
template <typename C>
void prepare(C* ctx, void* top, void (*fn)(void*), void* arg) {
  // Seven slots, popped as r15 r14 r13 r12 rbx rbp and then returned through; the stack is then
  // 16-byte aligned for gnet_emu_fiber_start's call, as the ABI wants.
  auto* sp = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(top) & ~uintptr_t{15}) - 72);
  sp[0] = 0;                                                  // r15
  sp[1] = 0;                                                  // r14
  sp[2] = reinterpret_cast<uint64_t>(fn);                     // r13: the function gnet_emu_fiber_start calls
  sp[3] = reinterpret_cast<uint64_t>(arg);                    // r12: its argument
  sp[4] = 0;                                                  // rbx
  sp[5] = 0;                                                  // rbp
  sp[6] = reinterpret_cast<uint64_t>(&gnet_emu_fiber_start);  // where the first switch returns to
  ctx->sp = sp;
}
template <typename C>
void swap(C* from, C* to) {
  gnet_emu_switch(&from->sp, to->sp);
}
#else
void trampoline(unsigned fhi, unsigned flo, unsigned ahi, unsigned alo) {
  auto fn = reinterpret_cast<void (*)(void*)>((static_cast<uintptr_t>(fhi) << 32) | flo);
  fn(reinterpret_cast<void*>((static_cast<uintptr_t>(ahi) << 32) | alo));
}
template <typename C>
void prepare(C* ctx, void* top, void (*fn)(void*), void* arg) {
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = static_cast<char*>(top) - FiberBlock::kStackBytes;
  ctx->uc.uc_stack.ss_size = FiberBlock::kStackBytes;
  ctx->uc.uc_link = nullptr;
  // makecontext passes int arguments only: the pointers travel as two 32-bit halves.
  const auto a = reinterpret_cast<uintptr_t>(arg);
  const auto f = reinterpret_cast<uintptr_t>(fn);
  makecontext(&ctx->uc, reinterpret_cast<void (*)()>(&trampoline), 4, static_cast<unsigned>(f >> 32),
              static_cast<unsigned>(f), static_cast<unsigned>(a >> 32), static_cast<unsigned>(a));
}
template <typename C>
void swap(C* from, C* to) {
  swapcontext(&from->uc, &to->uc);
}
#endif

size_t pageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

FiberBlock::~FiberBlock() {
  if (stacks_ != nullptr) munmap(stacks_, stacksBytes_);
  delete[] contexts_;
}

void FiberBlock::reserve(unsigned threads) {
  if (threads <= capacity_) return;
  const size_t slot = kStackBytes + pageSize();
  const size_t bytes = slot * threads;
  void* mem =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<unsigned char*>(mem);
  // A guard page below each stack: an overflowing CUDA thread faults instead of corrupting its neighbour.
  for (unsigned i = 0; i < threads; ++i) mprotect(base + i * slot, pageSize(), PROT_NONE);
  if (stacks_ != nullptr) munmap(stacks_, stacksBytes_);
  stacks_ = base;
  stacksBytes_ = bytes;
  delete[] contexts_;
  contexts_ = new Context[threads + 1];
  scheduler_ = &contexts_[threads];
  capacity_ = threads;
  fibers_.resize(threads);
}

void* FiberBlock::stackTop(unsigned i) const {
  // Stagger each top by a cache line within a page: stacks a whole number of pages apart would put
  // every fiber's saved registers in the same L1 set, and switching then missed on every pop.
  const size_t slot = kStackBytes + pageSize();
  return stacks_ + (i + 1) * slot - (i % 64) * 64;
}

void FiberBlock::run(const gnet_emu_kernel* kernel, gnet_emu_block& block, void** args) {
  const unsigned n = block.blockDim.x * block.blockDim.y * block.blockDim.z;
  reserve(n);
  kernel_ = kernel;
  block_ = &block;
  args_ = args;
  block.engine = this;
  block.barrier = &FiberBlock::barrierThunk;
  arrived_ = trueCount_ = 0;
  for (unsigned i = 0; i < n; ++i) {
    fibers_[i] = Fiber{&contexts_[i], State::Runnable};
    prepare(&contexts_[i], stackTop(i), &FiberBlock::entry, this);
  }
  unsigned live = n;
  while (live > 0) {
    // One pass runs every runnable thread until it reaches a barrier or returns.
    for (unsigned i = 0; i < n; ++i) {
      if (fibers_[i].state != State::Runnable) continue;
      current_ = i;
      swap(scheduler_, fibers_[i].ctx);
      if (fibers_[i].state == State::Done) --live;
    }
    if (live == 0) break;
    // Every live thread now waits at the barrier: release them all.
    lastArrived_ = arrived_;
    lastTrueCount_ = trueCount_;
    arrived_ = trueCount_ = 0;
    for (unsigned i = 0; i < n; ++i)
      if (fibers_[i].state == State::AtBarrier) fibers_[i].state = State::Runnable;
  }
  block.engine = nullptr;
}

void FiberBlock::entry(void* self) {
  auto* fb = static_cast<FiberBlock*>(self);
  const unsigned i = fb->current_;
  const gnet_emu_dim3& d = fb->block_->blockDim;
  fb->kernel_->run_thread(fb->block_, i % d.x, (i / d.x) % d.y, i / (d.x * d.y), fb->args_);
  fb->fibers_[i].state = State::Done;
  swap(fb->fibers_[i].ctx, fb->scheduler_);
  __builtin_unreachable();  // a finished fiber is never resumed
}

int FiberBlock::barrierThunk(void* engine, int predicate, int op) {
  return static_cast<FiberBlock*>(engine)->barrier(predicate, op);
}

int FiberBlock::barrier(int predicate, int op) {
  const unsigned i = current_;
  fibers_[i].state = State::AtBarrier;
  ++arrived_;
  if (predicate != 0) ++trueCount_;
  swap(fibers_[i].ctx, scheduler_);
  // Resumed after the release; the next generation cannot complete before this thread runs again.
  switch (op) {
    case GNET_EMU_BARRIER_COUNT:
      return lastTrueCount_;
    case GNET_EMU_BARRIER_AND:
      return lastTrueCount_ == lastArrived_ ? 1 : 0;
    case GNET_EMU_BARRIER_OR:
      return lastTrueCount_ > 0 ? 1 : 0;
    default:
      return 0;
  }
}

}  // namespace gnet::emu
