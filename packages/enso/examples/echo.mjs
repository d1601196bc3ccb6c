// Enso's echo: RX/TX pipes receive packets, bump a payload byte in place and send them back out.
//
//   node examples/echo.mjs [--port SPEC] [--queues N] [--cycles N] [--seconds S]
//
// Each pipe is a fallback pipe (so any traffic is echoed) and is also bound, as in Enso, to UDP
// port 5000 of 192.168.0.<i>. The default port generates UDP traffic to those addresses.
import { Device, ipv4ToNumber } from '@gnet/enso';
import { busy, cli, exitWithUsage, runLoop, Stats } from './common.mjs';

const USAGE = 'usage: node examples/echo.mjs [--port SPEC] [--queues N] [--cycles N] [--seconds S]';
const { values } = cli(USAGE, { cycles: { type: 'string', default: '0' } });
if (values.help) exitWithUsage(USAGE, 0);

const dev = await Device.create({ ports: [values.port] });
const pipes = [];
for (let i = 0; i < Number(values.queues); i++) {
  const pipe = dev.allocateRxTxPipe(true);
  pipe.bind(5000, 0, ipv4ToNumber('192.168.0.0') + i, 0, 17);
  pipes.push(pipe);
}
const cycles = Number(values.cycles);
const stats = new Stats();

const total = runLoop(Number(values.seconds), stats, () => {
  for (const pipe of pipes) {
    const batch = pipe.peekPkts();
    if (batch.availableBytes === 0) continue;
    const buf = batch.buf;
    for (let o = batch.first(); o >= 0; o = batch.next()) {
      buf[o + 63]++; // touch the payload
      if (cycles > 0) busy(cycles);
      stats.pkts++;
    }
    const len = batch.processedBytes;
    pipe.confirmBytes(len);
    stats.bytes += len;
    stats.batches++;
    pipe.sendAndFree(len);
  }
});
console.log(JSON.stringify({ example: 'echo', ...total, nic: dev.nic.stats() }));
await dev.close();
