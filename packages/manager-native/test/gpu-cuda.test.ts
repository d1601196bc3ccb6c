import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuDevice, gpuInfo } from '../src/index.js';
import { lpmOnDevice } from './gpu-lpm-suite.js';

// On a machine with a CUDA GPU: the router kernel from its shipped PTX, and kernel timing by events.
const gpu = gpuInfo();
if (!gpu.available) console.log(`skipped GPU tests: ${gpu.reason}`);

describe.skipIf(!gpu.available)('CUDA GPU', () => {
  it('opens the GPU in auto mode', () => {
    const dev = GpuDevice.open({ mode: 'auto' });
    expect(dev.mode).toBe('gpu');
    expect(dev.smCount).toBeGreaterThan(0);
  });

  it('runs the router LPM kernel from lpm.ptx and matches a plain longest-prefix match', () => {
    const dev = GpuDevice.open({ mode: 'gpu' });
    lpmOnDevice(dev, dev.loadModule(join(__dirname, '..', '..', 'nf-router', 'kernels', 'lpm.ptx')), 100_000, 3);
  });

  it('times a memset with events', () => {
    const dev = GpuDevice.open({ mode: 'gpu' });
    const d = dev.malloc(64 << 20);
    const s = dev.stream(2);
    const start = dev.recordStart(s);
    s.memset(d, 1, 64 << 20).submit();
    const ms = dev.elapsed(start, s);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
    start.destroy();
    dev.free(d);
  });
});

describe.skipIf(gpu.available)('without a GPU', () => {
  it('mode gpu fails with the driver\'s reason; auto falls back to the emulated device and says why', () => {
    expect(() => GpuDevice.open({ mode: 'gpu' })).toThrow(
      expect.objectContaining({ name: 'GpuError', code: 'GNET_NO_GPU', message: expect.stringContaining(gpu.reason ?? '') }),
    );
    const dev = GpuDevice.open({ mode: 'auto' });
    expect(dev.mode).toBe('emulated');
    expect(dev.reason).toBe(gpu.reason);
    dev.close();
  });
});
