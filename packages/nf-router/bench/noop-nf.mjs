// The peer of the router NF's end-to-end benchmark: an nflib NF that does nothing (every packet
// keeps its default action, NEXT, and leaves on the chain's output port), so its rate is the cost of
// the manager, the rings and the ports alone.
import { init, run } from '@gnet/nflib';

const ctx = init({ tag: 'noop' });
await run(ctx, () => {});
