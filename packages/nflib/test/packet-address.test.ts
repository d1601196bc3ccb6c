import { describe, expect, it } from 'vitest';
import {
  AddressParseError,
  bytesToIp6,
  cidr4Contains,
  ip4PrefixMask,
  ip4ToNumber,
  ip6ToBytes,
  ipFamily,
  macToNumber,
  numberToIp4,
  numberToMac,
  parseCidr4,
  parseCidr6,
} from '../src/packet/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('IPv4 text', () => {
  it('parses and formats dotted quads', () => {
    expect(ip4ToNumber('10.0.0.1')).toBe(0x0a000001);
    expect(ip4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(ip4ToNumber('0.0.0.0')).toBe(0);
    expect(numberToIp4(0xc0a80001)).toBe('192.168.0.1');
    expect(numberToIp4(0xffffffff)).toBe('255.255.255.255');
    expect(numberToIp4(-1)).toBe('255.255.255.255');
    for (const s of ['1.2.3.4', '100.64.0.10', '224.0.0.251']) expect(numberToIp4(ip4ToNumber(s))).toBe(s);
  });

  it('rejects bad text with errors that name it', () => {
    const bad: [string, RegExp][] = [
      ['10.0.0.256', /"10\.0\.0\.256".*part 4 \(256\) is larger than 255/],
      ['10.0.0', /"10\.0\.0".*expected 4 dot-separated parts, found 3/],
      ['10.0.0.01', /part 4 \("01"\) is not a decimal number without leading zeros/],
      ['10.0.x.1', /part 3 \("x"\)/],
      ['', /expected 4/],
      [' 10.0.0.1', /part 1/],
    ];
    for (const [text, re] of bad) {
      expect(() => ip4ToNumber(text)).toThrow(AddressParseError);
      expect(() => ip4ToNumber(text)).toThrow(re);
    }
    try {
      ip4ToNumber('1.2.3.999');
    } catch (e) {
      expect((e as AddressParseError).text).toBe('1.2.3.999');
      expect((e as Error).message).toMatch(/^invalid IPv4 address "1\.2\.3\.999": /);
    }
  });
});

describe('IPv4 prefixes', () => {
  it('parses prefixes, clears host bits, and matches addresses', () => {
    expect(parseCidr4('10.0.0.0/8')).toEqual({ network: 0x0a000000, prefixLength: 8, mask: 0xff000000 });
    expect(parseCidr4('10.1.2.3/16')).toEqual({ network: 0x0a010000, prefixLength: 16, mask: 0xffff0000 });
    expect(parseCidr4('0.0.0.0/0')).toEqual({ network: 0, prefixLength: 0, mask: 0 });
    expect(parseCidr4('192.0.2.7')).toEqual({ network: 0xc0000207, prefixLength: 32, mask: 0xffffffff });
    expect(ip4PrefixMask(1)).toBe(0x80000000);
    const c = parseCidr4('10.1.0.0/16');
    expect(cidr4Contains(c, ip4ToNumber('10.1.255.3'))).toBe(true);
    expect(cidr4Contains(c, ip4ToNumber('10.2.0.1'))).toBe(false);
    expect(cidr4Contains(parseCidr4('0.0.0.0/0'), 0xffffffff)).toBe(true);
  });

  it('rejects bad prefixes, naming the text', () => {
    expect(() => parseCidr4('10.0.0.0/33')).toThrow(/"10\.0\.0\.0\/33".*prefix length 33 is larger than 32/);
    expect(() => parseCidr4('10.0.0.0/')).toThrow(/prefix length "" is not a decimal number/);
    expect(() => parseCidr4('10.0.0.0/8/8')).toThrow(/prefix length "8\/8"/);
    expect(() => parseCidr4('10.0.0/8')).toThrow(/invalid IPv4 prefix "10\.0\.0\/8"/);
    expect(() => parseCidr4('10.1.0.0/8', true)).toThrow(/host bits are set \(network is 10\.0\.0\.0\/8\)/);
    expect(parseCidr4('10.0.0.0/8', true).network).toBe(0x0a000000);
  });
});

describe('IPv6 text', () => {
  it('parses every RFC 4291 text form', () => {
    expect(hex(ip6ToBytes('2001:db8::1'))).toBe('20010db8000000000000000000000001');
    expect(hex(ip6ToBytes('::'))).toBe('0'.repeat(32));
    expect(hex(ip6ToBytes('::1'))).toBe('0'.repeat(31) + '1');
    expect(hex(ip6ToBytes('fe80::'))).toBe('fe80' + '0'.repeat(28));
    expect(hex(ip6ToBytes('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(ip6ToBytes('1:2:3:4:5:6:7::'))).toBe('00010002000300040005000600070000');
    expect(hex(ip6ToBytes('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
    expect(hex(ip6ToBytes('64:ff9b::10.0.0.1'))).toBe('0064ff9b00000000000000000a000001');
    expect(hex(ip6ToBytes('1:2:3:4:5:6:1.2.3.4'))).toBe('00010002000300040005000601020304');
    expect(hex(ip6ToBytes('ABCD:EF01::'))).toBe('abcdef01' + '0'.repeat(24));
    const out = new Uint8Array(16).fill(9);
    expect(ip6ToBytes('::2', out)).toBe(out);
    expect(hex(out)).toBe('0'.repeat(31) + '2');
  });

  it('formats canonically (RFC 5952)', () => {
    const round = (s: string): string => bytesToIp6(ip6ToBytes(s));
    expect(round('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(round('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(round('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(round('0:0:0:0:0:0:0:0')).toBe('::');
    expect(round('::1')).toBe('::1');
    expect(round('1::')).toBe('1::');
    expect(round('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3');
    expect(round('FE80::ABCD')).toBe('fe80::abcd');
    const buf = new Uint8Array(20);
    buf.set(ip6ToBytes('2001:db8::7'), 4);
    expect(bytesToIp6(buf, 4)).toBe('2001:db8::7');
  });

  it('rejects bad text, naming it', () => {
    const bad: [string, RegExp][] = [
      ['1::2::3', /"::" appears more than once/],
      ['1:2:3:4:5:6:7', /expected 8 groups, found 7/],
      ['1:2:3:4:5:6:7:8:9', /expected 8 groups, found 9/],
      ['1:2:3:4::5:6:7:8', /"::" must stand for at least one group/],
      ['12345::', /group "12345" is not 1 to 4 hex digits/],
      ['g::', /group "g"/],
      [':1::', /group ""/],
      ['1::2:', /group ""/],
      ['::1.2.3', /embedded IPv4 "1\.2\.3"/],
      ['1.2.3.4::', /group "1\.2\.3\.4"/],
      ['', /empty/],
      ['fe80::1%eth0', /group "1%eth0"/],
    ];
    for (const [text, re] of bad) {
      expect(() => ip6ToBytes(text)).toThrow(AddressParseError);
      expect(() => ip6ToBytes(text)).toThrow(re);
      expect(() => ip6ToBytes(text)).toThrow(`invalid IPv6 address ${JSON.stringify(text)}`);
    }
    expect(() => ip6ToBytes('::', new Uint8Array(8))).toThrow(RangeError);
  });

  it('parses IPv6 prefixes', () => {
    const c = parseCidr6('2001:db8:abcd:1234::1/48');
    expect(c.prefixLength).toBe(48);
    expect(bytesToIp6(c.network)).toBe('2001:db8:abcd::');
    expect(bytesToIp6(parseCidr6('2001:db8::ff/121').network)).toBe('2001:db8::80');
    expect(parseCidr6('::/0').prefixLength).toBe(0);
    expect(parseCidr6('::1').prefixLength).toBe(128);
    expect(() => parseCidr6('2001:db8::/129')).toThrow(/"2001:db8::\/129".*larger than 128/);
    expect(() => parseCidr6('2001:db8::1/64', true)).toThrow(/host bits are set \(network is 2001:db8::\/64\)/);
    expect(() => parseCidr6('2001:zz8::/32')).toThrow(/invalid IPv6 prefix/);
  });

  it('tells address families apart without throwing', () => {
    expect(ipFamily('10.0.0.0/8')).toBe(4);
    expect(ipFamily('2001:db8::/32')).toBe(6);
    expect(ipFamily('::ffff:1.2.3.4')).toBe(6);
    expect(ipFamily('nonsense')).toBe(0);
  });
});

describe('MAC text', () => {
  it('parses and formats 48-bit MACs', () => {
    expect(macToNumber('00:11:22:33:44:55')).toBe(0x001122334455);
    expect(macToNumber('FF-FF-FF-FF-FF-FF')).toBe(0xffffffffffff);
    expect(numberToMac(0x02fc00000001)).toBe('02:fc:00:00:00:01');
    expect(numberToMac(0xffffffffffff)).toBe('ff:ff:ff:ff:ff:ff');
    expect(numberToMac(macToNumber('de:ad:be:ef:00:01'))).toBe('de:ad:be:ef:00:01');
  });

  it('rejects bad MACs, naming them', () => {
    expect(() => macToNumber('00:11:22:33:44')).toThrow(/invalid MAC address "00:11:22:33:44": expected 6 groups, found 5/);
    expect(() => macToNumber('00:11:22:33:44:5')).toThrow(/group 6 \("5"\) is not two hex digits/);
    expect(() => macToNumber('00:11:22:33:44:gg')).toThrow(AddressParseError);
  });
});
