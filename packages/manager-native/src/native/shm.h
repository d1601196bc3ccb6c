// POSIX shared memory regions mapped into JS as external ArrayBuffers: the packet pool, rings and
// stats a multi-process manager shares with NF processes.
#pragma once
#include <napi.h>

namespace gnet::shm {

// shmCreate(name, bytes) -> ArrayBuffer: creates /dev/shm/<name> (O_EXCL, mode 0600) and maps it.
Napi::Value Create(const Napi::CallbackInfo& info);
// shmOpen(name) -> ArrayBuffer: maps an existing region read-write (its size is the file's size).
Napi::Value Open(const Napi::CallbackInfo& info);
// shmUnlink(name) -> boolean: removes the name (mappings stay valid until released); false if absent.
Napi::Value Unlink(const Napi::CallbackInfo& info);

}  // namespace gnet::shm
