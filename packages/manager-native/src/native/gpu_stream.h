// A client's stream: batches run in submission order and complete as tickets (sequence numbers).
//
// Completion is published two ways. The status words live in a SharedArrayBuffer the client's JS
// thread reads with Atomics.load, so "is ticket t done?" costs no call into C++. Blocking waits use a
// condition variable here, not Atomics.wait: V8 implements Atomics.wait with its own waiter lists, so
// a store from a native thread (even with a futex wake on the word) never wakes a JS waiter; a JS
// thread that must block calls wait(), which sleeps in C++ and returns when the executor completes.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>

#include "gpu_core.h"

namespace gnet::gpu {

// Indices of the Int32 status words shared with JS.
enum StatusWord : int { kDone = 0, kSubmitted = 1, kFailed = 2, kStatusWords = 4 };

// A synchronous submit's ticket; `inlined` when the caller itself must run the batch (finishSync).
struct SyncTicket {
  uint32_t seq = 0;
  bool inlined = false;
};

// Serial-number comparison: whether `done` has reached `ticket`, across the 2^32 wrap.
inline bool reached(uint32_t done, uint32_t ticket) { return static_cast<int32_t>(done - ticket) >= 0; }

class Stream {
 public:
  // `status` points at kStatusWords Int32 words the stream owns for its lifetime.
  Stream(int clientId, int32_t* status);
  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int clientId() const { return clientId_; }
  // Issues the batch after every earlier one; returns its ticket. Throws (issuing nothing more) if a
  // request cannot be issued; the ticket is then not consumed.
  uint32_t submit(Batch batch);
  // A synchronous submit in two steps, so the proxy can hold its submit gate only for the first:
  // beginSync queues the batch, or (a backend on an idle stream) takes a ticket for the caller to run
  // it itself; finishSync runs an inlined batch and waits for the ticket.
  virtual SyncTicket beginSync(Batch& batch);
  virtual void finishSync(Batch& batch, SyncTicket ticket);
  // Blocks until `ticket` completes; throws the stream's first failure not yet reported.
  void wait(uint32_t ticket);
  // Blocks until everything submitted so far completes, keeping any failure for the owner's wait().
  void drain();
  // Refreshes the done word without blocking (the GPU backend queries its events); returns it.
  virtual uint32_t poll();
  uint32_t lastSubmitted();

 protected:
  // Starts `batch` (its seq is set); called with mutex_ held.
  virtual void issue(Batch& batch, std::unique_lock<std::mutex>& lock) = 0;
  // Blocks until `ticket` completes, updating the done word; called with mutex_ held.
  virtual void waitLocked(uint32_t ticket, std::unique_lock<std::mutex>& lock);
  // Marks every batch up to `seq` done and wakes waiters; mutex_ held.
  void completeLocked(uint32_t seq);
  // Records that batch `seq` failed with `error` (kept until reported); mutex_ held.
  void failLocked(uint32_t seq, std::exception_ptr error);
  uint32_t assignSeqLocked();
  uint32_t doneLocked() const;

  std::mutex mutex_;
  std::condition_variable doneCv_;

 private:
  void rethrowFailureLocked();

  const int clientId_;
  int32_t* status_;
  uint32_t lastSeq_ = 0;
  std::exception_ptr failure_;
};

}  // namespace gnet::gpu
