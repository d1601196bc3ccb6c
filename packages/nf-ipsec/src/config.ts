/**
 * The `ipsec` config section (contract in docs/architecture.md) parsed into SAs, with every problem
 * reported as file, line and field. Keys stay in typed arrays and are never part of a message.
 * @module
 */
import { ConfigSection, parseLocatedJson, type LocatedJson } from '@gnet/nflib';

/** Which traffic the gateway handles: encrypt (outbound), decrypt (inbound) or both, by protocol. */
export type EspDirection = 'outbound' | 'inbound' | 'both';

/** One security association (RFC 4301), as configured. */
export interface SaConfig {
  /** Security parameter index (>= 256: 1..255 are reserved by IANA). */
  spi: number;
  /** Outer source address (host order). */
  tunnelSrc: number;
  /** Outer destination address (host order). */
  tunnelDst: number;
  /** AES-128 key (16 bytes). */
  encKey: Uint8Array;
  /** RFC 3686 nonce (4 bytes). */
  nonce: Uint8Array;
  /** HMAC-SHA1 key (20 bytes). */
  authKey: Uint8Array;
  /** Traffic selector (outbound SAs): inner source prefix and mask (host order). */
  selector: { src: number; srcMask: number; dst: number; dstMask: number };
  /** Next sequence number to send (outbound, default 1); lets tests reach exhaustion. */
  seq: number;
  /** Sum of the tunnel addresses' 16-bit words (for the outer header checksum). */
  tunnelSum: number;
}

/** The parsed `ipsec` section. */
export interface IpsecConfig {
  /** `outbound`, `inbound` or `both` (ESP is decrypted, everything else encrypted). */
  direction: EspDirection;
  /** SAs used to encrypt (selected by traffic selector, first match wins). */
  outbound: SaConfig[];
  /** SAs used to decrypt (selected by SPI). */
  inbound: SaConfig[];
  /** Largest outer IPv4 packet (bytes, default 1500): bigger ESP packets are dropped as `mtu_exceeded`. */
  mtu: number;
  /** Anti-replay window in packets (64..1024, multiple of 32, default 128). */
  replayWindow: number;
  /** Ethernet source/destination written on ESP frames (6 bytes each), or undefined to keep the received ones. */
  espEth: { src: Uint8Array | undefined; dst: Uint8Array | undefined };
  /** Ethernet source/destination written on decrypted frames, or undefined to keep the received ones. */
  innerEth: { src: Uint8Array | undefined; dst: Uint8Array | undefined };
  /** Port ESP frames leave on, or -1: action NEXT (the chain end's default port). */
  espPort: number;
  /** Port decrypted frames leave on, or -1: action NEXT. */
  innerPort: number;
  /** Crypto backend on the CPU: `native` (OpenSSL through the addon), `node` (node:crypto) or `auto`. */
  cpuCrypto: 'auto' | 'native' | 'node';
}

function hex(sec: ConfigSection, key: string, bytes: number): Uint8Array {
  const s = sec.string(key);
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) throw sec.error(key, `must be ${bytes * 2} hex digits (${bytes} bytes)`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

function addr(sec: ConfigSection, key: string, text?: string): number {
  const s = text ?? sec.string(key);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw sec.error(key, `"${s}" is not an IPv4 address`);
  return m.slice(1).reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

function prefix(sec: ConfigSection, key: string): [number, number] {
  const s = sec.string(key, '0.0.0.0/0');
  const [ip, len, extra] = s.split('/');
  const n = Number(len ?? '32');
  if (extra !== undefined || !Number.isInteger(n) || n < 0 || n > 32) throw sec.error(key, `"${s}" is not an IPv4 prefix (a.b.c.d/len)`);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return [(addr(sec, key, ip) & mask) >>> 0, mask];
}

function mac(sec: ConfigSection, key: string): Uint8Array | undefined {
  if (!sec.has(key)) return undefined;
  const s = sec.string(key);
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) throw sec.error(key, `"${s}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return Uint8Array.from(Buffer.from(s.replace(/:/g, ''), 'hex'));
}

function parseSa(sec: ConfigSection): SaConfig {
  const sel = sec.section('selector');
  const [src, srcMask] = prefix(sel, 'src');
  const [dst, dstMask] = prefix(sel, 'dst');
  const tunnelSrc = addr(sec, 'tunnelSrc');
  const tunnelDst = addr(sec, 'tunnelDst');
  return {
    spi: sec.integer('spi', 256, 0xffffffff),
    tunnelSrc,
    tunnelDst,
    tunnelSum: (tunnelSrc >>> 16) + (tunnelSrc & 0xffff) + (tunnelDst >>> 16) + (tunnelDst & 0xffff),
    encKey: hex(sec, 'encKey', 16),
    nonce: hex(sec, 'nonce', 4),
    authKey: hex(sec, 'authKey', 20),
    selector: { src, srcMask, dst, dstMask },
    seq: sec.integer('seq', 1, 0x100000000, 1),
  };
}

function saList(sec: ConfigSection, key: string): SaConfig[] {
  const list = sec.sections(key).map(parseSa);
  const seen = new Set<number>();
  list.forEach((sa, i) => {
    if (seen.has(sa.spi)) throw sec.section(`${key}[${i}]`).error('spi', `SPI ${sa.spi} appears twice`);
    seen.add(sa.spi);
  });
  return list;
}

/**
 * Parses the `ipsec` section. `direction` `outbound` or `inbound` takes its SAs from `sas`; `both`
 * takes `outbound` and `inbound` lists (an additive extension of the contract).
 * @throws ConfigError naming the file, line and field of the first problem.
 */
export function parseIpsecSection(sec: ConfigSection): IpsecConfig {
  const direction = sec.oneOf('direction', ['outbound', 'inbound', 'both'] as const, 'outbound');
  let outbound: SaConfig[] = [];
  let inbound: SaConfig[] = [];
  if (direction === 'both') {
    outbound = saList(sec, 'outbound');
    inbound = saList(sec, 'inbound');
  } else if (direction === 'outbound') outbound = saList(sec, 'sas');
  else inbound = saList(sec, 'sas');
  if (outbound.length + inbound.length === 0) throw sec.error(direction === 'both' ? 'outbound' : 'sas', 'needs at least one SA');
  const window = sec.integer('replayWindow', 64, 1024, 128);
  if (window % 32 !== 0) throw sec.error('replayWindow', 'must be a multiple of 32');
  return {
    direction,
    outbound,
    inbound,
    mtu: sec.integer('mtu', 576, 2048 - 14, 1500),
    replayWindow: window,
    espEth: { src: mac(sec, 'ethSrc'), dst: mac(sec, 'ethDst') },
    innerEth: { src: mac(sec, 'innerEthSrc'), dst: mac(sec, 'innerEthDst') },
    espPort: sec.integer('espPort', 0, 65535, -1),
    innerPort: sec.integer('innerPort', 0, 65535, -1),
    cpuCrypto: sec.oneOf('cpuCrypto', ['auto', 'native', 'node'] as const, 'auto'),
  };
}

/**
 * Parses the NF's config as the NF receives it (`env.config`, a plain object) with positions from
 * its source file when that file is readable JSON (`ctx.configSource`), else without line numbers.
 * @throws ConfigError for a bad section.
 */
export function parseIpsecConfig(config: unknown, source: string, readText?: (path: string) => string | undefined): IpsecConfig {
  const text = readText?.(source);
  let fileDoc: LocatedJson | undefined;
  if (text !== undefined) {
    try {
      fileDoc = parseLocatedJson(text, source);
    } catch {
      fileDoc = undefined; // not JSON we can read (the manager reported it already): use the plain object
    }
  }
  const onFile = (fileDoc?.value as Record<string, unknown> | null | undefined)?.ipsec;
  if (fileDoc && onFile !== null && typeof onFile === 'object') return parseIpsecSection(new ConfigSection(fileDoc, 'ipsec'));
  const doc = parseLocatedJson(JSON.stringify({ ipsec: config ?? {} }), source);
  return parseIpsecSection(new ConfigSection(doc, 'ipsec'));
}
