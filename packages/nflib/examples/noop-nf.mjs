// The smallest gnet NF: receives batches and passes every packet to the next service (NEXT).
// Run it: gnet run --chain examples/noop-nf.mjs --in gen:count=1000000 --out pcap:out.pcap --stats
import { init, run } from '@gnet/nflib';

const ctx = init({ tag: 'noop' });
await run(ctx, () => {
  // Every action starts as NEXT: nothing to do.
});
