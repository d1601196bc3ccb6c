// Batch byte moves inside one buffer and copies between two; see bytes.h.
#include "bytes.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "typed_array.h"

namespace gnet::bytes {

namespace {

// The ranges of one call: destination and source offsets and lengths, and how many to copy.
struct Ranges {
  Napi::Uint32Array dst, src, len;
  uint32_t count;
};

// The call's dst, src and len arrays and its count (at info[dstAt], ...); a count beyond an array throws.
Ranges rangesOf(const Napi::CallbackInfo& info, const char* call, int dstAt, int srcAt, int lenAt, int countAt) {
  Ranges r{ExactTypedArray<Napi::Uint32Array>(info[dstAt], napi_uint32_array, call, "dst", "Uint32Array"),
           ExactTypedArray<Napi::Uint32Array>(info[srcAt], napi_uint32_array, call, "src", "Uint32Array"),
           ExactTypedArray<Napi::Uint32Array>(info[lenAt], napi_uint32_array, call, "len", "Uint32Array"),
           info[countAt].ToNumber().Uint32Value()};
  if (r.count > r.dst.ElementLength() || r.count > r.src.ElementLength() || r.count > r.len.ElementLength()) {
    throw Napi::RangeError::New(info.Env(), std::string(call) + ": count exceeds an array");
  }
  return r;
}

// memmove of each range from `from` + src[i] to `to` + dst[i]; a range outside either buffer is
// skipped, never overrun. Returns how many ranges were copied.
uint32_t copyAll(uint8_t* to, uint64_t toSize, const uint8_t* from, uint64_t fromSize, const Ranges& r) {
  uint32_t copied = 0;
  for (uint32_t i = 0; i < r.count; ++i) {
    const uint64_t d = r.dst[i], s = r.src[i], n = r.len[i];
    if (d + n > toSize || s + n > fromSize) continue;  // the caller's bug: refuse, never overrun
    memmove(to + d, from + s, n);
    ++copied;
  }
  return copied;
}

}  // namespace

Napi::Value MoveRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "moveRanges(data, dst, src, len, count)");
  Napi::Uint8Array data =
      ExactTypedArray<Napi::Uint8Array>(info[0], napi_uint8_array, "moveRanges", "data", "Uint8Array");
  const Ranges r = rangesOf(info, "moveRanges", 1, 2, 3, 4);
  return Napi::Number::New(env, copyAll(data.Data(), data.ByteLength(), data.Data(), data.ByteLength(), r));
}

Napi::Value CopyRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) throw Napi::TypeError::New(env, "copyRanges(to, dst, from, src, len, count)");
  Napi::Uint8Array to = ExactTypedArray<Napi::Uint8Array>(info[0], napi_uint8_array, "copyRanges", "to", "Uint8Array");
  Napi::Uint8Array from =
      ExactTypedArray<Napi::Uint8Array>(info[2], napi_uint8_array, "copyRanges", "from", "Uint8Array");
  const Ranges r = rangesOf(info, "copyRanges", 1, 3, 4, 5);
  return Napi::Number::New(env, copyAll(to.Data(), to.ByteLength(), from.Data(), from.ByteLength(), r));
}

}  // namespace gnet::bytes
