// Enso's capture: receives packets on fallback pipes and saves them to a pcap file, keeping each
// packet's length and receive timestamp. The file is written by a second NIC port (`pcap:OUT`,
// transmit only) fed by a TX pipe.
//
//   node examples/capture.mjs OUT.pcap [--port SPEC] [--count N] [--queues N] [--seconds S]
import { Device } from '@gnet/enso';
import { cli, exitWithUsage, runLoop, Stats } from './common.mjs';

const USAGE = 'usage: node examples/capture.mjs OUT.pcap [--port SPEC] [--count N] [--queues N] [--seconds S]';
const { values, positionals } = cli(USAGE, { count: { type: 'string', default: '0' } });
if (values.help || positionals.length !== 1) exitWithUsage(USAGE, values.help ? 0 : 1);

const dev = await Device.create({ ports: [{ spec: values.port, role: 'rx' }, { spec: `pcap:${positionals[0]}`, role: 'tx' }] });
const pipes = [];
for (let i = 0; i < Number(values.queues); i++) pipes.push(dev.allocateRxPipe(true));
const out = dev.allocateTxPipe({ port: 1 });
const limit = Number(values.count) || Infinity;
const stats = new Stats();

const total = runLoop(Number(values.seconds), stats, () => {
  for (const rx of pipes) {
    if (stats.pkts >= limit) break;
    const batch = rx.recvPkts(Math.min(limit - stats.pkts, 2 ** 31 - 1));
    if (batch.availableBytes === 0) continue;
    let n = 0;
    for (let o = batch.first(); o >= 0; o = batch.next()) n++;
    const len = batch.processedBytes;
    out.allocateBuf(len);
    out.copyBatch(batch, len);
    rx.clear();
    out.sendAndFree(len);
    stats.pkts += n;
    stats.bytes += len;
    stats.batches++;
  }
  // Done at the packet limit, or when the input is used up and the pipes are drained.
  if (stats.pkts >= limit) return false;
  if (dev.nic.exhausted && pipes.every((rx) => rx.peek() === 0)) return false;
  return true;
});
console.log(JSON.stringify({ example: 'capture', file: positionals[0], ...total, nic: dev.nic.stats() }));
await dev.close();
