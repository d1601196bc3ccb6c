// ttl-guard-model.ts: what the TTL guard should output, written independently of the NF (a full
// checksum recomputation, not RFC 1624), for tests to compare gnet's output with.
import { ipChecksum } from '@gnet/nflib/testing';

/** What the TTL guard makes of `frames`: expired IPv4 dropped, other IPv4 with TTL - 1. */
export function ttlGuardModel(frames: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of frames) {
    const b = new Uint8Array(f);
    if (b[12] === 0x08 && b[13] === 0x00) {
      if (b[22] <= 1) continue;
      b[22]--;
      b[24] = b[25] = 0;
      const c = ipChecksum(b, 14, 20);
      b[24] = c >> 8;
      b[25] = c & 0xff;
    }
    out.push(b);
  }
  return out;
}
