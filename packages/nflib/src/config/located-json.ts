/**
 * A JSON parser that remembers where every value came from, so a bad config can be reported as
 * `file:line:column: field: problem` instead of a bare message. Config files are small; this is not on
 * a data path.
 * @module
 */

/** Where a value starts in its source text (1-based line and column). */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A parsed document: the plain value plus the position of every value by its JSON path. */
export interface LocatedJson {
  value: unknown;
  /** Position by path, e.g. `router.routes` or `sas[0].spi` (`''` is the root). */
  positions: Map<string, SourcePosition>;
  /** The file (or label) the text came from. */
  source: string;
}

/** A config problem that names the file, line and field. */
export class ConfigError extends Error {
  /** The config file (or label). */
  readonly file: string;
  /** 1-based line of the offending value, 0 when unknown. */
  readonly line: number;
  /** 1-based column of the offending value, 0 when unknown. */
  readonly column: number;
  /** JSON path of the field, e.g. `ipsec.sas[0].encKey`. */
  readonly field: string;
  constructor(file: string, line: number, column: number, field: string, problem: string) {
    super(`${file}:${line}:${column}: ${field || '(top level)'}: ${problem}`);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.field = field;
  }
}

/**
 * Parses `text` as JSON, recording the position of every value.
 * @throws ConfigError with the line and column of a syntax error.
 */
export function parseLocatedJson(text: string, source: string): LocatedJson {
  const positions = new Map<string, SourcePosition>();
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (msg: string, path: string): never => {
    throw new ConfigError(source, line, i - lineStart + 1, path, msg);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        line++;
        lineStart = ++i;
      } else if (c === 32 || c === 9 || c === 13) i++;
      else break;
    }
  };
  const value = (path: string): unknown => {
    ws();
    positions.set(path, { line, column: i - lineStart + 1 });
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a quoted key', path);
        const key = str(path);
        ws();
        if (text[i] !== ':') fail(`expected ':' after key "${key}"`, path);
        i++;
        obj[key] = value(path ? `${path}.${key}` : key);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return obj;
        } else fail("expected ',' or '}'", path);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}[${arr.length}]`));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return arr;
        } else fail("expected ',' or ']'", path);
      }
    }
    if (c === '"') return str(path);
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) return fail(i >= text.length ? 'unexpected end of file' : `unexpected character '${c}'`, path);
    i += m[0].length;
    return m[0] === 'true' ? true : m[0] === 'false' ? false : m[0] === 'null' ? null : Number(m[0]);
  };
  const str = (path: string): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      if (text[i] === '\n') fail('newline inside a string', path);
      i++;
    }
    if (i >= text.length) fail('unterminated string', path);
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid escape in string', path);
    }
  };
  const v = value('');
  ws();
  if (i < text.length) fail('unexpected text after the JSON value', '');
  return { value: v, positions, source };
}

/**
 * A typed view over one object of a located document that reads fields and reports problems with
 * their position. NF config sections are validated through it.
 */
export class ConfigSection {
  /** The document the section belongs to. */
  readonly doc: LocatedJson;
  /** JSON path of this section (`router`, `ipsec.sas[0]`). */
  readonly path: string;
  /** The section's plain object. */
  readonly value: Record<string, unknown>;

  constructor(doc: LocatedJson, path: string, value?: unknown) {
    this.doc = doc;
    this.path = path;
    const v = value === undefined ? lookup(doc.value, path) : value;
    if (v === undefined) this.value = {};
    else if (v === null || typeof v !== 'object' || Array.isArray(v)) throw this.error('', 'must be an object');
    else this.value = v as Record<string, unknown>;
  }

  /** JSON path of a field of this section. */
  fieldPath(key: string): string {
    return this.path ? (key.startsWith('[') ? `${this.path}${key}` : `${this.path}.${key}`) : key;
  }

  /** A {@link ConfigError} located at `key` (or at the section when `key` is empty). */
  error(key: string, problem: string): ConfigError {
    const field = key ? this.fieldPath(key) : this.path;
    const pos = this.doc.positions.get(field) ?? this.doc.positions.get(this.path) ?? { line: 0, column: 0 };
    return new ConfigError(this.doc.source, pos.line, pos.column, field, problem);
  }

  /** Whether the section has `key`. */
  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  /** A string field; `fallback` when absent, else an error. */
  string(key: string, fallback?: string): string {
    const v = this.value[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string') throw this.error(key, v === undefined ? 'is required (a string)' : 'must be a string');
    return v;
  }

  /** An integer field within [min, max]; `fallback` when absent, else an error. */
  integer(key: string, min: number, max: number, fallback?: number): number {
    const v = this.value[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.error(key, v === undefined ? 'is required (an integer)' : 'must be an integer');
    if (v < min || v > max) throw this.error(key, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  /** A boolean field; `fallback` when absent. */
  boolean(key: string, fallback: boolean): boolean {
    const v = this.value[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw this.error(key, 'must be true or false');
    return v;
  }

  /** One of `choices`; `fallback` when absent. */
  oneOf<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const v = this.value[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      throw this.error(key, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}`);
    }
    return v as T;
  }

  /** A sub-object as a section (empty when absent). */
  section(key: string): ConfigSection {
    return new ConfigSection(this.doc, this.fieldPath(key), this.value[key] ?? {});
  }

  /** An array field as a list of sections (each element must be an object). */
  sections(key: string): ConfigSection[] {
    const v = this.value[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw this.error(key, 'must be an array');
    return v.map((el, idx) => new ConfigSection(this.doc, this.fieldPath(key) + `[${idx}]`, el));
  }

  /** An array of strings. */
  strings(key: string, fallback: string[] = []): string[] {
    const v = this.value[key];
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw this.error(key, 'must be an array of strings');
    return v as string[];
  }
}

function lookup(root: unknown, path: string): unknown {
  if (!path) return root;
  let cur: unknown = root;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
