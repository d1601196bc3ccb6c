// A DIR-24-8 table (the layout of packages/nf-router/kernels/lpm.cu) built from random routes, and a
// reference longest-prefix match over the route list itself, independent of the table.
export const LPM_VALID = 0x80000000;
export const LPM_EXT = 0x40000000;

export interface Route {
  prefix: number;
  len: number;
  nexthop: number;
}

export interface LpmTable {
  tbl24: Uint32Array;
  tbl8: Uint32Array;
  routes: Route[];
}

/** Deterministic 32-bit generator (xorshift), so failures reproduce. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** `count` random routes of lengths 8..32 (a third longer than /24), deduplicated by prefix/len. */
export function randomRoutes(count: number, seed = 1): Route[] {
  const next = rng(seed);
  const seen = new Set<string>();
  const routes: Route[] = [];
  while (routes.length < count) {
    const r = next();
    const len = r % 3 === 0 ? 25 + (next() % 8) : 8 + (next() % 17);
    const prefix = len === 32 ? next() : (next() & ~(0xffffffff >>> len)) >>> 0;
    const key = `${prefix}/${len}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push({ prefix, len, nexthop: next() % 1000 });
  }
  return routes;
}

/** Builds the table; routes are applied shortest first so longer prefixes override. */
export function buildLpm(routes: Route[]): LpmTable {
  const tbl24 = new Uint32Array(1 << 24);
  const groups: Uint32Array[] = [];
  for (const r of [...routes].sort((a, b) => a.len - b.len)) {
    if (r.len <= 24) {
      const first = r.prefix >>> 8;
      tbl24.fill(LPM_VALID | r.nexthop, first, first + 2 ** (24 - r.len));
      continue;
    }
    const idx = r.prefix >>> 8;
    let e = tbl24[idx];
    if ((e & LPM_EXT) === 0) {
      const g = new Uint32Array(256).fill(e); // the shorter route (or none) covers the rest
      groups.push(g);
      e = (LPM_VALID | LPM_EXT | (groups.length - 1)) >>> 0;
      tbl24[idx] = e;
    }
    const lo = r.prefix & 0xff;
    groups[e & 0x3fffffff].fill(LPM_VALID | r.nexthop, lo, lo + 2 ** (32 - r.len));
  }
  const tbl8 = new Uint32Array(Math.max(1, groups.length) * 256);
  groups.forEach((g, i) => tbl8.set(g, i * 256));
  return { tbl24, tbl8, routes };
}

/** Longest-prefix match by scanning the routes: the next hop, or -1. */
export function referenceLookup(routes: Route[], addr: number): number {
  let best = -1;
  let bestLen = -1;
  for (const r of routes) {
    const mask = r.len === 0 ? 0 : (0xffffffff << (32 - r.len)) >>> 0;
    if (((addr & mask) >>> 0) === r.prefix && r.len > bestLen) {
      best = r.nexthop;
      bestLen = r.len;
    }
  }
  return best;
}

/** The plain-JS DIR-24-8 lookup the kernel implements (the bench's peer row). */
export function tableLookup(t: LpmTable, addr: number): number {
  let e = t.tbl24[addr >>> 8];
  if ((e & (LPM_VALID | LPM_EXT)) >>> 0 === (LPM_VALID | LPM_EXT) >>> 0) e = t.tbl8[((e & 0x3fffffff) << 8) | (addr & 0xff)]; // & yields int32
  return e & LPM_VALID ? e & 0x3fffffff : -1;
}

/** `n` addresses: half inside random routes (hits), half uniformly random. */
export function randomAddresses(routes: Route[], n: number, seed = 2): Uint32Array {
  const next = rng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const r = routes[next() % routes.length];
      const host = r.len === 32 ? 0 : 0xffffffff >>> r.len; // (a shift by 32 is a shift by 0 in JS)
      out[i] = (r.prefix | (next() & host)) >>> 0;
    } else out[i] = next();
  }
  return out;
}
