// typed_array.h: argument checks shared by the addon's batch calls.
#pragma once
#include <napi.h>

#include <string>

namespace gnet {

// `v` as a typed array of exactly the element type `want` (`As<T>()` alone would reinterpret any
// other, and the call would then read past its end); a TypeError "<call>: <what> must be a <kind>"
// otherwise.
template <typename T>
T ExactTypedArray(const Napi::Value& v, napi_typedarray_type want, const char* call, const char* what,
                  const char* kind) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
    throw Napi::TypeError::New(v.Env(), std::string(call) + ": " + what + " must be a " + kind);
  return v.As<T>();
}

}  // namespace gnet
