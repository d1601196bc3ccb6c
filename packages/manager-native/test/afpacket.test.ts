// The AF_PACKET binding: clear errors everywhere, and (as root) batched TX/RX between the two ends of
// a veth pair inside a network namespace this test creates (`gnet-afp-n-*`, removed afterwards).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AfPacketError, AfPacketSocket, packageRoot } from '../src/index.js';

const PREFIX = 'gnet-afp-n-';
const NS = `${PREFIX}pair`;
const isRoot = process.getuid?.() === 0;
const liveSkip =
  process.platform !== 'linux'
    ? 'AF_PACKET needs Linux'
    : !isRoot
      ? 'needs root (network namespaces, CAP_NET_RAW)'
      : spawnSync('ip', ['-V']).status !== 0
        ? 'needs iproute2 (`ip`)'
        : null;
if (liveSkip !== null) console.log(`manager-native afpacket live tests skipped: ${liveSkip}`);
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const capSkip = !isRoot ? 'needs root to drop CAP_NET_RAW from' : !hasSetpriv ? 'needs setpriv (util-linux)' : null;
if (capSkip !== null) console.log(`manager-native afpacket CAP_NET_RAW test skipped: ${capSkip}`);

function openError(ifname: string, options: Parameters<typeof AfPacketSocket.open>[1] = {}): AfPacketError {
  try {
    AfPacketSocket.open(ifname, options).close();
  } catch (err) {
    expect(err).toBeInstanceOf(AfPacketError);
    return err as AfPacketError;
  }
  throw new Error(`opening ${ifname} succeeded`);
}

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function deleteNamespaces(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (name.startsWith(PREFIX)) spawnSync('ip', ['netns', 'del', name]);
  }
}

/** `count` 60-byte frames in flit layout, EtherType 0x88`type`, numbered by their byte 14. */
function numberedFrames(count: number, type: number): { walk: Uint8Array; wl: Uint16Array } {
  const walk = new Uint8Array(count * 64);
  const wl = new Uint16Array(count);
  for (let k = 0; k < count; k++) {
    walk.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, type, k], k * 64);
    wl[k] = 60;
  }
  return { walk, wl };
}

/** Receives on `sock` until `want` frames of EtherType 0x88`type` arrived (or 3 s); returns their numbers. */
function receiveNumbered(sock: AfPacketSocket, type: number, want: number): number[] {
  const dst = new Uint8Array(64 * 1024);
  const u = () => new Uint32Array(64);
  const [ro, rl, sec, nsec] = [u(), u(), u(), u()];
  const seen: number[] = [];
  const deadline = Date.now() + 3000;
  while (seen.length < want && Date.now() < deadline) {
    sock.wait(20);
    const n = sock.rx(dst, ro, rl, sec, nsec, 64, 64);
    for (let i = 0; i < n; i++) if (dst[ro[i] + 13] === type) seen.push(dst[ro[i] + 14]);
  }
  return seen;
}

describe('AfPacketSocket errors', () => {
  it('names a missing interface, or says how to get CAP_NET_RAW without it', () => {
    const err = openError('gnet-afp-none0');
    expect(err.ifname).toBe('gnet-afp-none0');
    if (process.platform !== 'linux') {
      expect(err.message).toBe('AF_PACKET needs Linux');
    } else if (isRoot) {
      expect(err.code).toBe('ENODEV');
      expect(err.message).toContain("no interface named 'gnet-afp-none0'");
    } else {
      expect(err.code).toBe('EPERM');
      expect(err.message).toContain('CAP_NET_RAW');
      expect(err.message).toContain('setcap cap_net_raw+ep $(readlink -f $(which node))');
    }
  });

  it.skipIf(capSkip !== null)('without CAP_NET_RAW says to run as root or setcap node', () => {
    const script = `const m = require(${JSON.stringify(join(packageRoot, 'dist', 'index.cjs'))});
      try { m.AfPacketSocket.open('lo'); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const r = spawnSync(
      'setpriv',
      ['--inh-caps=-net_raw', '--bounding-set=-net_raw', '--', process.execPath, '-e', script],
      { encoding: 'utf8' },
    );
    const out = JSON.parse(r.stdout) as { name: string; code: string; message: string };
    expect(out.name).toBe('AfPacketError');
    expect(out.code).toBe('EPERM');
    expect(out.message).toContain("AF_PACKET on 'lo' needs CAP_NET_RAW: run as root");
    expect(out.message).toContain('sudo setcap cap_net_raw+ep $(readlink -f $(which node))');
  });

  it('rejects bad options before touching the network', () => {
    expect(() => AfPacketSocket.open('lo', { fanoutMode: 'spray' as never })).toThrow(/fanoutMode must be one of/);
    expect(openError('lo', { ringBlockSize: 300_000 }).message).toMatch(/ringBlockSize must be a power of two/);
    expect(openError('lo', { frameSize: 100 }).message).toMatch(/frameSize must be a multiple of 16/);
    expect(openError('lo', { rx: false, tx: false }).code).toBe('EINVAL');
    expect(openError('an-interface-name-too-long').message).toMatch(/longer than 15 characters/);
    expect(() => AfPacketSocket.open('lo', { ringBlocks: -1 })).toThrow(RangeError);
  });

  it('names a missing network namespace and how to create it', () => {
    const err = openError('lo', { netns: 'gnet-afp-n-missing' });
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain("network namespace 'gnet-afp-n-missing' not found");
    expect(err.message).toContain('ip netns add gnet-afp-n-missing');
  });

  it('works in a worker_thread (the addon is context-aware)', async () => {
    const result = await new Promise<{ name: string; code: string }>((resolve, reject) => {
      const w = new Worker(
        `const { parentPort } = require('node:worker_threads');
         const m = require(${JSON.stringify(join(packageRoot, 'dist', 'index.cjs'))});
         try { m.AfPacketSocket.open('gnet-afp-none0'); parentPort.postMessage({}); }
         catch (e) { parentPort.postMessage({ name: e.name, code: e.code }); }`,
        { eval: true },
      );
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    expect(result.name).toBe('AfPacketError');
    expect(['ENODEV', 'EPERM', 'ENOSYS']).toContain(result.code);
  });
});

describe.skipIf(liveSkip !== null)('AfPacketSocket on a veth pair in a namespace', () => {
  const sockets: AfPacketSocket[] = [];
  const open = (ifname: string, options: Parameters<typeof AfPacketSocket.open>[1] = {}) => {
    const s = AfPacketSocket.open(ifname, { netns: NS, ...options });
    sockets.push(s);
    return s;
  };

  beforeAll(() => {
    deleteNamespaces();
    ip('netns', 'add', NS);
    // IPv6 off: no neighbour discovery or router solicitations, so the wire carries only our frames.
    spawnSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    spawnSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('-n', NS, 'link', 'set', 'v0', 'up');
    ip('-n', NS, 'link', 'set', 'v1', 'up');
  });

  afterAll(() => {
    try {
      for (const s of sockets) s.close();
    } finally {
      deleteNamespaces();
    }
  });

  for (const txCopy of [false, true]) {
    const how = txCopy ? ' (txCopy: sendmmsg)' : ' (TX ring)';

    it(`sends a batch from one end and receives it byte for byte at the other, VLAN tag included${how}`, () => {
      const a = open('v0', { txCopy });
      const b = open('v1', { tx: false });
      expect(a.mtu).toBe(1500);
      expect(a.maxFrameLength).toBe(1514);
      expect(a.fd).toBeGreaterThanOrEqual(0);
      expect(a.fanoutGroup).toBeNull();

      // 40 frames of an experimental EtherType, every 10th one 802.1Q-tagged, plus 3 invalid entries.
      const src = new Uint8Array(80_000);
      const offsets = new Uint32Array(64);
      const lengths = new Uint32Array(64);
      const expected: Uint8Array[] = [];
      let count = 0;
      let at = 0;
      for (let i = 0; i < 40; i++) {
        const tagged = i % 10 === 3;
        const len = [60, 61, 128, 999, 1514][i % 5] + (tagged ? 4 : 0);
        const f = src.subarray(at, at + len);
        for (let k = 0; k < len; k++) f[k] = (i * 7 + k) & 0xff;
        f.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02], 0);
        if (tagged) f.set([0x81, 0x00, 0x00, 0x64, 0x88, 0xb5], 12);
        else f.set([0x88, 0xb5], 12);
        expected.push(f.slice());
        offsets[count] = at;
        lengths[count++] = len;
        at += len + 3; // unaligned on purpose
        if (i === 5) {
          offsets[count] = 0;
          lengths[count++] = 10; // runt
        }
        if (i === 6) {
          offsets[count] = 0;
          lengths[count++] = 1600; // above the MTU
        }
        if (i === 7) {
          offsets[count] = src.length - 20;
          lengths[count++] = 60; // beyond the buffer
        }
      }
      expect(a.tx(src, offsets, lengths, count)).toBe(count);
      const txs = a.stats();
      expect(txs.txPackets).toBe(40);
      expect(txs.txInvalid).toBe(3);
      expect(txs.txBytes).toBe(expected.reduce((n, f) => n + f.length, 0));

      // A buffer that holds about three frames: the batch resumes mid-block across calls.
      const dst = new Uint8Array(4096);
      const ro = new Uint32Array(16);
      const rl = new Uint32Array(16);
      const sec = new Uint32Array(16);
      const nsec = new Uint32Array(16);
      const got: Uint8Array[] = [];
      const deadline = Date.now() + 3000;
      while (got.length < 40 && Date.now() < deadline) {
        b.wait(20);
        const n = b.rx(dst, ro, rl, sec, nsec, 16, 64);
        for (let i = 0; i < n; i++) {
          expect(ro[i] % 64).toBe(0);
          expect(Math.abs(sec[i] - Date.now() / 1000)).toBeLessThan(60);
          expect(nsec[i]).toBeLessThan(1e9);
          got.push(dst.slice(ro[i], ro[i] + rl[i]));
        }
      }
      expect(got.length).toBe(40);
      for (let i = 0; i < 40; i++) expect(got[i]).toEqual(expected[i]);
      const rxs = b.stats();
      expect(rxs.rxPackets).toBe(40);
      expect(rxs.kernelPackets).toBe(40);
      expect(rxs.kernelDrops).toBe(0);
      expect(b.rxReady()).toBe(false);

      // The sender's own ring never sees what it transmitted.
      expect(a.rx(dst, ro, rl, sec, nsec, 16, 64)).toBe(0);
      expect(a.stats().rxPackets).toBe(0);
    });

    it(`moves blocks in flit layout both ways (txFlits / rxFlits), skipping broken entries${how}`, () => {
      const a = open('v0', { rx: false, txCopy });
      const b = open('v1', { tx: false });
      // Pipe-like memory: frames back to back on flits, each length in wl[offset / 64]; one entry
      // says 0 bytes and one is a runt: both are skipped (one flit each) and counted.
      const sizes = [60, 200, 0, 150, 9, 61];
      const walk = new Uint8Array(64 * 64);
      const wl = new Uint16Array(64);
      let o = 0;
      for (let k = 0; k < sizes.length; k++) {
        walk.fill(k + 1, o, o + Math.max(sizes[k], 14));
        walk.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5], o);
        wl[o >> 6] = sizes[k];
        o += Math.max(64, (sizes[k] + 63) & ~63);
      }
      expect(a.txFlits(walk, 0, o, wl)).toBe(4);
      expect(a.stats().txInvalid).toBe(2);

      const dst = new Uint8Array(64 * 1024);
      const rl = new Uint16Array(1024);
      const sec = new Uint32Array(1024);
      const nsec = new Uint32Array(1024);
      let bytes = 0;
      const got: number[] = [];
      const deadline = Date.now() + 3000;
      // The four frames may arrive over several reads.
      while (got.length < 4 && Date.now() < deadline) {
        b.wait(20);
        const n = b.rxFlits(dst, rl, sec, nsec);
        for (let p = 0; p < n; p += (rl[p >> 6] + 63) & ~63) {
          got.push(rl[p >> 6]);
          expect(dst[p + 20]).toBe(dst[p + rl[p >> 6] - 1]); // payload intact to the last byte
          expect(nsec[p >> 6]).toBeLessThan(1e9);
        }
        bytes += n;
      }
      expect(got).toEqual([60, 200, 150, 61]);
      expect(bytes).toBe(64 + 256 + 192 + 64);
      expect(() => a.txFlits(walk, 32, 64, wl)).toThrow(/multiple of 64/);
      expect(() => a.txFlits(walk, 0, walk.length + 64, wl)).toThrow(/exceeds src/);
    });
  }

  it('with txCopy, drops and counts what the kernel refuses while the link is down, then sends again', () => {
    const a = open('v0', { rx: false, txCopy: true });
    const b = open('v1', { tx: false });
    const { walk, wl } = numberedFrames(8, 0xb7);
    ip('-n', NS, 'link', 'set', 'v0', 'down');
    try {
      expect(a.txFlits(walk, 0, 4 * 64, wl)).toBe(0);
      expect(a.stats()).toMatchObject({ txPackets: 0, txDropped: 4, txRingFull: 0 });
    } finally {
      ip('-n', NS, 'link', 'set', 'v0', 'up');
    }
    expect(a.txFlits(walk, 4 * 64, 4 * 64, wl)).toBe(4);
    expect(a.stats()).toMatchObject({ txPackets: 4, txDropped: 4 });
    expect(receiveNumbered(b, 0xb7, 4)).toEqual([4, 5, 6, 7]);
  });

  it('keeps frames queued while the link is down, refuses what the full ring cannot take, sends later', () => {
    const a = open('v0', { rx: false, txFrames: 1 }); // rounds up to one block of 32 slots
    const b = open('v1', { tx: false });
    const { walk, wl } = numberedFrames(40, 0xb6);
    ip('-n', NS, 'link', 'set', 'v0', 'down');
    try {
      expect(a.txFlits(walk, 0, walk.length, wl)).toBe(32);
      const st = a.stats();
      expect(st.txRingFull).toBe(8);
      expect(st.txKickErrors).toBeGreaterThan(0);
    } finally {
      ip('-n', NS, 'link', 'set', 'v0', 'up');
    }
    // The next call's kick sends the 32 waiting frames, which frees the slot for its own frame.
    expect(a.txFlits(walk, 32 * 64, 64, wl)).toBe(1);
    expect(receiveNumbered(b, 0xb6, 33)).toEqual([...Array.from({ length: 32 }, (_, k) => k), 32]);
  });

  it('drops (and counts) a frame larger than the whole receive buffer instead of stalling', () => {
    const a = open('v0', { rx: false });
    const b = open('v1', { tx: false });
    const src = new Uint8Array(2000).fill(0x5a);
    src.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5], 0);
    src.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5], 1000);
    expect(a.tx(src, Uint32Array.of(0, 1000), Uint32Array.of(900, 100), 2)).toBe(2);
    const dst = new Uint8Array(512);
    const u = () => new Uint32Array(4);
    const [ro, rl, sec, nsec] = [u(), u(), u(), u()];
    let n = 0;
    const deadline = Date.now() + 3000;
    while (n === 0 && Date.now() < deadline) {
      b.wait(20);
      n = b.rx(dst, ro, rl, sec, nsec, 4, 64);
    }
    expect(n).toBe(1);
    expect(rl[0]).toBe(100);
    expect(b.stats().rxOversize).toBe(1);
  });

  it('joins fanout groups by id and refuses a member with another mode', () => {
    const first = open('v1', { tx: false, fanoutMode: 'lb' });
    const group = first.fanoutGroup;
    expect(group).not.toBeNull();
    const second = open('v1', { tx: false, fanoutMode: 'lb', fanoutGroup: group as number });
    expect(second.fanoutGroup).toBe(group);
    const err = (() => {
      try {
        open('v1', { tx: false, fanoutMode: 'hash', fanoutGroup: group as number });
      } catch (e) {
        return e as AfPacketError;
      }
      throw new Error('joined with another mode');
    })();
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain(`cannot join fanout group ${group}`);
  });

  it('is closed once and stays readable', () => {
    const s = open('v1');
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(s.fd).toBe(-1);
    expect(s.stats().rxPackets).toBe(0);
    const u = new Uint32Array(1);
    expect(() => s.rx(new Uint8Array(64), u, u, u, u, 1, 1)).toThrow(/is closed/);
  });
});
