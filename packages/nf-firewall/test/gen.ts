// A small ClassBench-like generator for tests (the real ClassBench sets are benchmark data only):
// rules with the shapes seen in acl/fw/ipc seeds (prefixes of mixed lengths drawn from a few
// address clusters, wildcard and exact and ranged ports, tcp/udp/icmp/any protocols) and a trace of
// headers drawn from the rules (each header inside its generating rule) plus random ones.

/** A deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ipText(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

export interface Generated {
  rulesText: string;
  /** Trace lines: `src dst sport dport proto flags rule`. */
  trace: string[];
}

const PORT_RANGES: [number, number][] = [
  [0, 65535],
  [0, 1023],
  [1024, 65535],
  [80, 80],
  [443, 443],
  [53, 53],
  [22, 22],
  [6000, 6063],
  [0, 0],
  [65535, 65535],
];

export function generate(seed: number, nRules: number, nTrace: number): Generated {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const clusters = Array.from({ length: 12 }, () => (r() * 2 ** 32) >>> 0);
  const addr = () => (pick(clusters) ^ ((r() * 2 ** 16) >>> 0)) >>> 0;
  const lenChoice = [0, 0, 8, 16, 20, 24, 24, 28, 30, 31, 32, 32, 32];
  const rules: { s: number; sl: number; d: number; dl: number; sp: [number, number]; dp: [number, number]; p: number; pm: number }[] = [];
  const lines: string[] = [];
  for (let i = 0; i < nRules; i++) {
    const sl = pick(lenChoice);
    const dl = pick(lenChoice);
    const mask = (l: number) => (l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0);
    const s = (addr() & mask(sl)) >>> 0;
    const d = (addr() & mask(dl)) >>> 0;
    const sp = r() < 0.7 ? PORT_RANGES[0] : pick(PORT_RANGES);
    let dp = pick(PORT_RANGES);
    if (r() < 0.2) {
      const lo = Math.floor(r() * 65536);
      dp = [lo, Math.min(65535, lo + Math.floor(r() * 5000))];
    }
    const pr = r();
    let [p, pm] = pr < 0.45 ? [6, 0xff] : pr < 0.75 ? [17, 0xff] : pr < 0.8 ? [1, 0xff] : pr < 0.97 ? [0, 0] : [4, 0xfc];
    // No catch-all rule, so that traces keep some misses.
    if (sl === 0 && dl === 0 && sp[1] - sp[0] === 65535 && dp[1] - dp[0] === 65535 && pm === 0) [p, pm] = [6, 0xff];
    rules.push({ s, sl, d, dl, sp, dp, p, pm });
    const hex = (v: number, w: number) => '0x' + v.toString(16).padStart(w, '0').toUpperCase();
    lines.push(`@${ipText(s)}/${sl}\t${ipText(d)}/${dl}\t${sp[0]} : ${sp[1]}\t${dp[0]} : ${dp[1]}\t${hex(p, 2)}/${hex(pm, 2)}\t0x0000/0x0000\t`);
  }
  const trace: string[] = [];
  for (let i = 0; i < nTrace; i++) {
    if (r() < 0.15) {
      trace.push(`${(r() * 2 ** 32) >>> 0}\t${(r() * 2 ** 32) >>> 0}\t${Math.floor(r() * 65536)}\t${Math.floor(r() * 65536)}\t${pick([6, 17, 1, 47])}\t0\t-1`);
      continue;
    }
    const k = Math.floor(r() * nRules);
    const g = rules[k];
    const inPrefix = (base: number, len: number) => (len === 0 ? (r() * 2 ** 32) >>> 0 : (base | ((r() * 2 ** (32 - len)) >>> 0)) >>> 0);
    const inRange = (x: [number, number]) => (r() < 0.2 ? x[0] : r() < 0.25 ? x[1] : x[0] + Math.floor(r() * (x[1] - x[0] + 1)));
    const proto = g.pm === 0 ? pick([6, 17, 1, 50]) : g.pm === 0xff ? g.p : g.p | Math.floor(r() * 4);
    trace.push(`${inPrefix(g.s, g.sl)}\t${inPrefix(g.d, g.dl)}\t${inRange(g.sp)}\t${inRange(g.dp)}\t${proto}\t0\t${k}`);
  }
  return { rulesText: lines.join('\n') + '\n', trace };
}
