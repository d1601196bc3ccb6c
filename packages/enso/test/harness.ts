// Shared setup for the device tests: a Device on one end of a mem pair, the test holding the other
// end (`wire`) to inject frames and collect what the device sends.
import { expect } from 'vitest';
import { createMemPair, type MemBackend } from '../src/backends/mem.js';
import type { FrameSink } from '../src/backends/types.js';
import { Device, type DeviceOptions } from '../src/device.js';

/** A device plus the far end of its port. */
export interface Rig {
  dev: Device;
  wire: MemBackend;
}

/** A device with small pipes on a fresh mem pair. */
export async function rig(options: DeviceOptions = {}, queueBytes = 1 << 16): Promise<Rig> {
  const [port, wire] = createMemPair('', { queueBytes });
  const dev = await Device.create({ ports: [port], pipeSize: 8192, txPipeSize: 8192, ...options });
  return { dev, wire };
}

/** Sends frames from the far end into the device's port. */
export function inject(wire: MemBackend, ...frames: Uint8Array[]): void {
  for (const f of frames) expect(wire.send(f, 0, f.length, -1, 0)).toBe(true);
}

/** A received frame with its timestamp. */
export interface Got {
  bytes: Uint8Array;
  tsSec: number;
  tsNsec: number;
}

/** Takes every frame the device sent out of the far end. */
export function collect(wire: MemBackend): Got[] {
  const got: Got[] = [];
  const sink: FrameSink = {
    push(buf, offset, length, tsSec, tsNsec) {
      got.push({ bytes: buf.slice(offset, offset + length), tsSec, tsNsec });
      return true;
    },
  };
  while (wire.poll(sink, 1024) > 0);
  return got;
}

/** Offsets and lengths of the packets of a batch (walks it). */
export function walk(batch: { first(): number; next(): number; length(o: number): number }): [number, number][] {
  const out: [number, number][] = [];
  for (let o = batch.first(); o >= 0; o = batch.next()) out.push([o, batch.length(o)]);
  return out;
}
