/**
 * The firewall NF: 5-tuple ACL classification, first match wins, on the CPU (`cpu` hook) or with
 * `kernels/acl.cu` (`gpu`/`emulated`). Config: `{"firewall": {"rulesFile": "...", ...}}` (see
 * `FirewallConfig`). Accepted packets continue (NEXT); dropped ones are counted by reason.
 * Reload: a message `{type: "reload"}` (re-read `rulesFile`) or `{type: "reload", rules: "<text>"}`
 * through `sendMsgToNf`, or `watch: true` in the config.
 * @module
 */
import { unwatchFile, watchFile } from 'node:fs';
import { defineNf, startNf } from '@gnet/framework';
import type { GpuDevice } from '@gnet/manager-native';
import { KEY_WORDS, type AclTables } from './classifier.js';
import { COUNTER_NAMES, Firewall, readFirewallConfig, type RuleGeneration } from './firewall.js';
import { aclPtxPath } from './kernels.js';

/** Device copies of one generation's tables. */
interface DeviceTables {
  tree: number;
  leaves: number;
  roots: number;
}

function upload(device: GpuDevice, t: AclTables): DeviceTables {
  const put = (a: Int32Array | Uint32Array) => {
    const p = device.malloc(a.byteLength);
    device.memcpyHtoD(p, a, 0, a.byteLength);
    return p;
  };
  return { tree: put(t.tree), leaves: put(t.leaves), roots: put(t.roots) };
}

let firewall: Firewall | undefined;
let instance = 0;

const nf = defineNf({
  name: 'firewall',
  kernel: { module: aclPtxPath(), entry: 'gnet_acl_classify' },
  readSet: { pre: ['eth.type', 'ip', 'l4.ports'], gpu: ['acl.key'], post: ['acl.result'] },
  writeSet: { pre: ['acl.key', 'meta.action'], gpu: ['acl.result'], post: ['meta.action', 'meta.destination'] },
  init(env) {
    // The config section is the NF's tag (`firewall` in `--chain firewall`).
    const config = readFirewallConfig(env.config, env.ctx.configSource, env.ctx.tag);
    const fw = new Firewall(config, env.ctx.defineCounters(COUNTER_NAMES));
    firewall = fw;
    instance = env.ctx.instanceId;
    const state = { fw, dev: env.device ? upload(env.device, fw.gen.classifier.tables) : undefined };
    // The build runs in a worker thread; the swap lands between batches (see reloadInBackground).
    const reload = (text?: string) =>
      void fw.reloadInBackground(text).then((err) => {
        if (err) console.error(`gnet: NF firewall: reload failed, old rules kept: ${err.message}`);
      });
    fw.onSwap = (gen) => {
      if (!env.device || !state.dev) return;
      const old = state.dev;
      state.dev = upload(env.device, gen.classifier.tables);
      // free() waits for the batches still using the old tables.
      for (const p of [old.tree, old.leaves, old.roots]) env.device.free(p);
    };
    env.ctx.onMessage = (msg) => {
      const body = msg.body as { type?: string; rules?: unknown } | null;
      if (body?.type === 'reload') reload(typeof body.rules === 'string' ? body.rules : undefined);
    };
    const file = fw.config.rulesFile;
    if (fw.config.watch && file) {
      watchFile(file, { interval: fw.config.watchIntervalMs, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) reload();
      });
    }
    return state;
  },
  initHostBuf(rt, _slot) {
    const device = rt.device as GpuDevice;
    const n = rt.burst;
    return {
      keys: new Uint32Array(device.hostAlloc(n * KEY_WORDS * 4).buffer),
      results: new Int32Array(device.hostAlloc(n * 4).buffer),
      status: new Uint8Array(n),
      dKeys: device.malloc(n * KEY_WORDS * 4),
      dResults: device.malloc(n * 4),
      // The generation this buffer's batch was classified with, so post applies its actions.
      gen: undefined as RuleGeneration | undefined,
    };
  },
  pre(batch, buf, rt) {
    rt.state.fw.prepare(batch, buf.keys, buf.status);
    buf.gen = rt.state.fw.gen;
  },
  htod(batch, buf, rt) {
    rt.stream?.htod(buf.dKeys, buf.keys, 0, batch.count * KEY_WORDS * 4);
  },
  setArg(args, batch, buf, rt) {
    const d = rt.state.dev as DeviceTables;
    args.ptr(d.tree).ptr(d.leaves).ptr(d.roots).ptr(buf.dKeys).ptr(buf.dResults).u32(batch.count);
    return { grid: Math.max(1, Math.ceil(batch.count / 128)), block: 128 };
  },
  dtoh(batch, buf, rt) {
    rt.stream?.dtoh(buf.results, 0, buf.dResults, batch.count * 4);
  },
  post(batch, buf, rt) {
    rt.state.fw.apply(batch, buf.status, buf.results, buf.gen as RuleGeneration);
  },
  cpu(batch, rt) {
    rt.state.fw.process(batch);
  },
});

/** Writes the hit counts once the NF stopped (its loop ended). */
function finish(): void {
  if (!firewall) return;
  if (firewall.config.watch && firewall.config.rulesFile) unwatchFile(firewall.config.rulesFile);
  const path = firewall.config.hitsFile;
  // Instance 0 writes hitsFile itself, instance i > 0 writes `<hitsFile>.<i>`.
  if (path) firewall.writeHits(instance === 0 ? path : `${path}.${instance}`);
}

// No top-level await: the package also builds as CommonJS.
startNf(nf).then(finish, (err: unknown) => {
  finish();
  throw err;
});
