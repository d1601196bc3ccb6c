// Context for the router NF's end-to-end benchmark: an nflib NF that writes one byte of each packet
// (the same value back) and does nothing else. Its rate is the manager, the rings and the ports
// plus what it costs for the packet's first cache line to go to the NF's core and back, which
// every NF that rewrites headers pays, however fast its own code is.
import { init, run } from '@gnet/nflib';

const ctx = init({ tag: 'touch' });
await run(ctx, (batch) => {
  const d = batch.data;
  for (let i = 0; i < batch.count; i++) {
    d[batch.offsets[i]] ^= 0;
  }
});
