/**
 * `@gnet/nflib`: openNetVM's NF library and manager for TypeScript.
 *
 * - NF side: {@link init}, {@link run}, {@link stop} ({@link runPipelined}: batches in flight for GPU NFs), {@link PacketBatch} and the {@link Action} codes.
 * - Packet helpers that read and write headers in place, with full and incremental checksums.
 * - Data-path building blocks: shared-memory rings and the packet pool.
 * - The manager runtime ({@link Manager}): ports, service chains, flow director, NF registry, stats;
 *   embedded (NFs in worker_threads) or multi-process ({@link MultiProcessManager}: NF processes
 *   joined through a shared memory region, layout in {@link REGION_LAYOUT_VERSION}'s module).
 *
 * @packageDocumentation
 */
export * from './packet/index.js';
export * from './ring/index.js';
export * from './pool/index.js';
export { Action, actionNames, parseAction, type ActionCode } from './nf/actions.js';
export { parseNfArgs, type NfArgs } from './nf/args.js';
export { PacketBatch } from './nf/batch.js';
export { init, run, stop, type NfContext, type NfOptions, type NfMessage, type BatchHandler } from './nf/context.js';
export { runPipelined, type PipelineStages } from './nf/pipeline.js';
export { ChainTable, ChainDrop, Hop, parseChain, type ServiceChain } from './chain/service-chain.js';
export { FlowDirector, hash5 } from './chain/flow-director.js';
export { ConfigError, ConfigSection, parseLocatedJson, type LocatedJson, type SourcePosition } from './config/located-json.js';
export * from './stats/snapshot.js';
export { LatencyHistogram, type LatencySummary } from './stats/latency.js';
export { formatStatsTable, formatStatsJson, formatPrometheus } from './stats/format.js';
export { startMetricsServer } from './stats/metrics-server.js';
export { DEFAULT_BURST, SHARED_THREAD_BURST, Manager, type ManagerOptions, type PortConfig, type Accounting } from './runtime/manager.js';
export { ManagerPort } from './runtime/manager-port.js';
export { NfEndpoint, NF_STATE_NAMES } from './runtime/instance.js';
export type { ManagerPolicy, PolicyDecision, InstanceSetting } from './runtime/policy.js';
export { MAX_NAMED_COUNTERS, MAX_COUNTER_NAME, NamedCountersReader } from './runtime/named-counters.js';
export { NfInstance, NfThread, type NfSpec, type NfThreadEvents } from './runtime/nf-instance.js';
export { ProcessInstance } from './runtime/process-instance.js';
export { MultiProcessManager, type MultiProcessOptions, type PublishedStats } from './runtime/multi-process.js';
export { ManagerRegion, NoManagerError, pidAlive, type SlotView, type RegionCreateOptions } from './runtime/region.js';
export * from './runtime/region-layout.js';
export { Mailbox, MAILBOX_HEADER_BYTES, MAILBOX_WRAP } from './runtime/mailbox.js';
export { ATTACH_KEY, ControlWord, NfState, NfCounter, COUNTERS_OFFSET, CONTROL_BYTES, type NfAttach } from './runtime/attach.js';
export { summaryLine, runCommand, RUN_HELP } from './cli/run-command.js';
export { managerCommand, MANAGER_HELP } from './cli/manager-command.js';
export type { CliIo } from './cli/serve.js';
export { nfsCommand, listNfs, NFS_HELP, type NfListing } from './cli/nfs-command.js';
export { statsCommand, STATS_HELP } from './cli/stats-command.js';
