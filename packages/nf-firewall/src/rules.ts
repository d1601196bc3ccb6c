/**
 * Rule sets: parsing of the ClassBench format and of gnet's readable line format into one
 * struct-of-arrays table ({@link RuleSet}), with priority = order (rule 0 wins over rule 1).
 *
 * ClassBench line (tab or space separated; DPDK's `dpdk-test-acl` reads the same):
 * `@src/len dst/len sport_lo : sport_hi dport_lo : dport_hi proto/mask [flags/mask] [action]`
 *
 * gnet line format (`#` starts a comment; fields in any order after the action):
 * `accept|drop|out:N|tonf:N [src CIDR] [dst CIDR] [sport N[-M]] [dport N[-M]] [proto tcp|udp|icmp|N[/mask]]`
 * and one optional `policy accept|drop` line (the action of packets no rule matches).
 * @module
 */

/** Rule actions (the NF maps them onto nflib's packet actions). */
export const RuleAction = {
  /** Let the packet continue (nflib `NEXT`). */
  ACCEPT: 1,
  /** Drop the packet. */
  DROP: 0,
  /** Send it to the service in the rule's `target` (nflib `TONF`). */
  TONF: 2,
  /** Send it out of the port in the rule's `target` (nflib `OUT`). */
  OUT: 3,
} as const;

/** One of the {@link RuleAction} codes. */
export type RuleActionCode = (typeof RuleAction)[keyof typeof RuleAction];

/** A parsed rule set: field ranges per rule (index = priority), actions and where each rule came from. */
export interface RuleSet {
  /** Number of rules. */
  readonly count: number;
  /** Source address range per rule (inclusive), from the prefix. */
  readonly srcLo: Uint32Array;
  /** See {@link RuleSet.srcLo}. */
  readonly srcHi: Uint32Array;
  /** Destination address range per rule (inclusive). */
  readonly dstLo: Uint32Array;
  /** See {@link RuleSet.dstLo}. */
  readonly dstHi: Uint32Array;
  /** Source port range per rule (inclusive). */
  readonly sportLo: Uint16Array;
  /** See {@link RuleSet.sportLo}. */
  readonly sportHi: Uint16Array;
  /** Destination port range per rule (inclusive). */
  readonly dportLo: Uint16Array;
  /** See {@link RuleSet.dportLo}. */
  readonly dportHi: Uint16Array;
  /** Protocol value and mask per rule: matches when `(proto & mask) === (value & mask)`. */
  readonly protoValue: Uint8Array;
  /** See {@link RuleSet.protoValue}. */
  readonly protoMask: Uint8Array;
  /** Action per rule (a {@link RuleAction} code). */
  readonly action: Uint8Array;
  /** Service id (TONF) or port (OUT) per rule. */
  readonly target: Uint16Array;
  /** Action of packets no rule matches (ACCEPT or DROP); undefined when the file does not say. */
  readonly policy: RuleActionCode | undefined;
  /** 1-based source line of each rule, for messages. */
  readonly lines: Uint32Array;
}

/** A rule file problem: names the file, the line and the field. */
export class RuleError extends Error {
  /** The file (or label) the rules came from. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** The field that is wrong (`src`, `dport`, `proto`, `action`...). */
  readonly field: string;
  /** Builds the error; the message is `file:line: field: problem`. */
  constructor(file: string, line: number, field: string, problem: string) {
    super(`${file}:${line}: ${field}: ${problem}`);
    this.name = 'RuleError';
    this.file = file;
    this.line = line;
    this.field = field;
  }
}

/** One rule while parsing (plain object; parsing is not a data path). */
export interface RuleSpec {
  /** Source prefix address (host order) and length. */
  src: [number, number];
  /** Destination prefix address and length. */
  dst: [number, number];
  /** Source port range. */
  sport: [number, number];
  /** Destination port range. */
  dport: [number, number];
  /** Protocol value and mask. */
  proto: [number, number];
  /** Action code. */
  action: RuleActionCode;
  /** TONF service / OUT port. */
  target: number;
  /** 1-based source line. */
  line: number;
}

/** Inclusive address range of `addr/len`. */
export function prefixRange(addr: number, len: number): [number, number] {
  if (len === 0) return [0, 0xffffffff];
  const mask = (0xffffffff << (32 - len)) >>> 0;
  const lo = (addr & mask) >>> 0;
  return [lo, (lo | ~mask) >>> 0];
}

/** Builds a {@link RuleSet} from parsed rules. */
export function ruleSetFrom(specs: readonly RuleSpec[], policy?: RuleActionCode): RuleSet {
  const n = specs.length;
  const rs = {
    count: n,
    srcLo: new Uint32Array(n),
    srcHi: new Uint32Array(n),
    dstLo: new Uint32Array(n),
    dstHi: new Uint32Array(n),
    sportLo: new Uint16Array(n),
    sportHi: new Uint16Array(n),
    dportLo: new Uint16Array(n),
    dportHi: new Uint16Array(n),
    protoValue: new Uint8Array(n),
    protoMask: new Uint8Array(n),
    action: new Uint8Array(n),
    target: new Uint16Array(n),
    policy,
    lines: new Uint32Array(n),
  };
  specs.forEach((s, i) => {
    [rs.srcLo[i], rs.srcHi[i]] = prefixRange(s.src[0], s.src[1]);
    [rs.dstLo[i], rs.dstHi[i]] = prefixRange(s.dst[0], s.dst[1]);
    [rs.sportLo[i], rs.sportHi[i]] = s.sport;
    [rs.dportLo[i], rs.dportHi[i]] = s.dport;
    rs.protoMask[i] = s.proto[1];
    rs.protoValue[i] = s.proto[0] & s.proto[1];
    rs.action[i] = s.action;
    rs.target[i] = s.target;
    rs.lines[i] = s.line;
  });
  return rs;
}

/** Whether rule `r` matches the 5-tuple (the definition every classifier is checked against). */
export function ruleMatches(rs: RuleSet, r: number, src: number, dst: number, sport: number, dport: number, proto: number): boolean {
  return (
    src >= rs.srcLo[r] &&
    src <= rs.srcHi[r] &&
    dst >= rs.dstLo[r] &&
    dst <= rs.dstHi[r] &&
    sport >= rs.sportLo[r] &&
    sport <= rs.sportHi[r] &&
    dport >= rs.dportLo[r] &&
    dport <= rs.dportHi[r] &&
    (proto & rs.protoMask[r]) === rs.protoValue[r]
  );
}

/** The linear-scan oracle: index of the first rule that matches, or -1. */
export function linearClassify(rs: RuleSet, src: number, dst: number, sport: number, dport: number, proto: number): number {
  for (let r = 0; r < rs.count; r++) if (ruleMatches(rs, r, src, dst, sport, dport, proto)) return r;
  return -1;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseNumber(text: string, max: number, fail: (p: string) => never, what: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) fail(`"${text}" is not a number (${what})`);
  const v = Number(text);
  if (v > max) fail(`${text} is out of range 0..${max} (${what})`);
  return v;
}

function parseCidr(text: string, fail: (p: string) => never): [number, number] {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const m = IPV4.exec(addr);
  if (!m) fail(`"${text}" is not an IPv4 address or prefix (a.b.c.d/len)`);
  const octets = m!.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) fail(`"${text}" has an octet above 255`);
  const len = slash < 0 ? 32 : parseNumber(text.slice(slash + 1), 32, fail, 'prefix length');
  return [((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0, len];
}

function parseActionWord(text: string, fail: (p: string) => never): [RuleActionCode, number] {
  const m = /^(accept|drop|out|tonf)(?::(\d+))?$/.exec(text.toLowerCase());
  if (!m) fail(`"${text}" is not an action (accept, drop, out:<port>, tonf:<service>)`);
  const needs = m![1] === 'out' || m![1] === 'tonf';
  if (needs !== (m![2] !== undefined)) fail(needs ? `"${text}" needs a destination, e.g. ${m![1]}:1` : `"${text}" takes no destination`);
  const code = m![1] === 'accept' ? RuleAction.ACCEPT : m![1] === 'drop' ? RuleAction.DROP : m![1] === 'out' ? RuleAction.OUT : RuleAction.TONF;
  const target = m![2] === undefined ? 0 : Number(m![2]);
  if (target > 0xffff) fail(`destination ${target} is above 65535`);
  return [code, target];
}

/** Parses one ClassBench rule line (without checking for `@`). */
function parseClassBench(text: string, line: number, file: string): RuleSpec {
  const tok = text.slice(1).trim().split(/[ \t]+/);
  let field = 'src';
  const fail = (p: string): never => {
    throw new RuleError(file, line, field, p);
  };
  if (tok.length < 9) {
    field = ['src', 'dst', 'sport', 'sport', 'sport', 'dport', 'dport', 'dport', 'proto'][tok.length] ?? 'proto';
    fail(`missing (a ClassBench rule is "@src/len dst/len sport_lo : sport_hi dport_lo : dport_hi proto/mask [flags/mask]")`);
  }
  const src = parseCidr(tok[0], fail);
  field = 'dst';
  const dst = parseCidr(tok[1], fail);
  const ports = (i: number, name: string): [number, number] => {
    field = name;
    if (tok[i + 1] !== ':') fail(`expected "lo : hi", got "${tok.slice(i, i + 3).join(' ')}"`);
    const lo = parseNumber(tok[i], 0xffff, fail, 'port');
    const hi = parseNumber(tok[i + 2], 0xffff, fail, 'port');
    if (lo > hi) fail(`range ${lo} : ${hi} is empty`);
    return [lo, hi];
  };
  const sport = ports(2, 'sport');
  const dport = ports(5, 'dport');
  field = 'proto';
  const pm = tok[8].split('/');
  if (pm.length !== 2) fail(`"${tok[8]}" is not value/mask`);
  const proto: [number, number] = [parseNumber(pm[0], 0xff, fail, 'protocol'), parseNumber(pm[1], 0xff, fail, 'protocol mask')];
  let rest = 9;
  if (tok[rest] !== undefined && tok[rest].includes('/')) {
    // TCP flags/mask: parsed for validation, not matched (dpdk-test-acl ignores them too, and
    // ClassBench traces do not carry real flag values).
    field = 'flags';
    const fm = tok[rest].split('/');
    if (fm.length !== 2) fail(`"${tok[rest]}" is not value/mask`);
    parseNumber(fm[0], 0xffff, fail, 'flags');
    parseNumber(fm[1], 0xffff, fail, 'flags mask');
    rest++;
  }
  let action: RuleActionCode = RuleAction.ACCEPT;
  let target = 0;
  if (tok[rest] !== undefined) {
    field = 'action';
    [action, target] = parseActionWord(tok[rest], fail);
    rest++;
  }
  if (tok[rest] !== undefined) {
    field = 'line';
    fail(`unexpected "${tok[rest]}" after the rule`);
  }
  return { src, dst, sport, dport, proto, action, target, line };
}

const PROTO_NAMES: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, sctp: 132 };

/** Parses one gnet-format rule line. */
function parseGnetLine(text: string, line: number, file: string): RuleSpec {
  const tok = text.trim().split(/[ \t]+/);
  let field = 'action';
  const fail = (p: string): never => {
    throw new RuleError(file, line, field, p);
  };
  const [action, target] = parseActionWord(tok[0], fail);
  const spec: RuleSpec = { src: [0, 0], dst: [0, 0], sport: [0, 0xffff], dport: [0, 0xffff], proto: [0, 0], action, target, line };
  const seen = new Set<string>();
  for (let i = 1; i < tok.length; i += 2) {
    field = tok[i].toLowerCase();
    if (!['src', 'dst', 'sport', 'dport', 'proto'].includes(field)) fail(`unknown field (use src, dst, sport, dport, proto)`);
    if (seen.has(field)) fail('given twice');
    seen.add(field);
    const v = tok[i + 1];
    if (v === undefined) fail('has no value');
    if (field === 'src' || field === 'dst') spec[field] = parseCidr(v, fail);
    else if (field === 'sport' || field === 'dport') {
      const [a, b = a] = v.split('-');
      const lo = parseNumber(a, 0xffff, fail, 'port');
      const hi = parseNumber(b, 0xffff, fail, 'port');
      if (lo > hi) fail(`range ${lo}-${hi} is empty`);
      spec[field] = [lo, hi];
    } else {
      const [p, m] = v.toLowerCase().split('/');
      const value = PROTO_NAMES[p] ?? parseNumber(p, 0xff, fail, 'protocol');
      spec.proto = [value, m === undefined ? 0xff : parseNumber(m, 0xff, fail, 'protocol mask')];
    }
  }
  return spec;
}

/**
 * Parses a rule file's text. Lines starting with `@` are ClassBench rules, other non-empty,
 * non-comment lines are gnet rules (`accept dst 10.0.0.0/8 dport 22 proto tcp`) or the `policy`
 * line; both kinds may be mixed. Priority is order.
 * @throws RuleError naming the file, the line and the field.
 */
export function parseRules(text: string, file = '<rules>'): RuleSet {
  const specs: RuleSpec[] = [];
  let policy: RuleActionCode | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    const hash = raw.indexOf('#');
    const t = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!t) continue;
    if (t.startsWith('@')) specs.push(parseClassBench(t, i + 1, file));
    else if (/^policy\b/i.test(t)) {
      const w = t.split(/[ \t]+/);
      if (policy !== undefined) throw new RuleError(file, i + 1, 'policy', 'given twice');
      if (w.length !== 2 || !/^(accept|drop)$/i.test(w[1])) throw new RuleError(file, i + 1, 'policy', `must be "policy accept" or "policy drop"`);
      policy = w[1].toLowerCase() === 'accept' ? RuleAction.ACCEPT : RuleAction.DROP;
    } else specs.push(parseGnetLine(t, i + 1, file));
  }
  return ruleSetFrom(specs, policy);
}

/** A ClassBench trace line's 5-tuple (`src dst sport dport proto [flags] [rule]`, decimal addresses). */
export interface TraceHeader {
  /** Source address. */
  src: number;
  /** Destination address. */
  dst: number;
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** Protocol. */
  proto: number;
}

/**
 * Parses one ClassBench trace line; null for an empty line.
 * @throws RuleError naming the line and the field.
 */
export function parseTraceLine(text: string, line: number, file = '<trace>'): TraceHeader | null {
  const t = text.trim();
  if (!t || t.startsWith('#')) return null;
  const tok = t.split(/[ \t]+/);
  const names = ['src', 'dst', 'sport', 'dport', 'proto'];
  const max = [0xffffffff, 0xffffffff, 0xffff, 0xffff, 0xff];
  const v = names.map((name, k) => {
    if (tok[k] === undefined) throw new RuleError(file, line, name, 'missing (a trace line is "src dst sport dport proto ...")');
    return parseNumber(tok[k], max[k], (p) => {
      throw new RuleError(file, line, name, p);
    }, name);
  });
  return { src: v[0], dst: v[1], sport: v[2], dport: v[3], proto: v[4] };
}
