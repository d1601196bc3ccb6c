// The one place the NAT's tests take shared helpers from (switch it to a published entry when the
// package is copied out of the monorepo).
export { readPcap, writePcap, runGnet, gnetCli, liveSkipReason, deleteNamespaces, expectDualPackage, type Frame } from '@gnet/nflib/testing';
