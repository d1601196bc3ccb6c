import { describe, expect, it } from 'vitest';
import { sizeSchedule } from '../src/backends/gen-arena.js';
import { parseGenSpec } from '../src/backends/gen-spec.js';

describe('parseGenSpec', () => {
  it('fills every default for an empty spec', () => {
    const s = parseGenSpec('');
    expect(s).toMatchObject({
      count: Infinity,
      sizes: [{ size: 64, weight: 1 }],
      flows: 1,
      proto: 'udp',
      src: { base: 0x0a000000, count: 65536 },
      dst: { base: 0x0a010000, count: 65536 },
      sport: { lo: 1024, hi: 65535 },
      dport: { lo: 80, hi: 80 },
      rate: { kind: 'unlimited' },
      seed: 1,
      pcap: null,
      loop: 1,
      stamp: 'none',
    });
    expect([...s.smac]).toEqual([2, 0, 0, 0, 0, 1]);
    expect([...s.dmac]).toEqual([2, 0, 0, 0, 0, 2]);
  });

  it('parses the documented example', () => {
    const s = parseGenSpec(
      'count=1000000,size=64,flows=1024,proto=udp,src=10.0.0.0/16,dst=10.1.0.0/16,sport=1024-65535,dport=80,rate=1e6pps',
    );
    expect(s).toMatchObject({ count: 1_000_000, flows: 1024, rate: { kind: 'pps', value: 1e6 } });
  });

  it('parses sizes, rates, addresses and MACs', () => {
    expect(parseGenSpec('size=imix').sizes).toEqual([
      { size: 64, weight: 7 },
      { size: 570, weight: 4 },
      { size: 1518, weight: 1 },
    ]);
    expect(parseGenSpec('size=64/128/1500/64').sizes).toEqual([
      { size: 64, weight: 2 },
      { size: 128, weight: 1 },
      { size: 1500, weight: 1 },
    ]);
    expect(parseGenSpec('size=60').sizes[0].size).toBe(60);
    expect(parseGenSpec('size=9018').sizes[0].size).toBe(9018);
    expect(parseGenSpec('rate=10g').rate).toEqual({ kind: 'bps', value: 10e9 });
    expect(parseGenSpec('rate=2.5Gbps').rate).toEqual({ kind: 'bps', value: 2.5e9 });
    expect(parseGenSpec('rate=100m').rate).toEqual({ kind: 'bps', value: 100e6 });
    expect(parseGenSpec('rate=500kpps').rate).toEqual({ kind: 'pps', value: 500e3 });
    expect(parseGenSpec('rate=2mpps').rate).toEqual({ kind: 'pps', value: 2e6 });
    expect(parseGenSpec('rate=12345').rate).toEqual({ kind: 'pps', value: 12345 });
    expect(parseGenSpec('rate=unlimited').rate).toEqual({ kind: 'unlimited' });
    expect(parseGenSpec('src=192.168.1.77/24').src).toEqual({ base: 0xc0a80100, count: 256 });
    expect(parseGenSpec('dst=8.8.8.8').dst).toEqual({ base: 0x08080808, count: 1 });
    expect(parseGenSpec('dst=0.0.0.0/0').dst).toEqual({ base: 0, count: 2 ** 32 });
    expect(parseGenSpec('sport=7').sport).toEqual({ lo: 7, hi: 7 });
    expect([...parseGenSpec('smac=aa-bb-cc-dd-ee-ff').smac]).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    expect(parseGenSpec('count=1e3').count).toBe(1000);
    expect(parseGenSpec('pcap=/tmp/x.pcap,loop=0,rate=1e3').loop).toBe(0);
  });

  const bad: [string, RegExp][] = [
    ['size=59', /bad size '59': expected a frame size 60\.\.9018, 'imix', or a list like 64\/128\/1500/],
    ['size=9019', /bad size '9019'/],
    ['size=big', /bad size 'big'/],
    ['size=64/', /bad size '64\/'/],
    ['proto=sctp', /bad proto 'sctp': expected udp, tcp, icmp or mixed/],
    ['src=10.0.0.0/33', /bad src '10\.0\.0\.0\/33': expected an IPv4 address or CIDR block/],
    ['dst=10.0.0/8', /bad dst/],
    ['dst=10.0.0.256', /bad dst/],
    ['sport=80-20', /bad sport '80-20': expected a number 0\.\.65535 or a range like 1024-65535/],
    ['dport=70000', /bad dport/],
    ['rate=0', /bad rate '0': expected 'unlimited', packets per second/],
    ['rate=fast', /bad rate 'fast'/],
    ['rate=10tbps', /bad rate '10tbps'/],
    ['count=0', /bad count '0': expected a positive integer or 'unlimited'/],
    ['count=1.5', /bad count/],
    ['flows=0', /bad flows '0': expected an integer 1\.\.1048576/],
    ['seed=-1', /bad seed/],
    ['smac=02:00:00:00:00', /bad smac/],
    ['stamp=time', /bad stamp 'time': expected none or seq/],
    ['speed=10', /unknown key 'speed' in 'speed=10'; accepted keys: count, size, flows, proto/],
    ['count', /key 'count' needs a value/],
    ['count=1,count=2', /key 'count' is given twice/],
    ['pcap=/x.pcap,size=64', /key 'size' cannot be combined with pcap=/],
    ['loop=2', /key 'loop' needs pcap=PATH/],
    ['pcap=', /bad pcap ''/],
    ['pcap=/x.pcap,loop=-1', /bad loop '-1'/],
  ];
  for (const [spec, message] of bad) {
    it(`rejects ${spec}`, () => {
      expect(() => parseGenSpec(spec)).toThrow(message);
    });
  }
});

describe('sizeSchedule', () => {
  it('interleaves IMIX 7:4:1 over a 12-frame cycle', () => {
    const order = [...sizeSchedule(parseGenSpec('size=imix').sizes)];
    expect(order).toHaveLength(12);
    expect(order.filter((s) => s === 0)).toHaveLength(7);
    expect(order.filter((s) => s === 1)).toHaveLength(4);
    expect(order.filter((s) => s === 2)).toHaveLength(1);
    // Smooth: no two 570s and no run of more than two 64s back to back.
    expect(order.join('')).not.toMatch(/11|000/);
  });
});
