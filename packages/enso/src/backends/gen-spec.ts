/**
 * Parser of the generator port spec, the part after `gen:`: comma-separated `key=value` pairs such as
 * `count=1000000,size=64,flows=1024,proto=udp,src=10.0.0.0/16,dst=10.1.0.0/16,dport=80,rate=1e6pps`.
 *
 * @module
 */

/** Smallest generated frame (Ethernet minimum without FCS). */
export const GEN_MIN_FRAME = 60;
/** Largest generated frame (9000-byte jumbo payload plus Ethernet header and FCS room). */
export const GEN_MAX_FRAME = 9018;
/** Most distinct flows a generator builds templates for. */
export const GEN_MAX_FLOWS = 1 << 20;

/** L4 protocol of generated flows; `mixed` rotates UDP, TCP and ICMP echo over the flows. */
export type GenProto = 'udp' | 'tcp' | 'icmp' | 'mixed';

/** A block of IPv4 addresses: `count` addresses from `base` (an unsigned 32-bit number). */
export interface Ipv4Range {
  /** First address as an unsigned 32-bit integer. */
  readonly base: number;
  /** Number of addresses (1 .. 2^32). */
  readonly count: number;
}

/** An inclusive range of 16-bit values (ports, or ICMP identifier / sequence). */
export interface PortRange {
  /** Lowest value. */
  readonly lo: number;
  /** Highest value (>= lo). */
  readonly hi: number;
}

/** One frame size and its weight in the size mix. */
export interface SizeWeight {
  /** Frame bytes (without FCS), 60..9018. */
  readonly size: number;
  /** Relative frequency (a positive integer). */
  readonly weight: number;
}

/**
 * Transmit rate limit: none, packets per second, or bits per second counted over frame bytes
 * (as delivered, without preamble, inter-frame gap or FCS).
 */
export type GenRate =
  | {
      /** No limit. */
      readonly kind: 'unlimited';
    }
  | {
      /** Packets per second. */
      readonly kind: 'pps';
      /** The rate. */
      readonly value: number;
    }
  | {
      /** Bits per second of frame bytes. */
      readonly kind: 'bps';
      /** The rate. */
      readonly value: number;
    };

/** A parsed generator spec with every default filled in. */
export interface GenSpec {
  /** Packets to generate, or Infinity (default). */
  readonly count: number;
  /** Frame sizes and weights (default 64 bytes). */
  readonly sizes: readonly SizeWeight[];
  /** Distinct 5-tuples (default 1). */
  readonly flows: number;
  /** L4 protocol (default udp). */
  readonly proto: GenProto;
  /** Source addresses (default 10.0.0.0/16). */
  readonly src: Ipv4Range;
  /** Destination addresses (default 10.1.0.0/16). */
  readonly dst: Ipv4Range;
  /** Source ports; for ICMP the echo identifier (default 1024-65535). */
  readonly sport: PortRange;
  /** Destination ports; for ICMP the echo sequence number (default 80). */
  readonly dport: PortRange;
  /** Rate limit (default unlimited). */
  readonly rate: GenRate;
  /** PRNG seed for flow selection (default 1). */
  readonly seed: number;
  /** Source MAC (default 02:00:00:00:00:01). */
  readonly smac: Uint8Array;
  /** Destination MAC (default 02:00:00:00:00:02). */
  readonly dmac: Uint8Array;
  /** A pcap or pcapng file to replay instead of synthesised frames, or null. */
  readonly pcap: string | null;
  /** With `pcap`: how many times to play the file; 0 = forever (default 1). */
  readonly loop: number;
  /** `seq` stamps a 32-bit big-endian packet counter at the start of the L4 payload. */
  readonly stamp: 'none' | 'seq';
}

const KEYS = [
  'count',
  'size',
  'flows',
  'proto',
  'src',
  'dst',
  'sport',
  'dport',
  'rate',
  'seed',
  'smac',
  'dmac',
  'pcap',
  'loop',
  'stamp',
] as const;
type Key = (typeof KEYS)[number];
/** Keys that describe synthesised frames, meaningless when replaying a pcap. */
const SYNTH_KEYS: readonly Key[] = ['size', 'flows', 'proto', 'src', 'dst', 'sport', 'dport', 'smac', 'dmac', 'stamp'];

/** IMIX: 7 x 64 B, 4 x 570 B, 1 x 1518 B. */
const IMIX: readonly SizeWeight[] = [
  { size: 64, weight: 7 },
  { size: 570, weight: 4 },
  { size: 1518, weight: 1 },
];

function bad(key: string, value: string, accepted: string): Error {
  return new Error(`gen: bad ${key} '${value}': expected ${accepted}`);
}

/** Parses `text` (part of `whole`, which the error quotes) as an integer in [min, max]. */
function parseInteger(key: string, text: string, min: number, max: number, accepted: string, whole = text): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(key, whole, accepted);
  return n;
}

function parseIpv4(key: string, text: string, accepted: string, whole: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw bad(key, whole, accepted);
  let addr = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw bad(key, whole, accepted);
    addr = addr * 256 + Number(part);
  }
  return addr;
}

function parseCidr(key: string, value: string): Ipv4Range {
  const accepted = 'an IPv4 address or CIDR block like 10.0.0.0/16';
  const slash = value.indexOf('/');
  const addr = parseIpv4(key, slash < 0 ? value : value.slice(0, slash), accepted, value);
  const len = slash < 0 ? 32 : parseInteger(key, value.slice(slash + 1), 0, 32, accepted, value);
  const count = 2 ** (32 - len);
  return { base: addr - (addr % count), count };
}

function parsePorts(key: string, value: string): PortRange {
  const accepted = 'a number 0..65535 or a range like 1024-65535';
  const dash = value.indexOf('-');
  const lo = parseInteger(key, dash < 0 ? value : value.slice(0, dash), 0, 65535, accepted, value);
  const hi = dash < 0 ? lo : parseInteger(key, value.slice(dash + 1), 0, 65535, accepted, value);
  if (hi < lo) throw bad(key, value, accepted);
  return { lo, hi };
}

function parseSizes(value: string): SizeWeight[] {
  const accepted = `a frame size ${GEN_MIN_FRAME}..${GEN_MAX_FRAME}, 'imix', or a list like 64/128/1500`;
  if (value === 'imix') return IMIX.slice();
  const mix: SizeWeight[] = [];
  for (const item of value.split('/')) {
    const size = parseInteger('size', item, GEN_MIN_FRAME, GEN_MAX_FRAME, accepted, value);
    const same = mix.findIndex((m) => m.size === size);
    if (same >= 0) mix[same] = { size, weight: mix[same].weight + 1 };
    else mix.push({ size, weight: 1 });
  }
  return mix;
}

const RATE_UNITS: ReadonlyMap<string, { kind: 'pps' | 'bps'; scale: number }> = new Map([
  ['', { kind: 'pps', scale: 1 }],
  ['pps', { kind: 'pps', scale: 1 }],
  ['kpps', { kind: 'pps', scale: 1e3 }],
  ['mpps', { kind: 'pps', scale: 1e6 }],
  ['m', { kind: 'bps', scale: 1e6 }],
  ['mbps', { kind: 'bps', scale: 1e6 }],
  ['g', { kind: 'bps', scale: 1e9 }],
  ['gbps', { kind: 'bps', scale: 1e9 }],
]);

function parseRate(value: string): GenRate {
  const accepted =
    "'unlimited', packets per second like 1e6, 1e6pps, 500kpps, 2mpps, or bits per second like 10g, 10gbps, 100m";
  const v = value.toLowerCase();
  if (v === 'unlimited') return { kind: 'unlimited' };
  const m = /^([0-9.e+]+)([a-z]*)$/.exec(v);
  const unit = m === null ? undefined : RATE_UNITS.get(m[2]);
  const n = m === null ? NaN : Number(m[1]);
  if (unit === undefined || !Number.isFinite(n) || n <= 0) throw bad('rate', value, accepted);
  return { kind: unit.kind, value: n * unit.scale };
}

function parseMac(key: string, value: string): Uint8Array {
  const accepted = 'a MAC address like 02:00:00:00:00:01';
  const parts = value.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw bad(key, value, accepted);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/**
 * Parses a generator spec (the text after `gen:`). An empty spec means all defaults. Throws an Error
 * naming the key and the accepted values for an unknown or repeated key, a malformed value, or keys
 * that cannot be combined (frame keys with `pcap=`, `loop` without it).
 */
export function parseGenSpec(spec: string): GenSpec {
  const seen = new Map<Key, string>();
  for (const item of spec.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new Error(`gen: unknown key '${key}' in '${spec}'; accepted keys: ${KEYS.join(', ')}`);
    }
    if (eq < 0) throw new Error(`gen: key '${key}' needs a value (${key}=...)`);
    if (seen.has(key as Key)) throw new Error(`gen: key '${key}' is given twice`);
    seen.set(key as Key, item.slice(eq + 1).trim());
  }
  const get = (k: Key): string | undefined => seen.get(k);
  const pcap = get('pcap') ?? null;
  if (pcap !== null) {
    if (pcap === '') throw bad('pcap', pcap, 'the path of a pcap or pcapng file');
    const clash = SYNTH_KEYS.find((k) => seen.has(k));
    if (clash !== undefined) {
      throw new Error(`gen: key '${clash}' cannot be combined with pcap= (frames come from the file)`);
    }
  } else if (seen.has('loop')) {
    throw new Error("gen: key 'loop' needs pcap=PATH (it counts replays of a file)");
  }
  const count = get('count');
  const flows = get('flows');
  const proto = get('proto') ?? 'udp';
  if (proto !== 'udp' && proto !== 'tcp' && proto !== 'icmp' && proto !== 'mixed') {
    throw bad('proto', proto, 'udp, tcp, icmp or mixed');
  }
  const stamp = get('stamp') ?? 'none';
  if (stamp !== 'none' && stamp !== 'seq') throw bad('stamp', stamp, 'none or seq');
  const loop = get('loop');
  const seed = get('seed');
  return {
    count:
      count === undefined || count === 'unlimited'
        ? Infinity
        : parseInteger('count', count, 1, Number.MAX_SAFE_INTEGER, "a positive integer or 'unlimited'"),
    sizes: parseSizes(get('size') ?? '64'),
    flows: flows === undefined ? 1 : parseInteger('flows', flows, 1, GEN_MAX_FLOWS, `an integer 1..${GEN_MAX_FLOWS}`),
    proto,
    src: parseCidr('src', get('src') ?? '10.0.0.0/16'),
    dst: parseCidr('dst', get('dst') ?? '10.1.0.0/16'),
    sport: parsePorts('sport', get('sport') ?? '1024-65535'),
    dport: parsePorts('dport', get('dport') ?? '80'),
    rate: parseRate(get('rate') ?? 'unlimited'),
    seed: seed === undefined ? 1 : parseInteger('seed', seed, 0, 0xffffffff, 'an integer 0..4294967295'),
    smac: parseMac('smac', get('smac') ?? '02:00:00:00:00:01'),
    dmac: parseMac('dmac', get('dmac') ?? '02:00:00:00:00:02'),
    pcap,
    loop:
      loop === undefined
        ? 1
        : parseInteger('loop', loop, 0, Number.MAX_SAFE_INTEGER, 'a count of replays, 0 = forever'),
    stamp,
  };
}
