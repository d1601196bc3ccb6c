/**
 * Streaming reader of classic libpcap files: either byte order, microsecond or nanosecond
 * timestamps, Ethernet link type.
 *
 * @module
 */
import { CaptureReader, type CaptureReaderOptions } from './pcap-capture-reader.js';
import {
  LINKTYPE_ETHERNET,
  MAX_PACKET_BYTES,
  PCAP_FILE_HEADER_BYTES,
  PCAP_MAGIC_MODIFIED,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_RECORD_HEADER_BYTES,
  linkTypeError,
} from './pcap-format.js';

/**
 * Reads a classic pcap file record by record through a fixed read window (see
 * {@link CaptureReader} for the cursor contract).
 *
 * Records whose captured length is below their original length are delivered as captured and
 * counted in `truncated`. A captured length above 262144 bytes (garbage) or a file that ends inside
 * a record counts one error and ends the stream: classic pcap has no way to resynchronise.
 */
export class PcapReader extends CaptureReader {
  /** Always `pcap`. */
  readonly format = 'pcap' as const;
  /** True when the file's header and records are little-endian. */
  readonly littleEndian: boolean;
  /** True for the nanosecond-timestamp variant (magic 0xa1b23c4d). */
  readonly nanosecond: boolean;
  /** The file header's snapshot length. */
  readonly snaplen: number;
  /** The file header's link type (always 1, Ethernet: other types are rejected at open). */
  readonly linkType: number;
  /** Major.minor version from the file header, e.g. `2.4`. */
  readonly version: string;

  /**
   * Opens `path` and reads its file header. Throws an Error naming the file when it cannot be read,
   * is not a classic pcap file, or holds a link type other than Ethernet.
   */
  constructor(path: string, options: CaptureReaderOptions = {}) {
    super(path, options, MAX_PACKET_BYTES + PCAP_RECORD_HEADER_BYTES);
    const f = this.file;
    try {
      if (!f.ensure(PCAP_FILE_HEADER_BYTES)) {
        throw new Error(`pcap: ${path} is too short for a pcap file header (${f.size} bytes)`);
      }
      const magicLe = f.view.getUint32(0, true);
      const magicBe = f.view.getUint32(0, false);
      let le: boolean;
      if (magicLe === PCAP_MAGIC_USEC || magicLe === PCAP_MAGIC_NSEC) le = true;
      else if (magicBe === PCAP_MAGIC_USEC || magicBe === PCAP_MAGIC_NSEC) le = false;
      else if (magicLe === PCAP_MAGIC_MODIFIED || magicBe === PCAP_MAGIC_MODIFIED) {
        throw new Error(`pcap: ${path} is a "modified" (Kuznetsov) pcap file, which is not supported`);
      } else {
        throw new Error(`pcap: ${path} is not a pcap file (magic 0x${magicBe.toString(16).padStart(8, '0')})`);
      }
      this.littleEndian = le;
      this.nanosecond = f.view.getUint32(0, le) === PCAP_MAGIC_NSEC;
      this.version = `${f.view.getUint16(4, le)}.${f.view.getUint16(6, le)}`;
      this.snaplen = f.view.getUint32(16, le);
      // The low 16 bits are the link type; the upper bits may carry FCS information.
      this.linkType = f.view.getUint32(20, le) & 0xffff;
      if (this.linkType !== LINKTYPE_ETHERNET) throw linkTypeError(path, this.linkType);
    } catch (e) {
      f.close();
      throw e;
    }
    f.advance(PCAP_FILE_HEADER_BYTES);
  }

  /** Steps to the next record; see {@link CaptureReader.next}. */
  next(): boolean {
    if (this.done) return false;
    const f = this.file;
    if (!f.ensure(PCAP_RECORD_HEADER_BYTES)) {
      if (f.available > 0) this.fail(`truncated record header (${f.available} of 16 bytes)`, true);
      this.done = true;
      return false;
    }
    const le = this.littleEndian;
    let p = f.pos;
    const incl = f.view.getUint32(p + 8, le);
    if (incl > MAX_PACKET_BYTES) {
      this.fail(`captured length ${incl} exceeds ${MAX_PACKET_BYTES} (corrupt record)`, true);
      return false;
    }
    const recordBytes = PCAP_RECORD_HEADER_BYTES + incl;
    if (!f.ensure(recordBytes)) {
      this.fail(`truncated record (${f.available} of ${recordBytes} bytes)`, true);
      return false;
    }
    p = f.pos; // ensure() may have moved the window
    const view = f.view;
    let sec = view.getUint32(p, le);
    let nsec = view.getUint32(p + 4, le);
    if (!this.nanosecond) nsec *= 1000;
    if (nsec >= 1_000_000_000) {
      // Out-of-range fraction (seen in hand-made files): carry it into the seconds.
      sec += Math.floor(nsec / 1_000_000_000);
      nsec %= 1_000_000_000;
    }
    this.tsSec = sec;
    this.tsNsec = nsec;
    this.emit(p + PCAP_RECORD_HEADER_BYTES, incl, view.getUint32(p + 12, le));
    f.pos = p + recordBytes;
    return true;
  }

  /** Starts again at the first record. */
  rewind(): void {
    this.file.seek(PCAP_FILE_HEADER_BYTES);
    this.done = false;
  }
}
