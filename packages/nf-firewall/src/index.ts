/**
 * `@gnet/nf-firewall`.
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/nf-firewall';
