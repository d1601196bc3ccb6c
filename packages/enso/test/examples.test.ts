// Runs each example briefly as a user would (node, importing the built package) and checks its
// closing JSON line. The examples' default port is the generator, so no network is needed.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = new URL('../examples/', import.meta.url).pathname;
const built = existsSync(new URL('../dist/index.js', import.meta.url));
if (!built) console.log('examples test skipped: @gnet/enso is not built (run `npx tsup` in packages/enso)');

async function example(name: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [join(dir, `${name}.mjs`), ...args], { timeout: 20_000 });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

describe.skipIf(!built)('examples', () => {
  for (const name of ['echo', 'echo-copy', 'echo-event', 'l2-forward']) {
    it(`${name} moves packets with nothing dropped`, async () => {
      const out = await example(name, '--seconds', '0.3', '--queues', '2');
      expect(out.pkts as number).toBeGreaterThan(0);
      expect(out.nic).toMatchObject({ rxNoPipe: 0, rxPipeFull: 0, txDropped: 0, txInvalid: 0 });
    });
  }

  it('capture writes a pcap file of the received packets', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'enso-capture-'));
    try {
      const file = join(tmp, 'out.pcap');
      const out = await example('capture', file, '--count', '500', '--seconds', '5');
      expect(out.pkts).toBe(500);
      expect(statSync(file).size).toBe(24 + 500 * (16 + 64));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('ensogen sends at a limited rate and measures the RTT of what comes back', async () => {
    const out = await example('ensogen', '1', '100', '--count', '20000', '--rtt', '--seconds', '10');
    expect(out).toMatchObject({ txPkts: 20032, rxPkts: 20032 });
    expect(out.meanRttUs as number).toBeGreaterThan(0);
    // 1/100 of 200e6 flits/s caps 64-byte packets at 2 Mpps.
    expect(out.txMpps as number).toBeLessThan(2.2);
  });
});
