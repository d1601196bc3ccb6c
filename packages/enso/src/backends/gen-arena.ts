/**
 * The generator's template arena: every (flow, frame size) frame built once, 64-byte aligned in one
 * buffer, plus the size schedule that interleaves sizes by weight.
 *
 * @module
 */
import { l4ChecksumOffset, payloadOffset, writeFrame, type FrameFields } from './gen-frames.js';
import { IPPROTO_UDP, type FlowTable } from './gen-flows.js';
import type { SizeWeight } from './gen-spec.js';

/** Most bytes the arena may take. */
export const GEN_MAX_ARENA_BYTES = 256 << 20;
const ALIGN = 64;

/**
 * Interleaves sizes by weight with smooth weighted round-robin: for IMIX (7:4:1) the 12-entry cycle
 * spreads the large frames out instead of sending them back to back. Returns slot indexes into
 * `mix`, one per position of the cycle (its length is the sum of the weights).
 */
export function sizeSchedule(mix: readonly SizeWeight[]): Uint8Array {
  const total = mix.reduce((s, m) => s + m.weight, 0);
  if (mix.length > 255) throw new Error(`gen: at most 255 distinct sizes, got ${mix.length}`);
  const current = new Array<number>(mix.length).fill(0);
  const out = new Uint8Array(total);
  for (let i = 0; i < total; i++) {
    let best = 0;
    for (let j = 0; j < mix.length; j++) {
      current[j] += mix[j].weight;
      if (current[j] > current[best]) best = j;
    }
    current[best] -= total;
    out[i] = best;
  }
  return out;
}

/**
 * All frames the generator sends. Frame (flow f, size slot s) lives at
 * `buf[offset[f * slots + s], + size[s])`; `schedule` lists size slots in sending order.
 */
export class TemplateArena {
  /** The frames. */
  readonly buf: Uint8Array;
  /** A DataView over `buf`. */
  readonly view: DataView;
  /** Number of flows. */
  readonly flows: number;
  /** Number of distinct sizes. */
  readonly slots: number;
  /** Frame bytes per size slot. */
  readonly size: Uint16Array;
  /** Arena offset per (flow, slot), at `f * slots + s`. */
  readonly offset: Uint32Array;
  /** Size slot per position of the weighted cycle. */
  readonly schedule: Uint8Array;
  /** Per flow: offset in the frame of its first payload byte (where `stamp=seq` writes). */
  readonly payloadAt: Uint8Array;
  /** Per flow: offset in the frame of its L4 checksum. */
  readonly checksumAt: Uint8Array;
  /** Per flow: 1 for UDP (a zero checksum is sent as 0xffff). */
  readonly isUdp: Uint8Array;

  /**
   * Bytes the templates for `flows` flows at the sizes of `mix` take. Throws an Error when that
   * exceeds 256 MiB, so a spec can be refused before any flow is chosen.
   */
  static bytesFor(flows: number, mix: readonly SizeWeight[]): number {
    let perFlow = 0;
    for (const m of mix) perFlow += Math.ceil(m.size / ALIGN) * ALIGN;
    const total = perFlow * flows;
    if (total > GEN_MAX_ARENA_BYTES) {
      throw new Error(
        `gen: flows=${flows} with sizes ${mix.map((m) => m.size).join('/')} need ` +
          `${Math.ceil(total / 2 ** 20)} MiB of frame templates (limit ${GEN_MAX_ARENA_BYTES / 2 ** 20} MiB); ` +
          `lower flows or size`,
      );
    }
    return total;
  }

  /**
   * Builds one frame per flow and size. Throws an Error when the templates would exceed 256 MiB
   * (too many flows for the sizes asked).
   */
  constructor(flows: FlowTable, mix: readonly SizeWeight[], smac: Uint8Array, dmac: Uint8Array) {
    this.flows = flows.count;
    this.slots = mix.length;
    this.size = Uint16Array.from(mix, (m) => m.size);
    this.schedule = sizeSchedule(mix);
    const total = TemplateArena.bytesFor(flows.count, mix);
    this.buf = new Uint8Array(total);
    this.view = new DataView(this.buf.buffer);
    this.offset = new Uint32Array(flows.count * mix.length);
    this.payloadAt = new Uint8Array(flows.count);
    this.checksumAt = new Uint8Array(flows.count);
    this.isUdp = new Uint8Array(flows.count);
    const fields: FrameFields = { dmac, smac, proto: 0, src: 0, dst: 0, sport: 0, dport: 0, ipId: 0 };
    let at = 0;
    for (let f = 0; f < flows.count; f++) {
      fields.proto = flows.proto[f];
      fields.src = flows.src[f];
      fields.dst = flows.dst[f];
      fields.sport = flows.sport[f];
      fields.dport = flows.dport[f];
      fields.ipId = f;
      this.payloadAt[f] = payloadOffset(fields.proto);
      this.checksumAt[f] = l4ChecksumOffset(fields.proto);
      this.isUdp[f] = fields.proto === IPPROTO_UDP ? 1 : 0;
      for (let s = 0; s < mix.length; s++) {
        writeFrame(this.buf, this.view, at, mix[s].size, fields);
        this.offset[f * mix.length + s] = at;
        at += Math.ceil(mix[s].size / ALIGN) * ALIGN;
      }
    }
  }
}
