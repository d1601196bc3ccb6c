/**
 * Constants of the two capture file formats gnet reads and writes: classic libpcap
 * (draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng).
 *
 * @module
 */

/** Classic pcap magic, microsecond timestamps, as read in the file's own byte order. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
/** Classic pcap magic, nanosecond timestamps, as read in the file's own byte order. */
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
/** Kuznetsov's "modified" pcap magic (extra record fields); recognised only to reject it clearly. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
/** Bytes in the classic pcap file header. */
export const PCAP_FILE_HEADER_BYTES = 24;
/** Bytes in a classic pcap record header (ts_sec, ts_frac, incl_len, orig_len). */
export const PCAP_RECORD_HEADER_BYTES = 16;

/** pcapng Section Header Block type; its bytes read the same in either byte order. */
export const PCAPNG_SHB = 0x0a0d0d0a;
/** pcapng Interface Description Block type. */
export const PCAPNG_IDB = 0x00000001;
/** pcapng Simple Packet Block type. */
export const PCAPNG_SPB = 0x00000003;
/** pcapng Enhanced Packet Block type. */
export const PCAPNG_EPB = 0x00000006;
/** pcapng byte-order magic inside the Section Header Block. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** LINKTYPE_ETHERNET: the only link type gnet's software NIC carries. */
export const LINKTYPE_ETHERNET = 1;

/**
 * The largest packet gnet reads or writes (Wireshark's and tcpdump's default snaplen). A captured
 * length above this is treated as garbage, so a corrupt length never causes a huge allocation.
 */
export const MAX_PACKET_BYTES = 262_144;

// Names of the link types a user is likely to meet, so a rejection says what the file holds.
const LINK_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NULL (BSD loopback)'],
  [1, 'ETHERNET'],
  [101, 'RAW (IP)'],
  [105, 'IEEE802_11'],
  [113, 'LINUX_SLL (Linux cooked)'],
  [127, 'IEEE802_11_RADIOTAP'],
  [228, 'IPV4'],
  [229, 'IPV6'],
  [276, 'LINUX_SLL2 (Linux cooked v2)'],
]);

/** A link type as `number (NAME)` for error messages, e.g. `113 (LINUX_SLL (Linux cooked))`. */
export function describeLinkType(linkType: number): string {
  const name = LINK_TYPE_NAMES.get(linkType);
  return name === undefined ? String(linkType) : `${linkType} (${name})`;
}

/** The error thrown when a capture holds something other than Ethernet frames. */
export function linkTypeError(path: string, linkType: number): Error {
  return new Error(
    `pcap: ${path} has link type ${describeLinkType(linkType)}; only Ethernet (link type 1) is supported`,
  );
}
