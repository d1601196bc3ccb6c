/**
 * G-NET's data-sync plan, applied: packet fields kept resident on the device from one NF of the
 * chain to the next, so a field an earlier NF uploaded, and nobody rewrote since, does not cross
 * PCIe again.
 *
 * A resident field has a **column** in device memory with one row per pool slot (the packet's
 * identity while it is in flight), shared by every NF worker of the process (`sharedMalloc`: one
 * CUDA context). Beside it, in host memory shared the same way, each row's **epoch**: the pool
 * slot's allocation count (`pool.meta.epoch`) when the row was written, so a row left by an earlier
 * packet in the same slot is never taken for this one's. Per batch, the framework uploads only the
 * rows that are missing (gathered, then placed by its `gnet_field_scatter` kernel on the NF's own
 * stream, ahead of the NF's kernel), and the batch's slot indices, by which the NF's kernel reads
 * row `slots[i]` of the column.
 *
 * A row that is present is reused only when the manager's policy allows it (`ctx.residentMask`,
 * computed from the chain's sync plan: no NF between the upload and this one rewrites the field on
 * the host, and every NF of the chain declared what it writes); the manager withdraws it whenever an
 * NF joins or leaves. Framework NFs also clear the rows of fields their own stages write.
 * NFs in other processes keep columns of their own (device memory is not shared across processes).
 * @module
 */
import type { PacketBatch, PacketPool } from '@gnet/nflib';
import { KernelArgs, kernelModulePath, type DevicePtr, type GpuDevice, type GpuModule, type GpuStream } from '@gnet/manager-native';

/** Where a resident field sits in an untagged IPv4 packet. */
export interface FieldLayout {
  /** Bytes of the field (its column rows are rounded up to whole 32-bit words, zero-padded). */
  bytes: number;
  /** What `offset` counts from: the IPv4 header (`l3`) or the transport header after it (`l4`, by IHL). */
  base: 'l3' | 'l4';
  /** Byte offset of the field from `base`. */
  offset: number;
}

/**
 * The packet fields the framework knows how to gather, by the names read/write sets use. Bytes are
 * as on the wire (network byte order). A packet that is not untagged IPv4, or too short to hold the
 * field, gets a row of zeros.
 */
export const PACKET_FIELDS: Readonly<Record<string, FieldLayout>> = {
  'ip.header': { bytes: 20, base: 'l3', offset: 0 },
  'ip.len': { bytes: 2, base: 'l3', offset: 2 },
  'ip.ttl': { bytes: 1, base: 'l3', offset: 8 },
  'ip.proto': { bytes: 1, base: 'l3', offset: 9 },
  'ip.checksum': { bytes: 2, base: 'l3', offset: 10 },
  'ip.src': { bytes: 4, base: 'l3', offset: 12 },
  'ip.dst': { bytes: 4, base: 'l3', offset: 16 },
  'ip.addrs': { bytes: 8, base: 'l3', offset: 12 },
  'l4.ports': { bytes: 4, base: 'l4', offset: 0 },
  'l4.header': { bytes: 20, base: 'l4', offset: 0 },
};

/**
 * Path of the framework's own kernel module (`kernels/fields.ptx`): `gnet_field_scatter` (used by
 * the framework to place uploaded rows) and `gnet_field_gather(out, column, slots, n, words)`, which
 * packs a batch's rows of a column for a kernel that wants its input contiguous.
 */
export const fieldsKernelPath = (): string => kernelModulePath(import.meta.url, 'fields');

/** Largest number of resident fields per NF (one bit each in the manager's control word). */
export const MAX_RESIDENT_FIELDS = 32;

/** What an NF's kernel needs to read its resident fields: set these in `setArg`. */
export interface ResidentView {
  /** Device address of `name`'s column: row `slot` starts at `column + slot × stride(name) × 4`. */
  column(name: string): DevicePtr;
  /** 32-bit words per row of `name`'s column. */
  stride(name: string): number;
  /** The current batch's slot indices on the device (`u32 × batch.count`): packet `i` is row `slots[i]`. */
  readonly slots: DevicePtr;
}

interface Field {
  name: string;
  layout: FieldLayout;
  words: number;
  /** Where this field's rows start in a staging buffer's values (in words) and slots (in entries). */
  valuesAt: number;
  slotsAt: number;
  column: DevicePtr;
  /** Epoch of each row that holds a packet's value (0: none). */
  epochs: Uint32Array;
}

/**
 * One pipeline buffer's staging: the rows to place and their slots, on the host and the device, a
 * region per field (the copies run after `stage` returns, so no region is written twice a batch).
 */
interface Staging {
  values: Uint32Array;
  bytes: Uint8Array;
  slots: Uint32Array;
  dValues: DevicePtr;
  dSlots: DevicePtr;
  dBatchSlots: DevicePtr;
}

/** Counts for the NF's `fw.*` counters. */
export interface ResidentCounts {
  /** Rows found on the device and reused. */
  hits: number;
  /** Bytes of field rows uploaded. */
  bytes: number;
}

/**
 * The known fields whose bytes a write to field `name` may change (itself included), so that a
 * write makes them stale: by layout when `name` has one (`ip.ttl` lies inside `ip.header`; `l3` and
 * `l4` fields never overlap, the transport header starting 20 bytes or more after the IPv4 one),
 * else by name: `ip` or another `ip.*` name covers every IPv4-header field, `l4`/`l4.*` every
 * transport one; `eth.*`, `meta.*` and other dotted names (a kernel's own buffers: `acl.key`,
 * `lpm.hop`) cover none; a bare name (`payload`, `esp`: bytes that may move every header) covers all.
 */
export function overlappingFields(name: string, layouts: Readonly<Record<string, FieldLayout>> = {}): string[] {
  const all: Record<string, FieldLayout> = { ...PACKET_FIELDS, ...layouts };
  const a = all[name];
  const keys = Object.keys(all);
  if (a) return keys.filter((n) => all[n].base === a.base && all[n].offset < a.offset + a.bytes && a.offset < all[n].offset + all[n].bytes);
  const ns = name.split('.')[0];
  if (ns === 'ip' || ns === 'l4') return [name, ...keys.filter((n) => all[n].base === (ns === 'ip' ? 'l3' : 'l4'))];
  if (name.includes('.') || name === 'eth' || name === 'meta') return [name];
  return [name, ...keys];
}

/** The layout of resident field `name`: from `layouts`, else {@link PACKET_FIELDS}. */
export function fieldLayout(name: string, layouts: Readonly<Record<string, FieldLayout>> = {}): FieldLayout {
  const l = layouts[name] ?? PACKET_FIELDS[name];
  if (!l) throw new Error(`resident field ${name}: not a known packet field (${Object.keys(PACKET_FIELDS).join(', ')}); give its layout in fieldLayouts`);
  if (!(Number.isInteger(l.bytes) && l.bytes > 0 && l.bytes <= 256)) throw new Error(`resident field ${name}: bytes must be an integer in 1..256`);
  if (!(Number.isInteger(l.offset) && l.offset >= 0) || (l.base !== 'l3' && l.base !== 'l4')) throw new Error(`resident field ${name}: base must be l3 or l4 and offset an integer >= 0`);
  return l;
}

/**
 * An NF worker's resident fields: gathers and uploads the rows a batch lacks, reuses the rest, and
 * clears the rows of fields the NF writes on the host.
 */
export class ResidentFields implements ResidentView {
  /** Rows reused and bytes uploaded so far. */
  readonly counts: ResidentCounts = { hits: 0, bytes: 0 };
  private readonly fields: Field[];
  private readonly byName = new Map<string, Field>();
  /** Epoch tables of fields the NF writes before its kernel (`pre`) and after (`gpu`, `post`), to clear. */
  private readonly writtenPre: Uint32Array[];
  private readonly writtenAfter: Uint32Array[];
  private readonly staging: Staging[] = [];
  private readonly epoch: Uint32Array;
  private readonly scatter: GpuModule;
  private readonly args = new KernelArgs();
  private current = 0;

  /**
   * @param names the NF's resident fields, in the order of its mask bits.
   * @param writes the fields the NF's kernel and post stage write (their rows are cleared after each batch).
   * @param preWrites the fields its pre stage writes (their rows are cleared before the batch is staged).
   */
  constructor(
    private readonly device: GpuDevice,
    private readonly pool: PacketPool,
    names: readonly string[],
    writes: readonly string[],
    preWrites: readonly string[],
    layouts: Readonly<Record<string, FieldLayout>>,
    maxBatch: number,
    depth: number,
  ) {
    if (names.length > MAX_RESIDENT_FIELDS) throw new Error(`at most ${MAX_RESIDENT_FIELDS} resident fields per NF`);
    // Before any row is kept: from now on the manager bumps a slot's epoch per received packet.
    pool.trackEpochs();
    this.epoch = pool.meta.epoch;
    let words = 0;
    this.fields = names.map((name, k) => {
      const layout = fieldLayout(name, layouts);
      const w = (layout.bytes + 3) >>> 2;
      // Named by pool, field and layout: NFs that disagree on a layout get separate columns.
      const key = `${pool.id}/${name}/${layout.base}+${layout.offset}:${layout.bytes}`;
      const column = device.sharedMalloc(`gnet.field/${key}`, pool.slotCount * w * 4);
      const f: Field = { name, layout, words: w, valuesAt: words * maxBatch, slotsAt: k * maxBatch, column, epochs: this.epochTable(name, layout) };
      words += w;
      this.byName.set(name, f);
      return f;
    });
    // A write clears every known field it overlaps (writing ip.ttl makes ip.header stale too).
    const tables = (list: readonly string[]) =>
      [...new Set(list.flatMap((w) => overlappingFields(w, layouts)))].filter((w) => layouts[w] ?? PACKET_FIELDS[w]).map((w) => this.epochTable(w, fieldLayout(w, layouts)));
    this.writtenPre = tables(preWrites);
    this.writtenAfter = tables(writes);
    const nf = Math.max(1, this.fields.length);
    for (let b = 0; b < depth; b++) {
      const values = new Uint32Array(device.hostAlloc(Math.max(1, words) * maxBatch * 4).buffer);
      this.staging.push({
        values,
        bytes: new Uint8Array(values.buffer),
        slots: new Uint32Array(device.hostAlloc(nf * maxBatch * 4).buffer),
        dValues: device.malloc(Math.max(1, words) * maxBatch * 4),
        dSlots: device.malloc(nf * maxBatch * 4),
        dBatchSlots: device.malloc(maxBatch * 4),
      });
    }
    this.scatter = device.loadModule(fieldsKernelPath());
  }

  /** One epoch table per field name and pool, whoever (reader or writer) asks first. */
  private epochTable(name: string, layout: FieldLayout): Uint32Array {
    const key = `${this.pool.id}/${name}/${layout.base}+${layout.offset}:${layout.bytes}`;
    return new Uint32Array(this.device.sharedHostAlloc(`gnet.fieldEpoch/${key}`, this.pool.slotCount * 4).buffer);
  }

  column(name: string): DevicePtr {
    const f = this.byName.get(name);
    if (!f) throw new Error(`${name} is not one of this NF's resident fields (${[...this.byName.keys()].join(', ')})`);
    return f.column;
  }

  stride(name: string): number {
    const f = this.byName.get(name);
    if (!f) throw new Error(`${name} is not one of this NF's resident fields`);
    return f.words;
  }

  get slots(): DevicePtr {
    return this.staging[this.current].dBatchSlots;
  }

  /**
   * Queues on `stream`, for pipeline buffer `buf`, the batch's slot indices and every row the device
   * lacks (or may not reuse: bit k of `mask` clear for field k), placed by the scatter kernel.
   */
  stage(batch: PacketBatch, buf: number, stream: GpuStream, mask: number): void {
    this.current = buf;
    const st = this.staging[buf];
    const n = batch.count;
    if (n === 0) return;
    stream.htod(st.dBatchSlots, batch.slots, 0, n * 4);
    const slots = batch.slots;
    const epoch = this.epoch;
    for (let k = 0; k < this.fields.length; k++) {
      const f = this.fields[k];
      const table = f.epochs;
      const reuse = ((mask >>> k) & 1) === 1;
      const rowBytes = f.words * 4;
      const v0 = f.valuesAt * 4;
      let m = 0;
      for (let i = 0; i < n; i++) {
        const s = slots[i];
        const e = epoch[s];
        if (reuse && table[s] === e) continue;
        this.gather(batch, i, f, st.bytes, v0 + m * rowBytes);
        st.slots[f.slotsAt + m++] = s;
        table[s] = e;
      }
      this.counts.hits += n - m;
      if (m === 0) continue;
      this.counts.bytes += m * f.layout.bytes;
      const dValues = st.dValues + v0;
      const dSlots = st.dSlots + f.slotsAt * 4;
      stream.htod(dValues, st.values, v0, m * rowBytes).htod(dSlots, st.slots, f.slotsAt * 4, m * 4);
      this.args.reset().ptr(f.column).ptr(dValues).ptr(dSlots).u32(m).u32(f.words);
      stream.launch(this.scatter, 'gnet_field_scatter', { grid: Math.ceil((m * f.words) / 256), block: 256 }, this.args);
    }
  }

  /**
   * Clears the batch's rows of the fields this NF writes on the host: `pre`, those its pre stage
   * wrote (before staging); `after`, those its kernel and post stage wrote (once post ran).
   */
  invalidate(batch: PacketBatch, when: 'pre' | 'after'): void {
    const slots = batch.slots;
    for (const table of when === 'pre' ? this.writtenPre : this.writtenAfter) for (let i = 0; i < batch.count; i++) table[slots[i]] = 0;
  }

  /** Copies packet `i`'s field into `out` at `at`, zero-padded to whole words (zeros when it has none). */
  private gather(batch: PacketBatch, i: number, f: Field, out: Uint8Array, at: number): void {
    const data = batch.data;
    const off = batch.offsets[i];
    const len = batch.lengths[i];
    const rowBytes = f.words * 4;
    out.fill(0, at, at + rowBytes);
    if (len < 34 || data[off + 12] !== 0x08 || data[off + 13] !== 0x00) return;
    let from = off + 14 + f.layout.offset;
    if (f.layout.base === 'l4') from += (data[off + 14] & 15) << 2;
    if (from + f.layout.bytes > off + len) return;
    for (let b = 0; b < f.layout.bytes; b++) out[at + b] = data[from + b];
  }
}
