// Batch byte moves inside one buffer; see bytes.h.
#include "bytes.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "typed_array.h"

namespace gnet::bytes {

namespace {

template <typename T>
T Typed(const Napi::Value& v, napi_typedarray_type want, const char* what, const char* kind) {
  return ExactTypedArray<T>(v, want, "moveRanges", what, kind);
}

}  // namespace

Napi::Value MoveRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "moveRanges(data, dst, src, len, count)");
  Napi::Uint8Array data = Typed<Napi::Uint8Array>(info[0], napi_uint8_array, "data", "Uint8Array");
  Napi::Uint32Array dst = Typed<Napi::Uint32Array>(info[1], napi_uint32_array, "dst", "Uint32Array");
  Napi::Uint32Array src = Typed<Napi::Uint32Array>(info[2], napi_uint32_array, "src", "Uint32Array");
  Napi::Uint32Array len = Typed<Napi::Uint32Array>(info[3], napi_uint32_array, "len", "Uint32Array");
  const uint32_t count = info[4].ToNumber().Uint32Value();
  if (count > dst.ElementLength() || count > src.ElementLength() || count > len.ElementLength()) {
    throw Napi::RangeError::New(env, "moveRanges: count exceeds an array");
  }
  uint8_t* base = data.Data();
  const uint64_t size = data.ByteLength();
  uint32_t moved = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t d = dst[i], s = src[i], n = len[i];
    if (d + n > size || s + n > size) continue;  // the caller's bug: refuse, never overrun
    memmove(base + d, base + s, n);
    ++moved;
  }
  return Napi::Number::New(env, moved);
}

}  // namespace gnet::bytes
