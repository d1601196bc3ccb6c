// Test helpers: the generic ones (pcap files, frame builders, checksums) are public in
// `@gnet/nflib/testing` (src/testing); this file re-exports them for the monorepo's tests and keeps
// the fixtures of nflib's own chain tests.
import { arpFrame, ipChecksum, udpFrame, type Frame } from '../src/testing/index.js';

export * from '../src/testing/index.js';

/** 2000 UDP packets with TTLs 1..64 (some 1400 B) and an ARP frame every 100: the chain tests' input. */
export function chainInput(): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < 2000; i++) {
    frames.push({ sec: 1_700_000_000 + (i >> 10), usec: (i * 37) % 1_000_000, bytes: i % 100 === 50 ? arpFrame() : udpFrame(i, 1 + (i % 64), i % 7 === 0 ? 1400 : 18) });
  }
  return frames;
}

/**
 * What the counter → rewriter fixture chain makes of `frames`, computed independently of the NFs:
 * IPv4 with TTL <= 1 dropped; other IPv4 gets new MACs, TTL - 1 and a freshly computed header
 * checksum; non-IPv4 passes unchanged.
 */
export function rewriterOutput(frames: Frame[]): Uint8Array[] {
  const expected: Uint8Array[] = [];
  for (const f of frames) {
    const b = new Uint8Array(f.bytes);
    if (b[12] === 8 && b[13] === 0) {
      if (b[22] <= 1) continue;
      b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
      b[22]--;
      b[24] = b[25] = 0;
      const c = ipChecksum(b, 14, 20);
      b[24] = c >> 8;
      b[25] = c & 0xff;
    }
    expected.push(b);
  }
  return expected;
}
