// The NF: framework hooks in one short file. This one counts frames by kind and passes them on
// (NEXT: out on port 1 at the end of the chain), dropping runts. Add a kernel (kernels/*.cu,
// `kernel`, `initHostBuf`, `pre`/`htod`/`setArg`/`dtoh`/`post`) when the work is worth a GPU.
import { defineNf, startNf } from '@gnet/framework';
import { Action } from '@gnet/nflib';
import { classify, Counter, COUNTER_NAMES } from './index.js';

const nf = defineNf({
  name: 'empty',
  init(env) {
    return { counters: env.ctx.defineCounters(COUNTER_NAMES) };
  },
  cpu(batch, rt) {
    const counters = rt.state.counters;
    for (let i = 0; i < batch.count; i++) {
      const kind = classify(batch.data, batch.offsets[i], batch.lengths[i]);
      counters[kind]++;
      if (kind === Counter.RUNT) batch.action[i] = Action.DROP;
    }
  },
});

// Not awaited: the CJS build cannot have a top-level await (workers start the ESM build).
void startNf(nf);
