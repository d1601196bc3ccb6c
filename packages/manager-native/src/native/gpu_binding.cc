#include "gpu_binding.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <new>
#include <vector>

#include "gpu_proxy.h"

namespace gnet::gpu {
namespace {

// Request opcodes of a submitted batch (src/gpu/batch.ts writes them): each op is followed by its
// operands in the Float64Array; host buffers and argument arenas are indices into the refs array.
//   HtoD dst ref offset bytes | DtoH ref offset src bytes | Memset dst value bytes | Record event
//   Launch fn gx gy gz bx by bz sharedMem valuesRef valuesOffset valuesLength descRef descOffset descLength
enum WireOp : int { kHtoD = 1, kDtoH = 2, kMemset = 3, kLaunch = 4, kRecord = 5 };

// A stream as one environment holds it, with the JS buffers its in-flight batches use.
struct StreamEntry {
  std::shared_ptr<Stream> stream;
  int32_t* status = nullptr;
  Napi::Reference<Napi::Value> statusRef;    // the SharedArrayBuffer view the status words live in
  std::unique_ptr<int32_t[]> privateStatus;  // or, for the environment's default stream, here
  std::deque<std::pair<uint32_t, std::vector<Napi::Reference<Napi::Value>>>> inFlight;
};

struct EnvState {
  explicit EnvState(uint64_t id) : owner(id) {}
  uint64_t owner;
  Proxy* proxy = nullptr;
  uint32_t nextId = 1;
  std::map<uint32_t, StreamEntry> streams;  // id 0: the default stream of synchronous launches
  std::map<uint32_t, std::shared_ptr<Module>> modules;
  std::map<uint32_t, std::shared_ptr<Function>> functions;
  std::map<uint32_t, std::shared_ptr<Event>> events;
  std::map<uint64_t, std::vector<Napi::Reference<Napi::ArrayBuffer>>> hostWrappers;  // weak, to detach on free

  Proxy& open(Napi::Env env) {
    if (proxy == nullptr) throw Napi::Error::New(env, "the GPU device is not open (call open first)");
    return *proxy;
  }
};

uint64_t nextOwner() {
  static std::atomic<uint64_t> n{1};
  return n++;
}

// ---- argument helpers -----------------------------------------------------------------------------

double number(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t u64(Napi::Env env, double d, const char* what) {
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d)
    throw Napi::RangeError::New(env, std::string(what) + " must be an integer in [0, 2^53)");
  return static_cast<uint64_t>(d);
}
uint64_t u64(Napi::Env env, const Napi::Value& v, const char* what) { return u64(env, number(env, v, what), what); }
uint32_t u32(Napi::Env env, double d, const char* what) {
  const uint64_t v = u64(env, d, what);
  if (v > 0xffffffffu) throw Napi::RangeError::New(env, std::string(what) + " must be below 2^32");
  return static_cast<uint32_t>(v);
}
uint32_t u32(Napi::Env env, const Napi::Value& v, const char* what) { return u32(env, number(env, v, what), what); }

// Bytes of an ArrayBuffer, a typed array or a DataView (a view's own window).
uint8_t* bytesOf(Napi::Env env, const Napi::Value& v, size_t* len, const char* what) {
  void* data = nullptr;
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    *len = ab.ByteLength();
    return static_cast<uint8_t*>(ab.Data());
  }
  if (v.IsTypedArray()) {
    napi_typedarray_type type;
    size_t count = 0;
    napi_get_typedarray_info(env, v, &type, &count, &data, nullptr, nullptr);
    *len = count * v.As<Napi::TypedArray>().ElementSize();
    return static_cast<uint8_t*>(data);
  }
  if (v.IsDataView()) {
    napi_get_dataview_info(env, v, len, &data, nullptr, nullptr);
    return static_cast<uint8_t*>(data);
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be an ArrayBuffer or an ArrayBuffer view");
}

uint8_t* window(Napi::Env env, const Napi::Value& buf, uint64_t offset, uint64_t bytes, const char* what) {
  size_t len = 0;
  uint8_t* p = bytesOf(env, buf, &len, what);
  if (offset > len || bytes > len - offset)
    throw Error("GNET_OUT_OF_RANGE", std::string(what) + ": offset " + std::to_string(offset) + " + " +
                                         std::to_string(bytes) + " bytes exceeds the host buffer (" +
                                         std::to_string(len) + " bytes)");
  return p + offset;
}

template <typename T>
T* typed(Napi::Env env, const Napi::Value& v, napi_typedarray_type want, size_t* count, const char* what) {
  napi_typedarray_type type;
  void* data = nullptr;
  if (!v.IsTypedArray() || (napi_get_typedarray_info(env, v, &type, count, &data, nullptr, nullptr), type != want))
    throw Napi::TypeError::New(env, std::string(what) + " has the wrong typed array type");
  return static_cast<T*>(data);
}

// ---- errors ---------------------------------------------------------------------------------------

// Runs a binding body, turning the proxy's C++ errors into JS errors with a `code` (and for CUDA
// errors the failing `call` and its numeric `result`), which src/gpu/errors.ts types.
template <Napi::Value (*F)(const Napi::CallbackInfo&, EnvState&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* st = static_cast<EnvState*>(info.Data());
  try {
    return F(info, *st);
  } catch (const Napi::Error&) {
    throw;
  } catch (const CudaError& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", e.name());
    err.Set("call", e.call());
    err.Set("result", Napi::Number::New(env, e.result()));
    throw err;
  } catch (const Error& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", e.code());
    throw err;
  } catch (const std::bad_alloc&) {
    Napi::Error err = Napi::Error::New(env, "out of host memory");
    err.Set("code", "GNET_OUT_OF_MEMORY");
    throw err;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// ---- streams --------------------------------------------------------------------------------------

// Releases the JS buffers of batches that have completed (reads the shared done word).
void releaseDone(StreamEntry& e) {
  const auto done = static_cast<uint32_t>(__atomic_load_n(&e.status[kDone], __ATOMIC_SEQ_CST));
  while (!e.inFlight.empty() && reached(done, e.inFlight.front().first)) e.inFlight.pop_front();
}

StreamEntry& streamOf(Napi::Env env, EnvState& st, uint32_t id) {
  Proxy& px = st.open(env);
  if (id == 0 && st.streams.count(0) == 0) {
    // The environment's own stream for synchronous launches, under a client id no caller can use.
    StreamEntry e;
    e.privateStatus = std::make_unique<int32_t[]>(kStatusWords);
    e.status = e.privateStatus.get();
    e.stream = px.createStream(-static_cast<int>(st.owner), e.status);
    st.streams.emplace(0, std::move(e));
  }
  auto it = st.streams.find(id);
  if (it == st.streams.end()) throw Napi::Error::New(env, "no stream " + std::to_string(id) + " in this thread");
  return it->second;
}

// Decodes a batch; `keep` (when given) collects the JS buffers the batch reads or writes.
Batch decode(Napi::Env env, EnvState& st, const Napi::Value& wordsV, uint32_t n, const Napi::Value& refsV,
             std::vector<Napi::Reference<Napi::Value>>* keep, bool hostCopies) {
  Proxy& px = st.open(env);
  size_t count = 0;
  const double* w = typed<double>(env, wordsV, napi_float64_array, &count, "words");
  if (n > count) throw Napi::RangeError::New(env, "batch length exceeds its words");
  if (!refsV.IsArray()) throw Napi::TypeError::New(env, "refs must be an array");
  Napi::Array refs = refsV.As<Napi::Array>();
  auto ref = [&](double idx) -> Napi::Value {
    const uint32_t i = u32(env, idx, "ref index");
    if (i >= refs.Length()) throw Napi::RangeError::New(env, "ref index out of range");
    return refs.Get(i);
  };
  auto need = [&](uint32_t i, uint32_t k) {
    if (i + k > n) throw Napi::RangeError::New(env, "truncated request in batch");
  };
  Batch b;
  uint32_t i = 0;
  while (i < n) {
    const int op = static_cast<int>(w[i]);
    switch (op) {
      case kHtoD: {
        need(i, 5);
        if (!hostCopies) throw Napi::TypeError::New(env, "launchAll batches carry no host copies");
        Napi::Value buf = ref(w[i + 2]);
        const uint64_t bytes = u64(env, w[i + 4], "bytes");
        uint8_t* src = window(env, buf, u64(env, w[i + 3], "offset"), bytes, "memcpyHtoD");
        px.addHtoD(b, u64(env, w[i + 1], "dst"), src, bytes);
        if (keep != nullptr) keep->push_back(Napi::Persistent(buf));
        i += 5;
        break;
      }
      case kDtoH: {
        need(i, 5);
        if (!hostCopies) throw Napi::TypeError::New(env, "launchAll batches carry no host copies");
        Napi::Value buf = ref(w[i + 1]);
        const uint64_t bytes = u64(env, w[i + 4], "bytes");
        uint8_t* dst = window(env, buf, u64(env, w[i + 2], "offset"), bytes, "memcpyDtoH");
        px.addDtoH(b, dst, u64(env, w[i + 3], "src"), bytes);
        if (keep != nullptr) keep->push_back(Napi::Persistent(buf));
        i += 5;
        break;
      }
      case kMemset: {
        need(i, 4);
        const uint32_t value = u32(env, w[i + 2], "value");
        if (value > 255) throw Napi::RangeError::New(env, "memset value must be a byte (0..255)");
        px.addMemset(b, u64(env, w[i + 1], "dst"), static_cast<uint8_t>(value), u64(env, w[i + 3], "bytes"));
        i += 4;
        break;
      }
      case kLaunch: {
        // fn, grid xyz, block xyz, sharedMem, then the argument bytes and layout as (ref, offset, length).
        need(i, 15);
        const uint32_t fnId = u32(env, w[i + 1], "kernel");
        auto fit = st.functions.find(fnId);
        if (fit == st.functions.end())
          throw Napi::Error::New(env, "no kernel " + std::to_string(fnId) + " in this thread");
        const Dim3 grid{u32(env, w[i + 2], "grid.x"), u32(env, w[i + 3], "grid.y"), u32(env, w[i + 4], "grid.z")};
        const Dim3 block{u32(env, w[i + 5], "block.x"), u32(env, w[i + 6], "block.y"), u32(env, w[i + 7], "block.z")};
        size_t nValues = 0, nDesc = 0;
        const uint8_t* values =
            typed<uint8_t>(env, ref(w[i + 9]), napi_uint8_array, &nValues, "kernel argument values");
        const uint32_t* desc =
            typed<uint32_t>(env, ref(w[i + 12]), napi_uint32_array, &nDesc, "kernel argument layout");
        const uint64_t vOff = u64(env, w[i + 10], "values offset"), vLen = u64(env, w[i + 11], "values length");
        const uint64_t dOff = u64(env, w[i + 13], "layout offset"), dLen = u64(env, w[i + 14], "layout length");
        if (vOff + vLen > nValues || dOff + dLen > nDesc)
          throw Napi::RangeError::New(env, "kernel arguments out of range");
        px.addLaunch(b, fit->second, grid, block, u32(env, w[i + 8], "sharedMem"), values + vOff, vLen, desc + dOff,
                     dLen);
        i += 15;
        break;
      }
      case kRecord: {
        need(i, 2);
        auto eit = st.events.find(u32(env, w[i + 1], "event"));
        if (eit == st.events.end()) throw Napi::Error::New(env, "no such event in this thread");
        px.addRecord(b, eit->second);
        i += 2;
        break;
      }
      default:
        throw Napi::TypeError::New(env, "unknown request op " + std::to_string(op));
    }
  }
  return b;
}

// ---- binding functions ----------------------------------------------------------------------------

void closeAll(Napi::Env env, EnvState& st, bool detach);

// open({ mode: 'gpu'|'emulated'|'auto', device?, threads? }) -> { mode, reason, name, ... }
Napi::Value Open(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  OpenOptions opt;
  if (info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    const std::string mode = o.Has("mode") ? o.Get("mode").ToString().Utf8Value() : "auto";
    if (mode == "gpu")
      opt.want = OpenOptions::Want::Gpu;
    else if (mode == "emulated")
      opt.want = OpenOptions::Want::Emulated;
    else if (mode == "auto")
      opt.want = OpenOptions::Want::Auto;
    else
      throw Napi::TypeError::New(env, "mode must be 'gpu', 'emulated' or 'auto' (got '" + mode + "')");
    if (o.Has("device") && !o.Get("device").IsUndefined())
      opt.device = static_cast<int>(u32(env, o.Get("device"), "device"));
    if (o.Has("threads") && !o.Get("threads").IsUndefined()) opt.threads = u32(env, o.Get("threads"), "threads");
  }
  if (st.proxy != nullptr) closeAll(env, st, true);  // a second open without a close starts afresh
  Proxy& px = Proxy::open(opt);
  st.proxy = &px;
  const DeviceInfo& d = px.info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", px.mode() == Mode::Gpu ? "gpu" : "emulated");
  out.Set("reason", px.reason());
  out.Set("name", d.name);
  out.Set("totalMem", static_cast<double>(d.totalMem));
  out.Set("smCount", d.smCount);
  out.Set("computeCapability", d.computeCapability);
  out.Set("emulatorThreads", d.emulatorThreads);
  return out;
}

// Releases everything this environment made. `detach`: also detach its host ArrayBuffers (a close
// from JS); at environment teardown JS objects are no longer touched.
void closeAll(Napi::Env env, EnvState& st, bool detach) {
  if (st.proxy == nullptr) return;
  for (auto& [id, e] : st.streams) st.proxy->destroyStream(e.stream);
  st.streams.clear();
  st.events.clear();
  st.functions.clear();
  st.modules.clear();
  st.proxy->freeOwnedBy(st.owner);
  if (detach) {
    for (auto& [ptr, refs] : st.hostWrappers)
      for (auto& r : refs) {
        Napi::ArrayBuffer ab = r.Value();
        if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
      }
  }
  st.hostWrappers.clear();
  st.proxy = nullptr;
  Proxy::release();
  (void)env;
}

Napi::Value Close(const Napi::CallbackInfo& info, EnvState& st) {
  closeAll(info.Env(), st, true);
  return info.Env().Undefined();
}

Napi::ArrayBuffer wrapHost(Napi::Env env, EnvState& st, const std::shared_ptr<HostBlock>& block) {
  auto* hint = new std::shared_ptr<HostBlock>(block);
  Napi::ArrayBuffer ab;
  try {
    ab = Napi::ArrayBuffer::New(
        env, block->data, block->bytes, [](Napi::Env, void*, std::shared_ptr<HostBlock>* h) { delete h; }, hint);
  } catch (...) {
    delete hint;
    throw;
  }
  auto& refs = st.hostWrappers[reinterpret_cast<uint64_t>(block->data)];
  refs.erase(std::remove_if(refs.begin(), refs.end(), [](auto& r) { return r.Value().IsEmpty(); }), refs.end());
  refs.push_back(Napi::Weak(ab));
  return ab;
}

// hostAlloc(bytes) -> [ptr, ArrayBuffer over the same memory]
Napi::Value HostAlloc(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  auto block = st.open(env).hostAlloc(u64(env, info[0], "bytes"), st.owner);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(reinterpret_cast<uint64_t>(block->data))));
  out.Set(1u, wrapHost(env, st, block));
  return out;
}

// hostBuffer(ptr) -> ArrayBuffer over a live host allocation (made by any thread)
Napi::Value HostBuffer(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  return wrapHost(env, st, st.open(env).hostBlock(u64(env, info[0], "ptr")));
}

Napi::Value Malloc(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  return Napi::Number::New(env, static_cast<double>(st.open(env).malloc(u64(env, info[0], "bytes"), st.owner)));
}

std::string nameArg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty())
    throw Napi::TypeError::New(env, "name must be a non-empty string");
  return v.As<Napi::String>().Utf8Value();
}

// sharedMalloc(name, bytes) -> the process's device allocation of that name (made zeroed on first use)
Napi::Value SharedMalloc(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const std::string name = nameArg(env, info[0]);
  return Napi::Number::New(env, static_cast<double>(st.open(env).sharedMalloc(name, u64(env, info[1], "bytes"))));
}

// sharedHostAlloc(name, bytes) -> [ptr, ArrayBuffer over the process's host allocation of that name]
Napi::Value SharedHostAlloc(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const std::string name = nameArg(env, info[0]);
  auto block = st.open(env).sharedHostAlloc(name, u64(env, info[1], "bytes"));
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(reinterpret_cast<uint64_t>(block->data))));
  out.Set(1u, wrapHost(env, st, block));
  return out;
}

Napi::Value Free(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const uint64_t ptr = u64(env, info[0], "ptr");
  if (st.open(env).free(ptr)) {
    // Host memory: this thread's ArrayBuffers over it become detached (length 0) rather than dangling.
    auto it = st.hostWrappers.find(ptr);
    if (it != st.hostWrappers.end()) {
      for (auto& r : it->second) {
        Napi::ArrayBuffer ab = r.Value();
        if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
      }
      st.hostWrappers.erase(it);
    }
  }
  return env.Undefined();
}

// memcpyHtoD(dst, buf, offset, bytes), synchronous
Napi::Value MemcpyHtoD(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const uint64_t bytes = u64(env, info[3], "bytes");
  const uint8_t* src = window(env, info[1], u64(env, info[2], "offset"), bytes, "memcpyHtoD");
  st.open(env).copyHtoD(u64(env, info[0], "dst"), src, bytes);
  return env.Undefined();
}

// memcpyDtoH(buf, offset, src, bytes), synchronous
Napi::Value MemcpyDtoH(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const uint64_t bytes = u64(env, info[3], "bytes");
  uint8_t* dst = window(env, info[0], u64(env, info[1], "offset"), bytes, "memcpyDtoH");
  st.open(env).copyDtoH(dst, u64(env, info[2], "src"), bytes);
  return env.Undefined();
}

// memset(dst, value, bytes), synchronous
Napi::Value Memset(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const uint32_t value = u32(env, info[1], "value");
  if (value > 255) throw Napi::RangeError::New(env, "value must be a byte (0..255)");
  st.open(env).memset(u64(env, info[0], "dst"), static_cast<uint8_t>(value), u64(env, info[2], "bytes"));
  return env.Undefined();
}

// loadModule(path, ptxText?, signatures?: [name, Uint32Array sizes, Uint32Array aligns][]) -> [id, entries]
Napi::Value LoadModule(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string image;
  std::vector<std::pair<std::string, std::vector<ParamLayout>>> sigs;
  if (info[1].IsString()) image = info[1].As<Napi::String>().Utf8Value();
  if (info[2].IsArray()) {
    Napi::Array list = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Array e = list.Get(i).As<Napi::Array>();
      size_t ns = 0, na = 0;
      const uint32_t* sizes = typed<uint32_t>(env, e.Get(1u), napi_uint32_array, &ns, "signature sizes");
      const uint32_t* aligns = typed<uint32_t>(env, e.Get(2u), napi_uint32_array, &na, "signature aligns");
      if (ns != na) throw Napi::TypeError::New(env, "signature sizes and aligns differ in length");
      std::vector<ParamLayout> params;
      for (size_t k = 0; k < ns; ++k) params.push_back(ParamLayout{sizes[k], aligns[k]});
      sigs.emplace_back(e.Get(0u).ToString().Utf8Value(), std::move(params));
    }
  }
  auto m = st.open(env).loadModule(path, image, sigs);
  const uint32_t id = st.nextId++;
  st.modules[id] = m;
  Napi::Array entries = Napi::Array::New(env);
  for (const std::string& e : m->entries()) entries.Set(entries.Length(), e);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, id);
  out.Set(1u, entries);
  return out;
}

Napi::Value UnloadModule(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  auto it = st.modules.find(u32(env, info[0], "module"));
  if (it == st.modules.end()) return env.Undefined();
  for (auto f = st.functions.begin(); f != st.functions.end();)
    f = f->second->module == it->second ? st.functions.erase(f) : std::next(f);
  st.modules.erase(it);  // queued launches keep the code loaded until they complete
  return env.Undefined();
}

// getFunction(moduleId, name) -> [id, paramCount]
Napi::Value GetFunction(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  auto it = st.modules.find(u32(env, info[0], "module"));
  if (it == st.modules.end()) throw Napi::Error::New(env, "the module was unloaded");
  auto fn = it->second->function(info[1].ToString().Utf8Value());
  const uint32_t id = st.nextId++;
  st.functions[id] = fn;
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, id);
  out.Set(1u, static_cast<uint32_t>(fn->params.size()));
  return out;
}

// streamCreate(clientId, status: Int32Array over a SharedArrayBuffer) -> id
Napi::Value StreamCreate(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const double client = number(env, info[0], "clientId");
  if (client < 0 || client > 0x7fffffff || std::floor(client) != client)
    throw Napi::RangeError::New(env, "clientId must be an integer in [0, 2^31)");
  size_t words = 0;
  int32_t* status = typed<int32_t>(env, info[1], napi_int32_array, &words, "status");
  if (words < kStatusWords) throw Napi::RangeError::New(env, "status needs " + std::to_string(kStatusWords) + " words");
  StreamEntry e;
  e.status = status;
  e.statusRef = Napi::Persistent(info[1]);
  e.stream = st.open(env).createStream(static_cast<int>(client), status);
  const uint32_t id = st.nextId++;
  st.streams.emplace(id, std::move(e));
  return Napi::Number::New(env, id);
}

Napi::Value StreamDestroy(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  auto it = st.streams.find(u32(env, info[0], "stream"));
  if (it == st.streams.end() || it->first == 0) return env.Undefined();
  st.open(env).destroyStream(it->second.stream);
  st.streams.erase(it);
  return env.Undefined();
}

// submit(stream, words: Float64Array, n, refs, sync) -> ticket (async) or undefined (sync)
Napi::Value Submit(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  StreamEntry& e = streamOf(env, st, u32(env, info[0], "stream"));
  releaseDone(e);
  const bool sync = info[4].ToBoolean().Value();
  std::vector<Napi::Reference<Napi::Value>> keep;
  Batch b = decode(env, st, info[1], u32(env, info[2], "n"), info[3], sync ? nullptr : &keep, true);
  Proxy& px = st.open(env);
  if (sync) {
    px.submitSync(*e.stream, std::move(b));
    return env.Undefined();
  }
  const uint32_t seq = px.submit(*e.stream, std::move(b));
  if (!keep.empty()) e.inFlight.emplace_back(seq, std::move(keep));
  return Napi::Number::New(env, seq);
}

// launchAll(words, n, refs) -> number of streams the batch went to
Napi::Value LaunchAll(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  Batch b = decode(env, st, info[0], u32(env, info[1], "n"), info[2], nullptr, false);
  return Napi::Number::New(env, static_cast<double>(st.open(env).submitAll(b)));
}

// wait(stream, ticket): blocks this thread until the ticket completes
Napi::Value Wait(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  StreamEntry& e = streamOf(env, st, u32(env, info[0], "stream"));
  try {
    e.stream->wait(u32(env, info[1], "ticket"));
  } catch (...) {
    releaseDone(e);
    throw;
  }
  releaseDone(e);
  return env.Undefined();
}

// poll(stream) -> done ticket, without blocking
Napi::Value Poll(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  StreamEntry& e = streamOf(env, st, u32(env, info[0], "stream"));
  const uint32_t done = e.stream->poll();
  releaseDone(e);
  return Napi::Number::New(env, done);
}

Napi::Value Synchronize(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  st.open(env).synchronize();
  for (auto& [id, e] : st.streams) releaseDone(e);
  return env.Undefined();
}

Napi::Value EventCreate(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  const uint32_t id = st.nextId++;
  st.events[id] = st.open(env).backend().createEvent();
  return Napi::Number::New(env, id);
}

std::shared_ptr<Event> eventOf(Napi::Env env, EnvState& st, const Napi::Value& v) {
  auto it = st.events.find(u32(env, v, "event"));
  if (it == st.events.end()) throw Napi::Error::New(env, "the event was destroyed");
  return it->second;
}

Napi::Value EventDestroy(const Napi::CallbackInfo& info, EnvState& st) {
  st.events.erase(u32(info.Env(), info[0], "event"));  // records in flight keep the event alive
  return info.Env().Undefined();
}

Napi::Value EventSynchronize(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  st.open(env).backend().eventSynchronize(*eventOf(env, st, info[0]));
  return env.Undefined();
}

// eventElapsed(start, end) -> milliseconds between them (waits for both)
Napi::Value EventElapsed(const Napi::CallbackInfo& info, EnvState& st) {
  Napi::Env env = info.Env();
  auto a = eventOf(env, st, info[0]);
  auto b = eventOf(env, st, info[1]);
  return Napi::Number::New(env, st.open(env).backend().elapsedMs(*a, *b));
}

}  // namespace

Napi::Object DefineBinding(Napi::Env env) {
  auto* st = new EnvState(nextOwner());
  env.AddCleanupHook([env, st]() {
    try {
      closeAll(env, *st, false);
    } catch (...) {
      // Teardown cannot report; what could not be released goes with the process.
    }
    delete st;
  });
  Napi::Object o = Napi::Object::New(env);
  auto def = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    o.Set(name, Napi::Function::New(env, fn, name, st));
  };
  def("open", &guarded<Open>);
  def("close", &guarded<Close>);
  def("hostAlloc", &guarded<HostAlloc>);
  def("hostBuffer", &guarded<HostBuffer>);
  def("malloc", &guarded<Malloc>);
  def("free", &guarded<Free>);
  def("sharedMalloc", &guarded<SharedMalloc>);
  def("sharedHostAlloc", &guarded<SharedHostAlloc>);
  def("memcpyHtoD", &guarded<MemcpyHtoD>);
  def("memcpyDtoH", &guarded<MemcpyDtoH>);
  def("memset", &guarded<Memset>);
  def("loadModule", &guarded<LoadModule>);
  def("unloadModule", &guarded<UnloadModule>);
  def("getFunction", &guarded<GetFunction>);
  def("streamCreate", &guarded<StreamCreate>);
  def("streamDestroy", &guarded<StreamDestroy>);
  def("submit", &guarded<Submit>);
  def("launchAll", &guarded<LaunchAll>);
  def("wait", &guarded<Wait>);
  def("poll", &guarded<Poll>);
  def("synchronize", &guarded<Synchronize>);
  def("eventCreate", &guarded<EventCreate>);
  def("eventDestroy", &guarded<EventDestroy>);
  def("eventSynchronize", &guarded<EventSynchronize>);
  def("eventElapsed", &guarded<EventElapsed>);
  return o;
}

}  // namespace gnet::gpu
