// Known-answer tests of the crypto back ends on ESP-shaped regions: RFC 3686 AES-CTR vectors and
// RFC 2202 HMAC-SHA1 vectors, FIPS-197 key expansion; the native (OpenSSL), node:crypto and kernel
// (emulated device) back ends must agree byte for byte on random packets of every length class.
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GpuDevice, KernelArgs, buildHostKernel, espCryptoInfo } from '@gnet/manager-native';
import type { PacketBatch } from '@gnet/nflib';
import { describe, expect, it } from 'vitest';
import {
  AES_SBOX,
  ESP_KERNEL_ENTRY,
  EspJobs,
  allocEspGpuBuffer,
  cpuCrypto,
  espPtxPath,
  expandAes128Key,
  gatherJobs,
  hmacSha1States,
  kernelKeyTable,
  queueDtoH,
  queueHtoD,
  scatterJobs,
  setEspArgs,
  sha1Compress,
  type SaConfig,
} from '../src/index.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function sa(encKey: string, nonce: string, authKey: string): SaConfig {
  return { spi: 300, tunnelSrc: 0, tunnelDst: 0, encKey: hex(encKey), nonce: hex(nonce), authKey: hex(authKey), selector: { src: 0, srcMask: 0, dst: 0, dstMask: 0 }, seq: 1, tunnelSum: 0 };
}

// RFC 3686 §6 test vectors #1..#3 (AES-128).
const RFC3686 = [
  { key: 'AE6852F8121067CC4BF7A5765577F39E', nonce: '00000030', iv: '0000000000000000', pt: '53696E676C6520626C6F636B206D7367', ct: 'E4095D4FB7A7B3792D6175A3261311B8' },
  {
    key: '7E24067817FAE0D743D6CE1F32539163',
    nonce: '006CB6DB',
    iv: 'C0543B59DA48D90B',
    pt: '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F',
    ct: '5104A106168A72D9790D41EE8EDAD388EB2E1EFC46DA57C8FCE630DF9141BE28',
  },
  {
    key: '7691BE035E5020A8AC6E618529F9A0DC',
    nonce: '00E0017B',
    iv: '27777F3F4A1786F0',
    pt: '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20212223',
    ct: 'C1CF48A89F2FFDD9CF4652E9EFDB72D74540A42BDE6D7836D59A5CEAAEF3105325B2072F',
  },
];
const AUTH = '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b';

/** A fake batch over `data` with `n` packets (the back ends read only data and count). */
function fakeBatch(data: Uint8Array, n: number): PacketBatch {
  return { data, count: n } as unknown as PacketBatch;
}

type Backend = (sas: SaConfig[], data: Uint8Array, jobs: EspJobs, n: number) => void;

const cpu =
  (name: 'native' | 'node'): Backend =>
  (sas, data, jobs, n) =>
    cpuCrypto(name, sas, 64, 2048).crypto.run(jobs, fakeBatch(data, n));

let emuReason: string | undefined;
try {
  buildHostKernel(join(__dirname, '..', 'kernels', 'esp.cu'));
} catch (err) {
  emuReason = (err as Error).message;
  console.log(`kernel (emulated) cases skipped: ${emuReason}`);
}

const kernel: Backend = (sas, data, jobs, n) => {
  const dev = GpuDevice.open({ mode: 'emulated' });
  try {
    const mod = dev.loadModule(espPtxPath());
    const keys = kernelKeyTable(sas);
    const dKeys = dev.malloc(keys.byteLength);
    dev.memcpyHtoD(dKeys, keys, 0, keys.byteLength);
    const buf = allocEspGpuBuffer(dev, 64, 2048, jobs);
    const batch = fakeBatch(data, n);
    gatherJobs(batch, buf);
    const s = dev.stream(1);
    queueHtoD(s, buf, n);
    const args = new KernelArgs();
    s.launch(mod, ESP_KERNEL_ENTRY, setEspArgs(args, dKeys, buf, n), args);
    queueDtoH(s, buf, n);
    s.wait(s.submit());
    scatterJobs(batch, buf);
  } finally {
    dev.close();
  }
};

const nativeReason = espCryptoInfo().available ? undefined : espCryptoInfo().library;
if (nativeReason) console.log(`native crypto cases skipped: ${nativeReason}`);
const backends: [string, Backend, string | undefined][] = [
  ['native', cpu('native'), nativeReason],
  ['node', cpu('node'), undefined],
  ['kernel', kernel, emuReason],
];

/** Packs ESP regions (SPI 4, seq 4, IV 8, payload, ICV room 12) at 4-aligned offsets; returns data and jobs. */
function pack(regions: { iv: Uint8Array; payload: Uint8Array; sa: number; decrypt?: boolean; icv?: Uint8Array }[]): { data: Uint8Array; jobs: EspJobs } {
  const jobs = new EspJobs(64);
  const data = new Uint8Array(64 * 2048);
  let at = 6; // the kernel path copies; the CPU paths must cope with odd alignment
  regions.forEach((r, i) => {
    data.set([0, 0, 1, 44, 0, 0, 0, i + 1], at);
    data.set(r.iv, at + 8);
    data.set(r.payload, at + 16);
    if (r.icv) data.set(r.icv, at + 16 + r.payload.length);
    jobs.off[i] = at;
    jobs.len[i] = 16 + r.payload.length;
    jobs.encSa[i] = r.decrypt ? -1 : r.sa;
    jobs.decSa[i] = r.decrypt ? r.sa : -1;
    jobs.kind[i] = r.decrypt ? 2 : 1;
    if (r.decrypt) jobs.decCount++;
    else jobs.encCount++;
    at += 16 + r.payload.length + 12 + 2;
  });
  return { data, jobs };
}

describe('reference pieces', () => {
  it('AES S-box and FIPS-197 A.1 key expansion', () => {
    expect(AES_SBOX[0x00]).toBe(0x63);
    expect(AES_SBOX[0x53]).toBe(0xed);
    const w = expandAes128Key(hex('2b7e151628aed2a6abf7158809cf4f3c'));
    expect(w[4].toString(16)).toBe('a0fafe17');
    expect(w[43].toString(16)).toBe('b6630ca6');
  });

  it('RFC 2202 HMAC-SHA1 vectors from the precomputed ipad/opad states (as the kernel uses them)', () => {
    const hmac = (key: Uint8Array, msg: Uint8Array) => {
      const { inner, outer } = hmacSha1States(key);
      const finish = (h: Uint32Array, m: Uint8Array) => {
        const total = 64 + m.length;
        const padded = new Uint8Array(Math.ceil((m.length + 9) / 64) * 64);
        padded.set(m);
        padded[m.length] = 0x80;
        new DataView(padded.buffer).setUint32(padded.length - 4, total * 8);
        for (let o = 0; o < padded.length; o += 64) sha1Compress(h, padded, o);
        const out = new Uint8Array(20);
        h.forEach((x, i) => new DataView(out.buffer).setUint32(i * 4, x));
        return out;
      };
      return toHex(finish(outer, finish(inner, msg)));
    };
    expect(hmac(hex(AUTH), Buffer.from('Hi There'))).toBe('b617318655057264e28bc0b6fb378c8ef146be00');
    expect(hmac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(hmac(new Uint8Array(20).fill(0xaa), new Uint8Array(50).fill(0xdd))).toBe('125d7342b9ac11cd91a39af48aa17b4f63f175d3');
  });
});

describe.each(backends)('%s back end', (name, run, skip) => {
  it.skipIf(skip !== undefined)('RFC 3686 AES-CTR vectors #1-#3 and an HMAC-SHA1-96 ICV equal to node:crypto', () => {
    const sas = RFC3686.map((v) => sa(v.key, v.nonce, AUTH));
    const { data, jobs } = pack(RFC3686.map((v, i) => ({ iv: hex(v.iv), payload: hex(v.pt), sa: i })));
    run(sas, data, jobs, RFC3686.length);
    RFC3686.forEach((v, i) => {
      const o = jobs.off[i];
      expect(jobs.ok[i]).toBe(1);
      expect(toHex(data.subarray(o + 16, o + jobs.len[i])).toUpperCase()).toBe(v.ct);
      const icv = createHmac('sha1', hex(AUTH)).update(data.subarray(o, o + jobs.len[i])).digest().subarray(0, 12);
      expect(toHex(data.subarray(o + jobs.len[i], o + jobs.len[i] + 12))).toBe(toHex(icv));
    });
  });

  it.skipIf(skip !== undefined)('RFC 2202 test 3 (key 0xaa x20, data 0xdd x50) as an ICV: verifies, and one flipped bit fails', () => {
    const key = 'aa'.repeat(20);
    const sas = [sa(RFC3686[0].key, '00000030', key)];
    // the MAC covers the whole region: SPI..payload is 0xdd x52 here (the kernel needs whole words)
    const msg = new Uint8Array(52).fill(0xdd);
    const icv = createHmac('sha1', hex(key)).update(msg).digest().subarray(0, 12);
    const { data, jobs } = pack([
      { iv: new Uint8Array(8).fill(0xdd), payload: new Uint8Array(36).fill(0xdd), sa: 0, decrypt: true, icv },
      { iv: new Uint8Array(8).fill(0xdd), payload: new Uint8Array(36).fill(0xdd), sa: 0, decrypt: true, icv: Uint8Array.from(icv, (b, k) => (k === 11 ? b ^ 1 : b)) },
    ]);
    data.fill(0xdd, jobs.off[0], jobs.off[0] + 8);
    data.fill(0xdd, jobs.off[1], jobs.off[1] + 8);
    run(sas, data, jobs, 2);
    expect([jobs.ok[0], jobs.ok[1]]).toEqual([1, 0]);
    expect(data[jobs.off[1] + 16]).toBe(0xdd); // not decrypted when the ICV fails
  });
});

describe('back ends agree', () => {
  const live = backends.filter((b) => b[2] === undefined);
  it(`${live.map((b) => b[0]).join(', ')}: identical ciphertext and ICVs over 40 random packets of 4..1460 payload bytes, and each decrypts the others' output`, () => {
    const sas = [sa(toHex(randomBytes(16)), toHex(randomBytes(4)), toHex(randomBytes(20))), sa(toHex(randomBytes(16)), toHex(randomBytes(4)), toHex(randomBytes(20)))];
    const regions = Array.from({ length: 40 }, (_, i) => ({ iv: randomBytes(8), payload: randomBytes(i < 32 ? 4 * (i + 1) : 4 * (1 + ((i * 97) % 365))), sa: i % 2 }));
    const outs = live.map(([, run]) => {
      const { data, jobs } = pack(regions);
      run(sas, data, jobs, regions.length);
      expect(Array.from(jobs.ok.subarray(0, regions.length))).toEqual(regions.map(() => 1));
      return { data, jobs };
    });
    for (const o of outs.slice(1)) expect(toHex(o.data)).toBe(toHex(outs[0].data));
    for (const [, run] of live) {
      const { data, jobs } = outs[0];
      const copy = data.slice();
      const dj = new EspJobs(64);
      for (let i = 0; i < regions.length; i++) {
        dj.off[i] = jobs.off[i];
        dj.len[i] = jobs.len[i];
        dj.encSa[i] = -1;
        dj.decSa[i] = regions[i].sa;
      }
      dj.decCount = regions.length;
      run(sas, copy, dj, regions.length);
      regions.forEach((r, i) => {
        expect(dj.ok[i]).toBe(1);
        expect(toHex(copy.subarray(dj.off[i] + 16, dj.off[i] + dj.len[i]))).toBe(toHex(r.payload));
      });
    }
  });
});

describe('EspJobs payload moves', () => {
  it('does a batch of moves in one call, and refuses a batch whose move lies outside the data', () => {
    const jobs = new EspJobs(4);
    const data = Uint8Array.from({ length: 64 }, (_, i) => i);
    jobs.move(36, 0, 8);
    jobs.flushMoves(data);
    expect([...data.subarray(36, 44)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(jobs.moveCount).toBe(0);
    jobs.move(60, 0, 8); // runs past the end: skipped by the native call, so the batch must stop
    expect(() => jobs.flushMoves(data)).toThrow(/outside its data/);
    expect(jobs.moveCount).toBe(0);
  });
});
