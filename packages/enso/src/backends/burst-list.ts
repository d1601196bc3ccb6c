/**
 * Where a backend lists the frames it offers a sink in one `FrameSink.pushBurst` call: their
 * offsets, lengths and receive times, for up to {@link BURST_LIST} frames.
 * @module
 */

/** Frames a backend hands a sink per `pushBurst` call. */
export const BURST_LIST = 256;

/** Offsets, lengths and receive times of up to {@link BURST_LIST} frames. */
export class BurstList {
  readonly offsets = new Uint32Array(BURST_LIST);
  readonly lengths = new Uint32Array(BURST_LIST);
  readonly tsSec = new Uint32Array(BURST_LIST);
  readonly tsNsec = new Uint32Array(BURST_LIST);
}
