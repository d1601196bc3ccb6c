/**
 * Command-line parsing for the `gnet` CLI: flags with values (`--in X` or `--in=X`), repeatable
 * flags, and usage errors that say what to do.
 * @module
 */

/** A usage error: the CLI prints it with the command's help hint and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed flags: last value wins, except for flags listed as repeatable. */
export interface ParsedFlags {
  values: Map<string, string>;
  lists: Map<string, string[]>;
  booleans: Set<string>;
  positionals: string[];
}

/**
 * Parses `argv` against the known flags. `valued` flags take a value, `optional` may have one
 * (`--stats` or `--stats=json`), `repeat` flags collect values, `bool` flags take none.
 * @throws UsageError for unknown flags or missing values.
 */
export function parseFlags(
  argv: readonly string[],
  spec: { valued: string[]; optional?: string[]; repeat?: string[]; bool?: string[] },
): ParsedFlags {
  const out: ParsedFlags = { values: new Map(), lists: new Map(), booleans: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    if (spec.bool?.includes(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      out.booleans.add(name);
    } else if (spec.optional?.includes(name)) {
      out.values.set(name, inline ?? '');
    } else if (spec.valued.includes(name) || spec.repeat?.includes(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      if (spec.repeat?.includes(name)) out.lists.set(name, [...(out.lists.get(name) ?? []), v]);
      else out.values.set(name, v);
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  return out;
}

/**
 * `--slot-size`: bytes per packet buffer, a multiple of 64 from 128 to 65536 (default 2048). Frames
 * longer than a slot are dropped and counted (`rx_invalid`), so jumbo frames need a larger one.
 */
export function slotSizeFlag(flags: ParsedFlags): number {
  const n = intFlag(flags, 'slot-size', 128, 65536, 2048);
  if (n % 64 !== 0) throw new UsageError(`--slot-size must be a multiple of 64 (frames sit 64-byte aligned), got ${n}; for 9000-byte jumbo frames use 9088`);
  return n;
}

/** An integer flag value within [min, max]. */
export function intFlag(flags: ParsedFlags, name: string, min: number, max: number, fallback: number): number {
  const v = flags.values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${v}"`);
  return n;
}
