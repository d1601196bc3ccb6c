/**
 * The GPU side of the gateway: per pipeline buffer, the batch's ESP packets gathered into pinned
 * memory (4-byte aligned, each followed by room for its ICV) with the job arrays of kernels/esp.cu,
 * and their device copies; `gather` before the kernel, `scatter` after it. Both copy the whole batch
 * in one native call ({@link copyRanges}): V8 copies out of the shared pool byte by byte when the
 * alignments differ, which cost more than the crypto on the GPU.
 * @module
 */
import type { GpuDevice, DevicePtr, KernelArgs, LaunchShape, GpuStream } from '@gnet/manager-native';
import { copyRanges, kernelModulePath } from '@gnet/manager-native';
import type { PacketBatch } from '@gnet/nflib';
import { ICV_BYTES, type EspJobs } from './esp.js';

/** Path of the ESP kernel module (`kernels/esp.ptx`, entry {@link ESP_KERNEL_ENTRY}). */
export const espPtxPath = (): string => kernelModulePath(import.meta.url, 'esp');
/** Entry name of the ESP kernel. */
export const ESP_KERNEL_ENTRY = 'gnet_esp_crypt';

/** One pipeline buffer's host and device memory for kernels/esp.cu. */
export interface EspGpuBuffer {
  /** The batch's jobs (written by the gateway's prepare, read by its finish). */
  jobs: EspJobs;
  /** Gathered ESP packets (pinned). */
  pkts: Uint8Array;
  /** Offset of packet i in {@link EspGpuBuffer.pkts}. */
  off: Uint32Array;
  /** Per packet: bytes before the ICV. */
  len: Uint32Array;
  /** Per packet: -1, or 2 * SA index + (1 decrypt, 0 encrypt). */
  job: Int32Array;
  /** Per packet result from the kernel. */
  ok: Uint8Array;
  /** Bytes of {@link EspGpuBuffer.pkts} in use. */
  used: number;
  /** Device copies. */
  d: { pkts: DevicePtr; off: DevicePtr; len: DevicePtr; job: DevicePtr; ok: DevicePtr };
  /** The copies of one gather or scatter: destination and source offsets and lengths. */
  copy: { dst: Uint32Array; src: Uint32Array; len: Uint32Array };
}

/**
 * Allocates a buffer for batches of up to `burst` packets of at most `slot` bytes.
 * @throws Error when the addon predates `copyRanges` (here, not on the first batch).
 */
export function allocEspGpuBuffer(device: GpuDevice, burst: number, slot: number, jobs: EspJobs): EspGpuBuffer {
  const bytes = burst * slot;
  const copy = { dst: new Uint32Array(burst), src: new Uint32Array(burst), len: new Uint32Array(burst) };
  copyRanges(new Uint8Array(0), copy.dst, new Uint8Array(0), copy.src, copy.len, 0);
  return {
    copy,
    jobs,
    pkts: new Uint8Array(device.hostAlloc(bytes).buffer),
    off: new Uint32Array(device.hostAlloc(burst * 4).buffer),
    len: new Uint32Array(device.hostAlloc(burst * 4).buffer),
    job: new Int32Array(device.hostAlloc(burst * 4).buffer),
    ok: new Uint8Array(device.hostAlloc(burst).buffer),
    used: 0,
    d: { pkts: device.malloc(bytes), off: device.malloc(burst * 4), len: device.malloc(burst * 4), job: device.malloc(burst * 4), ok: device.malloc(burst) },
  };
}

/** Copies each job's ESP packet (and ICV room) into the buffer and fills the kernel's job arrays. */
export function gatherJobs(batch: PacketBatch, buf: EspGpuBuffer): void {
  const { jobs, copy } = buf;
  let at = 0;
  let k = 0;
  for (let i = 0; i < batch.count; i++) {
    const e = jobs.encSa[i];
    const d = jobs.decSa[i];
    if (e < 0 && d < 0) {
      buf.job[i] = -1;
      continue;
    }
    const n = jobs.len[i] + ICV_BYTES;
    buf.job[i] = e >= 0 ? e * 2 : d * 2 + 1;
    buf.off[i] = at;
    buf.len[i] = jobs.len[i];
    copy.dst[k] = at;
    copy.src[k] = jobs.off[i];
    copy.len[k++] = n;
    at += n; // a multiple of 4: the kernel reads words
  }
  if (copyRanges(buf.pkts, copy.dst, batch.data, copy.src, copy.len, k) !== k) throw new Error('gatherJobs: a packet of the batch lay outside its data');
  buf.used = at;
}

/** Queues the copies to the device. */
export function queueHtoD(stream: GpuStream, buf: EspGpuBuffer, count: number): void {
  if (count === 0) return;
  if (buf.used > 0) stream.htod(buf.d.pkts, buf.pkts, 0, buf.used);
  stream.htod(buf.d.off, buf.off, 0, count * 4).htod(buf.d.len, buf.len, 0, count * 4).htod(buf.d.job, buf.job, 0, count * 4);
}

/** Sets the kernel's arguments; one thread per packet. */
export function setEspArgs(args: KernelArgs, keys: DevicePtr, buf: EspGpuBuffer, count: number): LaunchShape {
  args.ptr(keys).ptr(buf.d.pkts).ptr(buf.d.off).ptr(buf.d.len).ptr(buf.d.job).ptr(buf.d.ok).u32(count);
  return { grid: Math.max(1, Math.ceil(count / 128)), block: 128 };
}

/** Queues the copies back to the host. */
export function queueDtoH(stream: GpuStream, buf: EspGpuBuffer, count: number): void {
  if (count === 0) return;
  if (buf.used > 0) stream.dtoh(buf.pkts, 0, buf.d.pkts, buf.used);
  stream.dtoh(buf.ok, 0, buf.d.ok, count);
}

/** Copies the kernel's results back into the batch's packets and the jobs' `ok`. */
export function scatterJobs(batch: PacketBatch, buf: EspGpuBuffer): void {
  const { jobs, copy } = buf;
  let k = 0;
  for (let i = 0; i < batch.count; i++) {
    if (buf.job[i] < 0) continue;
    jobs.ok[i] = buf.ok[i];
    if (buf.ok[i] !== 1) continue;
    // Only what the kernel changed: the ciphertext/plaintext and, encrypting, the ICV.
    copy.dst[k] = jobs.off[i] + 16;
    copy.src[k] = buf.off[i] + 16;
    copy.len[k++] = jobs.len[i] + (jobs.encSa[i] >= 0 ? ICV_BYTES : 0) - 16;
  }
  if (copyRanges(batch.data, copy.dst, buf.pkts, copy.src, copy.len, k) !== k) throw new Error('scatterJobs: a packet of the batch lay outside its data');
}
