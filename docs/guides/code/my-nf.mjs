// my-nf.mjs: a TTL guard. IPv4 packets whose TTL would expire are dropped and counted; the others
// leave with TTL - 1 and the header checksum patched (RFC 1624); other frames pass unchanged.
import { defineNf, startNf } from '@gnet/framework';
import { Action, checksumAdjust16 } from '@gnet/nflib';

const EXPIRED = 0; // indexes into the NF's named counters
const NOT_IPV4 = 1;

const nf = defineNf({
  name: 'ttl-guard',
  init(env) {
    // Named counters: summed over instances in the summary line (nfs["ttl-guard"].counters).
    return { counters: env.ctx.defineCounters(['ttl_expired', 'not_ipv4']) };
  },
  cpu(batch, rt) {
    const { data, view, offsets, lengths, action } = batch;
    const counters = rt.state.counters;
    for (let i = 0; i < batch.count; i++) {
      const o = offsets[i];
      if (lengths[i] < 34 || view.getUint16(o + 12) !== 0x0800) {
        counters[NOT_IPV4]++; // the action stays NEXT: out on port 1
        continue;
      }
      const ttl = data[o + 22];
      if (ttl <= 1) {
        action[i] = Action.DROP;
        counters[EXPIRED]++;
        continue;
      }
      const before = view.getUint16(o + 22); // TTL and protocol share one 16-bit header word
      data[o + 22] = ttl - 1;
      view.setUint16(o + 24, checksumAdjust16(view.getUint16(o + 24), before, view.getUint16(o + 22)));
    }
  },
});

await startNf(nf);
