import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { CudaError, GpuDevice, KernelArgs, gpuInfo, hostCompiler } from '../src/index.js';
import { lpmOnDevice } from './gpu-lpm-suite.js';

// The GPU backend on a machine without a GPU: a stand-in libcuda (test/fixtures/fake-libcuda.cc)
// loaded through GNET_CUDA_LIBRARY before this process opens the driver (each test file runs in its
// own process). It proves the dlopen of every entry point, PTX loading, the kernelParams handed to
// cuLaunchKernel, event-based completion and the mapping of CUDA errors; the real GPU runs the same
// lpm suite in gpu-cuda.test.ts.
const root = join(__dirname, '..', '..', '..');
const cxx = hostCompiler();
const dir = mkdtempSync(join(tmpdir(), 'gnet-fakecuda-'));
const log = join(dir, 'launches.log');
if (cxx) {
  const lib = join(dir, 'libcuda-fake.so');
  execFileSync(cxx, ['-std=c++17', '-O1', '-fPIC', '-shared', '-o', lib, join(__dirname, 'fixtures', 'fake-libcuda.cc')]);
  process.env.GNET_CUDA_LIBRARY = lib;
  process.env.FAKE_CUDA_LOG = log;
  delete process.env.GNET_CUDA_DISABLE;
} else {
  console.log('skipped fake-driver tests of the GPU backend: no host C++ compiler (install g++ or set CXX)');
}

const ptxFile = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe.skipIf(!cxx)('GPU backend over a stand-in driver', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves every driver entry point through GNET_CUDA_LIBRARY', () => {
    const info = gpuInfo();
    expect(info.reason).toBeUndefined();
    expect(info.available).toBe(true);
    expect(info.devices[0]).toMatchObject({ name: 'gnet fake GPU', smCount: 132, computeCapability: '9.0', totalMem: 2 ** 30 });
  });

  it('auto opens the GPU, and the router kernel runs end to end through the backend', () => {
    const dev = GpuDevice.open({ mode: 'auto' });
    expect(dev.mode).toBe('gpu');
    expect(dev.reason).toBeUndefined();
    expect(dev.name).toBe('gnet fake GPU');
    expect(dev.emulatorThreads).toBe(0);
    lpmOnDevice(dev, dev.loadModule(join(root, 'packages/nf-router/kernels/lpm.ptx')));
  });

  it('makes named shared allocations with the driver, zeroed, one per name', () => {
    const dev = GpuDevice.open();
    const d = dev.sharedMalloc('fake.shared', 1024);
    expect(dev.sharedMalloc('fake.shared', 1024)).toBe(d);
    const back = new Uint8Array(1024).fill(7);
    dev.memcpyDtoH(back, 0, d, 1024);
    expect(back.every((b) => b === 0)).toBe(true);
    const h = dev.sharedHostAlloc('fake.shared.host', 64);
    expect(new Uint8Array(dev.sharedHostAlloc('fake.shared.host', 64).buffer)).toEqual(new Uint8Array(h.buffer));
    expect(() => dev.free(d)).toThrow(expect.objectContaining({ code: 'GNET_BAD_POINTER' }));
  });

  it('hands cuLaunchKernel each argument in the layout the PTX declares', () => {
    const dev = GpuDevice.open();
    const mod = dev.loadModule(
      ptxFile(
        'args.ptx',
        `.version 9.0
.target sm_80
.address_size 64
.visible .entry gnet_test_args(
	.param .u64 .ptr .global .align 4 gnet_test_args_param_0,
	.param .u32 gnet_test_args_param_1,
	.param .f32 gnet_test_args_param_2,
	.param .u64 gnet_test_args_param_3,
	.param .align 16 .b8 gnet_test_args_param_4[16],
	.param .u8 gnet_test_args_param_5
)
{
	ret;
}
`,
      ),
    );
    const d = dev.malloc(64);
    const args = new KernelArgs().ptr(d + 16).u32(0xdeadbeef).f32(1.5).u64(0x0102030405060708n).bytes(new Uint32Array([1, 2, 3, 4]), 16).u8(0x7f);
    const s = dev.stream(2);
    writeFileSync(log, '');
    s.launch(mod, 'gnet_test_args', { grid: [3, 2], block: [32, 4], sharedMem: 128 }, args).synchronize();
    const le64 = (v: number) => Buffer.from(new BigUint64Array([BigInt(v)]).buffer).toString('hex');
    expect(readFileSync(log, 'utf8').trim()).toBe(
      `launch gnet_test_args grid=3,2,1 block=32,4,1 shmem=128 params=${le64(d + 16)},efbeadde,0000c03f,0807060504030201,` +
        `01000000020000000300000004000000,7f`,
    );
    // The PTX signature is what a launch is checked against, as the host module's on the emulated device.
    expect(() => dev.launch(mod, 'gnet_test_args', { grid: 1, block: 1 }, new KernelArgs().ptr(d).u32(1).f32(1).u32(1).bytes(new Uint8Array(16), 16).u8(1))).toThrow(
      expect.objectContaining({ code: 'GNET_BAD_ARGS', message: expect.stringContaining('argument 3 of gnet_test_args is 8 bytes, got u32') }),
    );
    dev.free(d);
  });

  it('CUDA errors name the call, the code and its enum name', () => {
    const dev = GpuDevice.open();
    let err: unknown;
    try {
      dev.malloc(2 ** 31);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CudaError);
    expect(err).toMatchObject({ call: 'cuMemAlloc_v2', result: 2, code: 'CUDA_ERROR_OUT_OF_MEMORY' });
    expect((err as Error).message).toMatch(/^cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY \(2\)/);
    // 218 is a code this driver cannot name: gnet's own table does, and the JIT log is kept.
    expect(() => dev.loadModule(ptxFile('bad.ptx', '.version 9.0\n'))).toThrow(
      expect.objectContaining({ call: 'cuModuleLoadDataEx', result: 218, code: 'CUDA_ERROR_INVALID_PTX', message: expect.stringContaining('no entry in this image') }),
    );
    const lpm = dev.loadModule(join(root, 'packages/nf-router/kernels/lpm.ptx'));
    expect(() => lpm.kernel('nope')).toThrow(expect.objectContaining({ code: 'GNET_UNKNOWN_ENTRY' }));
    expect(() => dev.loadModule(join(dir, 'k.host.so'))).toThrow(expect.objectContaining({ code: 'GNET_MODULE_LOAD' }));
    expect(() => dev.loadModule(join(dir, 'missing.ptx'))).toThrow(expect.objectContaining({ code: 'GNET_MODULE_LOAD' }));
  });

  it('times a stream with events', () => {
    const dev = GpuDevice.open();
    const s = dev.stream(3);
    const start = dev.recordStart(s);
    expect(dev.elapsed(start, s)).toBeGreaterThanOrEqual(0);
    start.destroy();
  });

  it('an asynchronous fault surfaces at the next wait as a CudaError, once', () => {
    const dev = GpuDevice.open();
    const mod = dev.loadModule(ptxFile('fault.ptx', '.visible .entry gnet_test_fault(\n)\n{\n\tret;\n}\n'));
    const s = dev.stream(4);
    const ticket = s.launch(mod, 'gnet_test_fault', { grid: 1, block: 1 }, new KernelArgs()).submit();
    expect(ticket).toBe(1); // issuing succeeded: the fault comes later, as on a GPU
    let err: unknown;
    try {
      s.wait(ticket);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'CudaError', call: 'cuEventSynchronize', result: 700, code: 'CUDA_ERROR_ILLEGAL_ADDRESS' });
    expect((err as Error).message).toContain('illegal memory access');
    expect((err as Error).message).toContain('stream of client 4');
  });
});

describe.skipIf(!cxx)('one device per process at a time, switched once no thread has it open', () => {
  it('a closed gpu device gives way to the emulated one and back; while another thread holds one, the other mode is refused', async () => {
    GpuDevice.open().close(); // the gpu device the tests above left open in this thread
    const em = GpuDevice.open({ mode: 'emulated' });
    expect(em.mode).toBe('emulated');
    const d = em.malloc(64);
    em.memcpyHtoD(d, new Uint8Array(64).fill(9), 0, 64);
    const back = new Uint8Array(64);
    em.memcpyDtoH(back, 0, d, 64);
    expect(back.every((b) => b === 9)).toBe(true);
    em.close();

    // Another thread opens the emulated device and keeps it: gpu mode is refused until it lets go.
    const dist = pathToFileURL(join(root, 'packages/manager-native/dist/index.js')).href;
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(dist)}).then(({ GpuDevice }) => {
         GpuDevice.open({ mode: 'emulated' });
         parentPort.postMessage('open');
         parentPort.once('message', () => process.exit(0));
       });`,
      { eval: true },
    );
    await once(w, 'message');
    expect(() => GpuDevice.open({ mode: 'gpu' })).toThrow(/already open in emulated mode by 1 thread/);
    expect(GpuDevice.open({ mode: 'auto' }).mode).toBe('emulated'); // auto shares what is open
    GpuDevice.open().close();
    w.postMessage('exit');
    await once(w, 'exit');
    const g = GpuDevice.open({ mode: 'gpu' });
    expect(g.mode).toBe('gpu');
    expect(g.name).toBe('gnet fake GPU');
    g.close();
  });
});
