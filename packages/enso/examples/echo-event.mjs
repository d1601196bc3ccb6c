// Enso's echo_event: like echo, but the device's notifications say which RX/TX pipe has data
// (nextRxTxPipeToRecv) instead of polling every pipe.
//
//   node examples/echo-event.mjs [--port SPEC] [--queues N] [--cycles N] [--seconds S]
import { Device, ipv4ToNumber } from '@gnet/enso';
import { busy, cli, exitWithUsage, runLoop, Stats } from './common.mjs';

const USAGE = 'usage: node examples/echo-event.mjs [--port SPEC] [--queues N] [--cycles N] [--seconds S]';
const { values } = cli(USAGE, { cycles: { type: 'string', default: '0' } });
if (values.help) exitWithUsage(USAGE, 0);

const dev = await Device.create({ ports: [values.port] });
for (let i = 0; i < Number(values.queues); i++) {
  dev.allocateRxTxPipe(true).bind(5000, 0, ipv4ToNumber('192.168.0.0') + i, 0, 17);
}
const cycles = Number(values.cycles);
const stats = new Stats();

const total = runLoop(Number(values.seconds), stats, () => {
  const pipe = dev.nextRxTxPipeToRecv();
  if (pipe === null) return;
  const batch = pipe.peekPkts();
  const buf = batch.buf;
  for (let o = batch.first(); o >= 0; o = batch.next()) {
    buf[o + 63]++;
    if (cycles > 0) busy(cycles);
    stats.pkts++;
  }
  const len = batch.processedBytes;
  pipe.confirmBytes(len);
  stats.bytes += len;
  stats.batches++;
  pipe.sendAndFree(len);
});
console.log(JSON.stringify({ example: 'echo-event', ...total, nic: dev.nic.stats() }));
await dev.close();
