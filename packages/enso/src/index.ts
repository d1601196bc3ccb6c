/**
 * `@gnet/enso`.
 *
 * @packageDocumentation
 */

/** The npm name of this package. */
export const packageName = '@gnet/enso';
