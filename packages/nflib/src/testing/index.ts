/**
 * `@gnet/nflib/testing`: helpers for testing NFs, in the monorepo and in projects made with
 * `gnet new`: pcap files, frame builders and checksums, batches over frames for unit tests,
 * running `gnet` over pcaps, network namespaces for live tests, and a dual-package (ESM + CJS)
 * check.
 *
 * @packageDocumentation
 */
export { writePcap, readPcap, framesAt, type Frame } from './pcap.js';
export { ipChecksum, udpFrame, arpFrame, ipv4Frame, ip4, type Ipv4FrameOptions } from './frames.js';
export { batchOfFrames, type BatchOfFramesOptions } from './batch.js';
export { gnetCli, runGnet, type GnetResult, type GnetSummary } from './cli.js';
export { liveSkipReason, deleteNamespaces, createVethPair, nodeInNs, JsonLines, type VethEnd } from './netns.js';
export { expectDualPackage } from './package-check.js';
