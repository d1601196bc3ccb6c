// flow_probe.h: batch lookup in an open-addressed flow table, the CPU twin of a GPU lookup kernel
// (nf-nat's kernels/nat.cu). `new FlowProbe(slots, keys, homes, found)` binds the table and the
// batch arrays once; `probe(n, capacity, sweepFrom, sweepSlots)` then computes every key's hash and
// home line, prefetches all the homes (and the lines an expiry sweep reads next) so their cache misses
// overlap, and probes each key. With millions of flows nearly every lookup is a DRAM miss; one
// JavaScript loop of loads overlaps far fewer of them than this loop of prefetches does.
// `bindFrames`/`frameKeys` make the keys themselves for a batch's TCP/UDP frames (nf-nat's `keyOf`,
// port classification), reading the frames in place after prefetching each one's first line.
// `bindNat`/`forward` then translate the packets of established TCP/UDP sessions in place: nf-nat's
// `NatEngine.forward` (its short path) for the packets it would take, leaving every other to it.
//
// Table layout (nf-nat's flow-table.ts): slot i is words 8i..8i+7 of `slots`, key words k0..k3 then
// value; bits 16..31 of word 3 are the owner's flags; word 3 == 0 marks an empty slot. The hash, the
// home slot (the even slot starting a 64-byte line) and the probe sequence (slot + 1, wrapping at the
// capacity) are flow-table.ts's `hashKey`, `homeOf` and `findFrom`, bit for bit.
#pragma once
#include <napi.h>

#include <cstdint>

namespace gnet {

class FlowProbeWrap : public Napi::ObjectWrap<FlowProbeWrap> {
 public:
  // new FlowProbe(slots: Int32Array, keys: Uint32Array, homes: Int32Array, found: Int32Array)
  static Napi::Function Define(Napi::Env env);
  explicit FlowProbeWrap(const Napi::CallbackInfo& info);

 private:
  // probe(n, capacity, sweepFrom, sweepSlots) -> keys found. For i < n: homes[i] = the home slot of
  // key keys[4i..4i+3] (-1 when its word 3 is 0: no key), found[i] = the slot holding it or -1.
  // Also prefetches slots [sweepFrom, sweepFrom + sweepSlots) (wrapping), which the next sweep reads.
  Napi::Value Probe(const Napi::CallbackInfo& info);

  // bindFrames(data: Uint8Array, offsets: Uint8Array, lengths: Uint8Array, ports: Uint8Array): the
  // frames (offsets are relative to `data`) and the whole buffers holding a batch's offsets (u32),
  // lengths (u32) and arrival ports (u16), which frameKeys indexes by byte offset.
  Napi::Value BindFrames(const Napi::CallbackInfo& info);
  // frameKeys(n, offsetsAt, lengthsAt, portsAt, insidePort, outsidePort) -> frames left to the caller.
  // For each of the batch's n frames, the session key nf-nat's `NatEngine.keyOf` (port
  // classification) gives a TCP/UDP frame, or k3 = 0 (no key) where keyOf gives none; homes[i] = -2
  // marks a frame it leaves to keyOf (ICMP, or a frame reaching past `data`), -1 every other.
  Napi::Value FrameKeys(const Napi::CallbackInfo& info);

  // bindNat(params: Int32Array, action: Uint8Array, destination: Uint8Array): the NAT's parameters
  // (flow-probe.ts's NatParam layout, which the caller keeps current) and the whole buffers holding a
  // batch's actions (u8) and destinations (u16), which forward indexes by byte offset.
  Napi::Value BindNat(const Napi::CallbackInfo& info);
  // forward(n, offsetsAt, actionAt, destinationAt) -> packets translated. After probe: each packet of
  // an established TCP/UDP session that nf-nat's `NatEngine.forward` would translate (found in the
  // table, live, adding no TCP state, nothing to learn, filter or hairpin) is translated in place as
  // it would be, its action set to OUT and its destination to the other port, its session's time
  // refreshed, and homes[i] set to -3; every other packet is left untouched for the caller. The
  // outbound count goes to params[NatParam.RESULT_OUT].
  Napi::Value Forward(const Napi::CallbackInfo& info);

  Napi::ObjectReference arrays_;  // keeps the bound arrays alive as long as this object
  uint32_t* slots_ = nullptr;
  uint32_t slotCount_ = 0;  // slots in `slots` (its length / 8)
  uint32_t* keys_ = nullptr;
  int32_t* homes_ = nullptr;
  int32_t* found_ = nullptr;
  uint32_t batch_ = 0;  // keys the batch arrays hold
  // bindFrames' buffers (null until bound).
  const uint8_t* data_ = nullptr;
  size_t dataLen_ = 0;
  const uint8_t* offsets_ = nullptr;
  size_t offsetsLen_ = 0;
  const uint8_t* lengths_ = nullptr;
  size_t lengthsLen_ = 0;
  const uint8_t* ports_ = nullptr;
  size_t portsLen_ = 0;
  Napi::ObjectReference frames_;  // keeps them alive
  // bindNat's arrays (null until bound).
  int32_t* params_ = nullptr;
  size_t paramCount_ = 0;
  uint8_t* action_ = nullptr;
  size_t actionLen_ = 0;
  uint8_t* destination_ = nullptr;
  size_t destinationLen_ = 0;
  Napi::ObjectReference nat_;  // keeps them alive
};

}  // namespace gnet
