#include "afpacket.h"

#include <algorithm>
#include <limits>

namespace gnet {
namespace {

[[noreturn]] void throwJs(Napi::Env env, const afpacket::Error& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, e.code()));
  throw err;
}

// A typed array's element pointer and length, checked for its element type. napi_get_typedarray_info
// already adds the view's byte offset.
template <typename T>
T* typedArray(Napi::Env env, napi_value value, napi_typedarray_type want, const char* name, size_t* length) {
  bool isTyped = false;
  napi_is_typedarray(env, value, &isTyped);
  napi_typedarray_type type = napi_int8_array;
  void* data = nullptr;
  if (isTyped) napi_get_typedarray_info(env, value, &type, length, &data, nullptr, nullptr);
  if (!isTyped || type != want)
    throw Napi::TypeError::New(
        env, std::string(name) + (want == napi_uint8_array ? " must be a Uint8Array" : " must be a Uint32Array"));
  return static_cast<T*>(data);
}

uint32_t toU32(Napi::Env env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > std::numeric_limits<uint32_t>::max() || d != static_cast<double>(static_cast<uint32_t>(d)))
    throw Napi::RangeError::New(env, std::string(name) + " must be an integer in [0, 2^32)");
  return static_cast<uint32_t>(d);
}

uint32_t optU32(Napi::Env env, const Napi::Object& o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : toU32(env, v, key);
}

bool optBool(Napi::Env env, const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string optString(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return std::string();
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

afpacket::FanoutMode parseFanoutMode(Napi::Env env, const std::string& s) {
  if (s.empty() || s == "hash") return afpacket::FanoutMode::Hash;
  if (s == "lb") return afpacket::FanoutMode::LoadBalance;
  if (s == "cpu") return afpacket::FanoutMode::Cpu;
  if (s == "rollover") return afpacket::FanoutMode::Rollover;
  if (s == "random") return afpacket::FanoutMode::Random;
  if (s == "queue") return afpacket::FanoutMode::QueueMapping;
  throw Napi::TypeError::New(env, "fanoutMode must be one of hash, lb, cpu, rollover, random, queue (got '" + s + "')");
}

afpacket::Config parseConfig(Napi::Env env, const std::string& ifname, const Napi::Value& value) {
  afpacket::Config cfg;
  cfg.ifname = ifname;
  if (value.IsUndefined()) return cfg;
  if (!value.IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object o = value.As<Napi::Object>();
  cfg.netns = optString(env, o, "netns");
  cfg.rx = optBool(env, o, "rx", cfg.rx);
  cfg.tx = optBool(env, o, "tx", cfg.tx);
  cfg.promisc = optBool(env, o, "promisc", cfg.promisc);
  cfg.fanout = optBool(env, o, "fanout", cfg.fanout);
  Napi::Value group = o.Get("fanoutGroup");
  if (!group.IsUndefined()) {
    const uint32_t g = toU32(env, group, "fanoutGroup");
    if (g > 0xffff) throw Napi::RangeError::New(env, "fanoutGroup must be in [0, 65535]");
    cfg.fanoutGroup = static_cast<int>(g);
  }
  cfg.fanoutMode = parseFanoutMode(env, optString(env, o, "fanoutMode"));
  cfg.fanoutDefrag = optBool(env, o, "fanoutDefrag", cfg.fanoutDefrag);
  cfg.fanoutRollover = optBool(env, o, "fanoutRollover", cfg.fanoutRollover);
  cfg.blockSize = optU32(env, o, "ringBlockSize", cfg.blockSize);
  cfg.blockCount = optU32(env, o, "ringBlocks", cfg.blockCount);
  cfg.retireTimeoutMs = optU32(env, o, "retireTimeoutMs", cfg.retireTimeoutMs);
  cfg.frameSize = optU32(env, o, "frameSize", cfg.frameSize);
  cfg.txFrames = optU32(env, o, "txFrames", cfg.txFrames);
  cfg.qdiscBypass = optBool(env, o, "qdiscBypass", cfg.qdiscBypass);
  cfg.txCopy = optBool(env, o, "txCopy", cfg.txCopy);
  return cfg;
}

}  // namespace

Napi::Function AfPacketSocketWrap::Define(Napi::Env env) {
  return DefineClass(env, "AfPacketSocket",
                     {
                         InstanceMethod<&AfPacketSocketWrap::Rx>("rx"),
                         InstanceMethod<&AfPacketSocketWrap::RxFlits>("rxFlits"),
                         InstanceMethod<&AfPacketSocketWrap::Tx>("tx"),
                         InstanceMethod<&AfPacketSocketWrap::TxFlits>("txFlits"),
                         InstanceMethod<&AfPacketSocketWrap::RxReady>("rxReady"),
                         InstanceMethod<&AfPacketSocketWrap::Wait>("wait"),
                         InstanceMethod<&AfPacketSocketWrap::Stats>("stats"),
                         InstanceMethod<&AfPacketSocketWrap::Close>("close"),
                         InstanceAccessor<&AfPacketSocketWrap::GetFd>("fd"),
                         InstanceAccessor<&AfPacketSocketWrap::GetIfindex>("ifindex"),
                         InstanceAccessor<&AfPacketSocketWrap::GetMtu>("mtu"),
                         InstanceAccessor<&AfPacketSocketWrap::GetFanoutGroup>("fanoutGroup"),
                         InstanceAccessor<&AfPacketSocketWrap::GetMaxFrameLength>("maxFrameLength"),
                         InstanceAccessor<&AfPacketSocketWrap::GetClosed>("closed"),
                     });
}

AfPacketSocketWrap::AfPacketSocketWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AfPacketSocketWrap>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "AfPacketSocket: the interface name must be a string");
  ifname_ = info[0].As<Napi::String>().Utf8Value();
  afpacket::Config cfg = parseConfig(env, ifname_, info[1]);
  try {
    socket_ = std::make_unique<afpacket::PacketSocket>(cfg);
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
}

afpacket::PacketSocket& AfPacketSocketWrap::open(Napi::Env env) {
  if (!socket_ || socket_->closed()) throw Napi::Error::New(env, "AF_PACKET socket on '" + ifname_ + "' is closed");
  return *socket_;
}

Napi::Value AfPacketSocketWrap::Rx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  afpacket::PacketSocket& s = open(env);
  afpacket::RxBatch b{};
  size_t dstLen = 0, nOff = 0, nLen = 0, nSec = 0, nNsec = 0;
  b.dst = typedArray<uint8_t>(env, info[0], napi_uint8_array, "dst", &dstLen);
  b.dstLen = dstLen;
  b.offsets = typedArray<uint32_t>(env, info[1], napi_uint32_array, "offsets", &nOff);
  b.lengths = typedArray<uint32_t>(env, info[2], napi_uint32_array, "lengths", &nLen);
  b.tsSec = typedArray<uint32_t>(env, info[3], napi_uint32_array, "tsSec", &nSec);
  b.tsNsec = typedArray<uint32_t>(env, info[4], napi_uint32_array, "tsNsec", &nNsec);
  const size_t room = std::min(std::min(nOff, nLen), std::min(nSec, nNsec));
  const uint32_t want = info[5].IsUndefined() ? static_cast<uint32_t>(room) : toU32(env, info[5], "maxFrames");
  b.maxFrames = static_cast<uint32_t>(std::min<size_t>(want, room));
  b.align = info[6].IsUndefined() ? 1 : toU32(env, info[6], "align");
  if (b.align == 0 || (b.align & (b.align - 1)) != 0 || b.align > 4096)
    throw Napi::RangeError::New(env, "align must be a power of two up to 4096");
  try {
    return Napi::Number::New(env, s.receive(b).frames);
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
}

Napi::Value AfPacketSocketWrap::RxFlits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  afpacket::PacketSocket& s = open(env);
  afpacket::RxBatch b{};
  size_t dstLen = 0, nLens = 0, nSec = 0, nNsec = 0;
  b.dst = typedArray<uint8_t>(env, info[0], napi_uint8_array, "dst", &dstLen);
  b.flitLens = typedArray<uint16_t>(env, info[1], napi_uint16_array, "lens", &nLens);
  b.tsSec = typedArray<uint32_t>(env, info[2], napi_uint32_array, "tsSec", &nSec);
  b.tsNsec = typedArray<uint32_t>(env, info[3], napi_uint32_array, "tsNsec", &nNsec);
  // Frames land only where every side array has an entry for their flit.
  const size_t flits = std::min(std::min(nLens, nSec), nNsec);
  b.dstLen = std::min(dstLen, flits * 64);
  b.maxFrames = info[4].IsUndefined() ? UINT32_MAX : toU32(env, info[4], "maxFrames");
  b.align = 64;
  try {
    return Napi::Number::New(env, static_cast<double>(s.receive(b).bytes));
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
}

Napi::Value AfPacketSocketWrap::Tx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  afpacket::PacketSocket& s = open(env);
  afpacket::TxBatch b{};
  size_t srcLen = 0, nOff = 0, nLen = 0;
  b.src = typedArray<uint8_t>(env, info[0], napi_uint8_array, "src", &srcLen);
  b.srcLen = srcLen;
  b.offsets = typedArray<uint32_t>(env, info[1], napi_uint32_array, "offsets", &nOff);
  b.lengths = typedArray<uint32_t>(env, info[2], napi_uint32_array, "lengths", &nLen);
  b.count = toU32(env, info[3], "count");
  if (b.count > nOff || b.count > nLen)
    throw Napi::RangeError::New(env, "count exceeds the length of offsets or lengths");
  try {
    return Napi::Number::New(env, s.transmit(b).consumed);
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
}

Napi::Value AfPacketSocketWrap::TxFlits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  afpacket::PacketSocket& s = open(env);
  afpacket::TxBatch b{};
  size_t srcLen = 0, nLens = 0;
  b.src = typedArray<uint8_t>(env, info[0], napi_uint8_array, "src", &srcLen);
  b.srcLen = srcLen;
  const uint32_t offset = toU32(env, info[1], "offset");
  const uint32_t nbBytes = toU32(env, info[2], "nbBytes");
  b.flitLens = typedArray<uint16_t>(env, info[3], napi_uint16_array, "lens", &nLens);
  b.count = info[4].IsUndefined() ? UINT32_MAX : toU32(env, info[4], "maxFrames");
  if (offset % 64 != 0) throw Napi::RangeError::New(env, "offset must be a multiple of 64 (flit layout)");
  const size_t end = static_cast<size_t>(offset) + nbBytes;
  if (end > srcLen) throw Napi::RangeError::New(env, "offset + nbBytes exceeds src");
  if ((end + 63) / 64 > nLens) throw Napi::RangeError::New(env, "lens has no entry for some flit of the region");
  b.flitStart = offset;
  b.flitEnd = end;
  try {
    return Napi::Number::New(env, s.transmit(b).queued);
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
}

Napi::Value AfPacketSocketWrap::RxReady(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), open(info.Env()).rxReady());
}

Napi::Value AfPacketSocketWrap::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  afpacket::PacketSocket& s = open(env);
  int timeoutMs = -1;
  if (!info[0].IsUndefined()) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "timeoutMs must be a number");
    timeoutMs = info[0].As<Napi::Number>().Int32Value();
  }
  try {
    return Napi::Boolean::New(env, s.wait(timeoutMs));
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
}

Napi::Value AfPacketSocketWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  afpacket::Stats st;
  try {
    st = socket_ ? socket_->stats() : afpacket::Stats{};
  } catch (const afpacket::Error& e) {
    throwJs(env, e);
  }
  Napi::Object o = Napi::Object::New(env);
  const auto put = [&](const char* key, uint64_t v) { o.Set(key, Napi::Number::New(env, static_cast<double>(v))); };
  put("rxPackets", st.rxPackets);
  put("rxBytes", st.rxBytes);
  put("rxOutgoingSkipped", st.rxOutgoingSkipped);
  put("rxTruncated", st.rxTruncated);
  put("rxOversize", st.rxOversize);
  put("kernelPackets", st.kernelPackets);
  put("kernelDrops", st.kernelDrops);
  put("kernelFreezes", st.kernelFreezes);
  put("txPackets", st.txPackets);
  put("txBytes", st.txBytes);
  put("txInvalid", st.txInvalid);
  put("txRingFull", st.txRingFull);
  put("txKickErrors", st.txKickErrors);
  put("txDropped", st.txDropped);
  return o;
}

Napi::Value AfPacketSocketWrap::Close(const Napi::CallbackInfo& info) {
  if (socket_) socket_->close();
  return info.Env().Undefined();
}

Napi::Value AfPacketSocketWrap::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), socket_ ? socket_->fd() : -1);
}

Napi::Value AfPacketSocketWrap::GetIfindex(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), socket_ ? socket_->ifindex() : 0);
}

Napi::Value AfPacketSocketWrap::GetMtu(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), socket_ ? socket_->mtu() : 0);
}

Napi::Value AfPacketSocketWrap::GetFanoutGroup(const Napi::CallbackInfo& info) {
  if (!socket_ || socket_->fanoutGroup() < 0) return info.Env().Null();
  return Napi::Number::New(info.Env(), socket_->fanoutGroup());
}

Napi::Value AfPacketSocketWrap::GetMaxFrameLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), socket_ ? socket_->maxTxFrame() : 0);
}

Napi::Value AfPacketSocketWrap::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !socket_ || socket_->closed());
}

}  // namespace gnet
