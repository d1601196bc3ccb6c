/**
 * The `nat` section of `gnet run --config`: parsed and validated into a {@link NatConfig}, with
 * file/line/field errors ({@link ConfigError}) for anything wrong.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError, ConfigSection, ip4ToNumber, macToNumber, parseCidr4, parseLocatedJson, type LocatedJson } from '@gnet/nflib';

/** A static port forward: traffic to `external` goes to `internal` (and back). */
export interface StaticForward {
  /** 6 (TCP) or 17 (UDP). */
  proto: number;
  /** External address (one of the pool's). */
  extIp: number;
  /** External port. */
  extPort: number;
  /** Internal address. */
  intIp: number;
  /** Internal port. */
  intPort: number;
}

/** Idle timeouts in seconds. */
export interface NatTimeouts {
  /** TCP, established (both SYNs seen, no FIN/RST): RFC 5382 REQ-5, at least 7440. */
  tcpEstablished: number;
  /** TCP, opening or closing: RFC 5382 REQ-5, at least 240. */
  tcpTransitory: number;
  /** UDP: RFC 4787 REQ-5, at least 120 (300 recommended). */
  udp: number;
  /** ICMP echo: RFC 5508 REQ-1, at least 60. */
  icmp: number;
}

/** Ethernet addresses as 48-bit numbers, -1 where not configured (then learned, see the README). */
export interface NatMacs {
  /** The NAT's own MAC on the inside port (source of frames sent inside). */
  inside: number;
  /** The NAT's own MAC on the outside port (source of frames sent outside). */
  outside: number;
  /** The next hop on the outside (destination of frames sent outside). */
  outsideGateway: number;
  /** Destination of frames sent inside when the host's MAC was not learned. */
  insideHost: number;
}

/** An IPv4 prefix as network and mask (u32 each). */
export interface NatSubnet {
  /** Network address. */
  network: number;
  /** Netmask. */
  mask: number;
}

/** The NAT's configuration, validated, with defaults applied (addresses as u32, MACs as numbers or -1). */
export interface NatConfig {
  /** Port id of the inside (private) network (default 0: `--in`). */
  insidePort: number;
  /** Port id of the outside network (default 1: `--out`). */
  outsidePort: number;
  /** External address pool (u32 each, at most 1024). */
  external: number[];
  /** Inside subnets: sources allowed to be translated (others are dropped as spoofed); empty = any. */
  insideSubnets: NatSubnet[];
  /** Lowest external port for TCP/UDP (default 1024). */
  portMin: number;
  /** Highest external port for TCP/UDP (default 65535). */
  portMax: number;
  /** Keep the internal port when it is free (default true). */
  portPreservation: boolean;
  /** Keep the internal port's parity (default true). */
  parityPreservation: boolean;
  /** Inbound filtering (RFC 4787 §5). */
  filtering: 'endpoint-independent' | 'address-dependent';
  /** Timeouts in seconds. */
  timeouts: NatTimeouts;
  /** Most sessions (and mappings) at once. */
  maxFlows: number;
  /** Static port forwards. */
  forwards: StaticForward[];
  /** Ethernet addresses, -1 where not configured (then learned, see the README). */
  mac: NatMacs;
  /**
   * How a frame's direction is found: `port` (default: it arrived on the inside or outside port) or
   * `address` (its source is in `insideSubnets`: outbound; else inbound), for a NAT fed by one input
   * (one-armed, or a capture holding both directions). Output ports are the same either way.
   */
  classify: 'port' | 'address';
  /** Decrement the TTL as a router does (default true). */
  decrementTtl: boolean;
  /** Most flow-table slots checked for expiry per batch (default 64); the sweep paces itself to visit the whole table about every 10 s. */
  sweepPerBatch: number;
}

/** Default timeouts (seconds): RFC 5382 REQ-5 (2 h 4 min, 4 min), RFC 4787 REQ-5 (5 min recommended), RFC 5508 REQ-1 (60 s). */
export const DEFAULT_TIMEOUTS: Readonly<NatTimeouts> = Object.freeze({ tcpEstablished: 7440, tcpTransitory: 240, udp: 300, icmp: 60 });

/** The section as a located document: from the config file when it is one, else without positions. */
function locate(section: unknown, source: string, name: string): ConfigSection {
  let doc: LocatedJson | undefined;
  if (source && source !== '(command line)') {
    try {
      doc = parseLocatedJson(readFileSync(source, 'utf8'), source);
    } catch {
      doc = undefined;
    }
  }
  if (!doc) doc = { value: { [name]: section }, positions: new Map(), source: source || '(config)' };
  return new ConfigSection(doc, name, section ?? {});
}

function endpoint(sec: ConfigSection, key: string): { ip: number; port: number } {
  const text = sec.string(key);
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (!m) throw sec.error(key, `must be "a.b.c.d:port", got ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw sec.error(key, `port must be 1..65535, got ${port}`);
  try {
    return { ip: ip4ToNumber(m[1]), port };
  } catch (err) {
    throw sec.error(key, (err as Error).message);
  }
}

function mac(sec: ConfigSection, key: string): number {
  if (!sec.has(key)) return -1;
  try {
    return macToNumber(sec.string(key));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw sec.error(key, (err as Error).message);
  }
}

/**
 * Validates the NAT's config section (`section` is the plain object; `source` the config file, for
 * positions). `name` is the section's key in the file (default `nat`).
 * @throws ConfigError naming the file, line and field of the first problem.
 */
export function parseNatConfig(section: unknown, source = '', name = 'nat'): NatConfig {
  const sec = locate(section, source, name);
  const known = new Set(['insidePort', 'outsidePort', 'external', 'insideSubnets', 'portRange', 'portPreservation', 'parityPreservation', 'filtering', 'timeouts', 'maxFlows', 'forwards', 'mac', 'decrementTtl', 'sweepPerBatch', 'pipelineDepth', 'batchDeadlineUs', 'mode', 'workers', 'classify']);
  for (const key of Object.keys(sec.value)) if (!known.has(key)) throw sec.error(key, `unknown field (known: ${[...known].join(', ')})`);
  const insidePort = sec.integer('insidePort', 0, 65535, 0);
  const outsidePort = sec.integer('outsidePort', 0, 65535, 1);
  const classify = sec.oneOf('classify', ['port', 'address'] as const, 'port');
  if (insidePort === outsidePort && classify === 'port') throw sec.error('outsidePort', 'must differ from insidePort (or set classify: "address" for a one-armed NAT)');
  const external: number[] = [];
  const ext = sec.strings('external');
  if (ext.length === 0) throw sec.error('external', 'is required: external addresses or CIDR prefixes, e.g. ["203.0.113.1"]');
  ext.forEach((text, i) => {
    let c;
    try {
      c = parseCidr4(text);
    } catch (err) {
      throw sec.error(`external[${i}]`, (err as Error).message);
    }
    const n = 2 ** (32 - c.prefixLength);
    if (external.length + n > 1024) throw sec.error(`external[${i}]`, 'the pool may hold at most 1024 addresses');
    for (let k = 0; k < n; k++) external.push((c.network + k) >>> 0);
  });
  const insideSubnets = sec.strings('insideSubnets').map((text, i) => {
    try {
      const c = parseCidr4(text);
      return { network: c.network, mask: c.mask };
    } catch (err) {
      throw sec.error(`insideSubnets[${i}]`, (err as Error).message);
    }
  });
  let portMin = 1024;
  let portMax = 65535;
  if (sec.has('portRange')) {
    const r = sec.value.portRange;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) || r[0] > r[1]) {
      throw sec.error('portRange', 'must be [min, max] with 1 <= min <= max <= 65535');
    }
    [portMin, portMax] = r as [number, number];
  }
  const t = sec.section('timeouts');
  for (const key of Object.keys(t.value)) if (!(key in DEFAULT_TIMEOUTS)) throw t.error(key, 'unknown timeout (tcpEstablished, tcpTransitory, udp, icmp)');
  const timeouts = {
    // The RFCs' minimums: RFC 5382 REQ-5 (2 h 4 min, 4 min), RFC 4787 REQ-5 (2 min), RFC 5508 REQ-1 (60 s).
    tcpEstablished: t.integer('tcpEstablished', 7440, 86400 * 7, DEFAULT_TIMEOUTS.tcpEstablished),
    tcpTransitory: t.integer('tcpTransitory', 240, 86400, DEFAULT_TIMEOUTS.tcpTransitory),
    udp: t.integer('udp', 120, 86400, DEFAULT_TIMEOUTS.udp),
    icmp: t.integer('icmp', 60, 86400, DEFAULT_TIMEOUTS.icmp),
  };
  const forwards = sec.sections('forwards').map((f) => {
    const proto = f.oneOf('proto', ['tcp', 'udp'] as const) === 'tcp' ? 6 : 17;
    const e = endpoint(f, 'external');
    const n = endpoint(f, 'internal');
    if (!external.includes(e.ip)) throw f.error('external', 'the address is not in the external pool');
    if (e.port < portMin || e.port > portMax) throw f.error('external', `port must be in portRange ${portMin}..${portMax}`);
    return { proto, extIp: e.ip, extPort: e.port, intIp: n.ip, intPort: n.port };
  });
  const seen = new Set<string>();
  forwards.forEach((f, i) => {
    for (const k of [`e${f.proto}:${f.extIp}:${f.extPort}`, `i${f.proto}:${f.intIp}:${f.intPort}`]) {
      if (seen.has(k)) throw sec.error(`forwards[${i}]`, 'duplicates the external or internal endpoint of an earlier forward');
      seen.add(k);
    }
  });
  if (classify === 'address' && insideSubnets.length === 0) throw sec.error('classify', '"address" needs insideSubnets');
  const m = sec.section('mac');
  for (const key of Object.keys(m.value)) if (!['inside', 'outside', 'outsideGateway', 'insideHost'].includes(key)) throw m.error(key, 'unknown field (inside, outside, outsideGateway, insideHost)');
  return {
    insidePort,
    outsidePort,
    external,
    insideSubnets,
    portMin,
    portMax,
    portPreservation: sec.boolean('portPreservation', true),
    parityPreservation: sec.boolean('parityPreservation', true),
    filtering: sec.oneOf('filtering', ['endpoint-independent', 'address-dependent'] as const, 'endpoint-independent'),
    timeouts,
    maxFlows: sec.integer('maxFlows', 16, 2 ** 24, 2 ** 20),
    forwards,
    mac: { inside: mac(m, 'inside'), outside: mac(m, 'outside'), outsideGateway: mac(m, 'outsideGateway'), insideHost: mac(m, 'insideHost') },
    classify,
    decrementTtl: sec.boolean('decrementTtl', true),
    sweepPerBatch: sec.integer('sweepPerBatch', 0, 1 << 20, 64),
  };
}
