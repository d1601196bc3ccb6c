/**
 * The router's config section (`{"router": {...}}` in `gnet run --config`), validated with the file,
 * line and field of every problem. See the package README for the format.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigSection, parseLocatedJson, macToNumber, type LocatedJson } from '@gnet/nflib';
import { Lpm } from './lpm.js';
import { addRoutes, parseIp4, parseRoutes, readRoutesText, RouteParseError, type NextHopRef, type ParsedRoutes } from './routes.js';

/** Where a next hop is: the port to send on and the MAC to send to. */
export interface NextHop {
  /** Output port id. */
  port: number;
  /** Destination MAC (48-bit number). */
  mac: number;
  /** The next hop's IPv4 address (to match `via` in `ip route` lines), when given. */
  gateway?: number;
  /** An interface name (to match `dev` in `ip route` lines without `via`), when given. */
  dev?: string;
}

/** What happens to frames that are not IPv4 (ARP, IPv6, VLAN-tagged, ...). */
export interface OtherPolicy {
  /** `drop` (counted by type) or `out` (sent unchanged on {@link OtherPolicy.port}). */
  action: 'drop' | 'out';
  /** Port for `out`. */
  port: number;
}

/** A validated router config. */
export interface RouterConfig {
  /** The routing table, loaded. */
  lpm: Lpm;
  /** Next hops by id. */
  nexthops: Map<number, NextHop>;
  /** The router's own MAC per port id (the source MAC of frames it sends there). */
  portMacs: Map<number, number>;
  /** Non-IPv4 frames. */
  other: OtherPolicy;
}

// Keys the framework or the runner put into every NF section.
const RUNNER_KEYS = new Set(['mode', 'workers', 'pipelineDepth', 'batchDeadlineUs']);
const KEYS = new Set(['routes', 'nexthops', 'ports', 'other', 'tbl8Groups']);
const MAX_PORT = 1023;
const MAX_NEXTHOP_ID = (1 << 20) - 1;

/**
 * The NF's section as a `ConfigSection` with source positions: re-read from `source` (the
 * config file) when it is one and holds the same section, else without positions.
 */
export function routerSection(value: unknown, source: string, name = 'router'): ConfigSection {
  let doc: LocatedJson | undefined;
  try {
    doc = parseLocatedJson(readFileSync(source, 'utf8'), source);
  } catch {
    doc = undefined;
  }
  if (!doc || doc.value === null || typeof doc.value !== 'object' || !(name in (doc.value as object))) {
    doc = { value: { [name]: value }, positions: new Map(), source };
  }
  return new ConfigSection(doc, name, value ?? {});
}

function mac(s: ConfigSection, key: string): number {
  const text = s.string(key);
  try {
    return macToNumber(text);
  } catch (err) {
    throw s.error(key, (err as Error).message);
  }
}

/** Own keys of a section's object that name ids (`"0"`, `"17"`), checked against `max`. */
function idKeys(s: ConfigSection, max: number, what: string): number[] {
  return Object.keys(s.value).map((k) => {
    if (!/^(0|[1-9]\d*)$/.test(k) || Number(k) > max) throw s.error(k, `${what} id must be an integer 0..${max}, got "${k}"`);
    return Number(k);
  });
}

/**
 * Validates the router section and loads its routes. `source` is the config file: a `routes` path
 * is relative to it.
 * @throws ConfigError naming the file, line and field (a bad route line is reported at `routes`).
 */
export function parseRouterConfig(section: ConfigSection): RouterConfig {
  for (const k of Object.keys(section.value)) if (!KEYS.has(k) && !RUNNER_KEYS.has(k)) throw section.error(k, `unknown key (expected one of ${[...KEYS].join(', ')})`);

  const portMacs = new Map<number, number>();
  const ports = section.section('ports');
  for (const id of idKeys(ports, MAX_PORT, 'port')) portMacs.set(id, mac(ports.section(String(id)), 'mac'));

  const nexthops = new Map<number, NextHop>();
  const nhs = section.section('nexthops');
  for (const id of idKeys(nhs, MAX_NEXTHOP_ID, 'next hop')) {
    const s = nhs.section(String(id));
    const port = s.integer('port', 0, MAX_PORT);
    if (!portMacs.has(port)) throw s.error('port', `port ${port} has no MAC: add "ports": {"${port}": {"mac": "..."}}`);
    const nh: NextHop = { port, mac: mac(s, 'mac') };
    if (s.has('gateway')) {
      const g = parseIp4(s.string('gateway'));
      if (g < 0) throw s.error('gateway', 'must be an IPv4 address');
      nh.gateway = g;
    }
    if (s.has('dev')) nh.dev = s.string('dev');
    nexthops.set(id, nh);
  }

  const o = section.section('other');
  const action = o.oneOf('action', ['drop', 'out'] as const, 'drop');
  const other: OtherPolicy = { action, port: action === 'out' ? o.integer('port', 0, MAX_PORT) : 0 };

  // `ip route` lines name their next hop by gateway (or interface): match it to a configured one.
  const byGateway = new Map<number, number>();
  const byDev = new Map<string, number>();
  for (const [id, nh] of nexthops) {
    if (nh.gateway !== undefined && !byGateway.has(nh.gateway)) byGateway.set(nh.gateway, id);
    if (nh.dev !== undefined && !byDev.has(nh.dev)) byDev.set(nh.dev, id);
  }
  const resolveRef = (ref: NextHopRef): number => (ref.gateway !== undefined ? byGateway.get(ref.gateway) : undefined) ?? (ref.dev !== undefined ? byDev.get(ref.dev) : undefined) ?? -1;

  const lpm = new Lpm({ tbl8Groups: section.integer('tbl8Groups', 1, 1 << 20, 8192) });
  const routes = section.value.routes;
  let parsed: ParsedRoutes;
  if (typeof routes === 'string') {
    const path = isAbsolute(routes) ? routes : resolve(dirname(section.doc.source), routes);
    let text: string;
    try {
      text = readRoutesText(path);
    } catch (err) {
      throw section.error('routes', `cannot read ${path}: ${(err as Error).message}`);
    }
    try {
      parsed = parseRoutes(text, { source: path, resolve: resolveRef });
    } catch (err) {
      if (err instanceof RouteParseError) throw section.error('routes', err.message);
      throw err;
    }
  } else if (Array.isArray(routes)) {
    const lines = section.strings('routes');
    parsed = { routes: [], nexthops: [], skipped: 0 };
    lines.forEach((line, i) => {
      try {
        const one = parseRoutes(line, { resolve: resolveRef });
        parsed.routes.push(...one.routes);
      } catch (err) {
        if (err instanceof RouteParseError) throw section.error(`routes[${i}]`, err.problem);
        throw err;
      }
    });
  } else if (routes === undefined) {
    parsed = { routes: [], nexthops: [], skipped: 0 };
  } else {
    throw section.error('routes', 'must be a file path (relative to the config file) or an array of route lines');
  }
  try {
    addRoutes(lpm, parsed.routes);
  } catch (err) {
    throw section.error('routes', (err as Error).message);
  }
  return { lpm, nexthops, portMacs, other };
}
