/**
 * `@gnet/nf-firewall`: 5-tuple ACL classification (first match wins) for thousands of rules, on the
 * CPU and, through `kernels/acl.cu`, on the GPU; and the firewall NF built on it (`./nf`).
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/nf-firewall';

export * from './rules.js';
export * from './classifier.js';
export { TupleSpaceClassifier } from './tss.js';
export * from './firewall.js';
export { buildInWorker, type BuildRequest, type BuildReply } from './reload.js';
export { aclPtxPath } from './kernels.js';
