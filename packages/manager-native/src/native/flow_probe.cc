// Batch lookup in an open-addressed flow table; see flow_probe.h.
#include "flow_probe.h"

#include <algorithm>
#include <utility>

#include "typed_array.h"

namespace gnet {

namespace {

constexpr const char* kCall = "FlowProbe";

// flow-table.ts's hashKey (murmur3's finalizer over a multiply-xor chain), bit for bit.
inline uint32_t hashKey(uint32_t k0, uint32_t k1, uint32_t k2, uint32_t k3) {
  uint32_t h = (k0 ^ 0x9e3779b9u) * 0x85ebca6bu;
  h = (h ^ (h >> 15) ^ k1) * 0xc2b2ae35u;
  h = (h ^ (h >> 13) ^ k2) * 0x85ebca6bu;
  h = (h ^ (h >> 16) ^ k3) * 0xc2b2ae35u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// flow-table.ts's homeOf: the even slot starting the line that the top 24 bits of the hash scale to.
inline uint32_t homeOf(uint32_t h, uint32_t capacity) {
  return 2u * static_cast<uint32_t>((uint64_t(h >> 8) * (capacity >> 1)) >> 24);
}

}  // namespace

Napi::Function FlowProbeWrap::Define(Napi::Env env) {
  return DefineClass(env, "FlowProbe", {InstanceMethod("probe", &FlowProbeWrap::Probe)});
}

FlowProbeWrap::FlowProbeWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FlowProbeWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "new FlowProbe(slots, keys, homes, found)");
  auto slots = ExactTypedArray<Napi::Int32Array>(info[0], napi_int32_array, kCall, "slots", "Int32Array");
  auto keys = ExactTypedArray<Napi::Uint32Array>(info[1], napi_uint32_array, kCall, "keys", "Uint32Array");
  auto homes = ExactTypedArray<Napi::Int32Array>(info[2], napi_int32_array, kCall, "homes", "Int32Array");
  auto found = ExactTypedArray<Napi::Int32Array>(info[3], napi_int32_array, kCall, "found", "Int32Array");
  batch_ = static_cast<uint32_t>(std::min({keys.ElementLength() / 4, homes.ElementLength(), found.ElementLength()}));
  slotCount_ = static_cast<uint32_t>(std::min<size_t>(slots.ElementLength() / 8, UINT32_MAX));
  Napi::Object keep = Napi::Object::New(env);
  const std::pair<const char*, Napi::Value> bound[] = {
      {"slots", slots}, {"keys", keys}, {"homes", homes}, {"found", found}};
  for (const auto& [name, array] : bound) keep.Set(name, array);
  arrays_ = Napi::Persistent(keep);
  slots_ = reinterpret_cast<const uint32_t*>(slots.Data());
  keys_ = keys.Data();
  homes_ = homes.Data();
  found_ = found.Data();
}

Napi::Value FlowProbeWrap::Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "FlowProbe.probe(n, capacity, sweepFrom, sweepSlots)");
  const uint32_t n = info[0].ToNumber().Uint32Value();
  const uint32_t cap = info[1].ToNumber().Uint32Value();
  uint32_t sweep = info[2].ToNumber().Uint32Value();
  const uint32_t sweepSlots = info[3].ToNumber().Uint32Value();
  if (n > batch_) throw Napi::RangeError::New(env, "FlowProbe.probe: n exceeds the bound keys, homes or found");
  if (cap < 2 || cap > slotCount_ || (cap & 1) != 0) {
    throw Napi::RangeError::New(env, "FlowProbe.probe: capacity must be even, at least 2 and within the slots");
  }
  const uint32_t* s = slots_;
  const uint32_t* k = keys_;
  // Pass 1: every home line, and the sweep's next lines, requested at once.
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t k3 = k[4 * i + 3];
    if (k3 == 0) {
      homes_[i] = -1;
      continue;
    }
    const uint32_t h = homeOf(hashKey(k[4 * i], k[4 * i + 1], k[4 * i + 2], k3), cap);
    homes_[i] = static_cast<int32_t>(h);
    __builtin_prefetch(s + 8 * size_t(h));
  }
  for (uint32_t j = 0; j < sweepSlots && j < cap; j += 2) {
    if (sweep >= cap) sweep = 0;
    __builtin_prefetch(s + 8 * size_t(sweep));
    sweep += 2;
  }
  // Pass 2: probe each key from its home (the table is never full, so an empty slot ends each probe;
  // the step bound only guards against a corrupt table).
  uint32_t hits = 0;
  for (uint32_t i = 0; i < n; ++i) {
    int32_t at = -1;
    const int32_t home = homes_[i];
    if (home >= 0) {
      const uint32_t q0 = k[4 * i], q1 = k[4 * i + 1], q2 = k[4 * i + 2], q3 = k[4 * i + 3];
      uint32_t j = static_cast<uint32_t>(home);
      for (uint32_t step = 0; step < cap; ++step) {
        const uint32_t* e = s + 8 * size_t(j);
        if (e[3] == 0) break;
        if ((e[3] & 0xffffu) == q3 && e[0] == q0 && e[1] == q1 && e[2] == q2) {
          at = static_cast<int32_t>(j);
          ++hits;
          break;
        }
        j = j + 1 == cap ? 0 : j + 1;
      }
    }
    found_[i] = at;
  }
  return Napi::Number::New(env, hits);
}

}  // namespace gnet
