/**
 * `@gnet/nf-nat`.
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/nf-nat';
