/**
 * The router NF (the template to copy): validate IPv4, look up the destination in the DIR-24-8
 * table (on the CPU, or in `kernels/lpm.cu` on the GPU / emulated device), decrement the TTL,
 * rewrite the Ethernet addresses for the next hop and send the frame out of its port.
 * `gnet run --chain router --config cfg.json` starts this module in an NF worker.
 * @module
 */
import { defineNf, startNf } from '@gnet/framework';
import type { DevicePtr } from '@gnet/manager-native';
import { parseRouterConfig, routerSection } from './config.js';
import { Forwarder, ROUTER_COUNTERS } from './forward.js';
import { lpmPtxPath } from './kernels.js';
import { applyRouteUpdate } from './routes.js';

interface State {
  fwd: Forwarder;
  d24: DevicePtr;
  d8: DevicePtr;
}

/** One pipeline buffer: the addresses to look up (compacted), their packet indices, the results. */
interface Buf {
  addrs: Uint32Array;
  hops: Int32Array;
  index: Uint16Array;
  n: number;
  dAddrs: DevicePtr;
  dHops: DevicePtr;
}

/** The router as a framework NF. */
export const routerNf = defineNf<State, Buf>({
  name: 'router',
  kernel: { module: lpmPtxPath(), entry: 'gnet_lpm_lookup' },
  readSet: { pre: ['eth.type', 'ip.header'], post: ['eth.type'] },
  writeSet: { pre: ['lpm.addr', 'meta.action'], gpu: ['lpm.hop'], post: ['eth.dst', 'eth.src', 'ip.ttl', 'ip.checksum', 'meta.action', 'meta.destination'] },
  init(env) {
    const config = parseRouterConfig(routerSection(env.config, env.ctx.configSource));
    // Drop reasons and non-IPv4 counts: in the summary line under nfs.router.counters.
    const fwd = new Forwarder(config, env.ctx.defineCounters(ROUTER_COUNTERS));
    // Route changes at run time: {route: 'add' | 'delete', prefix, nexthop} messages.
    env.ctx.onMessage = (msg) => void applyRouteUpdate(fwd.lpm, msg.body);
    if (!env.device) return { fwd, d24: 0, d8: 0 };
    // The table goes to the device once; later changes go as their dirty ranges (see htod).
    const { tbl24, tbl8 } = fwd.lpm;
    const d24 = env.device.malloc(tbl24.byteLength);
    const d8 = env.device.malloc(tbl8.byteLength);
    env.device.memcpyHtoD(d24, tbl24, 0, tbl24.byteLength);
    env.device.memcpyHtoD(d8, tbl8, 0, tbl8.byteLength);
    fwd.lpm.takeDirty();
    return { fwd, d24, d8 };
  },
  initHostBuf(rt) {
    const bytes = rt.burst * 4;
    return {
      addrs: new Uint32Array(rt.device!.hostAlloc(bytes).buffer),
      hops: new Int32Array(rt.device!.hostAlloc(bytes).buffer),
      index: new Uint16Array(rt.burst),
      n: 0,
      dAddrs: rt.device!.malloc(bytes),
      dHops: rt.device!.malloc(bytes),
    };
  },
  pre(batch, buf, rt) {
    buf.n = rt.state.fwd.classifyBatch(batch, buf.addrs, buf.index);
  },
  htod(batch, buf, rt) {
    const { fwd, d24, d8 } = rt.state;
    const stream = rt.stream!;
    // Route updates since the last batch, queued before this batch's launch on the same stream.
    const d = fwd.lpm.takeDirty();
    if (d.tbl24To > d.tbl24From) stream.htod(d24 + d.tbl24From * 4, fwd.lpm.tbl24, d.tbl24From * 4, (d.tbl24To - d.tbl24From) * 4);
    if (d.tbl8To > d.tbl8From) stream.htod(d8 + d.tbl8From * 4, fwd.lpm.tbl8, d.tbl8From * 4, (d.tbl8To - d.tbl8From) * 4);
    if (buf.n > 0) stream.htod(buf.dAddrs, buf.addrs, 0, buf.n * 4);
  },
  setArg(args, batch, buf, rt) {
    args.ptr(rt.state.d24).ptr(rt.state.d8).ptr(buf.dAddrs).ptr(buf.dHops).u32(buf.n);
    return { grid: Math.max(1, Math.ceil(buf.n / 256)), block: 256 };
  },
  dtoh(batch, buf, rt) {
    if (buf.n > 0) rt.stream!.dtoh(buf.hops, 0, buf.dHops, buf.n * 4);
  },
  post(batch, buf, rt) {
    rt.state.fwd.forwardBatch(batch, buf.hops, buf.index, buf.n);
  },
  cpu(batch, rt) {
    rt.state.fwd.routeBatch(batch);
  },
});

// Started on import (a top-level await would not build as CommonJS); a failure ends the worker.
void startNf(routerNf);
