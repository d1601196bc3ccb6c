// crypto_batch.h: ESP crypto for a whole batch of packets in one call (AES-128-CTR per RFC 3686 +
// HMAC-SHA1-96 per RFC 2404) over OpenSSL's libcrypto, so the per-packet cost is the crypto, not a
// JavaScript -> native crossing. Built only when CMake found OpenSSL (GNET_HAVE_OPENSSL); otherwise
// the binding reports `available: false` and callers use their JavaScript fallback.
#pragma once
#include <napi.h>

namespace gnet {
namespace crypto {

// Adds `espCryptoAvailable` (boolean) and, with OpenSSL, the `EspCrypto` class to `exports`.
Napi::Object DefineBinding(Napi::Env env);

}  // namespace crypto
}  // namespace gnet
