/**
 * The IPsec ESP tunnel gateway as a framework NF: the hooks only. Packet layout and the SA state are
 * in esp.ts, the CPU crypto in cpu-crypto.ts, the kernel in kernels/esp.cu (gathered by gpu.ts).
 * Config: the `ipsec` section (see config.ts and the README).
 */
import { readFileSync } from 'node:fs';
import { defineNf, startNf } from '@gnet/framework';
import { parseIpsecConfig } from './config.js';
import { cpuCrypto, type CpuCrypto } from './cpu-crypto.js';
import { EspGateway, EspJobs, counterNames } from './esp.js';
import { ESP_KERNEL_ENTRY, allocEspGpuBuffer, espPtxPath, gatherJobs, queueDtoH, queueHtoD, scatterJobs, setEspArgs, type EspGpuBuffer } from './gpu.js';
import { kernelKeyTable } from './keys.js';

interface State {
  gw: EspGateway;
  jobs: EspJobs;
  crypto: CpuCrypto | undefined;
  dKeys: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `ctx.defineCounters` from nflib (counters in the summary line), or private counters on an older nflib. */
type WithCounters = { defineCounters?: (names: readonly string[]) => Float64Array };

/** The IPsec gateway as a framework NF. */
export const ipsecNf = defineNf<State, EspGpuBuffer>({
  name: 'ipsec',
  kernel: { module: espPtxPath(), entry: ESP_KERNEL_ENTRY },
  // A launch takes about 0.5 ms at 1400 B on an H200 whatever its size (one packet per thread), so
  // under load batches grow to this; 3 of them in flight fit the manager's default 4096 packets.
  maxBatch: 1024,
  readSet: { pre: ['eth', 'ip', 'payload'], gpu: ['esp'], post: ['esp'] },
  writeSet: { pre: ['eth', 'ip', 'esp', 'meta.length'], gpu: ['esp'], post: ['eth', 'ip', 'meta.length', 'meta.action', 'meta.destination'] },
  init(env) {
    const cfg = parseIpsecConfig(env.config, env.ctx.configSource, readText);
    const names = counterNames(cfg);
    const gw = new EspGateway(cfg, (env.ctx as WithCounters).defineCounters?.(names));
    let crypto: CpuCrypto | undefined;
    let dKeys = 0;
    if (env.device) {
      const keys = kernelKeyTable(gw.sas);
      dKeys = env.device.malloc(keys.byteLength);
      env.device.memcpyHtoD(dKeys, keys, 0, keys.byteLength);
      keys.fill(0);
    } else {
      const c = cpuCrypto(cfg.cpuCrypto, gw.sas, env.burst, env.ctx.pool.slotSize);
      console.error(`gnet: NF ipsec: ${c.note}`);
      crypto = c.crypto;
    }
    return { gw, jobs: new EspJobs(env.burst), crypto, dKeys };
  },
  initHostBuf(rt) {
    return allocEspGpuBuffer(rt.device!, rt.burst, rt.ctx.pool.slotSize, new EspJobs(rt.burst));
  },
  pre(batch, buf, rt) {
    rt.state.gw.prepare(batch, buf.jobs);
    gatherJobs(batch, buf);
  },
  htod(batch, buf, rt) {
    queueHtoD(rt.stream!, buf, batch.count);
  },
  setArg(args, batch, buf, rt) {
    return setEspArgs(args, rt.state.dKeys, buf, batch.count);
  },
  dtoh(batch, buf, rt) {
    queueDtoH(rt.stream!, buf, batch.count);
  },
  post(batch, buf, rt) {
    scatterJobs(batch, buf);
    rt.state.gw.finish(batch, buf.jobs);
  },
  cpu(batch, rt) {
    const { gw, jobs, crypto } = rt.state;
    if (gw.prepare(batch, jobs) > 0) crypto!.run(jobs, batch);
    gw.finish(batch, jobs);
  },
});

// Started on import (a top-level await would not build as CommonJS); a failure ends the worker.
void startNf(ipsecNf);
