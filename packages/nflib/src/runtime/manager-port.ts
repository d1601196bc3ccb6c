/**
 * One manager port: a software-NIC port backend of `@gnet/enso` (`mem`, `gen:`, `pcap:`,
 * `afpacket:`, `null`), driven the way a DPDK PMD is: the manager polls it for bursts of frames
 * straight into pool slots (`runtime/rx-filler.ts`) and hands it leaving frames one burst at a time.
 * Enso's pipes are for applications that drive the NIC themselves; the manager owns its ports and
 * skips the pipe in between, so a frame is copied once on the way in and once on the way out.
 * @module
 */
import { openPort, type PortRole, type WireBackend } from '@gnet/enso';

/** A port of the manager (ids are given in order: `--in` 0, `--out` 1, then each `--port`). */
export class ManagerPort {
  /** Port id. */
  readonly id: number;
  /** The port spec (`pcap:in.pcap`). */
  readonly spec: string;
  /** Which directions are used. */
  readonly role: PortRole;
  /** The port's backend. */
  readonly backend: WireBackend;
  /** Whether the manager receives from it. */
  readonly receives: boolean;
  /** Whether the manager transmits on it. */
  readonly transmits: boolean;
  /**
   * True for a source that can wait (a file, an unpaced generator). Every port is polled for no
   * more frames than the manager has room for; a live port meanwhile fills its own queue (the
   * kernel's ring) and drops there, as a NIC does.
   */
  readonly lossless: boolean;
  /** Frames / bytes handed to the manager and sent by it. */
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** Frames the port refused to transmit (its queue was full or closed). */
  txFull = 0;
  /** Frames the port delivered that were malformed: shorter than an Ethernet header or longer than a pool slot. */
  rxInvalid = 0;
  /** Frames the port delivered beyond the room the manager asked for (a backend that ignores its `max`). */
  rxNoBuffer = 0;
  /** Frames sent since the last flush (the backend is flushed once per manager turn). */
  unflushed = 0;

  private constructor(id: number, spec: string, role: PortRole, backend: WireBackend) {
    this.id = id;
    this.spec = spec;
    this.role = role;
    this.backend = backend;
    this.receives = role !== 'tx';
    this.transmits = role !== 'rx';
    this.lossless = backend.lossless === true;
  }

  /** Opens port `spec` for `role`; rejects with the backend's error (bad spec, missing file…). */
  static async open(id: number, spec: string, role: PortRole): Promise<ManagerPort> {
    return new ManagerPort(id, spec, role, await openPort(spec, role));
  }

  /** True once the port will never receive again (end of a pcap, generator finished). */
  get exhausted(): boolean {
    return !this.receives || this.backend.exhausted;
  }

  /** Pushes out what was sent since the last flush (socket send, file write). */
  flush(): void {
    if (this.unflushed === 0) return;
    this.unflushed = 0;
    this.backend.flush();
  }

  /**
   * Frames the port lost before the manager saw them, by reason: malformed (`rx_invalid`), more than
   * asked for (`rx_no_buffer`), and those lost inside the backend (`rx_port_dropped`: a full kernel
   * ring, an oversize frame); and frames it refused to send (`tx_full`, which the manager also counts
   * as its own drop).
   */
  drops(): Record<string, number> {
    const st = this.backend.stats();
    const d: Record<string, number> = {};
    if (this.rxInvalid) d.rx_invalid = this.rxInvalid;
    if (this.rxNoBuffer) d.rx_no_buffer = this.rxNoBuffer;
    // Backends count the frames a sink refused among their own receive drops.
    const inside = st.rxDropped - this.rxInvalid - this.rxNoBuffer;
    if (inside > 0) d.rx_port_dropped = inside;
    if (this.txFull) d.tx_full = this.txFull;
    return d;
  }

  /** Flushes and closes the backend (pcap output is complete afterwards). */
  async close(): Promise<void> {
    this.flush();
    await this.backend.close();
  }
}
