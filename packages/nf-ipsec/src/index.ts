/**
 * `@gnet/nf-ipsec`: an IPsec ESP tunnel gateway (RFC 4303) with AES-128-CTR (RFC 3686) and
 * HMAC-SHA1-96 (RFC 2404), on the CPU (OpenSSL batches through the addon, or node:crypto) and on
 * the GPU (`kernels/esp.cu`). The NF is `@gnet/nf-ipsec/nf` (`gnet run --chain ipsec`); this entry
 * exports the algorithm for library use.
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/nf-ipsec';

export { parseIpsecConfig, parseIpsecSection, type IpsecConfig, type SaConfig, type EspDirection } from './config.js';
export { EspGateway, EspJobs, counterNames, GLOBAL_COUNTERS, ESP_HEADER_BYTES, ICV_BYTES, IPPROTO_ESP, ESP_OVERHEAD_MAX } from './esp.js';
export { cpuCrypto, type CpuCrypto } from './cpu-crypto.js';
export { AES_SBOX, expandAes128Key, sha1Compress, hmacSha1States, nativeKeyTable, kernelKeyTable, NATIVE_KEY_BYTES, KERNEL_KEY_WORDS } from './keys.js';
export { espPtxPath, ESP_KERNEL_ENTRY, allocEspGpuBuffer, gatherJobs, scatterJobs, queueHtoD, queueDtoH, setEspArgs, type EspGpuBuffer } from './gpu.js';
