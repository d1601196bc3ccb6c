/**
 * `@gnet/nf-nat`: a NAPT gateway (RFC 4787 / RFC 5382 / RFC 5508) for gnet. The engine
 * ({@link NatEngine}) and its flow table ({@link FlowTable}) are usable alone; the NF is the
 * package's `./nf` export (`gnet run --chain nat`).
 *
 * @packageDocumentation
 */
import { kernelModulePath } from '@gnet/manager-native';

export { NatEngine, NAT_COUNTERS, NatCounter, SWEEP_PERIOD_S, type NatCounterName } from './nat.js';
export { FlowTable, KeyKind, KEY3_MASK, CHUNK_SLOTS, SLOT_WORDS, DESIGN_LOAD, hashKey, homeOf } from './flow-table.js';
export { PortAllocator } from './port-alloc.js';
export { parseNatConfig, DEFAULT_TIMEOUTS, type NatConfig, type NatTimeouts, type NatMacs, type NatSubnet, type StaticForward } from './config.js';

/** The npm name of this package. */
export const packageName = '@gnet/nf-nat';

/** Path of the NAT's flow-lookup kernel module (`kernels/nat.ptx`, entry `gnet_nat_lookup`). */
export const natPtxPath = (): string => kernelModulePath(import.meta.url, 'nat');
