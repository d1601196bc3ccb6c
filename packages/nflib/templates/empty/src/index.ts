/**
 * The NF's algorithm, apart from packet I/O so it can be used and tested as a library.
 * @packageDocumentation
 */

/** Counter names of the NF, in the order of {@link Counter}. */
export const COUNTER_NAMES = ['ipv4', 'other', 'runt'] as const;

/** Indexes into the NF's counters. */
export const Counter = { IPV4: 0, OTHER: 1, RUNT: 2 } as const;

/** Shortest frame the NF accepts: an Ethernet header. */
export const MIN_FRAME = 14;

/**
 * Classifies one frame by its EtherType: {@link Counter.IPV4}, {@link Counter.OTHER}, or
 * {@link Counter.RUNT} for a frame too short to have one (such frames are dropped).
 */
export function classify(data: Uint8Array, offset: number, length: number): number {
  if (length < MIN_FRAME) return Counter.RUNT;
  return data[offset + 12] === 0x08 && data[offset + 13] === 0x00 ? Counter.IPV4 : Counter.OTHER;
}
