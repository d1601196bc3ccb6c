// The JS face of the GPU proxy: the `gpu` object the addon exports, one per JS environment (main
// thread or worker). Each environment keeps its own ids for the streams, modules, kernels and events
// it made, and releases them (freeing its allocations) when it closes or exits. The typed API over it
// is src/gpu/*.ts.
#pragma once
#include <napi.h>

namespace gnet::gpu {

Napi::Object DefineBinding(Napi::Env env);

}  // namespace gnet::gpu
