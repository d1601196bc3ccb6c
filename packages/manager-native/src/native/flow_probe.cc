// Batch lookup in an open-addressed flow table; see flow_probe.h.
#include "flow_probe.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "typed_array.h"
#include "wire_bytes.h"

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

template <typename T>
inline T load(const uint8_t* base, size_t at) {
  T v;
  std::memcpy(&v, base + at, sizeof v);
  return v;
}

constexpr uint32_t kTcp = 6, kUdp = 17, kIcmp = 1;
constexpr uint32_t kOut = 1u << 8, kIn = 2u << 8;  // flow-table.ts's KeyKind.OUT / IN in key word 3

// nf-nat's session slot (nat.ts): value words, and the state flags in bits 16..31 of word 3.
constexpr uint32_t kVAddr = 4, kVPort = 5, kVLast = 6, kVMac = 7;
constexpr uint32_t kSynOut = 1u << 16, kSynIn = 2u << 16, kFinOut = 4u << 16, kFinIn = 8u << 16, kRst = 16u << 16;
constexpr uint32_t kHasMac = 32u << 16;

// flow-probe.ts's NatParam: the words of bindNat's params.
enum NatParam : uint32_t {
  kNow,
  kFlags,
  kUdpTimeout,
  kTcpEstablished,
  kTcpTransitory,
  kInsidePort,
  kOutsidePort,
  kActionOut,
  kGwHi,
  kGwLo,
  kOutHi,
  kOutLo,
  kInHi,
  kInLo,
  kHostHi,
  kHostLo,
  kResultOut,
  kExternalCount,
  kSubnetCount,
  kListsAt
};
enum NatFlag : uint32_t {
  kDecTtl = 1,
  kOutboundOk = 2,
  kInboundOk = 4,
  kExternalRange = 8,
  kOutsideMac = 16,
  kInsideMac = 32
};

// nat.ts's fold16: ~(a + d) folded to 16 bits.
inline uint32_t fold16(uint32_t a, uint32_t d) {
  uint32_t x = a + d;
  x = (x & 0xffff) + (x >> 16);
  x = (x & 0xffff) + (x >> 16);
  return ~x & 0xffff;
}
// Half-word sum of a 32-bit value, as the incremental checksum update adds it.
inline uint32_t halves(uint32_t v) { return (v >> 16) + (v & 0xffff); }

// An object holding `arrays` by name: kept in a persistent reference, it keeps them alive while bound.
Napi::Object keepAlive(Napi::Env env, std::initializer_list<std::pair<const char*, Napi::Value>> arrays) {
  Napi::Object keep = Napi::Object::New(env);
  for (const auto& [name, array] : arrays) keep.Set(name, array);
  return keep;
}

}  // namespace

Napi::Function FlowProbeWrap::Define(Napi::Env env) {
  return DefineClass(
      env, "FlowProbe",
      {InstanceMethod("probe", &FlowProbeWrap::Probe), InstanceMethod("bindFrames", &FlowProbeWrap::BindFrames),
       InstanceMethod("frameKeys", &FlowProbeWrap::FrameKeys), InstanceMethod("bindNat", &FlowProbeWrap::BindNat),
       InstanceMethod("forward", &FlowProbeWrap::Forward)});
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
  arrays_ = Napi::Persistent(keepAlive(env, {{"slots", slots}, {"keys", keys}, {"homes", homes}, {"found", found}}));
  slots_ = reinterpret_cast<uint32_t*>(slots.Data());
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

Napi::Value FlowProbeWrap::BindFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "FlowProbe.bindFrames(data, offsets, lengths, ports)");
  const char* call = "FlowProbe.bindFrames";
  auto data = ExactTypedArray<Napi::Uint8Array>(info[0], napi_uint8_array, call, "data", "Uint8Array");
  auto offsets = ExactTypedArray<Napi::Uint8Array>(info[1], napi_uint8_array, call, "offsets", "Uint8Array");
  auto lengths = ExactTypedArray<Napi::Uint8Array>(info[2], napi_uint8_array, call, "lengths", "Uint8Array");
  auto ports = ExactTypedArray<Napi::Uint8Array>(info[3], napi_uint8_array, call, "ports", "Uint8Array");
  frames_ =
      Napi::Persistent(keepAlive(env, {{"data", data}, {"offsets", offsets}, {"lengths", lengths}, {"ports", ports}}));
  data_ = data.Data();
  dataLen_ = data.ByteLength();
  offsets_ = offsets.Data();
  offsetsLen_ = offsets.ByteLength();
  lengths_ = lengths.Data();
  lengthsLen_ = lengths.ByteLength();
  ports_ = ports.Data();
  portsLen_ = ports.ByteLength();
  return env.Undefined();
}

Napi::Value FlowProbeWrap::FrameKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6)
    throw Napi::TypeError::New(env, "FlowProbe.frameKeys(n, offsetsAt, lengthsAt, portsAt, insidePort, outsidePort)");
  if (data_ == nullptr) throw Napi::Error::New(env, "FlowProbe.frameKeys: bindFrames first");
  const uint32_t n = info[0].ToNumber().Uint32Value();
  const size_t offAt = info[1].ToNumber().Uint32Value();
  const size_t lenAt = info[2].ToNumber().Uint32Value();
  const size_t portAt = info[3].ToNumber().Uint32Value();
  const uint32_t inside = info[4].ToNumber().Uint32Value();
  const uint32_t outside = info[5].ToNumber().Uint32Value();
  if (n > batch_) throw Napi::RangeError::New(env, "FlowProbe.frameKeys: n exceeds the bound keys, homes or found");
  if (offAt + 4 * size_t(n) > offsetsLen_ || lenAt + 4 * size_t(n) > lengthsLen_ ||
      portAt + 2 * size_t(n) > portsLen_) {
    throw Napi::RangeError::New(env, "FlowProbe.frameKeys: the batch reaches past the bound offsets, lengths or ports");
  }
  // Every frame's first line requested at once: the frames were written on another core.
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t off = load<uint32_t>(offsets_, offAt + 4 * size_t(i));
    if (off < dataLen_) __builtin_prefetch(data_ + off + 12);
  }
  uint32_t* k = keys_;
  uint32_t left = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t* key = k + 4 * size_t(i);
    key[3] = 0;
    homes_[i] = -1;
    const size_t off = load<uint32_t>(offsets_, offAt + 4 * size_t(i));
    const size_t len = load<uint32_t>(lengths_, lenAt + 4 * size_t(i));
    if (off + len > dataLen_) {  // keyOf would read past the frames and throw: its call
      homes_[i] = -2;
      ++left;
      continue;
    }
    const uint8_t* f = data_ + off;
    // keyOf's checks, in its order; any failing one leaves no key.
    if (len < 34 || be16(f + 12) != 0x0800) continue;
    const uint8_t* l3 = f + 14;
    const uint32_t ihl = (l3[0] & 15u) * 4;
    const uint32_t total = be16(l3 + 2);
    if ((l3[0] >> 4) != 4 || ihl < 20 || total < ihl || 14 + size_t(total) > len || (be16(l3 + 6) & 0x3fff) != 0)
      continue;
    const uint32_t port = load<uint16_t>(ports_, portAt + 2 * size_t(i));
    const bool outbound = port == inside;
    if (!outbound && port != outside) continue;
    const uint32_t proto = l3[9];
    if (proto == kIcmp) {  // echo ids and error quotes: keyOf's
      homes_[i] = -2;
      ++left;
      continue;
    }
    const uint8_t* l4 = l3 + ihl;
    const uint32_t l4len = total - ihl;
    if (proto == kTcp ? !(l4len >= 20 && (l4[12] >> 4) >= 5) : l4len < 8) continue;
    if (proto != kTcp && proto != kUdp) continue;
    const uint32_t a = be32(l3 + 12), b = be32(l3 + 16), sp = be16(l4), dp = be16(l4 + 2);
    if (outbound) {
      key[0] = a;
      key[1] = b;
      key[2] = (sp << 16) | dp;
      key[3] = proto | kOut;
    } else {
      key[0] = b;
      key[1] = a;
      key[2] = (dp << 16) | sp;
      key[3] = proto | kIn;
    }
  }
  return Napi::Number::New(env, left);
}

Napi::Value FlowProbeWrap::BindNat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "FlowProbe.bindNat(params, action, destination)");
  const char* call = "FlowProbe.bindNat";
  auto params = ExactTypedArray<Napi::Int32Array>(info[0], napi_int32_array, call, "params", "Int32Array");
  auto action = ExactTypedArray<Napi::Uint8Array>(info[1], napi_uint8_array, call, "action", "Uint8Array");
  auto destination = ExactTypedArray<Napi::Uint8Array>(info[2], napi_uint8_array, call, "destination", "Uint8Array");
  const size_t count = params.ElementLength();
  if (count < kListsAt ||
      count < kListsAt + size_t(uint32_t(params[kExternalCount])) + 2 * size_t(uint32_t(params[kSubnetCount]))) {
    throw Napi::RangeError::New(env, "FlowProbe.bindNat: params shorter than its external addresses and subnets");
  }
  nat_ = Napi::Persistent(keepAlive(env, {{"params", params}, {"action", action}, {"destination", destination}}));
  params_ = params.Data();
  paramCount_ = count;
  action_ = action.Data();
  actionLen_ = action.ByteLength();
  destination_ = destination.Data();
  destinationLen_ = destination.ByteLength();
  return env.Undefined();
}

Napi::Value FlowProbeWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "FlowProbe.forward(n, offsetsAt, actionAt, destinationAt)");
  if (data_ == nullptr || params_ == nullptr)
    throw Napi::Error::New(env, "FlowProbe.forward: bindFrames and bindNat first");
  const uint32_t n = info[0].ToNumber().Uint32Value();
  const size_t offAt = info[1].ToNumber().Uint32Value();
  const size_t actAt = info[2].ToNumber().Uint32Value();
  const size_t destAt = info[3].ToNumber().Uint32Value();
  if (n > batch_) throw Napi::RangeError::New(env, "FlowProbe.forward: n exceeds the bound keys, homes or found");
  if (offAt + 4 * size_t(n) > offsetsLen_ || actAt + size_t(n) > actionLen_ ||
      destAt + 2 * size_t(n) > destinationLen_) {
    throw Napi::RangeError::New(env,
                                "FlowProbe.forward: the batch reaches past the bound offsets, actions or destinations");
  }
  // The parameters are re-read (and checked) on every call: the caller updates them in place.
  const int32_t* P = params_;
  const uint32_t externals = uint32_t(P[kExternalCount]), subnets = uint32_t(P[kSubnetCount]);
  if (size_t(kListsAt) + externals + 2 * size_t(subnets) > paramCount_) {
    throw Napi::RangeError::New(env, "FlowProbe.forward: params shorter than its external addresses and subnets");
  }
  const uint32_t flags = uint32_t(P[kFlags]);
  const int64_t now = P[kNow];
  const uint32_t* ext = reinterpret_cast<const uint32_t*>(P + kListsAt);
  const uint32_t* nets = ext + externals;  // (network, mask) pairs
  const uint8_t actionOut = uint8_t(P[kActionOut]);
  uint32_t* s = slots_;
  uint32_t outbound = 0, total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t slot = found_[i];
    if (homes_[i] < 0 || slot < 0 || uint32_t(slot) >= slotCount_) continue;
    const uint32_t* k = keys_ + 4 * size_t(i);
    const uint32_t proto = k[3] & 0xff;
    const bool out = (k[3] & 0xff00) == kOut;
    // ICMP (echo ids, error quotes) and anything forward would not take stay with the caller.
    if (proto != kTcp && proto != kUdp) continue;
    if (!(flags & (out ? kOutboundOk : kInboundOk))) continue;
    const size_t off = load<uint32_t>(offsets_, offAt + 4 * size_t(i));
    if (off + 64 > dataLen_) continue;  // the frame's first line (a keyed frame's headers) in bounds
    uint8_t* f = const_cast<uint8_t*>(data_) + off;
    uint8_t* l3 = f + 14;
    if (l3[9] != proto) continue;
    uint8_t* l4 = l3 + (l3[0] & 15u) * 4;
    if (size_t(l4 - data_) + 20 > dataLen_) continue;
    if ((flags & kDecTtl) && l3[8] <= 1) continue;
    if (out) {
      // An inside source (ports classify, so every outbound key has one unless subnets say otherwise)
      // to a remote that is not one of our external addresses (hairpinning goes the long way).
      bool inside = subnets == 0;
      for (uint32_t j = 0; j < subnets && !inside; ++j) inside = (k[0] & nets[2 * j + 1]) == nets[2 * j];
      if (!inside) continue;
      bool external = false;
      if (flags & kExternalRange)
        external = k[1] - ext[0] < externals;
      else
        for (uint32_t j = 0; j < externals && !external; ++j) external = k[1] == ext[j];
      if (external) continue;
    }
    uint32_t* e = s + 8 * size_t(slot);
    const uint32_t w3 = e[3];
    int64_t timeout;
    if (proto == kUdp)
      timeout = P[kUdpTimeout];
    else
      timeout = (w3 & (kSynOut | kSynIn)) == (kSynOut | kSynIn) && (w3 & (kFinOut | kFinIn | kRst)) == 0
                    ? P[kTcpEstablished]
                    : P[kTcpTransitory];
    if (int64_t(int32_t(e[kVLast])) + timeout < now) continue;
    if (proto == kTcp) {
      const uint32_t fl = l4[13];
      const uint32_t bits =
          ((fl & 2) ? (out ? kSynOut : kSynIn) : 0) | ((fl & 1) ? (out ? kFinOut : kFinIn) : 0) | ((fl & 4) ? kRst : 0);
      if ((w3 | bits) != w3) continue;
    }
    if (int32_t(e[kVLast]) != int32_t(now)) e[kVLast] = uint32_t(int32_t(now));  // a line left clean when it can be
    // nat.ts's translate: the address (source out, destination in), its port, then each checksum
    // updated incrementally: IP (and TTL), and TCP/UDP over the pseudo-header (a zero UDP sum stays 0).
    const uint32_t addr = e[kVAddr], port = e[kVPort] >> 16;
    uint8_t* a = l3 + (out ? 12 : 16);
    const uint32_t oldA = be32(a);
    put32(a, addr);
    const uint32_t dA = halves(~oldA) + halves(addr);
    uint32_t dIp = dA;
    if (flags & kDecTtl) {
      const uint32_t word = be16(l3 + 8);
      put16(l3 + 8, word - 0x100);
      dIp += (~word & 0xffff) + word - 0x100;
    }
    put16(l3 + 10, fold16(~be16(l3 + 10) & 0xffff, dIp));
    uint8_t* pp = l4 + (out ? 0 : 2);
    const uint32_t oldP = be16(pp);
    put16(pp, port);
    uint8_t* ck = l4 + (proto == kTcp ? 16 : 6);
    const uint32_t c = be16(ck);
    if (!(proto == kUdp && c == 0)) {
      const uint32_t r = fold16(~c & 0xffff, dA + (~oldP & 0xffff) + port);
      put16(ck, proto == kUdp && r == 0 ? 0xffff : r);
    }
    // Ethernet addresses: out, to the gateway from our outside MAC; in, to the host (learned in the
    // slot, or configured, or broadcast) from our inside MAC.
    if (out) {
      put16(f, uint32_t(P[kGwHi]));
      put32(f + 2, uint32_t(P[kGwLo]));
      if (flags & kOutsideMac) {
        put16(f + 6, uint32_t(P[kOutHi]));
        put32(f + 8, uint32_t(P[kOutLo]));
      }
    } else {
      if (w3 & kHasMac) {
        put16(f, e[kVPort] & 0xffff);
        put32(f + 2, e[kVMac]);
      } else {
        put16(f, uint32_t(P[kHostHi]));
        put32(f + 2, uint32_t(P[kHostLo]));
      }
      if (flags & kInsideMac) {
        put16(f + 6, uint32_t(P[kInHi]));
        put32(f + 8, uint32_t(P[kInLo]));
      }
    }
    action_[actAt + i] = actionOut;
    const uint16_t dest = uint16_t(out ? P[kOutsidePort] : P[kInsidePort]);
    std::memcpy(destination_ + destAt + 2 * size_t(i), &dest, 2);
    homes_[i] = -3;
    ++total;
    if (out) ++outbound;
  }
  params_[kResultOut] = int32_t(outbound);
  return Napi::Number::New(env, total);
}

}  // namespace gnet
