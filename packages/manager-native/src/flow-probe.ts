/**
 * Batch lookup in an open-addressed flow table (the layout of `@gnet/nf-nat`'s `FlowTable`, which
 * `kernels/nat.cu` also reads): {@link createFlowProbe} binds the table and a batch's key, home and
 * answer arrays once; each {@link FlowProbe.probe} then hashes every key, prefetches every home line
 * at once (and the lines an expiry sweep reads next), and probes. With millions of flows each lookup
 * is a DRAM miss, and a loop of prefetches overlaps more of them than a JavaScript loop of loads.
 * {@link FlowProbe.frameKeys} makes the keys from the frames themselves, and
 * {@link FlowProbe.forward} translates the packets of established sessions in place (nf-nat's short
 * path), so a batch of such packets never runs JavaScript per packet.
 *
 * @module
 */
import { loadNative } from './loader.js';

/** The arrays a {@link FlowProbe} reads and writes. */
export interface FlowProbeArrays {
  /** The table: 8 words per slot (key words k0..k3, flags in bits 16..31 of k3, then the value). */
  slots: Int32Array;
  /** Keys of the batch, 4 words each (`k3 = 0`: no key). */
  keys: Uint32Array;
  /** Out: each key's home slot, or -1 for no key. */
  homes: Int32Array;
  /** Out: the slot holding each key, or -1. */
  found: Int32Array;
}

/** A bound flow-table probe; see the module comment. */
export interface FlowProbe {
  /**
   * For each `i < n`: `homes[i]` = the home slot of key `keys[4i .. 4i+3]` in a table of `capacity`
   * slots (-1 when its word 3 is 0), and `found[i]` = the slot holding the key (matching words 0..2
   * and the low 16 bits of word 3), or -1. Prefetches slots `[sweepFrom, sweepFrom + sweepSlots)`
   * (wrapping at `capacity`) as well. Returns the number of keys found. The hash, the home and the
   * probe sequence are `FlowTable`'s `hashKey`, `homeOf` and `findFrom`, bit for bit.
   * @throws RangeError when `n` exceeds the bound arrays or `capacity` is odd or beyond the slots.
   */
  probe(n: number, capacity: number, sweepFrom: number, sweepSlots: number): number;
  /**
   * Binds the frames {@link FlowProbe.frameKeys} reads: `data` (frame offsets are relative to it),
   * and byte views of the whole buffers holding a batch's frame offsets (u32), lengths (u32) and
   * arrival ports (u16). They are kept alive until bound again.
   * @throws TypeError for arrays that are not Uint8Arrays.
   */
  bindFrames(data: Uint8Array, offsets: Uint8Array, lengths: Uint8Array, ports: Uint8Array): void;
  /**
   * Writes into `keys` the session key of each of a batch's `n` frames, whose offsets, lengths and
   * ports start at byte `offsetsAt`, `lengthsAt` and `portsAt` of the bound buffers: what nf-nat's
   * `NatEngine.keyOf` gives a TCP/UDP frame when ports classify (`insidePort`: outbound,
   * `outsidePort`: inbound), or no key (word 3 = 0) where it gives none. Frames it leaves to `keyOf`
   * (ICMP, or one reaching past `data`) get `homes[i] = -2`, every other `-1`; returns how many it
   * left. It first prefetches every frame's first line (frames another core just wrote).
   * @throws Error before {@link FlowProbe.bindFrames}; RangeError when `n` exceeds the bound keys or
   * the batch reaches past the bound buffers.
   */
  frameKeys(n: number, offsetsAt: number, lengthsAt: number, portsAt: number, insidePort: number, outsidePort: number): number;
  /**
   * Binds what {@link FlowProbe.forward} reads and writes: the NAT's `params` ({@link NatParam}
   * layout; the caller keeps them current, and they are read on every call), and byte views of the
   * whole buffers holding a batch's actions (u8) and destinations (u16). Kept alive until bound again.
   * @throws TypeError for arrays of the wrong type; RangeError when `params` is shorter than the
   * external addresses and subnets it declares.
   */
  bindNat(params: Int32Array, action: Uint8Array, destination: Uint8Array): void;
  /**
   * After {@link FlowProbe.probe}: translates in place each of the batch's `n` packets that nf-nat's
   * `NatEngine` short path would translate (a TCP/UDP packet of a live session found by the probe,
   * adding no TCP state, with nothing to learn, filter or hairpin), exactly as that path would:
   * addresses, ports, checksums (and TTL), Ethernet addresses, the session's last-seen time, the
   * packet's action (OUT) and destination (the other port). Such a packet's `homes[i]` becomes -3;
   * every other packet is left untouched. Returns how many it translated; the outbound ones are
   * counted in `params[NatParam.RESULT_OUT]`. Frames, offsets and actions are indexed as in
   * {@link FlowProbe.frameKeys}: byte offsets `offsetsAt`, `actionAt` and `destinationAt` into the
   * bound buffers.
   * @throws Error before {@link FlowProbe.bindFrames} and {@link FlowProbe.bindNat}; RangeError when
   * `n` exceeds the bound keys or the batch reaches past the bound buffers.
   */
  forward(n: number, offsetsAt: number, actionAt: number, destinationAt: number): number;
}

/**
 * Words of {@link FlowProbe.bindNat}'s params. Addresses and masks are IPv4 as int32, MACs as a
 * 16-bit high and a 32-bit low word; times in whole seconds of the NAT's clock. After
 * `LISTS_AT` come `EXTERNAL_COUNT` external addresses, then `SUBNET_COUNT` (network, mask) pairs.
 */
export const NatParam = {
  /** The NAT's clock (whole seconds). */
  NOW: 0,
  /** {@link NatFlag} bits. */
  FLAGS: 1,
  UDP_TIMEOUT: 2,
  TCP_ESTABLISHED_TIMEOUT: 3,
  TCP_TRANSITORY_TIMEOUT: 4,
  INSIDE_PORT: 5,
  OUTSIDE_PORT: 6,
  /** nflib's `Action.OUT`. */
  ACTION_OUT: 7,
  /** The outside gateway's MAC (broadcast while unknown). */
  GATEWAY_HI: 8,
  GATEWAY_LO: 9,
  /** The NAT's outside MAC (used when {@link NatFlag.OUTSIDE_MAC}). */
  OUTSIDE_HI: 10,
  OUTSIDE_LO: 11,
  /** The NAT's inside MAC (used when {@link NatFlag.INSIDE_MAC}). */
  INSIDE_HI: 12,
  INSIDE_LO: 13,
  /** The inside host's MAC for sessions that learned none (broadcast when not configured). */
  HOST_HI: 14,
  HOST_LO: 15,
  /** Out: the outbound packets the last {@link FlowProbe.forward} translated. */
  RESULT_OUT: 16,
  EXTERNAL_COUNT: 17,
  SUBNET_COUNT: 18,
  /** Where the external addresses start. */
  LISTS_AT: 19,
} as const;

/** Bits of `params[NatParam.FLAGS]`. */
export const NatFlag = {
  /** Decrement the TTL (with the IP checksum). */
  DEC_TTL: 1,
  /** Outbound packets may take the native path (no MAC to learn, endpoint-independent filtering). */
  OUTBOUND: 2,
  /** Inbound packets may take the native path (no MAC to learn). */
  INBOUND: 4,
  /** The external addresses are one contiguous range from the first. */
  EXTERNAL_RANGE: 8,
  /** The NAT's outside MAC is known. */
  OUTSIDE_MAC: 16,
  /** The NAT's inside MAC is known. */
  INSIDE_MAC: 32,
} as const;

type FlowProbeCtor = new (slots: Int32Array, keys: Uint32Array, homes: Int32Array, found: Int32Array) => FlowProbe;

/**
 * Binds `a` (kept alive as long as the probe is). The arrays must not be replaced afterwards; bind
 * again to use new ones.
 * @throws Error when the addon cannot load or predates this call; TypeError for arrays of the wrong type.
 */
export function createFlowProbe(a: FlowProbeArrays): FlowProbe {
  const Ctor = (loadNative() as unknown as { FlowProbe?: FlowProbeCtor }).FlowProbe;
  if (typeof Ctor !== 'function') throw new Error('FlowProbe: the loaded gnet addon predates this call; rebuild it (npm run build, or npm rebuild @gnet/manager-native)');
  return new Ctor(a.slots, a.keys, a.homes, a.found);
}
