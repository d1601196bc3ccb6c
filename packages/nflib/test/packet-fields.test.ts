import { describe, expect, it } from 'vitest';
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
  copyEthDst,
  copyEthSrc,
  copyIp4Options,
  copyIp6Dst,
  copyIp6Src,
  ethDst,
  ethHeaderLength,
  ethPayloadType,
  ethSrc,
  ethType,
  icmp6InnerIp6Offset,
  icmpCode,
  icmpId,
  icmpInnerIp4Offset,
  icmpIsError,
  icmpSeq,
  icmpType,
  icmpChecksumField,
  ip4Checksum,
  ip4Dst,
  ip4Flags,
  ip4FragmentOffset,
  ip4HeaderLength,
  ip4Id,
  ip4Ihl,
  ip4IsFragment,
  ip4OptionsLength,
  ip4OptionsOffset,
  ip4Protocol,
  ip4Src,
  ip4TotalLength,
  ip4Tos,
  ip4Ttl,
  ip6DstWords,
  ip6FlowLabel,
  ip6HopLimit,
  ip6NextHeader,
  ip6PayloadLength,
  ip6SrcWords,
  ip6TrafficClass,
  ipVersion,
  setEthDst,
  setEthSrc,
  setEthType,
  setIcmpCode,
  setIcmpId,
  setIcmpSeq,
  setIcmpType,
  setIp4Dst,
  setIp4FlagsFragment,
  setIp4Id,
  setIp4Protocol,
  setIp4Src,
  setIp4TotalLength,
  setIp4Tos,
  setIp4Ttl,
  setIp4VersionIhl,
  setIp6Dst,
  setIp6HopLimit,
  setIp6NextHeader,
  setIp6PayloadLength,
  setIp6Src,
  setIp6VersionClassFlow,
  setTcpAck,
  setTcpDataOffset,
  setTcpDstPort,
  setTcpFlags,
  setTcpSeq,
  setTcpSrcPort,
  setTcpUrgentPointer,
  setTcpWindow,
  setUdpDstPort,
  setUdpLength,
  setUdpSrcPort,
  setVlanTci,
  swapEthAddresses,
  tcpAck,
  tcpChecksumField,
  tcpDataOffset,
  tcpDstPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSrcPort,
  tcpUrgentPointer,
  tcpWindow,
  udpChecksumField,
  udpDstPort,
  udpLength,
  udpSrcPort,
  vlanId,
  vlanTci,
} from '../src/packet/index.js';

// Frames built with scapy 2.5 (see the names); the expected values are scapy's field values.
const TCP4 =
  '00112233445566778899aabb08004710004a12344000400648ee0a000001c0a801c8070704010203040030390050deadbeef0102030470182000e5b80000020405b401010402474554202f20485454502f312e310d0a0d0a';
const UDP4_VLAN =
  'ffffffffffff0200000000018100a06408004500002d000100000311f69bac1005040808080814e9003500199cef68656c6c6f20646e732071756572792121';
const ICMP_ECHO =
  '02fc0000000502fc0000000108004500003600010000400162bf0a0102030a0302010800271b424200076162636465666768696a6b6c6d6e6f707172737475767778797a';
const ICMP_ERR =
  '02fc0000000502fc000000010800450000400001000040015ca90a0909090a0101010b0002250000000045000024000100000111acc50a010101010101019c40829a0010d3ef0000000000000000';
const TCP6 =
  'ffffffffffff02fc0000000186dd62812345001f062120010db800000000000000000000000120010db800000001000000000000000201bbc3500000000100000002501220009ce800007878787878787878787878';
const ICMP6 =
  'ffffffffffff02fc0000000186dd60000000000d3a4020010db800000000000000000000000a20010db800000000000000000000000b80000f4d0009000a70696e6736';

/** Places a hex frame at an odd, non-zero offset of a bigger buffer, as frames sit in a shared pool. */
function frame(hex: string, at = 67): { bytes: Uint8Array; view: DataView; off: number; len: number } {
  const bytes = new Uint8Array(at + hex.length / 2 + 16);
  for (let k = 0; k < hex.length / 2; k++) bytes[at + k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
  return { bytes, view: new DataView(bytes.buffer), off: at, len: hex.length / 2 };
}

describe('ethernet', () => {
  it('reads MACs as 48-bit numbers and ethertypes', () => {
    const { view, off, len } = frame(TCP4);
    expect(ethDst(view, off)).toBe(0x001122334455);
    expect(ethSrc(view, off)).toBe(0x66778899aabb);
    expect(ethType(view, off)).toBe(ETHERTYPE_IPV4);
    expect(ethHeaderLength(view, off, len)).toBe(14);
    expect(ethPayloadType(view, off, len)).toBe(ETHERTYPE_IPV4);
  });

  it('copies MACs into caller arrays and writes them back', () => {
    const { bytes, view, off } = frame(TCP4);
    const out = new Uint8Array(14);
    copyEthDst(bytes, off, out, 1);
    copyEthSrc(bytes, off, out, 7);
    expect([...out.subarray(1, 13)]).toEqual([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]);
    setEthDst(view, off, 0xfedcba987654);
    setEthSrc(view, off, 0x020000000001);
    expect(ethDst(view, off)).toBe(0xfedcba987654);
    expect(ethSrc(view, off)).toBe(0x020000000001);
    expect([...bytes.subarray(off, off + 6)]).toEqual([0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54]);
    swapEthAddresses(bytes, off);
    expect(ethDst(view, off)).toBe(0x020000000001);
    expect(ethSrc(view, off)).toBe(0xfedcba987654);
    setEthType(view, off, ETHERTYPE_IPV6);
    expect(ethType(view, off)).toBe(ETHERTYPE_IPV6);
  });

  it('skips one 802.1Q tag and reads its TCI', () => {
    const { view, off, len } = frame(UDP4_VLAN);
    expect(ethType(view, off)).toBe(ETHERTYPE_VLAN);
    expect(ethHeaderLength(view, off, len)).toBe(18);
    expect(ethPayloadType(view, off, len)).toBe(ETHERTYPE_IPV4);
    expect(vlanId(view, off)).toBe(100);
    expect(vlanTci(view, off) >>> 13).toBe(5);
    setVlanTci(view, off, (3 << 13) | 42);
    expect(vlanId(view, off)).toBe(42);
    expect(ethHeaderLength(view, off, 17)).toBe(-1);
    expect(ethPayloadType(view, off, 13)).toBe(-1);
  });
});

describe('ipv4', () => {
  it('reads every field of a header with options', () => {
    const { bytes, view, off } = frame(TCP4);
    const ip = off + 14;
    expect(ipVersion(view, ip)).toBe(4);
    expect(ip4Ihl(view, ip)).toBe(7);
    expect(ip4HeaderLength(view, ip)).toBe(28);
    expect(ip4Tos(view, ip)).toBe(0x10);
    expect(ip4TotalLength(view, ip)).toBe(74);
    expect(ip4Id(view, ip)).toBe(0x1234);
    expect(ip4Flags(view, ip)).toBe(IPV4_FLAG_DF);
    expect(ip4FragmentOffset(view, ip)).toBe(0);
    expect(ip4IsFragment(view, ip)).toBe(false);
    expect(ip4Ttl(view, ip)).toBe(64);
    expect(ip4Protocol(view, ip)).toBe(IPPROTO_TCP);
    expect(ip4Checksum(view, ip)).toBe(0x48ee);
    expect(ip4Src(view, ip)).toBe(0x0a000001);
    expect(ip4Dst(view, ip)).toBe(0xc0a801c8);
    expect(ip4OptionsOffset(ip)).toBe(ip + 20);
    expect(ip4OptionsLength(view, ip)).toBe(8);
    const opts = new Uint8Array(8);
    expect(copyIp4Options(bytes, ip, opts, 0)).toBe(8);
    // Record Route: type 7, length 7, pointer 4, one router slot 1.2.3.4, then end-of-options.
    expect([...opts]).toEqual([7, 7, 4, 1, 2, 3, 4, 0]);
  });

  it('writes every field in place', () => {
    const { view, off } = frame(TCP4);
    const ip = off + 14;
    setIp4VersionIhl(view, ip, 5);
    setIp4Tos(view, ip, 0xb8);
    setIp4TotalLength(view, ip, 1500);
    setIp4Id(view, ip, 0xbeef);
    setIp4FlagsFragment(view, ip, IPV4_FLAG_MF, 0x1abc);
    setIp4Ttl(view, ip, 1);
    setIp4Protocol(view, ip, IPPROTO_UDP);
    setIp4Src(view, ip, 0xffffffff);
    setIp4Dst(view, ip, 0x80000001);
    expect(ipVersion(view, ip)).toBe(4);
    expect(ip4HeaderLength(view, ip)).toBe(20);
    expect(ip4OptionsLength(view, ip)).toBe(0);
    expect(ip4Tos(view, ip)).toBe(0xb8);
    expect(ip4TotalLength(view, ip)).toBe(1500);
    expect(ip4Id(view, ip)).toBe(0xbeef);
    expect(ip4Flags(view, ip)).toBe(IPV4_FLAG_MF);
    expect(ip4FragmentOffset(view, ip)).toBe(0x1abc);
    expect(ip4IsFragment(view, ip)).toBe(true);
    expect(ip4Ttl(view, ip)).toBe(1);
    expect(ip4Protocol(view, ip)).toBe(IPPROTO_UDP);
    expect(ip4Src(view, ip)).toBe(0xffffffff);
    expect(ip4Dst(view, ip)).toBe(0x80000001);
  });
});

describe('ipv6', () => {
  it('reads the fixed header and copies addresses into caller arrays', () => {
    const { bytes, view, off } = frame(TCP6);
    const ip = off + 14;
    expect(ipVersion(view, ip)).toBe(6);
    expect(ip6TrafficClass(view, ip)).toBe(0x28);
    expect(ip6FlowLabel(view, ip)).toBe(0x12345);
    expect(ip6PayloadLength(view, ip)).toBe(31);
    expect(ip6NextHeader(view, ip)).toBe(IPPROTO_TCP);
    expect(ip6HopLimit(view, ip)).toBe(33);
    const a = new Uint8Array(34);
    copyIp6Src(bytes, ip, a, 1);
    copyIp6Dst(bytes, ip, a, 17);
    expect(Buffer.from(a.subarray(1, 17)).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(Buffer.from(a.subarray(17, 33)).toString('hex')).toBe('20010db8000000010000000000000002');
    const w = new Uint32Array(9);
    ip6SrcWords(view, ip, w, 1);
    ip6DstWords(view, ip, w, 5);
    expect([...w.subarray(1)]).toEqual([0x20010db8, 0, 0, 1, 0x20010db8, 1, 0, 2]);
  });

  it('writes the fixed header in place', () => {
    const { bytes, view, off } = frame(TCP6);
    const ip = off + 14;
    setIp6VersionClassFlow(view, ip, 0xff, 0xfffff);
    expect(ipVersion(view, ip)).toBe(6);
    expect(ip6TrafficClass(view, ip)).toBe(0xff);
    expect(ip6FlowLabel(view, ip)).toBe(0xfffff);
    setIp6PayloadLength(view, ip, 1234);
    setIp6NextHeader(view, ip, IPPROTO_UDP);
    setIp6HopLimit(view, ip, 255);
    expect(ip6PayloadLength(view, ip)).toBe(1234);
    expect(ip6NextHeader(view, ip)).toBe(IPPROTO_UDP);
    expect(ip6HopLimit(view, ip)).toBe(255);
    const addr = new Uint8Array(20);
    for (let k = 0; k < 20; k++) addr[k] = k * 7;
    setIp6Src(bytes, ip, addr, 2);
    setIp6Dst(bytes, ip, addr, 4);
    const back = new Uint8Array(16);
    copyIp6Src(bytes, ip, back, 0);
    expect([...back]).toEqual([...addr.subarray(2, 18)]);
    copyIp6Dst(bytes, ip, back, 0);
    expect([...back]).toEqual([...addr.subarray(4, 20)]);
  });
});

describe('tcp', () => {
  it('reads and writes every field', () => {
    const { view, off } = frame(TCP4);
    const t = off + 14 + 28;
    expect(tcpSrcPort(view, t)).toBe(12345);
    expect(tcpDstPort(view, t)).toBe(80);
    expect(tcpSeq(view, t)).toBe(0xdeadbeef);
    expect(tcpAck(view, t)).toBe(0x01020304);
    expect(tcpDataOffset(view, t)).toBe(7);
    expect(tcpHeaderLength(view, t)).toBe(28);
    expect(tcpFlags(view, t)).toBe(TCP_PSH | TCP_ACK);
    expect(tcpWindow(view, t)).toBe(8192);
    expect(tcpChecksumField(view, t)).toBe(0xe5b8);
    expect(tcpUrgentPointer(view, t)).toBe(0);
    setTcpSrcPort(view, t, 65535);
    setTcpDstPort(view, t, 1);
    setTcpSeq(view, t, 0xffffffff);
    setTcpAck(view, t, 0x80000000);
    setTcpDataOffset(view, t, 15);
    setTcpFlags(view, t, TCP_SYN);
    setTcpWindow(view, t, 0xabcd);
    setTcpUrgentPointer(view, t, 0x1234);
    expect(tcpSrcPort(view, t)).toBe(65535);
    expect(tcpDstPort(view, t)).toBe(1);
    expect(tcpSeq(view, t)).toBe(0xffffffff);
    expect(tcpAck(view, t)).toBe(0x80000000);
    expect(tcpHeaderLength(view, t)).toBe(60);
    expect(tcpFlags(view, t)).toBe(TCP_SYN);
    expect(tcpWindow(view, t)).toBe(0xabcd);
    expect(tcpUrgentPointer(view, t)).toBe(0x1234);
  });
});

describe('udp', () => {
  it('reads and writes every field', () => {
    const { view, off } = frame(UDP4_VLAN);
    const u = off + 18 + 20;
    expect(udpSrcPort(view, u)).toBe(5353);
    expect(udpDstPort(view, u)).toBe(53);
    expect(udpLength(view, u)).toBe(25);
    expect(udpChecksumField(view, u)).toBe(0x9cef);
    setUdpSrcPort(view, u, 4789);
    setUdpDstPort(view, u, 65000);
    setUdpLength(view, u, 8);
    expect(udpSrcPort(view, u)).toBe(4789);
    expect(udpDstPort(view, u)).toBe(65000);
    expect(udpLength(view, u)).toBe(8);
  });
});

describe('icmp', () => {
  it('reads and writes echo fields', () => {
    const { view, off } = frame(ICMP_ECHO);
    const c = off + 14 + 20;
    expect(icmpType(view, c)).toBe(8);
    expect(icmpCode(view, c)).toBe(0);
    expect(icmpChecksumField(view, c)).toBe(0x271b);
    expect(icmpId(view, c)).toBe(0x4242);
    expect(icmpSeq(view, c)).toBe(7);
    expect(icmpIsError(8)).toBe(false);
    expect(icmpInnerIp4Offset(view, c, off + 14 + 54)).toBe(-1);
    setIcmpType(view, c, 0);
    setIcmpCode(view, c, 3);
    setIcmpId(view, c, 0xffff);
    setIcmpSeq(view, c, 0x1001);
    expect(icmpType(view, c)).toBe(0);
    expect(icmpCode(view, c)).toBe(3);
    expect(icmpId(view, c)).toBe(0xffff);
    expect(icmpSeq(view, c)).toBe(0x1001);
  });

  it('finds the IPv4 header embedded in an error and its ports', () => {
    const { view, off, len } = frame(ICMP_ERR);
    const c = off + 14 + 20;
    const end = off + len;
    expect(icmpType(view, c)).toBe(11);
    expect(icmpIsError(11)).toBe(true);
    const inner = icmpInnerIp4Offset(view, c, end);
    expect(inner).toBe(c + 8);
    expect(ip4Src(view, inner)).toBe(0x0a010101);
    expect(ip4Dst(view, inner)).toBe(0x01010101);
    expect(ip4Protocol(view, inner)).toBe(IPPROTO_UDP);
    const l4 = inner + ip4HeaderLength(view, inner);
    expect(udpSrcPort(view, l4)).toBe(40000);
    expect(udpDstPort(view, l4)).toBe(33434);
    // Truncated before the embedded header ends, or a wrong version: not found.
    expect(icmpInnerIp4Offset(view, c, c + 8 + 19)).toBe(-1);
    view.setUint8(inner, 0x65);
    expect(icmpInnerIp4Offset(view, c, end)).toBe(-1);
    view.setUint8(inner, 0x44);
    expect(icmpInnerIp4Offset(view, c, end)).toBe(-1);
  });

  it('finds the IPv6 header embedded in an ICMPv6 error', () => {
    const { view, off } = frame(ICMP6);
    const c = off + 14 + 40;
    expect(icmp6InnerIp6Offset(view, c, c + 13)).toBe(-1);
    // Turn the echo into "time exceeded" carrying the packet's own IPv6 header.
    const buf = new Uint8Array(8 + 40);
    const v = new DataView(buf.buffer);
    buf[0] = 3;
    for (let k = 0; k < 40; k++) buf[8 + k] = view.getUint8(off + 14 + k);
    expect(icmp6InnerIp6Offset(v, 0, 48)).toBe(8);
    expect(icmp6InnerIp6Offset(v, 0, 47)).toBe(-1);
  });
});
