/**
 * Loaded kernel modules and their kernels.
 *
 * @module
 */
import { toGpuError } from './errors.js';
import type { NativeGpu } from './native.js';

/** A kernel entry of a loaded module, resolved once and launched by its handle. */
export class GpuKernel {
  /** The entry's name (the kernel's source name). */
  readonly name: string;
  /** How many parameters the kernel takes. */
  readonly paramCount: number;
  /** The module it lives in. */
  readonly module: GpuModule;
  /** @internal Handle in this thread's native tables. */
  readonly id: number;

  /** @internal */
  constructor(module: GpuModule, name: string, id: number, paramCount: number) {
    this.module = module;
    this.name = name;
    this.id = id;
    this.paramCount = paramCount;
  }
}

/**
 * A kernel module: PTX on the GPU, its host build (`.host.so`) on the emulated device. Kernels are
 * looked up by entry name; launches keep the module's code loaded until they complete.
 */
export class GpuModule {
  /** The file that was loaded (`.ptx`, or `.host.so` on the emulated device). */
  readonly path: string;
  /** Every kernel entry the module defines. */
  readonly entries: readonly string[];
  private readonly native: NativeGpu;
  private readonly id: number;
  private readonly kernels = new Map<string, GpuKernel>();
  private unloaded = false;

  /** @internal */
  constructor(native: NativeGpu, path: string, id: number, entries: string[]) {
    this.native = native;
    this.path = path;
    this.id = id;
    this.entries = entries;
  }

  /**
   * The kernel named `entry`.
   * @throws GpuError `GNET_UNKNOWN_ENTRY` listing the module's entries when it has no such kernel.
   */
  kernel(entry: string): GpuKernel {
    let k = this.kernels.get(entry);
    if (k !== undefined) return k;
    if (this.unloaded) throw new Error(`module ${this.path} was unloaded`);
    try {
      const [id, params] = this.native.getFunction(this.id, entry);
      k = new GpuKernel(this, entry, id, params);
    } catch (err) {
      throw toGpuError(err);
    }
    this.kernels.set(entry, k);
    return k;
  }

  /** Drops this thread's handle; the code stays loaded while queued launches or other threads use it. */
  unload(): void {
    if (this.unloaded) return;
    this.unloaded = true;
    this.kernels.clear();
    this.native.unloadModule(this.id);
  }
}
