// bytes.h: batch byte moves inside one buffer, and batch copies between two. V8 copies a
// SharedArrayBuffer's bytes with relaxed atomics, one byte at a time when source and destination
// differ in alignment mod 8 (about 2.5 bytes per ns), so an NF that shifts packet payloads in the
// shared packet pool (ESP encapsulation, tunnel decapsulation) or stages them for a GPU does it
// here, with memmove, for a whole batch per call.
#pragma once
#include <napi.h>

namespace gnet::bytes {

// moveRanges(data: Uint8Array, dst: Uint32Array, src: Uint32Array, len: Uint32Array, count) -> number:
// for i < count, memmove(data + dst[i], data + src[i], len[i]) (ranges may overlap); a range outside
// `data` is skipped, never overrun. Returns how many ranges moved.
Napi::Value MoveRanges(const Napi::CallbackInfo& info);

// copyRanges(to: Uint8Array, dst: Uint32Array, from: Uint8Array, src: Uint32Array, len: Uint32Array,
// count) -> number: for i < count, memmove(to + dst[i], from + src[i], len[i]) (gathering packets of
// the shared pool into a pinned staging buffer and back); a range outside either buffer is skipped.
// Returns how many ranges were copied.
Napi::Value CopyRanges(const Napi::CallbackInfo& info);

}  // namespace gnet::bytes
