#include "gpu_stream.h"

namespace gnet::gpu {

Stream::Stream(int clientId, int32_t* status) : clientId_(clientId), status_(status) {
  for (int i = 0; i < kStatusWords; ++i) __atomic_store_n(&status_[i], 0, __ATOMIC_SEQ_CST);
}

uint32_t Stream::submit(Batch batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint32_t seq = lastSeq_ + 1;
  batch.seq = seq;
  issue(batch, lock);  // throws before the seq is taken: a failed issue consumes no ticket
  lastSeq_ = seq;
  __atomic_store_n(&status_[kSubmitted], static_cast<int32_t>(lastSeq_), __ATOMIC_SEQ_CST);
  return lastSeq_;
}

SyncTicket Stream::beginSync(Batch& batch) { return SyncTicket{submit(std::move(batch)), false}; }

void Stream::finishSync(Batch&, SyncTicket ticket) { wait(ticket.seq); }

uint32_t Stream::assignSeqLocked() {
  ++lastSeq_;
  __atomic_store_n(&status_[kSubmitted], static_cast<int32_t>(lastSeq_), __ATOMIC_SEQ_CST);
  return lastSeq_;
}

void Stream::wait(uint32_t ticket) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!reached(lastSeq_, ticket)) ticket = lastSeq_;  // a ticket never issued: wait for what exists
  waitLocked(ticket, lock);
  rethrowFailureLocked();
}

void Stream::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint32_t last = lastSeq_;
  try {
    waitLocked(last, lock);
  } catch (...) {
    failLocked(last, std::current_exception());
  }
}

uint32_t Stream::poll() {
  std::lock_guard<std::mutex> lock(mutex_);
  return doneLocked();
}

uint32_t Stream::lastSubmitted() {
  std::lock_guard<std::mutex> lock(mutex_);
  return lastSeq_;
}

void Stream::waitLocked(uint32_t ticket, std::unique_lock<std::mutex>& lock) {
  doneCv_.wait(lock, [&] { return reached(doneLocked(), ticket); });
}

void Stream::completeLocked(uint32_t seq) {
  if (reached(doneLocked(), seq)) return;
  // Release order: whatever the batch wrote (DtoH into JS memory) is visible once the word is.
  __atomic_store_n(&status_[kDone], static_cast<int32_t>(seq), __ATOMIC_SEQ_CST);
  doneCv_.notify_all();
}

void Stream::failLocked(uint32_t seq, std::exception_ptr error) {
  if (!failure_) {
    failure_ = std::move(error);
    __atomic_store_n(&status_[kFailed], static_cast<int32_t>(seq), __ATOMIC_SEQ_CST);
  }
}

uint32_t Stream::doneLocked() const {
  return static_cast<uint32_t>(__atomic_load_n(&status_[kDone], __ATOMIC_SEQ_CST));
}

void Stream::rethrowFailureLocked() {
  if (!failure_) return;
  std::exception_ptr e = std::move(failure_);
  failure_ = nullptr;
  __atomic_store_n(&status_[kFailed], 0, __ATOMIC_SEQ_CST);
  std::rethrow_exception(e);
}

}  // namespace gnet::gpu
