// The router's LPM kernel end to end on a device: tables and addresses copied in, one batch per
// round on a stream (pinned HtoD, launch, DtoH, one submit), results checked against a plain
// longest-prefix match. Shared by the GPU test and the fake-driver test of the GPU backend.
import { expect } from 'vitest';
import { KernelArgs, type GpuDevice, type GpuModule } from '../src/index.js';
import { buildLpm, randomAddresses, randomRoutes, referenceLookup } from './lpm-fixture.js';

export function lpmOnDevice(dev: GpuDevice, lpm: GpuModule, n = 10_000, rounds = 2): void {
  const routes = randomRoutes(200, 21);
  const t = buildLpm(routes);
  const d24 = dev.malloc(t.tbl24.byteLength);
  const d8 = dev.malloc(t.tbl8.byteLength);
  const dAddrs = dev.malloc(n * 4);
  const dHops = dev.malloc(n * 4);
  dev.memcpyHtoD(d24, t.tbl24, 0, t.tbl24.byteLength);
  dev.memcpyHtoD(d8, t.tbl8, 0, t.tbl8.byteLength);
  const hIn = dev.hostAlloc(n * 4);
  const hOut = dev.hostAlloc(n * 4);
  const s = dev.stream(1);
  const args = new KernelArgs();
  for (let round = 0; round < rounds; round++) {
    const addrs = randomAddresses(routes, n, 50 + round);
    new Uint32Array(hIn.buffer).set(addrs);
    args.reset().ptr(d24).ptr(d8).ptr(dAddrs).ptr(dHops).u32(n);
    const ticket = s
      .htod(dAddrs, hIn.buffer, 0, n * 4)
      .launch(lpm, 'gnet_lpm_lookup', { grid: Math.ceil(n / 256), block: 256 }, args)
      .dtoh(hOut.buffer, 0, dHops, n * 4)
      .submit();
    s.wait(ticket);
    expect(s.done(ticket)).toBe(true);
    const hops = new Int32Array(hOut.buffer);
    for (let i = 0; i < n; i++) if (hops[i] !== referenceLookup(routes, addrs[i])) expect.fail(`round ${round}, address ${i}: ${hops[i]}`);
  }
  for (const p of [d24, d8, dAddrs, dHops, hIn.ptr, hOut.ptr]) dev.free(p);
}
