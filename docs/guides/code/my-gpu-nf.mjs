// my-gpu-nf.mjs: the TTL guard of my-nf.mjs with its batch work in a kernel (kernels/ttl.cu). The
// same file runs in every mode: gpu (the .ptx on a GPU), emulated (the .cu built for the host) and
// cpu (the cpu hook); all three write the same bytes.
import { fileURLToPath } from 'node:url';
import { defineNf, startNf } from '@gnet/framework';
import { Action, checksumAdjust16 } from '@gnet/nflib';

const PTX = fileURLToPath(new URL('./kernels/ttl.ptx', import.meta.url));

/** @param {import('@gnet/nflib').PacketBatch} batch @param {number} i */
const isIpv4 = (batch, i) => batch.lengths[i] >= 34 && batch.view.getUint16(batch.offsets[i] + 12) === 0x0800;

const nf = defineNf({
  name: 'ttl-guard',
  kernel: { module: PTX, entry: 'gnet_ttl_guard' },
  readSet: { pre: ['eth.type', 'ip.ttl', 'ip.proto', 'ip.csum'] },
  writeSet: { post: ['ip.ttl', 'ip.csum', 'meta.action'] },
  init(env) {
    return { counters: env.ctx.defineCounters(['ttl_expired', 'not_ipv4']) };
  },
  // One set of pinned host buffers and device buffers per batch in flight.
  initHostBuf(rt) {
    const n = rt.burst;
    return {
      words: new Uint16Array(rt.device.hostAlloc(n * 2).buffer),
      sums: new Uint16Array(rt.device.hostAlloc(n * 2).buffer),
      keep: new Uint8Array(rt.device.hostAlloc(n).buffer),
      dWords: rt.device.malloc(n * 2),
      dSums: rt.device.malloc(n * 2),
      dKeep: rt.device.malloc(n),
    };
  },
  pre(batch, buf) {
    // Gather the two header words per packet; non-IPv4 gets TTL 255 so the kernel keeps it as is.
    for (let i = 0; i < batch.count; i++) {
      const ip = isIpv4(batch, i);
      buf.words[i] = ip ? batch.view.getUint16(batch.offsets[i] + 22) : 0xff00;
      buf.sums[i] = ip ? batch.view.getUint16(batch.offsets[i] + 24) : 0;
    }
  },
  htod(batch, buf, rt) {
    rt.stream.htod(buf.dWords, buf.words, 0, batch.count * 2).htod(buf.dSums, buf.sums, 0, batch.count * 2);
  },
  setArg(args, batch, buf) {
    args.ptr(buf.dWords).ptr(buf.dSums).ptr(buf.dKeep).u32(batch.count);
    return { grid: Math.ceil(batch.count / 256), block: 256 };
  },
  dtoh(batch, buf, rt) {
    rt.stream.dtoh(buf.words, 0, buf.dWords, batch.count * 2).dtoh(buf.sums, 0, buf.dSums, batch.count * 2).dtoh(buf.keep, 0, buf.dKeep, batch.count);
  },
  post(batch, buf, rt) {
    const counters = rt.state.counters;
    for (let i = 0; i < batch.count; i++) {
      if (!isIpv4(batch, i)) counters[1]++;
      else if (buf.keep[i] === 0) {
        batch.action[i] = Action.DROP;
        counters[0]++;
      } else {
        batch.view.setUint16(batch.offsets[i] + 22, buf.words[i]);
        batch.view.setUint16(batch.offsets[i] + 24, buf.sums[i]);
      }
    }
  },
  // cpu mode: the same work in JavaScript (as my-nf.mjs).
  cpu(batch, rt) {
    const counters = rt.state.counters;
    for (let i = 0; i < batch.count; i++) {
      const o = batch.offsets[i];
      if (!isIpv4(batch, i)) counters[1]++;
      else if (batch.data[o + 22] <= 1) {
        batch.action[i] = Action.DROP;
        counters[0]++;
      } else {
        const before = batch.view.getUint16(o + 22);
        batch.data[o + 22]--;
        batch.view.setUint16(o + 24, checksumAdjust16(batch.view.getUint16(o + 24), before, batch.view.getUint16(o + 22)));
      }
    }
  },
});

await startNf(nf);
