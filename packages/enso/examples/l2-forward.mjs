// Enso's l2_forward: packets from every RX pipe (taken in notification order) are copied into one
// TX pipe with source and destination MAC addresses swapped, and sent.
//
//   node examples/l2-forward.mjs [--port SPEC] [--queues N] [--seconds S]
import { Device } from '@gnet/enso';
import { cli, exitWithUsage, runLoop, Stats } from './common.mjs';

const USAGE = 'usage: node examples/l2-forward.mjs [--port SPEC] [--queues N] [--seconds S]';
const { values } = cli(USAGE);
if (values.help) exitWithUsage(USAGE, 0);

const dev = await Device.create({ ports: [values.port] });
for (let i = 0; i < Number(values.queues); i++) dev.allocateRxPipe(true);
const tx = dev.allocateTxPipe();
const stats = new Stats();

const total = runLoop(Number(values.seconds), stats, () => {
  const rx = dev.nextRxPipeToRecv();
  if (rx === null) return;
  const batch = rx.peekPkts();
  const src = batch.buf;
  let at = tx.allocateBuf(batch.availableBytes);
  const start = at;
  const out = tx.buf;
  for (let o = batch.first(); o >= 0; o = batch.next()) {
    const len = batch.length(o);
    at += tx.writeFrame(at, src, o, len, batch.timestampSec(o), batch.timestampNsec(o));
    // Swap the MACs in the copy: destination <- source, source <- destination.
    const d = at - ((len + 63) & ~63);
    for (let k = 0; k < 6; k++) {
      out[d + k] = src[o + 6 + k];
      out[d + 6 + k] = src[o + k];
    }
    stats.pkts++;
  }
  const len = batch.processedBytes;
  rx.confirmBytes(len);
  stats.bytes += len;
  stats.batches++;
  rx.clear();
  tx.sendAndFree(at - start);
});
console.log(JSON.stringify({ example: 'l2-forward', ...total, nic: dev.nic.stats() }));
await dev.close();
