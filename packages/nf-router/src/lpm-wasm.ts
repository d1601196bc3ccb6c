/**
 * `Lpm.lookupBatch`'s fast path: the DIR-24-8 tables in a WebAssembly memory and the batch lookup
 * as a small WebAssembly function, written below in flat WAT and assembled here (no build step, no
 * toolchain).
 *
 * Why WebAssembly: a random lookup in a 64 MiB tbl24 is a cache (and TLB) miss, so the speed of a
 * batch is how many misses the CPU keeps in flight, which is bounded by how many instructions each
 * lookup puts in the out-of-order window. V8's code for a typed-array loop re-checks maps, lengths
 * and base pointers at each access (about 40 instructions per lookup in a plain loop, still about
 * 20 unrolled); WebAssembly's gather loop needs about 5, as C does, and batches run about twice as
 * fast (bench/router.bench.mjs). A gather that is interleaved with the per-packet work instead
 * (loading the entry while validating the frame) was measured slower still: that work fills the
 * window.
 *
 * @module
 */

/** The part of the WebAssembly API used here (the project's TypeScript libs carry no DOM types). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** Bytes of tbl24 (2^24 entries of 4 bytes), at byte 0 of the memory. */
export const TBL24_BYTES = 4 << 24;

/** Pass 1 for the address at byte `off` from p: out[i] = tbl24[addrs[i] >>> 8] (p: local 5, q: local 6). */
const gather = (off: number) => `
    local.get 6
    local.get 5
    i32.load offset=${off}
    i32.const 8
    i32.shr_u
    i32.const 2
    i32.shl
    i32.load
    i32.store offset=${off}`;

/** p += step, q += step, and loops while p < local `end`. */
const next = (step: number, end: number) => `
    local.get 6
    i32.const ${step}
    i32.add
    local.set 6
    local.get 5
    i32.const ${step}
    i32.add
    local.tee 5
    local.get ${end}
    i32.lt_u
    br_if 0`;

/**
 * `lookup(addrs, out, n, tbl8)`, byte offsets into the memory: `out[i]` = next hop of `addrs[i]`
 * or -1, for `n` > 0. Two passes: the first only gathers the tbl24 entries (independent loads, four
 * per step, so that their misses overlap as far as the CPU allows), the second follows the few
 * tbl8 extensions and decodes. Locals: 0 addrs, 1 out, 2 n, 3 tbl8, 4 end, 5 p, 6 q, 7 e, 8 end4.
 */
const LOOKUP = `
  local.get 0
  local.get 2
  i32.const 2
  i32.shl
  i32.add
  local.set 4          ;; end = addrs + 4n
  local.get 0
  local.get 2
  i32.const -4
  i32.and
  i32.const 2
  i32.shl
  i32.add
  local.set 8          ;; end4 = addrs + 4 (n & ~3)
  local.get 0
  local.set 5
  local.get 1
  local.set 6
  block                ;; pass 1, four at a time
    local.get 5
    local.get 8
    i32.ge_u
    br_if 0
    loop ${gather(0)} ${gather(4)} ${gather(8)} ${gather(12)} ${next(16, 8)}
    end
  end
  block                ;; pass 1, the last n % 4
    local.get 5
    local.get 4
    i32.ge_u
    br_if 0
    loop ${gather(0)} ${next(4, 4)}
    end
  end
  local.get 0
  local.set 5
  local.get 1
  local.set 6
  loop                 ;; pass 2
    local.get 6
    i32.load
    local.tee 7
    i32.const 0xc0000000
    i32.and
    i32.const 0xc0000000
    i32.eq
    if                 ;; valid + extended: e = tbl8[(group << 8) | (addr & 0xff)]
      local.get 3
      local.get 7
      i32.const 0x3fffffff
      i32.and
      i32.const 8
      i32.shl
      local.get 5
      i32.load
      i32.const 0xff
      i32.and
      i32.or
      i32.const 2
      i32.shl
      i32.add
      i32.load
      local.set 7
    end
    local.get 6        ;; out[i] = e < 0 (valid) ? e & LPM_VALUE : -1
    local.get 7
    i32.const 0x3fffffff
    i32.and
    i32.const -1
    local.get 7
    i32.const 0
    i32.lt_s
    select
    i32.store ${next(4, 4)}
  end
`;

/** Opcodes of the instructions {@link LOOKUP} uses. */
const OPS: Record<string, number> = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br_if: 0x0d,
  select: 0x1b,
  'local.get': 0x20,
  'local.set': 0x21,
  'local.tee': 0x22,
  'i32.load': 0x28,
  'i32.store': 0x36,
  'i32.const': 0x41,
  'i32.eq': 0x46,
  'i32.ge_u': 0x4f,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.add': 0x6a,
  'i32.and': 0x71,
  'i32.or': 0x72,
  'i32.shl': 0x74,
  'i32.shr_u': 0x76,
};

/** LEB128 of `v`: unsigned, or signed (i32.const immediates). */
function leb(v: number, signed = false): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v = signed ? v >> 7 : v >>> 7;
    const done = signed ? (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0) : v === 0;
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** Assembles flat WAT text (one instruction per line, `;;` comments) of the subset in {@link OPS}. */
function assemble(text: string): number[] {
  const code: number[] = [];
  for (const line of text.split('\n')) {
    const [op, arg] = line.replace(/;;.*/, '').trim().split(/\s+/);
    if (!op) continue;
    if (OPS[op] === undefined) throw new Error(`lpm-wasm: no opcode for ${op}`);
    code.push(OPS[op]);
    if (op === 'block' || op === 'loop' || op === 'if') code.push(0x40); // no result
    else if (op === 'i32.load' || op === 'i32.store') code.push(2, ...leb(Number(arg?.replace('offset=', '') ?? 0))); // 4-byte aligned
    else if (op === 'i32.const') code.push(...leb(Number(arg) | 0, true));
    else if (arg !== undefined) code.push(...leb(Number(arg)));
  }
  return code;
}

const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
const I32 = 0x7f;

/** The module: imports `lpm.memory`, exports `lookup` ({@link LOOKUP}). */
function moduleBytes(): Uint8Array {
  const body = [1, 5, I32, ...assemble(LOOKUP), OPS.end]; // 5 locals beyond the params, all i32
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // "\0asm", version 1
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 0]), // type 0: (i32 i32 i32 i32) -> ()
    ...section(2, [1, ...name('lpm'), ...name('memory'), 2, 0, 1]), // import a memory of >= 1 page
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(7, [1, ...name('lookup'), 0, 0]), // exported as "lookup"
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** A table memory: tbl24 at byte 0, then tbl8, then the batch scratch (addresses, results). */
export interface WasmTables {
  /** The memory's buffer. */
  buffer: ArrayBuffer;
  /** Byte offset of tbl8. */
  tbl8: number;
  /** Byte offset of the scratch addresses (`batch` u32s). */
  addrs: number;
  /** Byte offset of the scratch results (`batch` i32s). */
  hops: number;
  /** The lookup ({@link LOOKUP}). */
  lookup: (addrs: number, out: number, n: number, tbl8: number) => void;
}

let compiled: object | undefined;

/**
 * A memory for the tables and `batch` scratch entries with the lookup bound to it, or undefined
 * where WebAssembly is unavailable (e.g. `node --jitless`) or the tables do not fit in 4 GiB.
 */
export function wasmTables(tbl8Bytes: number, batch: number): WasmTables | undefined {
  const bytes = TBL24_BYTES + tbl8Bytes + 8 * batch;
  if (typeof WebAssembly !== 'object' || bytes > 2 ** 32) return undefined;
  let memory: { buffer: ArrayBuffer };
  try {
    // Pages are zero until written, as with an ArrayBuffer: unrouted tbl24 ranges cost no RAM.
    memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  } catch {
    return undefined; // no address space for it: the caller uses plain typed arrays
  }
  compiled ??= new WebAssembly.Module(moduleBytes());
  const { exports } = new WebAssembly.Instance(compiled, { lpm: { memory } });
  const tbl8 = TBL24_BYTES;
  const addrs = tbl8 + tbl8Bytes;
  return { buffer: memory.buffer, tbl8, addrs, hops: addrs + 4 * batch, lookup: exports.lookup as WasmTables['lookup'] };
}
