// The JavaScript class `AfPacketSocket` over afpacket::PacketSocket: every call moves a whole batch
// through typed arrays the caller owns, so one Node-API crossing serves many frames.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "afpacket_socket.h"

namespace gnet {

class AfPacketSocketWrap : public Napi::ObjectWrap<AfPacketSocketWrap> {
 public:
  // The constructor function, for the addon to export: `new AfPacketSocket(ifname, options)`.
  static Napi::Function Define(Napi::Env env);
  explicit AfPacketSocketWrap(const Napi::CallbackInfo& info);

 private:
  // rx(dst: Uint8Array, offsets, lengths, tsSec, tsNsec: Uint32Array, maxFrames, align) -> count
  Napi::Value Rx(const Napi::CallbackInfo& info);
  // rxFlits(dst: Uint8Array, lens: Uint16Array, tsSec, tsNsec: Uint32Array, maxFrames) -> bytes filled
  Napi::Value RxFlits(const Napi::CallbackInfo& info);
  // tx(src: Uint8Array, offsets, lengths: Uint32Array, count) -> frames consumed
  Napi::Value Tx(const Napi::CallbackInfo& info);
  // txFlits(src: Uint8Array, offset, nbBytes, lens: Uint16Array, maxFrames) -> frames queued
  Napi::Value TxFlits(const Napi::CallbackInfo& info);
  Napi::Value RxReady(const Napi::CallbackInfo& info);
  Napi::Value Wait(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetIfindex(const Napi::CallbackInfo& info);
  Napi::Value GetMtu(const Napi::CallbackInfo& info);
  Napi::Value GetFanoutGroup(const Napi::CallbackInfo& info);
  Napi::Value GetMaxFrameLength(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  afpacket::PacketSocket& open(Napi::Env env);

  std::unique_ptr<afpacket::PacketSocket> socket_;
  std::string ifname_;
};

}  // namespace gnet
