/**
 * One manager port: an Enso device over a software NIC with one port backend, a fallback RX pipe that
 * takes every frame the port receives, and a TX pipe for frames leaving on it.
 * @module
 */
import { Device, type PortRole, type RxPipe, type TxPipe } from '@gnet/enso';

/** A port of the manager (ids are given in order: `--in` 0, `--out` 1, then each `--port`). */
export class ManagerPort {
  /** Port id. */
  readonly id: number;
  /** The port spec (`pcap:in.pcap`). */
  readonly spec: string;
  /** Which directions are used. */
  readonly role: PortRole;
  /** The Enso device of this port. */
  readonly device: Device;
  /** Receives every frame of the port (a fallback pipe with no binds), when the port receives. */
  readonly rx: RxPipe | null;
  /** Transmits frames on the port, when the port transmits. */
  readonly tx: TxPipe | null;
  /** Frames / bytes handed to the manager and sent by it. */
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** Frames the manager could not transmit (the TX pipe had no room). */
  txFull = 0;

  private constructor(id: number, spec: string, role: PortRole, device: Device) {
    this.id = id;
    this.spec = spec;
    this.role = role;
    this.device = device;
    this.rx = role === 'tx' ? null : device.allocateRxPipe(true);
    this.tx = role === 'rx' ? null : device.allocateTxPipe({ port: 0 });
  }

  /** Opens port `spec` for `role`; rejects with the backend's error (bad spec, missing file…). */
  static async open(id: number, spec: string, role: PortRole, pipeSize = 1 << 22): Promise<ManagerPort> {
    const device = await Device.create({ ports: [{ spec, role }], pipeSize, txPipeSize: pipeSize });
    return new ManagerPort(id, spec, role, device);
  }

  /** True once the port will never receive again (end of a pcap, generator finished). */
  get exhausted(): boolean {
    return this.rx === null || this.device.nic.exhausted;
  }

  /** Closes the device (flushes pcap output). */
  async close(): Promise<void> {
    await this.device.close();
  }
}
