/**
 * Sizes and defaults shared by the pipes, the software NIC and the backends. Values that Enso fixes in
 * hardware (flit size, RTT offset, timestamp clock, maximum flit rate) keep Enso's numbers so code
 * ported from Enso computes the same things.
 *
 * @module
 */

/** Bytes in a flit (Enso's "buffer quantum"): every frame in a pipe starts on a 64-byte boundary. */
export const FLIT_SIZE = 64;

/** `log2(FLIT_SIZE)`: `offset >> FLIT_SHIFT` indexes the per-flit side arrays. */
export const FLIT_SHIFT = 6;

/** Default ring size of a pipe in bytes (Enso's 32768 flits: one 2 MiB huge page). */
export const DEFAULT_PIPE_SIZE = 2 * 1024 * 1024;

/** Smallest ring a pipe may have, in bytes. */
export const MIN_PIPE_SIZE = 4096;

/** Largest ring a pipe may have, in bytes (offsets stay small integers). */
export const MAX_PIPE_SIZE = 1 << 30;

/** Longest frame the NIC carries: the side arrays store frame lengths as 16-bit numbers. */
export const MAX_FRAME_LENGTH = 65535;

/** Shortest frame the NIC accepts: an Ethernet header. */
export const MIN_FRAME_LENGTH = 14;

/**
 * Default packet offset of the timestamp/RTT field when timestamping is on: bytes 4-7 of the IPv4
 * header (identification + flags/fragment offset), as Enso's `kDefaultRttOffset`.
 */
export const DEFAULT_RTT_OFFSET = 18;

/** Nanoseconds per timestamp cycle (Enso's `kNsPerTimestampCycle`: a 200 MHz clock). */
export const NS_PER_TIMESTAMP_CYCLE = 5;

/**
 * Flits per second the NIC can send at full rate (Enso's `kMaxHardwareFlitRate`). Rate limiting
 * sends `num / den` of this; 200e6 flits/s is 102.4 Gb/s of flit-padded data.
 */
export const MAX_HARDWARE_FLIT_RATE = 200e6;

/** Value stored in a timestamp side array when the frame has no timestamp yet (send uses "now"). */
export const NO_TIMESTAMP = 0xffffffff;
