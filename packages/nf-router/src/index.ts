/**
 * `@gnet/nf-router`: an IPv4 router NF.
 *
 * @packageDocumentation
 */
export { lpmPtxPath } from './kernels.js';
