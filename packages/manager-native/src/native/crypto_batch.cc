// crypto_batch.cc: see crypto_batch.h.
//
// JS API (documented in src/crypto.ts):
//   new EspCrypto(keys: Uint8Array)          keys: per SA 40 bytes = AES key(16) | nonce(4) | HMAC key(20)
//   .run(encrypt, data, sa, off, len, count, ok) -> packets processed
// For packet i with sa[i] >= 0, data[off[i] .. off[i]+len[i]) is the ESP packet without its ICV
// (SPI, sequence number, 8-byte IV, payload); the 12-byte ICV follows it. Encrypt: AES-CTR over the
// payload (counter block = nonce | IV | 1, RFC 3686), then HMAC-SHA1 over SPI..payload, truncated to
// 96 bits, written after it. Decrypt: the ICV is checked first, in constant time (CRYPTO_memcmp); only
// when it matches is the payload decrypted and ok[i] set to 1 (else 0).
#include "crypto_batch.h"

#include <stdint.h>
#include <string.h>

#include <vector>

#include "typed_array.h"

#ifdef GNET_HAVE_OPENSSL
// The SHA_CTX API is deprecated in OpenSSL 3 but is the cheapest way to restart HMAC from the
// precomputed ipad/opad states (a struct copy instead of EVP_MD_CTX_copy_ex's allocations).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include <string>
#endif

namespace gnet {
namespace crypto {

#ifdef GNET_HAVE_OPENSSL
namespace {

// libcrypto is opened at run time with RTLD_DEEPBIND rather than linked: the node binary exports the
// symbols of its own bundled OpenSSL, and a linked addon (and the libcrypto it pulls in) would bind
// partly to those, mixing two OpenSSL copies. DEEPBIND keeps every call inside the system library, the
// one the `openssl speed` peer measures.
struct Lib {
  bool ok = false;
  std::string why;
  EVP_CIPHER_CTX* (*cipherCtxNew)() = nullptr;
  void (*cipherCtxFree)(EVP_CIPHER_CTX*) = nullptr;
  const EVP_CIPHER* (*aes128Ecb)() = nullptr;
  int (*encryptInit)(EVP_CIPHER_CTX*, const EVP_CIPHER*, ENGINE*, const unsigned char*, const unsigned char*) = nullptr;
  int (*encryptUpdate)(EVP_CIPHER_CTX*, unsigned char*, int*, const unsigned char*, int) = nullptr;
  int (*setPadding)(EVP_CIPHER_CTX*, int) = nullptr;
  int (*sha1Init)(SHA_CTX*) = nullptr;
  int (*sha1Update)(SHA_CTX*, const void*, size_t) = nullptr;
  int (*sha1Final)(unsigned char*, SHA_CTX*) = nullptr;
  int (*memcmp)(const void*, const void*, size_t) = nullptr;
  void (*cleanse)(void*, size_t) = nullptr;
  const char* (*version)(int) = nullptr;
};

template <typename F>
bool Sym(void* h, const char* name, F& f, std::string& why) {
  f = reinterpret_cast<F>(dlsym(h, name));
  if (f == nullptr && why.empty()) why = std::string("libcrypto lacks ") + name;
  return f != nullptr;
}

const Lib& lib() {
  static const Lib l = [] {
    Lib x;
    const std::string name = "libcrypto.so." + std::to_string(OPENSSL_VERSION_MAJOR);
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h == nullptr) {
      const char* e = dlerror();
      x.why = "cannot open " + name + ": " + (e ? e : "unknown error");
      return x;
    }
    bool ok = Sym(h, "EVP_CIPHER_CTX_new", x.cipherCtxNew, x.why) &
              Sym(h, "EVP_CIPHER_CTX_free", x.cipherCtxFree, x.why) & Sym(h, "EVP_aes_128_ecb", x.aes128Ecb, x.why) &
              Sym(h, "EVP_EncryptInit_ex", x.encryptInit, x.why) & Sym(h, "EVP_EncryptUpdate", x.encryptUpdate, x.why) &
              Sym(h, "EVP_CIPHER_CTX_set_padding", x.setPadding, x.why) & Sym(h, "SHA1_Init", x.sha1Init, x.why) &
              Sym(h, "SHA1_Update", x.sha1Update, x.why) & Sym(h, "SHA1_Final", x.sha1Final, x.why) &
              Sym(h, "CRYPTO_memcmp", x.memcmp, x.why) & Sym(h, "OPENSSL_cleanse", x.cleanse, x.why) &
              Sym(h, "OpenSSL_version", x.version, x.why);
    x.ok = ok;
    return x;
  }();
  return l;
}

constexpr size_t kKeyBytes = 40;     // AES key 16 | nonce 4 | HMAC key 20
constexpr uint32_t kEspHeader = 16;  // SPI 4 | seq 4 | IV 8
constexpr uint32_t kIcv = 12;

struct Sa {
  EVP_CIPHER_CTX* aes = nullptr;
  uint8_t nonce[4];
  SHA_CTX inner;  // state after the ipad block
  SHA_CTX outer;  // state after the opad block
};

class EspCrypto : public Napi::ObjectWrap<EspCrypto> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EspCrypto", {InstanceMethod("run", &EspCrypto::Run)});
  }

  explicit EspCrypto(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EspCrypto>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "EspCrypto(keys: Uint8Array)");
    const Lib& L = lib();
    if (!L.ok) throw Napi::Error::New(env, "EspCrypto: " + L.why);
    Napi::Uint8Array keys = info[0].As<Napi::Uint8Array>();
    if (keys.ByteLength() == 0 || keys.ByteLength() % kKeyBytes != 0) {
      throw Napi::RangeError::New(env, "EspCrypto: keys must be 40 bytes per SA");
    }
    const size_t n = keys.ByteLength() / kKeyBytes;
    sas_.resize(n);
    for (size_t s = 0; s < n; ++s) {
      const uint8_t* k = keys.Data() + s * kKeyBytes;
      Sa& sa = sas_[s];
      sa.aes = L.cipherCtxNew();
      if (sa.aes == nullptr || L.encryptInit(sa.aes, L.aes128Ecb(), nullptr, k, nullptr) != 1 ||
          L.setPadding(sa.aes, 0) != 1) {
        throw Napi::Error::New(env, "EspCrypto: EVP_EncryptInit_ex(aes-128-ecb) failed");
      }
      memcpy(sa.nonce, k + 16, 4);
      uint8_t pad[64];
      memset(pad, 0x36, sizeof(pad));
      for (int j = 0; j < 20; ++j) pad[j] ^= k[20 + j];
      L.sha1Init(&sa.inner);
      L.sha1Update(&sa.inner, pad, 64);
      memset(pad, 0x5c, sizeof(pad));
      for (int j = 0; j < 20; ++j) pad[j] ^= k[20 + j];
      L.sha1Init(&sa.outer);
      L.sha1Update(&sa.outer, pad, 64);
      L.cleanse(pad, sizeof(pad));
    }
  }

  ~EspCrypto() override {
    for (Sa& sa : sas_) {
      if (sa.aes != nullptr) lib().cipherCtxFree(sa.aes);
      lib().cleanse(&sa.inner, sizeof(sa.inner));
      lib().cleanse(&sa.outer, sizeof(sa.outer));
    }
  }

 private:
  std::vector<Sa> sas_;

  // HMAC-SHA1(ESP header .. payload), first 12 bytes into icv.
  static void Mac(const Sa& sa, const uint8_t* p, uint32_t n, uint8_t icv[SHA_DIGEST_LENGTH]) {
    SHA_CTX c = sa.inner;
    const Lib& L = lib();
    L.sha1Update(&c, p, n);
    uint8_t inner[SHA_DIGEST_LENGTH];
    L.sha1Final(inner, &c);
    c = sa.outer;
    L.sha1Update(&c, inner, sizeof(inner));
    L.sha1Final(icv, &c);
  }

  // AES-128-CTR (RFC 3686) as AES-ECB over the packet's counter blocks (nonce | IV | 1, 2, ...) then
  // XOR: the ECB context keeps its key schedule and needs no per-packet IV set-up (the EVP CTR path's
  // EVP_EncryptInit_ex per packet cost more than the AES itself on small packets).
  static bool Ctr(const Sa& sa, uint8_t* p, uint32_t n) {
    constexpr uint32_t kChunk = 32;  // blocks per ECB call
    uint8_t ks[kChunk * 16];
    const Lib& L = lib();
    uint32_t ctr = 1;
    for (uint32_t done = 0; done < n;) {
      const uint32_t bytes = n - done < kChunk * 16 ? n - done : kChunk * 16;
      const uint32_t blocks = (bytes + 15) / 16;
      for (uint32_t b = 0; b < blocks; ++b, ++ctr) {
        uint8_t* c = ks + b * 16;
        memcpy(c, sa.nonce, 4);
        memcpy(c + 4, p - 8, 8);  // the IV sits right before the payload
        c[12] = static_cast<uint8_t>(ctr >> 24);
        c[13] = static_cast<uint8_t>(ctr >> 16);
        c[14] = static_cast<uint8_t>(ctr >> 8);
        c[15] = static_cast<uint8_t>(ctr);
      }
      int outl = 0;
      if (L.encryptUpdate(sa.aes, ks, &outl, ks, static_cast<int>(blocks * 16)) != 1) return false;
      uint8_t* d = p + done;
      uint32_t i = 0;
      for (; i + 8 <= bytes; i += 8) {
        uint64_t a, k;
        memcpy(&a, d + i, 8);
        memcpy(&k, ks + i, 8);
        a ^= k;
        memcpy(d + i, &a, 8);
      }
      for (; i < bytes; ++i) d[i] ^= ks[i];
      done += bytes;
    }
    return true;
  }

  template <typename T>
  static T Typed(const Napi::Value& v, napi_typedarray_type want, const char* what, const char* kind) {
    return ExactTypedArray<T>(v, want, "EspCrypto.run", what, kind);
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7) throw Napi::TypeError::New(env, "EspCrypto.run(encrypt, data, sa, off, len, count, ok)");
    const bool encrypt = info[0].ToBoolean();
    Napi::Uint8Array data = Typed<Napi::Uint8Array>(info[1], napi_uint8_array, "data", "Uint8Array");
    Napi::Int32Array sa = Typed<Napi::Int32Array>(info[2], napi_int32_array, "sa", "Int32Array");
    Napi::Uint32Array off = Typed<Napi::Uint32Array>(info[3], napi_uint32_array, "off", "Uint32Array");
    Napi::Uint32Array len = Typed<Napi::Uint32Array>(info[4], napi_uint32_array, "len", "Uint32Array");
    const uint32_t count = info[5].ToNumber().Uint32Value();
    Napi::Uint8Array ok = Typed<Napi::Uint8Array>(info[6], napi_uint8_array, "ok", "Uint8Array");
    if (count > sa.ElementLength() || count > off.ElementLength() || count > len.ElementLength() ||
        count > ok.ElementLength()) {
      throw Napi::RangeError::New(env, "EspCrypto.run: count exceeds an array");
    }
    uint8_t* base = data.Data();
    const size_t size = data.ByteLength();
    const int32_t nsa = static_cast<int32_t>(sas_.size());
    uint32_t done = 0;
    for (uint32_t i = 0; i < count; ++i) {
      ok[i] = 0;
      const int32_t s = sa[i];
      if (s < 0) continue;
      const uint64_t o = off[i], n = len[i];
      if (s >= nsa || n < kEspHeader || o + n + kIcv > size) continue;  // the caller's bug: refuse, never overrun
      const Sa& st = sas_[s];
      uint8_t* p = base + o;
      uint8_t mac[SHA_DIGEST_LENGTH];
      if (encrypt) {
        if (!Ctr(st, p + kEspHeader, static_cast<uint32_t>(n - kEspHeader))) continue;
        Mac(st, p, static_cast<uint32_t>(n), mac);
        memcpy(p + n, mac, kIcv);
      } else {
        Mac(st, p, static_cast<uint32_t>(n), mac);
        if (lib().memcmp(mac, p + n, kIcv) != 0) continue;
        if (!Ctr(st, p + kEspHeader, static_cast<uint32_t>(n - kEspHeader))) continue;
      }
      ok[i] = 1;
      ++done;
    }
    return Napi::Number::New(env, done);
  }
};

}  // namespace
#endif

Napi::Object DefineBinding(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
#ifdef GNET_HAVE_OPENSSL
  const Lib& L = lib();
  o.Set("available", L.ok);
  o.Set("library", L.ok ? std::string(L.version(OPENSSL_VERSION)) + " (system libcrypto)" : L.why);
  if (L.ok) o.Set("EspCrypto", EspCrypto::Define(env));
#else
  o.Set("available", false);
  o.Set("library", "none (the addon was built without OpenSSL)");
#endif
  return o;
}

}  // namespace crypto
}  // namespace gnet
