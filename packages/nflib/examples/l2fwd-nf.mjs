// An L2 forwarder NF (like DPDK's l2fwd): rewrites the Ethernet source and destination of every
// frame and sends it out of the port it did not come in on (0 <-> 1). A template to copy.
import { Action, init, run, setEthDst, setEthSrc } from '@gnet/nflib';

const ctx = init({ tag: 'l2fwd' });
const cfg = ctx.config ?? {};
const dst = Number.parseInt(String(cfg.dstMac ?? '02:00:00:00:00:02').replaceAll(':', ''), 16);
const src = Number.parseInt(String(cfg.srcMac ?? '02:00:00:00:00:01').replaceAll(':', ''), 16);

await run(ctx, (batch) => {
  for (let i = 0; i < batch.count; i++) {
    const o = batch.offsets[i];
    setEthDst(batch.view, o, dst);
    setEthSrc(batch.view, o, src);
    batch.action[i] = Action.OUT;
    batch.destination[i] = batch.port[i] === 0 ? 1 : 0;
  }
});
