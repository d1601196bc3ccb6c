#include "shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace gnet::shm {
namespace {

// POSIX wants one leading slash and no other; names come from the manager and NF processes.
std::string PosixName(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "shm: name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), "shm: name must be 1-200 characters without '/'");
  }
  return "/" + name;
}

// An Error whose `code` is the errno's name (EEXIST, ENOENT...), so JavaScript branches on the code,
// never on strerror() text.
Napi::Error ErrnoError(Napi::Env env, const std::string& what, const std::string& name, int err) {
  Napi::Error e = Napi::Error::New(env, "shm: " + what + " " + name + ": " + std::strerror(err));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* code = strerrorname_np(err);
  e.Set("code", code != nullptr ? std::string(code) : "E" + std::to_string(err));
#else
  e.Set("code", "E" + std::to_string(err));
#endif
  return e;
}

Napi::Value Map(Napi::Env env, int fd, size_t bytes, const std::string& name) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int saved = errno;
  close(fd);
  if (p == MAP_FAILED) throw ErrnoError(env, "mmap", name, saved);
  // The mapping lives as long as the ArrayBuffer; the finalizer unmaps it.
  return Napi::ArrayBuffer::New(
      env, p, bytes,
      [](Napi::Env, void* data, size_t* len) {
        munmap(data, *len);
        delete len;
      },
      new size_t(bytes));
}

}  // namespace

Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = PosixName(info);
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "shm: bytes must be a number");
  double want = info[1].As<Napi::Number>().DoubleValue();
  if (!(want > 0) || want > 64.0 * (1ull << 30)) throw Napi::RangeError::New(env, "shm: bytes must be in (0, 64 GiB]");
  size_t bytes = static_cast<size_t>(want);
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw ErrnoError(env, "create", name, errno);
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    int saved = errno;
    close(fd);
    shm_unlink(name.c_str());
    throw ErrnoError(env, "resize", name, saved);
  }
  return Map(env, fd, bytes, name);
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = PosixName(info);
  int fd = shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) throw ErrnoError(env, "open", name, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    int saved = st.st_size <= 0 ? EINVAL : errno;
    close(fd);
    throw ErrnoError(env, "stat", name, saved);
  }
  return Map(env, fd, static_cast<size_t>(st.st_size), name);
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string name = PosixName(info);
  if (shm_unlink(name.c_str()) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  throw ErrnoError(info.Env(), "unlink", name, errno);
}

}  // namespace gnet::shm
