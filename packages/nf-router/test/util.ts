// The one place where tests import monorepo-only helpers (switch these to published entries when the
// package is copied out as a template).
export { writePcap, readPcap, ipChecksum, arpFrame, type Frame } from '../../nflib/test/pcap-util.js';
export { liveSkipReason, deleteNamespaces } from '../../enso/test/afpacket-netns.js';
export { expectDualPackage } from '../../../tools/package-smoke.js';
