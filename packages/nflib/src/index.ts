/**
 * `@gnet/nflib`.
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/nflib';
