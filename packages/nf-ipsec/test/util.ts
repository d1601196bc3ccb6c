// The one place this package's tests import monorepo-only helpers (switch to published entries here
// when the package is used as a template).
export { writePcap, readPcap, ipChecksum, type Frame } from '../../nflib/test/pcap-util.js';
export { liveSkipReason, deleteNamespaces } from '../../enso/test/afpacket-netns.js';
export { expectDualPackage } from '../../../tools/package-smoke.js';
