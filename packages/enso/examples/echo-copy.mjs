// Enso's echo_copy: an RX pipe and a TX pipe per queue; received batches are copied into the TX
// pipe (bytes, lengths and timestamps) and sent, then the RX pipe is cleared.
//
//   node examples/echo-copy.mjs [--port SPEC] [--queues N] [--cycles N] [--seconds S]
import { Device, ipv4ToNumber } from '@gnet/enso';
import { busy, cli, exitWithUsage, runLoop, Stats } from './common.mjs';

const USAGE = 'usage: node examples/echo-copy.mjs [--port SPEC] [--queues N] [--cycles N] [--seconds S]';
const { values } = cli(USAGE, { cycles: { type: 'string', default: '0' } });
if (values.help) exitWithUsage(USAGE, 0);

const dev = await Device.create({ ports: [values.port] });
const queues = [];
for (let i = 0; i < Number(values.queues); i++) {
  const rx = dev.allocateRxPipe(true);
  rx.bind(5000, 0, ipv4ToNumber('192.168.0.0') + i, 0, 17);
  queues.push({ rx, tx: dev.allocateTxPipe() });
}
const cycles = Number(values.cycles);
const stats = new Stats();

const total = runLoop(Number(values.seconds), stats, () => {
  for (const { rx, tx } of queues) {
    const batch = rx.recvPkts();
    if (batch.availableBytes === 0) continue;
    const buf = batch.buf;
    for (let o = batch.first(); o >= 0; o = batch.next()) {
      buf[o + 63]++;
      if (cycles > 0) busy(cycles);
      stats.pkts++;
    }
    const len = batch.processedBytes;
    stats.bytes += len;
    stats.batches++;
    tx.allocateBuf(len); // waits until the TX pipe has room
    tx.copyBatch(batch, len);
    rx.clear();
    tx.sendAndFree(len);
  }
});
console.log(JSON.stringify({ example: 'echo-copy', ...total, nic: dev.nic.stats() }));
await dev.close();
