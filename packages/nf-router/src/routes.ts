/**
 * Route text loaders: `prefix/len nexthop` lines and `ip route` style lines
 * (`10.0.0.0/8 via 192.0.2.1 dev eth1 proto static`), into an {@link Lpm}.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Lpm, LPM_MAX_NEXTHOP, type LpmOptions } from './lpm.js';

/** One IPv4 route: network (host bits cleared), prefix length and next hop id. */
export interface Route {
  /** The network as an unsigned 32-bit number. */
  network: number;
  /** Prefix length, 0..32. */
  length: number;
  /** Next hop id. */
  nexthop: number;
}

/** The next hop of an `ip route` line: its gateway (`via`) and/or its interface (`dev`). */
export interface NextHopRef {
  /** `via` address as an unsigned 32-bit number, when given. */
  gateway?: number;
  /** `dev` interface name, when given. */
  dev?: string;
}

/** A route line that could not be read: names the source and the 1-based line. */
export class RouteParseError extends Error {
  /** The file (or label) the text came from. */
  readonly source: string;
  /** 1-based line number. */
  readonly line: number;
  /** Why the line is wrong (without the location). */
  readonly problem: string;
  constructor(source: string, line: number, problem: string) {
    super(`${source}:${line}: ${problem}`);
    this.name = 'RouteParseError';
    this.source = source;
    this.line = line;
    this.problem = problem;
  }
}

/** Options of {@link parseRoutes}. */
export interface ParseRoutesOptions {
  /** Name of the text in errors (default `routes`). */
  source?: string;
  /**
   * Maps the next hop of an `ip route` line to an id; return -1 to reject the line. Default: ids
   * 0, 1, 2... given to distinct (`via`, `dev`) pairs in order of appearance (listed in
   * {@link ParsedRoutes.nexthops}).
   */
  resolve?: (ref: NextHopRef) => number;
}

/** What {@link parseRoutes} read. */
export interface ParsedRoutes {
  /** IPv4 routes in file order. */
  routes: Route[];
  /** With the default resolver: the next hop of each id assigned to `ip route` lines. */
  nexthops: NextHopRef[];
  /** Lines skipped on purpose: IPv6 routes and non-unicast `ip route` types (blackhole, local, ...). */
  skipped: number;
}

/** Parses a dotted quad, or returns -1 (no allocation, no throw: this runs per route). */
export function parseIp4(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return n * 256 + part;
}

const NON_UNICAST = new Set(['blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast', 'nat']);
// `ip route` keywords that take one argument and do not name the next hop.
const ONE_ARG = new Set(['proto', 'scope', 'src', 'metric', 'table', 'mtu', 'advmss', 'realm', 'expires', 'error', 'pref', 'tos', 'dsfield', 'weight', 'onlink', 'initcwnd', 'initrwnd', 'hoplimit', 'rtt', 'rttvar', 'features', 'quickack', 'congctl', 'fastopen_no_cookie', 'ssthresh', 'cwnd', 'window', 'nhid']);

/**
 * Parses route text. Each non-empty line not starting with `#` is either `prefix/len nexthop`
 * (a bare address is a /32) or an `ip route` line: `[unicast] prefix|default [via GW] [dev DEV] ...`
 * (the output of `ip route show`). IPv6 lines and non-unicast routes are skipped and counted.
 * @throws RouteParseError naming the line.
 */
export function parseRoutes(text: string, options: ParseRoutesOptions = {}): ParsedRoutes {
  const source = options.source ?? 'routes';
  const ids = new Map<string, number>();
  const nexthops: NextHopRef[] = [];
  const resolve =
    options.resolve ??
    ((ref: NextHopRef): number => {
      const key = `${ref.gateway ?? ''}|${ref.dev ?? ''}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = nexthops.length;
        ids.set(key, id);
        nexthops.push(ref);
      }
      return id;
    });
  const routes: Route[] = [];
  let skipped = 0;
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const words = line.split(/\s+/);
    let w = 0;
    if (words[0] === 'unicast') w++;
    else if (NON_UNICAST.has(words[0])) {
      skipped++;
      continue;
    }
    const dest = words[w++];
    if (dest === undefined) throw new RouteParseError(source, lineNo, 'expected a prefix');
    if (dest.includes(':')) {
      skipped++;
      continue;
    }
    let network: number;
    let length: number;
    if (dest === 'default') {
      network = 0;
      length = 0;
    } else {
      const slash = dest.indexOf('/');
      network = parseIp4(slash < 0 ? dest : dest.slice(0, slash));
      length = slash < 0 ? 32 : /^\d{1,2}$/.test(dest.slice(slash + 1)) ? Number(dest.slice(slash + 1)) : -1;
      if (network < 0) throw new RouteParseError(source, lineNo, `"${dest}" is not an IPv4 prefix`);
      if (length < 0 || length > 32) throw new RouteParseError(source, lineNo, `"${dest}": prefix length must be 0..32`);
      if (length < 32) network = length === 0 ? 0 : (network & (0xffffffff << (32 - length))) >>> 0;
    }
    let nexthop: number;
    if (words.length === w + 1 && /^\d+$/.test(words[w])) {
      nexthop = Number(words[w]);
      if (nexthop > LPM_MAX_NEXTHOP) throw new RouteParseError(source, lineNo, `next hop ${nexthop} is larger than ${LPM_MAX_NEXTHOP}`);
    } else {
      if (words.length === w) throw new RouteParseError(source, lineNo, `"${dest}" has no next hop (expected "prefix/len nexthop" or "prefix via GATEWAY [dev IF]")`);
      const ref: NextHopRef = {};
      for (; w < words.length; w++) {
        const k = words[w];
        if (k === 'via') {
          const g = words[++w] === 'inet' ? words[++w] : words[w];
          const gw = parseIp4(g ?? '');
          if (gw < 0) throw new RouteParseError(source, lineNo, `via "${g ?? ''}" is not an IPv4 address`);
          ref.gateway = gw;
        } else if (k === 'dev') {
          ref.dev = words[++w];
          if (ref.dev === undefined) throw new RouteParseError(source, lineNo, 'dev needs an interface name');
        } else if (ONE_ARG.has(k)) w++;
        else if (k !== 'linkdown' && k !== 'dead' && k !== 'offload' && k !== 'trap' && k !== 'rt_offload' && k !== 'pervasive') {
          throw new RouteParseError(source, lineNo, `unexpected "${k}" (expected "prefix/len nexthop" or an ip route line)`);
        }
      }
      if (ref.gateway === undefined && ref.dev === undefined) throw new RouteParseError(source, lineNo, 'the route names no next hop (via or dev)');
      nexthop = resolve(ref);
      if (nexthop < 0) {
        const what = [ref.gateway !== undefined ? `via ${ip4ToString(ref.gateway)}` : '', ref.dev !== undefined ? `dev ${ref.dev}` : ''].filter(Boolean).join(' ');
        throw new RouteParseError(source, lineNo, `no configured next hop for "${what}"`);
      }
    }
    routes.push({ network, length, nexthop });
  }
  return { routes, nexthops, skipped };
}

/** Formats an unsigned 32-bit address as a dotted quad. */
export function ip4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Reads a route file (gzip when its name ends in `.gz`) as text. */
export function readRoutesText(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Adds `routes` to `lpm` (a later route for the same prefix replaces an earlier one). */
export function addRoutes(lpm: Lpm, routes: readonly Route[]): Lpm {
  for (const r of routes) lpm.add(r.network, r.length, r.nexthop);
  return lpm;
}

/**
 * Builds a table from a route file (`prefix/len nexthop` or `ip route` lines; gzip when `.gz`).
 * @throws RouteParseError for a bad line; Error when the file cannot be read.
 */
export function loadRoutesFile(path: string, options: ParseRoutesOptions & LpmOptions = {}): Lpm {
  const parsed = parseRoutes(readRoutesText(path), { source: path, ...options });
  return addRoutes(new Lpm(options), parsed.routes);
}

/**
 * A run-time route change, as sent to the router NF in a message
 * (`ctx.sendMsgToNf(routerServiceId, {route: 'add', prefix: '10.9.0.0/16', nexthop: 2})`).
 */
export interface RouteUpdate {
  /** `add` (or replace) or `delete`. */
  route: 'add' | 'delete';
  /** `a.b.c.d/len` (a bare address is a /32). */
  prefix: string;
  /** Next hop id, for `add`. */
  nexthop?: number;
}

/**
 * Applies a {@link RouteUpdate} to `lpm` (each table entry changes in one store, so lookups stay
 * correct meanwhile). Returns false, changing nothing, when `body` is not a valid update.
 */
export function applyRouteUpdate(lpm: Lpm, body: unknown): boolean {
  const u = body as Partial<RouteUpdate> | null;
  if (u === null || typeof u !== 'object' || typeof u.prefix !== 'string') return false;
  const slash = u.prefix.indexOf('/');
  const addr = parseIp4(slash < 0 ? u.prefix : u.prefix.slice(0, slash));
  const len = slash < 0 ? 32 : Number(u.prefix.slice(slash + 1));
  if (addr < 0 || !Number.isInteger(len) || len < 0 || len > 32) return false;
  if (u.route === 'delete') return lpm.delete(addr, len);
  if (u.route !== 'add' || !Number.isInteger(u.nexthop) || (u.nexthop as number) < 0 || (u.nexthop as number) > LPM_MAX_NEXTHOP) return false;
  try {
    lpm.add(addr, len, u.nexthop as number);
  } catch {
    return false; // no tbl8 group left
  }
  return true;
}
