/**
 * The NAT as a framework NF (`gnet run --chain nat`). cpu mode: each batch is translated by the
 * engine on the CPU. gpu/emulated mode: the flow-table lookup of each packet's session key runs on
 * the device over a copy of the table (`kernels/nat.cu`), and the CPU translates in `post`, using the
 * device's slot after checking it against the key; creation, expiry and rewriting stay on the CPU.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { defineNf, startNf } from '@gnet/framework';
import type { DevicePtr } from '@gnet/manager-native';
import { parseNatConfig } from './config.js';
import { CHUNK_SLOTS, SLOT_WORDS } from './flow-table.js';
import { NAT_COUNTERS, NatEngine } from './nat.js';

const PTX = fileURLToPath(new URL('../kernels/nat.ptx', import.meta.url));

interface State {
  nat: NatEngine;
  dTable: DevicePtr;
}

interface Buf {
  queries: Uint32Array;
  slots: Int32Array;
  dQueries: DevicePtr;
  dSlots: DevicePtr;
}

const nf = defineNf<State, Buf>({
  name: 'nat',
  kernel: { module: PTX, entry: 'gnet_nat_lookup' },
  readSet: { pre: ['eth.type', 'ip', 'l4.ports'], post: ['eth', 'ip', 'l4'] },
  writeSet: { pre: ['nat.query'], gpu: ['nat.slot'], post: ['eth', 'ip', 'l4', 'meta.action', 'meta.destination'] },
  init(env) {
    const nat = new NatEngine(parseNatConfig(env.config, env.ctx.configSource));
    // Named counters (nflib): the engine counts straight into the shared block.
    nat.counters = env.ctx.defineCounters(NAT_COUNTERS);
    if (!env.device) return { nat, dTable: 0 };
    const slots = nat.table.slots;
    const dTable = env.device.malloc(slots.byteLength);
    env.device.memcpyHtoD(dTable, slots, 0, slots.byteLength);
    nat.table.takeDirty();
    return { nat, dTable };
  },
  initHostBuf(rt) {
    const dev = rt.device as NonNullable<typeof rt.device>;
    return {
      queries: new Uint32Array(dev.hostAlloc(rt.burst * 16).buffer),
      slots: new Int32Array(dev.hostAlloc(rt.burst * 4).buffer),
      dQueries: dev.malloc(rt.burst * 16),
      dSlots: dev.malloc(rt.burst * 4),
    };
  },
  pre(batch, buf, rt) {
    const nat = rt.state.nat;
    for (let i = 0; i < batch.count; i++) nat.keyOf(batch.view, batch.data, batch.offsets[i], batch.lengths[i], batch.port[i], buf.queries, i * 4);
  },
  htod(batch, buf, rt) {
    // Keep the device copy coherent: re-send the chunks of the table changed since the last batch.
    const t = rt.state.nat.table;
    const stream = rt.stream as NonNullable<typeof rt.stream>;
    for (let k = 0; k < t.dirtyCount; k++) {
      const bytes = CHUNK_SLOTS * SLOT_WORDS * 4;
      const byteOff = t.dirtyList[k] * bytes;
      stream.htod(rt.state.dTable + byteOff, t.slots, byteOff, Math.min(bytes, t.slots.byteLength - byteOff));
    }
    t.takeDirty();
    stream.htod(buf.dQueries, buf.queries, 0, batch.count * 16);
  },
  setArg(args, batch, buf, rt) {
    args.ptr(rt.state.dTable).u32(rt.state.nat.table.capacity).ptr(buf.dQueries).ptr(buf.dSlots).u32(batch.count);
    return { grid: Math.max(1, Math.ceil(batch.count / 128)), block: 128 };
  },
  dtoh(batch, buf, rt) {
    (rt.stream as NonNullable<typeof rt.stream>).dtoh(buf.slots, 0, buf.dSlots, batch.count * 4);
  },
  post(batch, buf, rt) {
    rt.state.nat.tick(performance.now() / 1000);
    rt.state.nat.processBatch(batch, buf.slots, buf.queries); // the keys pre made
  },
  cpu(batch, rt) {
    rt.state.nat.tick(performance.now() / 1000);
    rt.state.nat.processBatch(batch);
  },
});

await startNf(nf);
