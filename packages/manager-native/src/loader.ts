import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the compiled addon exports; see `src/native/addon.cc`. */
export interface NativeBinding {
  /** Bumped when the C++ side changes its exports incompatibly. */
  readonly abiVersion: number;
  gpuInfo(): GpuInfo;
}

/** A CUDA device as the driver reports it. */
export interface GpuDeviceInfo {
  ordinal: number;
  name: string;
  /** Bytes of device memory. */
  totalMem: number;
  smCount: number;
  /** `"9.0"` for Hopper, `"8.0"` for A100. */
  computeCapability: string;
}

/** Whether a CUDA GPU is usable in this process, and if not, why. */
export interface GpuInfo {
  available: boolean;
  /** Why no GPU can be used (missing driver, no device, disabled); absent when available. */
  reason?: string;
  /** CUDA driver version as an integer (12040 = 12.4); 0 when the driver could not be opened. */
  driverVersion: number;
  devices: GpuDeviceInfo[];
}

/** Thrown when the compiled addon cannot be found or loaded; the message says how to fix it. */
export class NativeLoadError extends Error {
  /** Every path that was tried, in order, with why it failed. */
  readonly attempts: string[];
  constructor(attempts: string[]) {
    super(
      `@gnet/manager-native: the native addon could not be loaded.\n` +
        attempts.map((a) => `  - ${a}`).join('\n') +
        `\nFix: build it with \`npm rebuild @gnet/manager-native\` (needs cmake >= 3.18 and a C++17 compiler),` +
        ` or inside the gnet repo \`npm run build\`; set GNET_NATIVE_PATH to use a .node file elsewhere.`,
    );
    this.name = 'NativeLoadError';
    this.attempts = attempts;
  }
}

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: `dist/..` once built, `src/..` when run from source by tests. */
export const packageRoot = join(here, '..');

function candidates(): string[] {
  // An explicit path is the only candidate: loading something else would hide the mistake.
  if (process.env.GNET_NATIVE_PATH) return [process.env.GNET_NATIVE_PATH];
  const list: string[] = [];
  list.push(join(packageRoot, 'build', 'Release', 'gnet_native.node'));
  list.push(join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'gnet_native.node'));
  return list;
}

let cached: NativeBinding | undefined;

/**
 * Loads the addon once per thread (it is context-aware, so workers load their own instance).
 * @throws NativeLoadError listing every path tried and how to build the addon.
 */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const attempts: string[] = [];
  for (const path of candidates()) {
    if (!existsSync(path)) {
      attempts.push(`${path}: not found`);
      continue;
    }
    try {
      cached = require(path) as NativeBinding;
      return cached;
    } catch (err) {
      attempts.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new NativeLoadError(attempts);
}
