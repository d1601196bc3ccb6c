// The manager's receive path for a burst; see rx_fill.h.
#include "rx_fill.h"

#include <cstring>
#include <string>
#include <utility>

#include "typed_array.h"
#include "wire_bytes.h"

namespace gnet {

namespace {

constexpr const char* kCall = "RxFill";

// nflib's hashTuple (chain/flow-director.ts), bit for bit.
inline uint32_t hashTuple(uint32_t src, uint32_t dst, uint32_t ports, uint32_t proto) {
  uint32_t h = (src ^ 0x9e3779b9u) * 0x85ebca6bu;
  h = (h ^ (h >> 13) ^ dst) * 0xc2b2ae35u;
  h = (h ^ (h >> 16) ^ ports) * 0x85ebca6bu;
  h = (h ^ (h >> 13) ^ proto) * 0xc2b2ae35u;
  return h ^ (h >> 16);
}

// The flow hash of the frame `f` of `len` bytes, as RxFiller.push and otherHash compute it: the
// 5-tuple of IPv4 or IPv6 (behind one VLAN tag or none; IPv6 addresses folded to 32 bits), 0 for
// other frames.
uint32_t flowHash(const uint8_t* f, uint32_t len) {
  if (len >= 34 && be16(f + 12) == 0x0800) {
    const uint32_t proto = f[23];
    const uint32_t l4 = 14 + ((f[14] & 15u) << 2);
    const uint32_t ports = (proto == 6 || proto == 17) && l4 + 4 <= len ? be32(f + l4) : 0;
    return hashTuple(be32(f + 26), be32(f + 30), ports, proto);
  }
  if (len < 18) return 0;
  uint32_t l3 = 14;
  uint32_t type = be16(f + 12);
  if (type == 0x8100 || type == 0x88a8) {
    type = be16(f + 16);
    l3 += 4;
  }
  if (type == 0x0800 && l3 + 20 <= len) {
    const uint32_t proto = f[l3 + 9];
    const uint32_t l4 = l3 + ((f[l3] & 15u) << 2);
    const uint32_t ports = (proto == 6 || proto == 17) && l4 + 4 <= len ? be32(f + l4) : 0;
    return hashTuple(be32(f + l3 + 12), be32(f + l3 + 16), ports, proto);
  }
  if (type == 0x86dd && l3 + 40 <= len) {
    const uint32_t proto = f[l3 + 6];
    const uint8_t* a = f + l3 + 8;
    const uint32_t src = be32(a) ^ be32(a + 4) ^ be32(a + 8) ^ be32(a + 12);
    const uint32_t dst = be32(a + 16) ^ be32(a + 20) ^ be32(a + 24) ^ be32(a + 28);
    const uint32_t ports = (proto == 6 || proto == 17) && l3 + 44 <= len ? be32(f + l3 + 40) : 0;
    return hashTuple(src, dst, ports, proto);
  }
  return 0;
}

Napi::Uint32Array u32(const Napi::CallbackInfo& info, int at, const char* what) {
  return ExactTypedArray<Napi::Uint32Array>(info[at], napi_uint32_array, kCall, what, "Uint32Array");
}

}  // namespace

Napi::Function RxFillWrap::Define(Napi::Env env) {
  return DefineClass(env, "RxFill", {InstanceMethod("fill", &RxFillWrap::Fill)});
}

RxFillWrap::RxFillWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RxFillWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 12) {
    throw Napi::TypeError::New(
        env, "new RxFill(pool, cache, slotOf, tSlot, tOffset, tLength, tFlowHash, tPort, tsSec, tsNsec, epoch, io)");
  }
  auto pool = ExactTypedArray<Napi::Uint8Array>(info[0], napi_uint8_array, kCall, "pool", "Uint8Array");
  auto cache = u32(info, 1, "cache");
  auto slotOf = u32(info, 2, "slotOf");
  auto tSlot = u32(info, 3, "tSlot");
  auto tOffset = u32(info, 4, "tOffset");
  auto tLength = u32(info, 5, "tLength");
  auto tFlowHash = u32(info, 6, "tFlowHash");
  auto tPort = ExactTypedArray<Napi::Uint16Array>(info[7], napi_uint16_array, kCall, "tPort", "Uint16Array");
  auto tsSec = u32(info, 8, "tsSec");
  auto tsNsec = u32(info, 9, "tsNsec");
  auto epoch = u32(info, 10, "epoch");
  auto io = u32(info, 11, "io");
  entries_ = static_cast<uint32_t>(slotOf.ElementLength());
  slots_ = static_cast<uint32_t>(tsSec.ElementLength());
  if (tSlot.ElementLength() < entries_ || tOffset.ElementLength() < entries_ || tLength.ElementLength() < entries_ ||
      tFlowHash.ElementLength() < entries_ || tPort.ElementLength() < entries_ || tsNsec.ElementLength() < slots_ ||
      epoch.ElementLength() < slots_ || io.ElementLength() < kWords) {
    throw Napi::RangeError::New(
        env,
        "RxFill: an array is shorter than its kind (batch table: slotOf's length; per slot: tsSec's; io: 13 words)");
  }
  Napi::Object keep = Napi::Object::New(env);
  const std::pair<const char*, Napi::Value> bound[] = {
      {"pool", pool},       {"cache", cache},     {"slotOf", slotOf},       {"tSlot", tSlot},
      {"tOffset", tOffset}, {"tLength", tLength}, {"tFlowHash", tFlowHash}, {"tPort", tPort},
      {"tsSec", tsSec},     {"tsNsec", tsNsec},   {"epoch", epoch},         {"io", io}};
  for (const auto& [name, array] : bound) keep.Set(name, array);
  arrays_ = Napi::Persistent(keep);
  pool_ = pool.Data();
  poolSize_ = pool.ByteLength();
  cache_ = cache.Data();
  cacheSize_ = static_cast<uint32_t>(cache.ElementLength());
  slotOf_ = slotOf.Data();
  tSlot_ = tSlot.Data();
  tOffset_ = tOffset.Data();
  tLength_ = tLength.Data();
  tFlowHash_ = tFlowHash.Data();
  tPort_ = tPort.Data();
  tsSec_ = tsSec.Data();
  tsNsec_ = tsNsec.Data();
  epoch_ = epoch.Data();
  io_ = io.Data();
}

Napi::Value RxFillWrap::Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "fill(src, offsets, lengths, count[, tsSec, tsNsec])");
  auto src = ExactTypedArray<Napi::Uint8Array>(info[0], napi_uint8_array, "RxFill.fill", "src", "Uint8Array");
  auto offsets =
      ExactTypedArray<Napi::Uint32Array>(info[1], napi_uint32_array, "RxFill.fill", "offsets", "Uint32Array");
  auto lengths =
      ExactTypedArray<Napi::Uint32Array>(info[2], napi_uint32_array, "RxFill.fill", "lengths", "Uint32Array");
  const uint32_t n = info[3].ToNumber().Uint32Value();
  if (n > offsets.ElementLength() || n > lengths.ElementLength()) {
    throw Napi::RangeError::New(env, "RxFill.fill: count exceeds offsets or lengths");
  }
  // Optional per-frame receive times (a capture's, a wire's); else io's one time for the burst.
  const uint32_t* secs = nullptr;
  const uint32_t* nsecs = nullptr;
  if (info.Length() >= 6 && !info[4].IsUndefined()) {
    auto a = ExactTypedArray<Napi::Uint32Array>(info[4], napi_uint32_array, "RxFill.fill", "tsSec", "Uint32Array");
    auto b = ExactTypedArray<Napi::Uint32Array>(info[5], napi_uint32_array, "RxFill.fill", "tsNsec", "Uint32Array");
    if (n > a.ElementLength() || n > b.ElementLength()) {
      throw Napi::RangeError::New(env, "RxFill.fill: count exceeds tsSec or tsNsec");
    }
    secs = a.Data();
    nsecs = b.Data();
  }
  const uint8_t* s = src.Data();
  const uint64_t srcSize = src.ByteLength();
  uint32_t* io = io_;
  const uint32_t base = io[kBase], max = io[kMax], port = io[kPort], size = io[kSlotSize];
  const uint64_t dataOffset = io[kDataOffset];
  const uint32_t sec = io[kTsSec], nsec = io[kTsNsec];
  const bool epochs = io[kEpochs] != 0;
  uint32_t count = io[kCount], free = io[kCacheCount];
  uint64_t bytes = 0;
  uint32_t invalid = 0, noBuffer = 0;
  if (free > cacheSize_) free = cacheSize_;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t off = offsets[i], len = lengths[i];
    if (len < 14 || len > size || uint64_t(off) + len > srcSize) {
      ++invalid;
      continue;
    }
    const uint32_t k = base + count;
    if (count >= max || free == 0 || k >= entries_) {
      ++noBuffer;
      continue;
    }
    const uint32_t slot = cache_[--free];
    const uint64_t at = dataOffset + uint64_t(slot) * size;
    if (slot >= slots_ || at + len > poolSize_) {
      // A slot outside the pool: the cache is corrupt. Put it back and refuse rather than overrun.
      ++free;
      ++noBuffer;
      continue;
    }
    const uint8_t* f = s + off;
    std::memcpy(pool_ + at, f, len);
    slotOf_[k] = slot;
    tSlot_[k] = slot;
    tOffset_[k] = static_cast<uint32_t>(at);
    tLength_[k] = len;
    tPort_[k] = static_cast<uint16_t>(port);
    tsSec_[slot] = secs != nullptr ? secs[i] : sec;
    tsNsec_[slot] = nsecs != nullptr ? nsecs[i] : nsec;
    if (epochs) {
      const uint32_t e = epoch_[slot] + 1;
      epoch_[slot] = e == 0 ? 1 : e;
    }
    tFlowHash_[k] = flowHash(f, len);
    ++count;
    bytes += len;
  }
  io[kCount] = count;
  io[kCacheCount] = free;
  io[kBytes] += static_cast<uint32_t>(bytes);
  io[kInvalid] += invalid;
  io[kNoBuffer] += noBuffer;
  return Napi::Number::New(env, n);
}

}  // namespace gnet
