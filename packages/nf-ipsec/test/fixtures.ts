// Shared test fixtures: a deterministic SA pair, inner frames, configs, and a runner for
// /usr/bin/python3 (Debian's python3-scapy) as the independent ESP implementation.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipChecksum } from './util.js';

export const cli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');

/** SA A->B (outbound at gateway 1, inbound at gateway 2). Test keys only. */
export const SA1 = {
  spi: 4096,
  tunnelSrc: '192.0.2.1',
  tunnelDst: '198.51.100.1',
  encKey: '000102030405060708090a0b0c0d0e0f',
  nonce: 'a0a1a2a3',
  authKey: '101112131415161718191a1b1c1d1e1f20212223',
  selector: { src: '10.1.0.0/16', dst: '10.2.0.0/16' },
};
/** SA B->A. */
export const SA2 = {
  spi: 8192,
  tunnelSrc: '198.51.100.1',
  tunnelDst: '192.0.2.1',
  encKey: 'f0e0d0c0b0a090807060504030201000',
  nonce: '01020304',
  authKey: 'c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3',
  selector: { src: '10.2.0.0/16', dst: '10.1.0.0/16' },
};

export function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

/** An Ethernet + IPv4 + UDP frame from 10.1.x.y to 10.2.x.y with `payload` bytes (valid IP checksum, UDP checksum 0). */
export function innerFrame(i: number, payload: number, src = '10.1.0.1', dst = '10.2.0.1', tos = 0): Uint8Array {
  const len = 14 + 20 + 8 + payload;
  const b = new Uint8Array(len);
  b.set([2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00], 0);
  b.set([0x45, tos, ((len - 14) >> 8) & 0xff, (len - 14) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x40, 0, 64, 17, 0, 0, ...ip4(src), ...ip4(dst)], 14);
  const c = ipChecksum(b, 14, 20);
  b[24] = c >> 8;
  b[25] = c & 0xff;
  b.set([(1000 + i) >> 8, (1000 + i) & 0xff, 0x13, 0x88, ((8 + payload) >> 8) & 0xff, (8 + payload) & 0xff, 0, 0], 34);
  for (let k = 0; k < payload; k++) b[42 + k] = (i * 31 + k) & 0xff;
  return b;
}

/** Writes `{"ipsec": section}` to `dir/name` and returns the path. */
export function writeConfig(dir: string, name: string, section: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify({ ipsec: section }, null, 2));
  return p;
}

/** Why /usr/bin/python3 with scapy cannot be used, or null. */
export function scapySkipReason(): string | null {
  if (!existsSync('/usr/bin/python3')) return 'needs /usr/bin/python3 (Debian python3-scapy)';
  const r = spawnSync('/usr/bin/python3', ['-c', 'import scapy.layers.ipsec'], { encoding: 'utf8' });
  return r.status === 0 ? null : `needs scapy for /usr/bin/python3: ${r.stderr.trim().split('\n').pop()}`;
}

/** Runs a Python script with /usr/bin/python3; returns stdout (throws with stderr on failure). */
export function python(script: string, args: string[] = []): string {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** scapy `SecurityAssociation` for `sa` (Python source). */
export function scapySa(sa: typeof SA1): string {
  return `SecurityAssociation(ESP, spi=${sa.spi}, crypt_algo='AES-CTR', crypt_key=bytes.fromhex('${sa.encKey}${sa.nonce}'), auth_algo='HMAC-SHA1-96', auth_key=bytes.fromhex('${sa.authKey}'), tunnel_header=IP(src='${sa.tunnelSrc}', dst='${sa.tunnelDst}'))`;
}
