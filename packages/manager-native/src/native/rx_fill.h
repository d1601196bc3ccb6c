// rx_fill.h: the manager's receive path for a whole burst in one call. `new RxFill(...)` binds the
// packet pool's arrays once; `fill(src, offsets, lengths, count)` then takes up to `count` frames of
// `src` into free pool slots: the copy, the batch descriptor's entries (slot, offset, length, port,
// flow hash), the slot's timestamp and epoch, exactly as the JavaScript `RxFiller.push` does frame by
// frame (nflib's runtime/rx-filler.ts; its tests hold the two to the same results).
#pragma once
#include <napi.h>

#include <cstdint>

namespace gnet {

class RxFillWrap : public Napi::ObjectWrap<RxFillWrap> {
 public:
  // new RxFill(pool: Uint8Array, cache, slotOf, tSlot, tOffset, tLength, tFlowHash: Uint32Array,
  //            tPort: Uint16Array, tsSec, tsNsec, epoch: Uint32Array, io: Uint32Array)
  static Napi::Function Define(Napi::Env env);
  explicit RxFillWrap(const Napi::CallbackInfo& info);

  // Words of the `io` array: the burst's state, read and updated by `fill`.
  enum Io : uint32_t {
    kBase = 0,        // in: the descriptor's first entry in the batch table
    kMax = 1,         // in: frames the burst may hold
    kCount = 2,       // in/out: frames taken into the burst so far
    kCacheCount = 3,  // in/out: free slots in `cache[0, n)`
    kPort = 4,        // in: the port id written into each entry
    kDataOffset = 5,  // in: byte offset of slot 0 in `pool`
    kSlotSize = 6,    // in: bytes per slot
    kTsSec = 7,       // in: the frames' timestamp
    kTsNsec = 8,
    kEpochs = 9,  // in: non-zero to bump each filled slot's epoch
    kBytes = 10,  // out: bytes taken, added to
    kInvalid =
        11,  // out: frames refused as malformed (shorter than 14 bytes, longer than a slot, past `src`), added to
    kNoBuffer = 12,  // out: frames refused for want of a slot or of room in the burst, added to
    kWords = 13,
  };

 private:
  // fill(src: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count[, tsSec, tsNsec: Uint32Array])
  // -> frames offered (taken or refused); with tsSec/tsNsec, frame i was received at tsSec[i], tsNsec[i]
  Napi::Value Fill(const Napi::CallbackInfo& info);

  // Keeps the bound arrays (and so the pool's memory) alive as long as this object.
  Napi::ObjectReference arrays_;
  uint8_t* pool_ = nullptr;
  uint64_t poolSize_ = 0;
  uint32_t* cache_ = nullptr;
  uint32_t cacheSize_ = 0;
  uint32_t* slotOf_ = nullptr;
  uint32_t* tSlot_ = nullptr;
  uint32_t* tOffset_ = nullptr;
  uint32_t* tLength_ = nullptr;
  uint32_t* tFlowHash_ = nullptr;
  uint16_t* tPort_ = nullptr;
  uint32_t entries_ = 0;  // length of the batch-table arrays
  uint32_t* tsSec_ = nullptr;
  uint32_t* tsNsec_ = nullptr;
  uint32_t* epoch_ = nullptr;
  uint32_t slots_ = 0;  // length of the per-slot arrays
  uint32_t* io_ = nullptr;
};

}  // namespace gnet
