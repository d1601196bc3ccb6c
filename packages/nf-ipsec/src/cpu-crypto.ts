/**
 * The CPU crypto back ends for {@link EspGateway}'s jobs: `native` (one call per batch into OpenSSL
 * through `@gnet/manager-native`'s EspCryptoBatch) and `node` (node:crypto: the AES-CTR keystream of
 * a whole batch in one `aes-128-ecb` update per SA, HMAC-SHA1 per packet), the fallback when the addon
 * was built without OpenSSL. Both produce the same bytes as kernels/esp.cu.
 * @module
 */
import { createCipheriv, createHmac, timingSafeEqual, type Cipher } from 'node:crypto';
import { EspCryptoBatch, espCryptoInfo } from '@gnet/manager-native';
import type { PacketBatch } from '@gnet/nflib';
import type { SaConfig } from './config.js';
import { ESP_HEADER_BYTES, ICV_BYTES, type EspJobs } from './esp.js';
import { nativeKeyTable } from './keys.js';

/** Runs a batch's crypto jobs in place and sets `jobs.ok`. */
export interface CpuCrypto {
  /** `native` or `node`. */
  readonly name: 'native' | 'node';
  /** Does the jobs `EspGateway.prepare` recorded for the batch. */
  run(jobs: EspJobs, batch: PacketBatch): void;
}

class NativeCrypto implements CpuCrypto {
  readonly name = 'native';
  private readonly batch: EspCryptoBatch;
  private readonly ok2: Uint8Array;

  constructor(sas: readonly SaConfig[], burst: number) {
    this.batch = new EspCryptoBatch(nativeKeyTable(sas));
    this.ok2 = new Uint8Array(burst);
  }

  run(jobs: EspJobs, b: PacketBatch): void {
    if (jobs.encCount > 0) this.batch.run(true, b.data, jobs.encSa, jobs.off, jobs.len, b.count, jobs.ok);
    if (jobs.decCount === 0) return;
    this.batch.run(false, b.data, jobs.decSa, jobs.off, jobs.len, b.count, this.ok2);
    for (let i = 0; i < b.count; i++) if (jobs.decSa[i] >= 0) jobs.ok[i] = this.ok2[i];
  }
}

class NodeCrypto implements CpuCrypto {
  readonly name = 'node';
  private readonly ecb: Cipher[];
  private readonly sas: readonly SaConfig[];
  private readonly ctr: Buffer;
  private readonly ctrStart: Uint32Array;

  constructor(sas: readonly SaConfig[], burst: number, slot: number) {
    this.sas = sas;
    this.ecb = sas.map((sa) => createCipheriv('aes-128-ecb', sa.encKey, null).setAutoPadding(false));
    this.ctr = Buffer.alloc(burst * (slot + 16));
    this.ctrStart = new Uint32Array(burst);
  }

  private mac(sa: SaConfig, d: Uint8Array, off: number, len: number): Buffer {
    return createHmac('sha1', sa.authKey).update(d.subarray(off, off + len)).digest();
  }

  /** AES-CTR over the payload of every packet of SA `s` with `want[i]`: one ECB update for their counter blocks. */
  private ctrSa(jobs: EspJobs, b: PacketBatch, s: number, sel: Int32Array): void {
    const sa = this.sas[s];
    let n = 0;
    for (let i = 0; i < b.count; i++) {
      if (sel[i] !== s || (sel === jobs.decSa && jobs.ok[i] !== 1)) continue;
      const p = jobs.off[i];
      const blocks = (jobs.len[i] - ESP_HEADER_BYTES + 15) >>> 4;
      this.ctrStart[i] = n;
      for (let k = 1; k <= blocks; k++, n += 16) {
        this.ctr.set(sa.nonce, n);
        for (let j = 0; j < 8; j++) this.ctr[n + 4 + j] = b.data[p + 8 + j];
        this.ctr.writeUInt32BE(k, n + 12);
      }
    }
    if (n === 0) return;
    const ks = this.ecb[s].update(this.ctr.subarray(0, n));
    for (let i = 0; i < b.count; i++) {
      if (sel[i] !== s || (sel === jobs.decSa && jobs.ok[i] !== 1)) continue;
      const p = jobs.off[i] + ESP_HEADER_BYTES;
      const m = jobs.len[i] - ESP_HEADER_BYTES;
      const k0 = this.ctrStart[i];
      for (let j = 0; j < m; j++) b.data[p + j] ^= ks[k0 + j];
    }
  }

  run(jobs: EspJobs, b: PacketBatch): void {
    const d = b.data;
    for (let s = 0; s < this.sas.length; s++) this.ctrSa(jobs, b, s, jobs.encSa);
    for (let i = 0; i < b.count; i++) {
      const e = jobs.encSa[i];
      if (e >= 0) {
        d.set(this.mac(this.sas[e], d, jobs.off[i], jobs.len[i]).subarray(0, ICV_BYTES), jobs.off[i] + jobs.len[i]);
        jobs.ok[i] = 1;
      }
      const s = jobs.decSa[i];
      if (s >= 0) {
        const end = jobs.off[i] + jobs.len[i];
        const icv = this.mac(this.sas[s], d, jobs.off[i], jobs.len[i]).subarray(0, ICV_BYTES);
        jobs.ok[i] = timingSafeEqual(icv, d.subarray(end, end + ICV_BYTES)) ? 1 : 0;
      }
    }
    for (let s = 0; s < this.sas.length; s++) this.ctrSa(jobs, b, s, jobs.decSa);
  }
}

/**
 * The CPU crypto for `sas` (combined order of {@link EspGateway.sas}): `native` when asked or, for
 * `auto`, when the addon has OpenSSL; else `node`. `note` says which and why (one line at start).
 * @throws Error when `native` is asked for and unavailable.
 */
export function cpuCrypto(want: 'auto' | 'native' | 'node', sas: readonly SaConfig[], burst: number, slot: number): { crypto: CpuCrypto; note: string } {
  if (want !== 'node') {
    let info: { available: boolean; library: string };
    try {
      info = espCryptoInfo();
    } catch (err) {
      info = { available: false, library: (err as Error).message.split('\n')[0] };
    }
    if (info.available) return { crypto: new NativeCrypto(sas, burst), note: `batch crypto: ${info.library} through the addon` };
    if (want === 'native') throw new Error(`cpuCrypto "native" asked for but unavailable: ${info.library}`);
    return { crypto: new NodeCrypto(sas, burst, slot), note: `batch crypto: node:crypto fallback (${info.library})` };
  }
  return { crypto: new NodeCrypto(sas, burst, slot), note: 'batch crypto: node:crypto (asked for)' };
}
