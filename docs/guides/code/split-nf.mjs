// split-nf.mjs: the first NF of a two-NF chain. IPv4 goes on to the next NF (NEXT, the default);
// everything else leaves at once on port 2 (OUT with a destination), skipping the rest of the chain.
import { Action, init, run } from '@gnet/nflib';

const ctx = init({ tag: 'split' });
await run(ctx, (batch) => {
  for (let i = 0; i < batch.count; i++) {
    const o = batch.offsets[i];
    if (batch.lengths[i] < 14 || batch.view.getUint16(o + 12) !== 0x0800) {
      batch.action[i] = Action.OUT;
      batch.destination[i] = 2;
    }
  }
});
