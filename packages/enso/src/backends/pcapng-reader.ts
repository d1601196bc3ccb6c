/**
 * Streaming reader of pcapng files: Section Header, Interface Description (with `if_tsresol` and
 * `if_tsoffset`), Enhanced, Simple and (obsolete) Packet blocks; every other block is skipped.
 *
 * @module
 */
import { CaptureReader, type CaptureReaderOptions } from './pcap-capture-reader.js';
import {
  LINKTYPE_ETHERNET,
  MAX_PACKET_BYTES,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_EPB,
  PCAPNG_IDB,
  PCAPNG_SHB,
  PCAPNG_SPB,
  describeLinkType,
  linkTypeError,
} from './pcap-format.js';
import { TimestampScale } from './pcapng-time.js';

/** The obsolete Packet Block (type 2), still written by old tools. */
const PCAPNG_PB = 0x00000002;
/** Largest block parsed in the window: the largest packet plus generous room for options. */
const MAX_PARSED_BLOCK_BYTES = MAX_PACKET_BYTES + 65_536;
/** Interfaces per section beyond which the file is treated as garbage. */
const MAX_INTERFACES = 65_536;
const DEFAULT_SCALE = new TimestampScale(6, 0);
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** One interface of the current section, from its Interface Description Block. */
export interface PcapngInterface {
  /** Link type (1 = Ethernet; packets on other link types are skipped and counted as errors). */
  readonly linkType: number;
  /** Snapshot length (0 = unlimited). */
  readonly snaplen: number;
  /** Timestamp units and offset. */
  readonly scale: TimestampScale;
}

/**
 * Reads a pcapng file block by block through a fixed read window (see {@link CaptureReader} for the
 * cursor contract). Timestamps are converted per interface from its `if_tsresol` (default
 * microseconds) plus `if_tsoffset`; Simple Packet Blocks carry no timestamp and report 0.
 *
 * Bad input: a packet block naming an unknown interface, a non-Ethernet interface, or a captured
 * length that overruns its block is skipped and counted; a bad block length, a bad byte-order magic
 * or a file that ends inside a block counts one error and ends the stream. At open, every interface
 * described before the first packet must be Ethernet, or the constructor throws.
 */
export class PcapngReader extends CaptureReader {
  /** Always `pcapng`. */
  readonly format = 'pcapng' as const;
  /** Interfaces of the current section, indexed by interface id. */
  readonly interfaces: PcapngInterface[] = [];
  private le = true;

  /**
   * Opens `path` and reads the blocks before the first packet. Throws an Error naming the file when
   * it cannot be read, does not start with a Section Header Block, is corrupt before its first
   * packet, or describes an interface whose link type is not Ethernet.
   */
  constructor(path: string, options: CaptureReaderOptions = {}) {
    super(path, options, MAX_PARSED_BLOCK_BYTES);
    try {
      this.readPreamble();
    } catch (e) {
      this.file.close();
      throw e;
    }
  }

  /** Steps to the next packet; see {@link CaptureReader.next}. */
  next(): boolean {
    while (!this.done) {
      if (this.step()) return true;
    }
    return false;
  }

  /** Starts again at the first block (the section and its interfaces are read again). */
  rewind(): void {
    this.file.seek(0);
    this.done = false;
    this.interfaces.length = 0;
  }

  // Reads the blocks up to the first packet and checks what the file claims to hold.
  private readPreamble(): void {
    const f = this.file;
    if (!f.ensure(12) || f.view.getUint32(0, true) !== PCAPNG_SHB) {
      throw new Error(`pcap: ${this.path} is not a pcapng file (no Section Header Block)`);
    }
    while (!this.done && f.ensure(8)) {
      const type = f.view.getUint32(f.pos, this.le);
      if (type === PCAPNG_EPB || type === PCAPNG_SPB || type === PCAPNG_PB) break;
      this.step();
    }
    if (this.errors > 0) throw new Error(`pcap: ${this.lastError}`);
    for (const ifc of this.interfaces) {
      if (ifc.linkType !== LINKTYPE_ETHERNET) throw linkTypeError(this.path, ifc.linkType);
    }
  }

  // Processes one block; returns true when it published a packet.
  private step(): boolean {
    const f = this.file;
    if (!f.ensure(12)) {
      if (f.available > 0) this.fail(`truncated block header (${f.available} bytes)`, true);
      this.done = true;
      return false;
    }
    let p = f.pos;
    const type = f.view.getUint32(p, this.le);
    if (type === PCAPNG_SHB) {
      this.readSectionHeader();
      return false;
    }
    const total = f.view.getUint32(p + 4, this.le);
    if (total < 12 || (total & 3) !== 0) {
      this.fail(`block length ${total} is invalid`, true);
      return false;
    }
    if (f.offset + total > f.size) {
      this.fail(`truncated block (type 0x${type.toString(16)}, ${total} bytes, file ends first)`, true);
      return false;
    }
    const parsed = type === PCAPNG_EPB || type === PCAPNG_SPB || type === PCAPNG_PB || type === PCAPNG_IDB;
    if (!parsed) {
      f.advance(total);
      return false;
    }
    if (total > MAX_PARSED_BLOCK_BYTES || !f.ensure(total)) {
      this.fail(`block of ${total} bytes exceeds ${MAX_PARSED_BLOCK_BYTES} (corrupt)`, type === PCAPNG_IDB);
      f.advance(total);
      return false;
    }
    p = f.pos; // ensure() may have moved the window
    if (f.view.getUint32(p + total - 4, this.le) !== total) {
      this.fail(`block length ${total} does not match its trailing copy (corrupt)`, true);
      return false;
    }
    if (type === PCAPNG_IDB) {
      this.readInterface(p, total);
      f.advance(total);
      return false;
    }
    const ok = type === PCAPNG_SPB ? this.readSimplePacket(p, total) : this.readPacket(p, total, type);
    f.advance(total);
    return ok;
  }

  // Enhanced Packet Block, or the obsolete Packet Block (16-bit interface id).
  private readPacket(p: number, total: number, type: number): boolean {
    const view = this.file.view;
    const le = this.le;
    const ifId = type === PCAPNG_EPB ? view.getUint32(p + 8, le) : view.getUint16(p + 8, le);
    if (!this.usableInterface(ifId)) return false;
    const captured = view.getUint32(p + 20, le);
    if (28 + captured + 4 > total) {
      this.fail(`captured length ${captured} overruns its ${total}-byte block; skipped`, false);
      return false;
    }
    this.interfaces[ifId].scale.convert(view.getUint32(p + 12, le), view.getUint32(p + 16, le), this);
    this.emit(p + 28, captured, view.getUint32(p + 24, le));
    return true;
  }

  // Simple Packet Block: interface 0, no timestamp, captured length implied by snaplen and block.
  private readSimplePacket(p: number, total: number): boolean {
    if (!this.usableInterface(0)) return false;
    const original = this.file.view.getUint32(p + 8, this.le);
    const snaplen = this.interfaces[0].snaplen;
    let captured = Math.min(original, total - 16);
    if (snaplen > 0 && captured > snaplen) captured = snaplen;
    this.tsSec = 0;
    this.tsNsec = 0;
    this.emit(p + 12, captured, original);
    return true;
  }

  private usableInterface(ifId: number): boolean {
    if (ifId >= this.interfaces.length) {
      this.fail(`packet on undescribed interface ${ifId}; skipped`, false);
      return false;
    }
    const linkType = this.interfaces[ifId].linkType;
    if (linkType !== LINKTYPE_ETHERNET) {
      this.fail(`packet on interface ${ifId} with link type ${describeLinkType(linkType)}; skipped`, false);
      return false;
    }
    return true;
  }

  private readSectionHeader(): void {
    const f = this.file;
    const p = f.pos;
    const magic = f.view.getUint32(p + 8, true);
    if (magic === PCAPNG_BYTE_ORDER_MAGIC) this.le = true;
    else if (magic === 0x4d3c2b1a) this.le = false;
    else {
      this.fail(`bad section byte-order magic 0x${magic.toString(16)}`, true);
      return;
    }
    const total = f.view.getUint32(p + 4, this.le);
    if (total < 28 || (total & 3) !== 0 || total > MAX_PARSED_BLOCK_BYTES || !f.ensure(total)) {
      this.fail(`section header length ${total} is invalid or runs past the end of the file`, true);
      return;
    }
    const major = f.view.getUint16(f.pos + 12, this.le);
    if (major !== 1) {
      this.fail(`pcapng version ${major} is not supported`, true);
      return;
    }
    this.interfaces.length = 0;
    f.advance(total);
  }

  private readInterface(p: number, total: number): void {
    if (this.interfaces.length >= MAX_INTERFACES) {
      this.fail(`more than ${MAX_INTERFACES} interfaces (corrupt)`, true);
      return;
    }
    const view = this.file.view;
    const le = this.le;
    const linkType = view.getUint16(p + 8, le);
    const snaplen = view.getUint32(p + 12, le);
    let tsresol = 6;
    let offsetSec = 0;
    const end = p + total - 4;
    for (let o = p + 16; o + 4 <= end; ) {
      const code = view.getUint16(o, le);
      const len = view.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT || o + 4 + len > end) break;
      if (code === IF_TSRESOL && len >= 1) tsresol = view.getUint8(o + 4);
      if (code === IF_TSOFFSET && len >= 8) {
        const lo = view.getUint32(o + (le ? 4 : 8), le);
        const hi = view.getInt32(o + (le ? 8 : 4), le);
        offsetSec = hi * 4294967296 + lo;
      }
      o += 4 + ((len + 3) & ~3);
    }
    let scale = DEFAULT_SCALE;
    try {
      scale = new TimestampScale(tsresol, offsetSec);
    } catch (e) {
      this.fail(`interface ${this.interfaces.length}: ${(e as Error).message}`, true);
      return;
    }
    this.interfaces.push({ linkType, snaplen, scale });
  }
}
