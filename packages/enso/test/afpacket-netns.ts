// Test helpers: network namespaces joined by veth pairs, so live traffic never leaves the test's
// own namespaces. They are the public test helpers of `@gnet/nflib/testing` (one copy), imported
// from source here because enso sits below nflib: a test-only edge, no package dependency. Each
// test file uses its own namespace prefix so that cleaning stale namespaces of one file never
// removes another's.
export { createVethPair, deleteNamespaces, JsonLines, liveSkipReason, nodeInNs, type VethEnd } from '../../nflib/src/testing/netns.js';
