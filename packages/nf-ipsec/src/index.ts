/**
 * `@gnet/nf-ipsec`.
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/nf-ipsec';
