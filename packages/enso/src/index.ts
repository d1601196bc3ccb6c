/**
 * `@gnet/enso`: Enso's NIC-application interface (Device, RxPipe, TxPipe, RxTxPipe,
 * MessageBatch) over gnet's software NIC, with port backends chosen by spec strings.
 *
 * @packageDocumentation
 */

export { Device, type DeviceOptions, type TxPipeOptions } from './device.js';
export { RxPipe, type RxPipeStats } from './rx-pipe.js';
export { TxPipe } from './tx-pipe.js';
export { RxTxPipe } from './rx-tx-pipe.js';
export {
  MessageBatch,
  type MessageCallback,
  type MessageKind,
  PeekPktIterator,
  PktIterator,
} from './message-batch.js';
export { SoftNic, type NicOptions, type NicStats, type PortSpec } from './nic.js';
export { copyFlitArrays, copyFlits, FlitBuffer, flitBufferLayout, type FlitBufferLayout } from './flit-buffer.js';
export { DMA_CHUNK_BYTES, DmaChunk, dmaAllocate, dmaRelease, type DmaRegion } from './dma-arena.js';
export { flitAlign, ipv4ToNumber, nextPkt, numberToIpv4, pktLen, pktRtt } from './helpers.js';
export {
  DEFAULT_PIPE_SIZE,
  DEFAULT_RTT_OFFSET,
  FLIT_SHIFT,
  FLIT_SIZE,
  MAX_FRAME_LENGTH,
  MAX_HARDWARE_FLIT_RATE,
  MAX_PIPE_SIZE,
  MIN_FRAME_LENGTH,
  MIN_PIPE_SIZE,
  NO_TIMESTAMP,
  NS_PER_TIMESTAMP_CYCLE,
} from './constants.js';
export {
  emptyWireStats,
  type FlitSink,
  type FrameSink,
  type PortRole,
  type WireBackend,
  type WireStats,
} from './backends/types.js';
export {
  type BackendFactory,
  openPort,
  parsePortSpec,
  type ParsedPortSpec,
  type PortOptions,
  registerBackend,
  registeredBackends,
} from './backends/registry.js';
export { createMemPair, DEFAULT_MEM_QUEUE_BYTES, MemBackend, type MemOptions } from './backends/mem.js';
export { FrameCopier } from './frame-copy.js';
import './backends/builtin.js';
export { createPcapBackend, openCaptureReader, PcapBackend, type PcapOptions, type PcapWireStats } from './backends/pcap.js';
export { PcapReader } from './backends/pcap-reader.js';
export { PcapngReader, type PcapngInterface } from './backends/pcapng-reader.js';
export { TimestampScale } from './backends/pcapng-time.js';
export { CaptureReader, type CaptureReaderOptions } from './backends/pcap-capture-reader.js';
export { PcapWriter, type PcapWriterOptions } from './backends/pcap-writer.js';
export { createGenBackend, GenBackend, type GenOptions } from './backends/gen.js';
export { parseGenSpec, type GenSpec, type GenRate, type GenProto, type Ipv4Range, type PortRange, type SizeWeight } from './backends/gen-spec.js';
export { createAfPacketBackend, type AfPacketBackend, type AfPacketOptions } from './backends/afpacket.js';
export { createNullBackend, NullBackend } from './backends/null.js';
