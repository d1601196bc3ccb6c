/**
 * The GPU device as an NF worker sees it: G-NET's requests (host and device allocation, copies,
 * memset, kernel launches, device and stream synchronisation, event timing, free) served by the
 * process's one GPU proxy, on a CUDA GPU or on the emulated device.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RequestBatch, nativeBuffer } from './batch.js';
import { GpuError, toGpuError } from './errors.js';
import { GpuEvent } from './event.js';
import { HOST_SOURCE_TAG, cachedHostKernel, hostCompiler, hostKernelPath, hostKernelSourceHash } from './host-kernels.js';
import type { KernelArgs } from './kernel-args.js';
import { GpuModule } from './module.js';
import { nativeGpu, type NativeGpu } from './native.js';
import { ptxKernelParams } from './ptx.js';
import { GpuStream } from './stream.js';
import type { DevicePtr, GpuMode, GpuOpenOptions, HostAllocation, HostBuffer, LaunchShape } from './types.js';

/** Where and how to launch a kernel: its geometry and, for an asynchronous launch, the stream. */
export interface LaunchConfig extends LaunchShape {
  /** Queue the launch on this stream and return its ticket; without one the launch runs synchronously. */
  stream?: GpuStream;
}

function call<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw toGpuError(err);
  }
}

let current: GpuDevice | undefined; // this thread's open device

/**
 * The process's GPU (or emulated device), opened from any thread: every thread that opens it shares
 * one CUDA context (or one emulated device), and each NF worker gets its own {@link GpuStream}.
 * Calls without a stream are synchronous; calls with one are queued on it and return its ticket.
 *
 * @example
 * ```ts
 * const dev = GpuDevice.open({ mode: 'auto' });
 * if (dev.reason) console.log(`gpu: ${dev.mode} (${dev.reason})`);
 * const mod = dev.loadModule(lpmPtxPath());
 * const dAddrs = dev.malloc(n * 4);
 * dev.memcpyHtoD(dAddrs, addrs, 0, n * 4);
 * dev.launch(mod, 'gnet_lpm_lookup', { grid: Math.ceil(n / 256), block: 256 }, new KernelArgs().ptr(d24).ptr(d8).ptr(dAddrs).ptr(dOut).u32(n));
 * dev.memcpyDtoH(out, 0, dOut, n * 4);
 * ```
 */
export class GpuDevice {
  /** The device serving requests. */
  readonly mode: GpuMode;
  /** Why `auto` chose the emulated device (the GPU's unavailability); undefined otherwise. */
  readonly reason: string | undefined;
  /** The device's name (the GPU's, or "gnet emulated device (N host threads)"). */
  readonly name: string;
  /** Bytes of device memory (host memory when emulated). */
  readonly totalMem: number;
  /** Multiprocessors (emulated: threads that run blocks). */
  readonly smCount: number;
  /** `"9.0"` on Hopper; `"emulated"` on the emulated device. */
  readonly computeCapability: string;
  /** Emulated device: threads that run blocks, the launching one included; 0 on a GPU. */
  readonly emulatorThreads: number;
  private readonly native: NativeGpu;
  private readonly streams = new Map<number, GpuStream>();
  private readonly sync = new RequestBatch();
  private isClosed = false;

  private constructor(native: NativeGpu, info: ReturnType<NativeGpu['open']>) {
    this.native = native;
    this.mode = info.mode;
    this.reason = info.reason === '' ? undefined : info.reason;
    this.name = info.name;
    this.totalMem = info.totalMem;
    this.smCount = info.smCount;
    this.computeCapability = info.computeCapability;
    this.emulatorThreads = info.emulatorThreads;
  }

  /**
   * Opens the device in this thread; the first open in the process chooses it, later ones share it.
   * Opening again in the same thread returns the same object. Once every thread has closed it, an
   * open in the other mode replaces it (e.g. a test that runs `emulated`, then `gpu`).
   * @throws GpuError `GNET_NO_GPU` (mode `gpu` without a usable GPU, with the driver's reason), or
   *   `GNET_MODE_CONFLICT` (a thread of this process has the other mode open).
   */
  static open(options: GpuOpenOptions = {}): GpuDevice {
    const mode = options.mode ?? 'auto';
    if (current !== undefined && !current.isClosed) {
      if (mode !== 'auto' && mode !== current.mode)
        throw new GpuError(`the GPU proxy is already open in ${current.mode} mode in this process`, 'GNET_MODE_CONFLICT');
      return current;
    }
    const native = nativeGpu();
    current = new GpuDevice(native, call(() => native.open({ mode, device: options.device, threads: options.threads })));
    return current;
  }

  /** Whether {@link GpuDevice.close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The stream of client `clientId` (an NF worker id), created on first use; the same id returns the
   * same stream in this thread.
   * @throws GpuError `GNET_CLIENT_BUSY` when another thread holds a stream for that id.
   */
  stream(clientId: number): GpuStream {
    this.open();
    const have = this.streams.get(clientId);
    if (have !== undefined && !have.closed) return have;
    const status = new Int32Array(new SharedArrayBuffer(16));
    const id = call(() => this.native.streamCreate(clientId, status));
    const s = new GpuStream(this.native, id, clientId, status, this.mode === 'gpu');
    this.streams.set(clientId, s);
    return s;
  }

  /** Pinned host memory of `bytes` bytes (zeroed), shared with JavaScript as an ArrayBuffer. */
  hostAlloc(bytes: number): HostAllocation {
    this.open();
    const [ptr, buffer] = call(() => this.native.hostAlloc(bytes));
    return { ptr, buffer };
  }

  /** An ArrayBuffer over a live host allocation made by any thread (to share pinned memory with a worker). */
  hostBuffer(ptr: DevicePtr): ArrayBuffer {
    this.open();
    return call(() => this.native.hostBuffer(ptr));
  }

  /** `bytes` bytes of device memory (not zeroed), 256-byte aligned. */
  malloc(bytes: number): DevicePtr {
    this.open();
    return call(() => this.native.malloc(bytes));
  }

  /**
   * The process's device allocation named `name` (`bytes` bytes, zeroed when the first caller of any
   * thread made it): every worker thread that asks gets the same address, so NF workers can share
   * device data (the framework's resident packet fields). It lives as long as the process; `free`
   * refuses it.
   * @throws GpuError `GNET_SHARED_SIZE` when `name` exists with another size.
   */
  sharedMalloc(name: string, bytes: number): DevicePtr {
    this.open();
    return call(() => this.native.sharedMalloc(name, bytes));
  }

  /**
   * The process's host allocation named `name` (`bytes` bytes, zeroed when first made), as
   * {@link GpuDevice.hostAlloc} returns one; every thread that asks sees the same memory. It lives
   * as long as the process. Threads that use it must order their accesses themselves (here: a
   * packet's entries are touched only by the thread that holds the packet).
   * @throws GpuError `GNET_SHARED_SIZE` when `name` exists with another size.
   */
  sharedHostAlloc(name: string, bytes: number): HostAllocation {
    this.open();
    const [ptr, buffer] = call(() => this.native.sharedHostAlloc(name, bytes));
    return { ptr, buffer };
  }

  /**
   * Frees a device or host allocation by its address, once the work in flight completes (as cudaFree).
   * This thread's ArrayBuffers over freed host memory become detached.
   * @throws GpuError `GNET_USE_AFTER_FREE` (already freed) or `GNET_BAD_POINTER`.
   */
  free(ptr: DevicePtr): void {
    this.open();
    call(() => this.native.free(ptr));
  }

  /**
   * Copies `bytes` bytes of `src` (from `srcOffset`) to device address `dst`: synchronously, or queued
   * on `stream` (returning its ticket; 0 when synchronous).
   */
  memcpyHtoD(dst: DevicePtr, src: HostBuffer, srcOffset: number, bytes: number, stream?: GpuStream): number {
    if (stream) return stream.htod(dst, src, srcOffset, bytes).submit();
    this.open();
    call(() => this.native.memcpyHtoD(dst, nativeBuffer(src), srcOffset, bytes));
    return 0;
  }

  /** Copies `bytes` bytes from device address `src` into `dst` at `dstOffset`; synchronously or on `stream`. */
  memcpyDtoH(dst: HostBuffer, dstOffset: number, src: DevicePtr, bytes: number, stream?: GpuStream): number {
    if (stream) return stream.dtoh(dst, dstOffset, src, bytes).submit();
    this.open();
    call(() => this.native.memcpyDtoH(nativeBuffer(dst), dstOffset, src, bytes));
    return 0;
  }

  /** Sets `bytes` bytes at `dst` to `value` (a byte); synchronously or on `stream`. */
  memset(dst: DevicePtr, value: number, bytes: number, stream?: GpuStream): number {
    if (stream) return stream.memset(dst, value, bytes).submit();
    this.open();
    call(() => this.native.memset(dst, value, bytes));
    return 0;
  }

  /**
   * Loads a kernel module from a `.ptx` path: the PTX itself on a GPU (JIT-compiled by the driver),
   * its host build `<name>.host.so` beside it on the emulated device.
   * On the emulated device a `.host.so` missing beside the `.ptx` (an installed package) is built on
   * first use from the `.cu` beside it into the user's cache (`hostKernelCacheDir`), with g++.
   * @throws GpuError `GNET_MODULE_LOAD` (no such file, unloadable), `GNET_NO_HOST_MODULE` (emulated, not
   *   built and cannot be: no `.cu` or no g++), `GNET_STALE_MODULE` (emulated, built from older sources), or
   *   CudaError from the driver's JIT (with its log).
   */
  loadModule(path: string): GpuModule {
    this.open();
    const abs = resolve(path);
    if (this.mode === 'gpu') {
      if (!abs.endsWith('.ptx')) throw new GpuError(`a GPU loads PTX modules; ${abs} is not a .ptx file`, 'GNET_MODULE_LOAD');
      let ptx: string;
      try {
        ptx = readFileSync(abs, 'utf8');
      } catch (err) {
        throw new GpuError(`cannot read kernel module ${abs}: ${(err as Error).message}`, 'GNET_MODULE_LOAD');
      }
      const sigs: [string, Uint32Array, Uint32Array][] = [...ptxKernelParams(ptx)].map(([name, ps]) => [
        name,
        Uint32Array.from(ps, (p) => p.size),
        Uint32Array.from(ps, (p) => p.align),
      ]);
      const [id, entries] = call(() => this.native.loadModule(abs, ptx, sigs));
      return new GpuModule(this.native, abs, id, entries);
    }
    let so = hostKernelPath(abs);
    if (!existsSync(so)) {
      if (!existsSync(abs)) throw new GpuError(`no kernel module at ${abs}`, 'GNET_MODULE_LOAD');
      // Not built beside it (an installed package): build it once into the user's cache.
      const source = so.replace(/\.host\.so$/, '.cu');
      if (!existsSync(source) || hostCompiler() === undefined) {
        throw new GpuError(
          `the emulated device needs the host build of ${abs} (${so}); build it with \`gnet-compile-kernels <package dir>\` (needs g++${existsSync(source) ? '' : ` and ${source}`})`,
          'GNET_NO_HOST_MODULE',
        );
      }
      try {
        const built = cachedHostKernel(source);
        if (built.state === 'built') console.error(`gnet: built ${built.soPath} for the emulated device from ${source}`);
        so = built.soPath;
      } catch (err) {
        throw new GpuError(`the emulated device needs the host build of ${abs}, and building it failed: ${(err as Error).message}`, 'GNET_NO_HOST_MODULE');
      }
    }
    const cu = so.replace(/\.host\.so$/, '.cu');
    if (existsSync(cu) && !readFileSync(so).includes(HOST_SOURCE_TAG + hostKernelSourceHash(cu)))
      throw new GpuError(`${so} was built from older sources than ${cu}; rebuild it with gnet-compile-kernels`, 'GNET_STALE_MODULE');
    const [id, entries] = call(() => this.native.loadModule(so));
    return new GpuModule(this.native, so, id, entries);
  }

  /**
   * Launches `module`'s kernel `entry`: queued on `config.stream` (returning its ticket), or run
   * synchronously (returning 0). The arguments are checked against the kernel's parameters.
   * @throws GpuError `GNET_UNKNOWN_ENTRY`, `GNET_BAD_ARGS` (count, size or alignment), `GNET_BAD_LAUNCH`
   *   (dimensions, shared memory), `GNET_BAD_POINTER` / `GNET_USE_AFTER_FREE` (a pointer argument).
   */
  launch(module: GpuModule, entry: string, config: LaunchConfig, args: KernelArgs): number {
    if (config.stream) return config.stream.launch(module, entry, config, args).submit();
    this.open();
    const b = this.sync;
    try {
      b.launch(module.kernel(entry).id, config.grid, config.block, config.sharedMem ?? 0, args);
      this.native.submit(0, b.words, b.length, b.refs, true);
    } catch (err) {
      throw toGpuError(err);
    } finally {
      b.clear();
    }
    return 0;
  }

  /**
   * Launches the kernel on every stream of the process (G-NET's "launch on all streams"); returns on
   * how many. Completion: {@link GpuDevice.synchronize}.
   */
  launchAll(module: GpuModule, entry: string, shape: LaunchShape, args: KernelArgs): number {
    this.open();
    const b = new RequestBatch();
    b.launch(module.kernel(entry).id, shape.grid, shape.block, shape.sharedMem ?? 0, args);
    return call(() => this.native.launchAll(b.words, b.length, b.refs));
  }

  /** Submits what this thread has queued, then waits until all work of every stream in the process has completed (G-NET's device sync). */
  synchronize(): void {
    this.open();
    for (const s of this.streams.values()) if (!s.closed) s.submit();
    call(() => this.native.synchronize());
  }

  /** Submits what is queued on `stream` and waits for all its work (G-NET's stream sync). */
  streamSynchronize(stream: GpuStream): void {
    stream.synchronize();
  }

  /** A timing event, to {@link GpuStream.record} on a stream. */
  createEvent(): GpuEvent {
    this.open();
    return new GpuEvent(this.native, call(() => this.native.eventCreate()));
  }

  /** G-NET's "record start": a new event recorded now on `stream` (or, without one, synchronously). */
  recordStart(stream?: GpuStream): GpuEvent {
    const ev = this.createEvent();
    this.recordOn(ev, stream);
    return ev;
  }

  /** Milliseconds from `start` until now on `stream` (recording an end point there and waiting for it). */
  elapsed(start: GpuEvent, stream?: GpuStream): number {
    const end = this.createEvent();
    try {
      this.recordOn(end, stream);
      return this.elapsedMs(start, end);
    } finally {
      end.destroy();
    }
  }

  /** Milliseconds between two recorded events, once both are reached. */
  elapsedMs(start: GpuEvent, end: GpuEvent): number {
    this.open();
    return call(() => this.native.eventElapsed(start.id, end.id));
  }

  /**
   * Releases everything this thread made on the device: its streams (after their work), modules,
   * events and allocations (its host ArrayBuffers become detached). A later `open` starts afresh.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const s of this.streams.values()) if (!s.closed) s.close();
    this.streams.clear();
    call(() => this.native.close());
    if (current === this) current = undefined;
  }

  private recordOn(ev: GpuEvent, stream?: GpuStream): void {
    if (stream) {
      stream.record(ev).submit();
      return;
    }
    this.open();
    const b = this.sync;
    try {
      b.record(ev.id);
      this.native.submit(0, b.words, b.length, b.refs, true);
    } catch (err) {
      throw toGpuError(err);
    } finally {
      b.clear();
    }
  }

  private open(): void {
    if (this.isClosed) throw new GpuError('the GPU device was closed in this thread', 'GNET_CLOSED');
  }
}
