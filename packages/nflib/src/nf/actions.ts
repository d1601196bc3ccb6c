/**
 * What an NF decides for each packet, as in openNetVM (`ONVM_NF_ACTION_*`). An action is stored per
 * packet in the batch meta (`action[i]`, `destination[i]`), never as an object.
 * @module
 */

/** Per-packet action codes (values match openNetVM's `ONVM_NF_ACTION_*`). */
export const Action = {
  /** Drop the packet; the manager counts it under the NF's drop reason. */
  DROP: 0,
  /** Send it to the next service of the packet's chain (or the chain's final action). */
  NEXT: 1,
  /** Send it to the service whose id is in `destination`. */
  TONF: 2,
  /** Transmit it on the port whose id is in `destination`. */
  OUT: 3,
} as const;

/** One of the {@link Action} codes. */
export type ActionCode = (typeof Action)[keyof typeof Action];

/** Human names of the action codes, for logs and stats. */
export const actionNames: readonly string[] = ['drop', 'next', 'tonf', 'out'];

/**
 * Parses an action written in config or on the command line: `drop`, `next`, `tonf:<service>`,
 * `out:<port>`.
 * @throws Error naming the text when it is not one of those.
 */
export function parseAction(text: string): { action: ActionCode; destination: number } {
  const m = /^(drop|next|tonf|out)(?::(\d+))?$/.exec(text.trim().toLowerCase());
  if (!m) throw new Error(`"${text}" is not an action (drop, next, tonf:<service id>, out:<port>)`);
  const action = Action[m[1].toUpperCase() as keyof typeof Action];
  const needsDest = action === Action.TONF || action === Action.OUT;
  if (needsDest !== (m[2] !== undefined)) {
    throw new Error(needsDest ? `"${text}" needs a destination, e.g. ${m[1]}:1` : `"${text}" takes no destination`);
  }
  return { action, destination: m[2] === undefined ? 0 : Number(m[2]) };
}
