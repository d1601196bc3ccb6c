/**
 * Kernel parameter layouts read from PTX, so that a launch on the GPU is checked (argument count,
 * sizes, alignment) exactly as on the emulated device, where the host module describes its kernels.
 *
 * @module
 */

/** One kernel parameter as PTX declares it. */
export interface PtxParam {
  /** Bytes it occupies. */
  size: number;
  /** Its alignment in the parameter buffer. */
  align: number;
  /** The PTX type, e.g. `u64`, `f32`, or `b8` for a struct passed as bytes. */
  type: string;
}

const typeBytes: Record<string, number> = { b8: 1, u8: 1, s8: 1, b16: 2, u16: 2, s16: 2, f16: 2, b32: 4, u32: 4, s32: 4, f32: 4 };
for (const t of ['b64', 'u64', 's64', 'f64']) typeBytes[t] = 8;

/**
 * The parameters of every `.entry` in a PTX module, by entry name. Handles the forms nvcc emits:
 * `.param .u64 p`, `.param .u64 .ptr .global .align 4 p` (the `.align` there is the pointee's) and
 * `.param .align 16 .b8 p[32]` for structs.
 * @throws Error on a parameter declaration it cannot read.
 */
export function ptxKernelParams(ptx: string): Map<string, PtxParam[]> {
  const out = new Map<string, PtxParam[]>();
  const text = ptx.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of text.matchAll(/\.entry\s+([A-Za-z_$%][\w$]*)\s*\(([^)]*)\)/g)) {
    const params: PtxParam[] = [];
    for (const decl of m[2].split(',').map((d) => d.trim()).filter(Boolean)) params.push(parseParam(m[1], decl));
    out.set(m[1], params);
  }
  return out;
}

function parseParam(entry: string, decl: string): PtxParam {
  const tokens = decl.split(/\s+/);
  const bad = () => new Error(`PTX entry ${entry}: cannot read parameter "${decl}"`);
  if (tokens[0] !== '.param') throw bad();
  let i = 1;
  let align: number | undefined;
  if (tokens[i] === '.align') {
    align = Number(tokens[i + 1]);
    i += 2;
  }
  const type = tokens[i]?.replace(/^\./, '') ?? '';
  const elem = typeBytes[type];
  if (elem === undefined) throw bad();
  const name = tokens[tokens.length - 1];
  const arr = /\[(\d+)\]$/.exec(name);
  const size = arr ? elem * Number(arr[1]) : elem;
  return { size, align: align ?? elem, type };
}
