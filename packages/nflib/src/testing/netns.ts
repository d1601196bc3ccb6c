/**
 * Network namespaces joined by veth pairs for live-interface tests (root only), so test traffic never
 * leaves namespaces the test created. Give every namespace a prefix of your own and delete leftovers
 * with {@link deleteNamespaces} before and after the tests.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Why live AF_PACKET tests cannot run here, or null when they can. */
export function liveSkipReason(): string | null {
  if (process.platform !== 'linux') return 'AF_PACKET needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, CAP_NET_RAW)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs iproute2 (`ip`)';
  const probe = 'gnet-probe-' + process.pid;
  const ok = spawnSync('ip', ['netns', 'add', probe]).status === 0;
  spawnSync('ip', ['netns', 'del', probe]);
  return ok ? null : 'cannot create network namespaces here';
}

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Deletes every namespace whose name starts with `prefix` (left over by a killed run). */
export function deleteNamespaces(prefix: string): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (name.startsWith(prefix)) spawnSync('ip', ['netns', 'del', name]);
  }
}

/** One end of a veth pair inside its namespace. */
export interface VethEnd {
  /** The namespace that holds this end. */
  ns: string;
  /** The interface name inside `ns`. */
  ifname: string;
  /** Its IPv4 address (a /24 is configured). */
  ip: string;
  /** Its MAC address, as the kernel assigned it. */
  mac: string;
}

/**
 * Creates namespaces `a.ns` and `b.ns` joined by a veth pair (created inside them: the root namespace
 * never holds it), with IPv4 addresses, IPv6 off and static neighbour entries, so the only frames on
 * the wire are the ones a test sends (no ARP, no IPv6 neighbour discovery).
 */
export function createVethPair(a: Omit<VethEnd, 'mac'>, b: Omit<VethEnd, 'mac'>): [VethEnd, VethEnd] {
  for (const end of [a, b]) {
    ip('netns', 'add', end.ns);
    for (const key of ['all', 'default']) {
      spawnSync('ip', ['netns', 'exec', end.ns, 'sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`]);
    }
    ip('-n', end.ns, 'link', 'set', 'lo', 'up');
  }
  ip('-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns);
  const ends = [a, b].map((end) => {
    ip('-n', end.ns, 'addr', 'add', `${end.ip}/24`, 'dev', end.ifname);
    ip('-n', end.ns, 'link', 'set', end.ifname, 'up');
    const info = JSON.parse(ip('-j', '-n', end.ns, 'link', 'show', end.ifname)) as { address: string }[];
    return { ...end, mac: info[0].address };
  }) as [VethEnd, VethEnd];
  ip('-n', a.ns, 'neigh', 'replace', b.ip, 'lladdr', ends[1].mac, 'dev', a.ifname, 'nud', 'permanent');
  ip('-n', b.ns, 'neigh', 'replace', a.ip, 'lladdr', ends[0].mac, 'dev', b.ifname, 'nud', 'permanent');
  return ends;
}

/** Runs a Node.js script inside `ns`; `args` reach it as `process.argv[1]` (JSON). */
export function nodeInNs(ns: string, script: string, args: unknown): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Reads the JSON lines a child prints on stdout, one at a time (other lines are skipped). */
export class JsonLines {
  private buffered = '';
  private stderr = '';
  private readonly lines: unknown[] = [];
  private waiter: (() => void) | null = null;
  /** True once the child exited and its output is read. */
  ended = false;

  /** Starts collecting `child`'s stdout (JSON lines) and stderr. */
  constructor(child: ChildProcess) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      this.buffered += d.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          continue; // not a result line
        }
        this.waiter?.();
      }
    });
    child.once('close', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  /** The next JSON line if one has arrived, else undefined; never waits. */
  take(): unknown {
    return this.lines.shift();
  }

  /** What the child wrote on stderr so far. */
  get errors(): string {
    return this.stderr;
  }

  /** The next JSON line; rejects after `timeoutMs` or when the child ends first. */
  async next(timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.ended) throw new Error(`child ended without another JSON line: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no JSON line within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.lines.shift();
  }
}
