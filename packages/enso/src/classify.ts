/**
 * Reads the header fields the NIC steers on, following the binding semantics of Enso's NIC
 * (`RxPipe::Bind` in pipe.h). The flow-table lookup key depends on the packet:
 *
 * - TCP with SYN set: dst IP, dst port, protocol 6 (src fields 0), i.e. listening sockets;
 * - other TCP: the full 5-tuple;
 * - UDP: dst IP, dst port, protocol 17 (src fields 0), so bind UDP with src IP/port 0;
 * - any other IPv4 protocol: dst IP only (every other field 0).
 *
 * Non-IPv4 frames (ARP, IPv6, VLAN-tagged, malformed IPv4 headers) have no key: they always miss
 * and go to the fallback pipes. Every frame also has a hash of its full tuple (addresses for IPv6,
 * MACs + EtherType for other frames) so hashing to fallback pipes keeps a flow on one pipe; it is
 * computed only when asked for (`fallbackHash`), i.e. only for frames that miss.
 *
 * The classifier writes its results into its own fields, so classifying allocates nothing.
 *
 * @module
 */

import { hashTuple } from './flow-table.js';

/** {@link FrameClassifier.classify} result: shorter than an Ethernet header. */
export const FRAME_RUNT = -1;
/** {@link FrameClassifier.classify} result: not IPv4 (no flow key; fallback only). */
export const FRAME_NON_IPV4 = 0;
/** {@link FrameClassifier.classify} result: IPv4 with a flow key. */
export const FRAME_IPV4 = 1;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const TCP_SYN = 0x02;

/** Extracts the steering key of one frame at a time; reads through a `DataView` of the frame's buffer. */
export class FrameClassifier {
  /** Lookup key: destination IPv4 address (signed 32-bit). */
  keyDstIp = 0;
  /** Lookup key: source IPv4 address, or 0 where the rules ignore it. */
  keySrcIp = 0;
  /** Lookup key: `(dstPort << 16) | srcPort`, with ignored ports 0. */
  keyPorts = 0;
  /** Lookup key: IP protocol, or 0 for protocols other than TCP and UDP. */
  keyProtocol = 0;

  // The frame's full tuple (for the fallback hash).
  private kind = FRAME_RUNT;
  private frameView: DataView | null = null;
  private frameOff = 0;
  private ports = 0;
  private nonIpHash = 0;

  /**
   * Classifies the frame at bytes `[off, off + len)` of `view` and fills the key fields. Returns
   * {@link FRAME_IPV4}, {@link FRAME_NON_IPV4} or {@link FRAME_RUNT}.
   */
  classify(view: DataView, off: number, len: number): number {
    if (len < 14) return (this.kind = FRAME_RUNT);
    const etherType = view.getUint16(off + 12);
    const verIhl = etherType === ETHERTYPE_IPV4 && len >= 34 ? view.getUint8(off + 14) : 0;
    if ((verIhl & 0xf0) !== 0x40 || (verIhl & 15) < 5) {
      // Not IPv4, too short for an IPv4 header, or a malformed one.
      this.nonIpv4(view, off, len, etherType);
      return (this.kind = FRAME_NON_IPV4);
    }
    const protocol = view.getUint8(off + 23);
    const dst = view.getInt32(off + 30);
    const l4 = off + 14 + ((verIhl & 15) << 2);
    // Only the first fragment carries the transport header.
    const hasPorts = (protocol === PROTO_TCP || protocol === PROTO_UDP) && (view.getUint16(off + 20) & 0x1fff) === 0 && l4 + 4 <= off + len;
    const ports = hasPorts ? view.getInt32(l4) : 0;
    this.kind = FRAME_IPV4;
    this.frameView = view;
    this.frameOff = off;
    this.ports = ports;
    this.keyDstIp = dst;
    if (protocol === PROTO_UDP) {
      this.keyProtocol = PROTO_UDP;
      this.keySrcIp = 0;
      this.keyPorts = ports << 16;
    } else if (protocol === PROTO_TCP) {
      this.keyProtocol = PROTO_TCP;
      if (hasPorts && l4 + 14 <= off + len && (view.getUint8(l4 + 13) & TCP_SYN) !== 0) {
        this.keySrcIp = 0;
        this.keyPorts = ports << 16;
      } else {
        this.keySrcIp = view.getInt32(off + 26);
        this.keyPorts = (ports << 16) | (ports >>> 16);
      }
    } else {
      this.keyProtocol = 0;
      this.keySrcIp = 0;
      this.keyPorts = 0;
    }
    return FRAME_IPV4;
  }

  /** Hash of the last classified frame's full tuple, for picking a fallback pipe. */
  fallbackHash(): number {
    if (this.kind !== FRAME_IPV4) return this.nonIpHash;
    const v = this.frameView as DataView;
    const o = this.frameOff;
    return hashTuple(this.keyDstIp, v.getInt32(o + 26), this.ports, v.getUint8(o + 23));
  }

  private nonIpv4(view: DataView, off: number, len: number, etherType: number): void {
    if (etherType === ETHERTYPE_IPV6 && len >= 54) {
      // Fold both 128-bit addresses so one IPv6 flow stays on one fallback pipe.
      let a = 0;
      let b = 0;
      for (let i = 0; i < 16; i += 4) {
        a = Math.imul(a ^ view.getInt32(off + 22 + i), 0x9e3779b1);
        b = Math.imul(b ^ view.getInt32(off + 38 + i), 0x9e3779b1);
      }
      this.nonIpHash = hashTuple(b, a, view.getUint8(off + 20), ETHERTYPE_IPV6);
      return;
    }
    // MACs + EtherType: ARP, VLAN-tagged and unknown frames from one host pair stay together.
    const dstMac = view.getInt32(off) ^ view.getUint16(off + 4);
    const srcMac = view.getInt32(off + 6) ^ view.getUint16(off + 10);
    this.nonIpHash = hashTuple(dstMac, srcMac, 0, etherType);
  }
}
