// Rule file parsing: both formats, actions, policy, and errors that name the file, line and field.
import { describe, expect, it } from 'vitest';
import { parseRules, parseTraceLine, RuleAction, RuleError } from '../src/index.js';

describe('rule parsing', () => {
  it('reads ClassBench lines (tabs or spaces, flags optional, trailing action optional) and gnet lines', () => {
    const rs = parseRules(
      [
        '# comment',
        '@10.1.0.0/16\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000\t',
        '@1.2.3.4/32 5.6.7.8/30 1 : 2 3 : 4 0x11/0xFF',
        '@1.2.3.4/32 5.6.7.8/30 1 : 2 3 : 4 0x11/0xFF 0x1000/0x1000 drop',
        'out:2 src 192.168.0.0/16 proto udp dport 53  # trailing comment',
        'tonf:5 dst 10.0.0.1 sport 1000-2000 proto 47',
        'drop proto icmp',
        'policy accept',
      ].join('\n'),
      'x.rules',
    );
    expect(rs.count).toBe(6);
    expect(rs.policy).toBe(RuleAction.ACCEPT);
    expect([...rs.action]).toEqual([RuleAction.ACCEPT, RuleAction.ACCEPT, RuleAction.DROP, RuleAction.OUT, RuleAction.TONF, RuleAction.DROP]);
    expect(rs.target[3]).toBe(2);
    expect(rs.target[4]).toBe(5);
    expect([...rs.lines]).toEqual([2, 3, 4, 5, 6, 7]);
    expect(rs.srcLo[0]).toBe(0x0a010000);
    expect(rs.srcHi[0]).toBe(0x0a01ffff);
    expect(rs.dstLo[1]).toBe(0x05060708);
    expect(rs.dstHi[1]).toBe(0x0506070b);
    expect([rs.dportLo[0], rs.dportHi[0]]).toEqual([80, 80]);
    expect([rs.sportLo[4], rs.sportHi[4]]).toEqual([1000, 2000]);
    expect([rs.protoValue[3], rs.protoMask[3]]).toEqual([17, 0xff]);
    expect([rs.protoValue[4], rs.protoMask[4]]).toEqual([47, 0xff]);
    expect([rs.srcLo[5], rs.srcHi[5], rs.protoValue[5]]).toEqual([0, 0xffffffff, 1]);
  });

  const bad: [string, number, string, RegExp][] = [
    ['@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 65535 0x06/0xFF\n@10.0.0.0/33 0.0.0.0/0 0 : 1 0 : 1 0/0', 2, 'src', /out of range/],
    ['@10.0.0.0/8 0.0.0.300/0 0 : 65535 0 : 65535 0x06/0xFF', 1, 'dst', /above 255/],
    ['@10.0.0.0/8 0.0.0.0/0 0 - 65535 0 : 65535 0x06/0xFF', 1, 'sport', /lo : hi/],
    ['@10.0.0.0/8 0.0.0.0/0 0 : 65535 10 : 9 0x06/0xFF', 1, 'dport', /empty/],
    ['@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 70000 0x06/0xFF', 1, 'dport', /out of range/],
    ['@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 1 0x106/0xFF', 1, 'proto', /out of range/],
    ['@10.0.0.0/8 0.0.0.0/0 0 : 65535', 1, 'dport', /missing/],
    ['\n\naccept dst 10.0.0.0/8 port 80', 3, 'port', /unknown field/],
    ['reject dst 10.0.0.0/8', 1, 'action', /not an action/],
    ['out dst 10.0.0.0/8', 1, 'action', /needs a destination/],
    ['accept dport 80 dport 81', 1, 'dport', /given twice/],
    ['accept proto', 1, 'proto', /no value/],
    ['policy maybe', 1, 'policy', /policy accept/],
    ['@1.2.3.4/32 5.6.7.8/30 1 : 2 3 : 4 0x11/0xFF 0x0/0x0 accept extra', 1, 'line', /unexpected/],
  ];
  for (const [text, line, field, msg] of bad) {
    it(`reports ${field} on line ${line}: ${msg.source}`, () => {
      let err: unknown;
      try {
        parseRules(text, 'bad.rules');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RuleError);
      const e = err as RuleError;
      expect(e.file).toBe('bad.rules');
      expect(e.line).toBe(line);
      expect(e.field).toBe(field);
      expect(e.message).toMatch(msg);
      expect(e.message.startsWith(`bad.rules:${line}: ${field}: `)).toBe(true);
    });
  }

  it('reads trace lines and reports bad ones', () => {
    expect(parseTraceLine('3232235777\t167772161\t1024\t80\t6\t0\t12', 1)).toEqual({ src: 3232235777, dst: 167772161, sport: 1024, dport: 80, proto: 6 });
    expect(parseTraceLine('   ', 2)).toBeNull();
    expect(() => parseTraceLine('1 2 3 70000 6', 4)).toThrow(/<trace>:4: dport: /);
    expect(() => parseTraceLine('1 2 3', 5)).toThrow(/dport: missing/);
  });
});
