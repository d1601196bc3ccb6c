/**
 * Service chains: an ordered list of service ids plus the final action for packets that leave the
 * last service with `NEXT`. Chains come from config or the command line, never from code.
 * @module
 */
import { Action, parseAction, type ActionCode } from '../nf/actions.js';

/** One service chain. */
export interface ServiceChain {
  /** Services in order (service ids). */
  services: number[];
  /** What happens after the last service returns NEXT (usually OUT to a port). */
  finalAction: ActionCode;
  /** Port or service id for the final action. */
  finalDestination: number;
}

/** Where the router sends a packet next. */
export const Hop = {
  /** Dropped (see the reason). */
  DROP: 0,
  /** To a service (the target is a service id; the manager picks the instance). */
  SERVICE: 1,
  /** Out a port (the target is a port id). */
  PORT: 2,
} as const;

/** Drop reasons the chain router reports. */
export const ChainDrop = {
  /** The NF returned DROP. */
  NF: 1,
  /** The chain's final action is drop. */
  CHAIN_END: 2,
  /** The destination service or port does not exist. */
  BAD_DESTINATION: 3,
} as const;

/**
 * All chains of a manager, flattened into typed arrays so routing a packet is a few array reads.
 * Chain 0 is the default chain; flow-director rules select others.
 */
export class ChainTable {
  private readonly chains: ServiceChain[] = [];
  /** `services[c * MAX + i]`: i-th service of chain c. */
  private services = new Uint16Array(0);
  private lengths = new Uint8Array(0);
  private finalAction = new Uint8Array(0);
  private finalDest = new Uint16Array(0);
  /** Longest chain supported. */
  static readonly MAX_LENGTH = 32;

  /** Adds a chain and returns its id (0 for the first, the default chain). */
  add(chain: ServiceChain): number {
    if (chain.services.length > ChainTable.MAX_LENGTH) throw new Error(`a chain has at most ${ChainTable.MAX_LENGTH} services`);
    this.chains.push({ ...chain, services: [...chain.services] });
    this.rebuild();
    return this.chains.length - 1;
  }

  /** Number of chains. */
  get size(): number {
    return this.chains.length;
  }

  /** A copy of chain `id`. */
  get(id: number): ServiceChain {
    const c = this.chains[id];
    if (!c) throw new Error(`no chain ${id}`);
    return { ...c, services: [...c.services] };
  }

  private rebuild(): void {
    const n = this.chains.length;
    this.services = new Uint16Array(n * ChainTable.MAX_LENGTH);
    this.lengths = new Uint8Array(n);
    this.finalAction = new Uint8Array(n);
    this.finalDest = new Uint16Array(n);
    this.chains.forEach((c, id) => {
      this.services.set(c.services, id * ChainTable.MAX_LENGTH);
      this.lengths[id] = c.services.length;
      this.finalAction[id] = c.finalAction;
      this.finalDest[id] = c.finalDestination;
    });
  }

  /** Service at position `pos` of chain `chain`, or -1 past its end. */
  serviceAt(chain: number, pos: number): number {
    return pos < this.lengths[chain] ? this.services[chain * ChainTable.MAX_LENGTH + pos] : -1;
  }

  /**
   * Resolves where a packet goes after an NF (or RX, with `pos = -1` and action NEXT) acted on it.
   * Writes the next chain position to `posOut[i]` and returns the hop kind in the low 2 bits and
   * the target (service id, port, or drop reason) in the upper bits: `(target << 2) | Hop`.
   * Pure arithmetic on numbers: no allocation, safe on the data path.
   */
  route(chain: number, pos: number, action: number, destination: number, posOut: Uint8Array, i: number): number {
    switch (action) {
      case Action.DROP:
        return (ChainDrop.NF << 2) | Hop.DROP;
      case Action.OUT:
        return (destination << 2) | Hop.PORT;
      case Action.TONF: {
        // Jumping to a service keeps chain order when it is in the chain (so NEXT continues after it).
        const base = chain * ChainTable.MAX_LENGTH;
        const len = this.lengths[chain];
        let at = pos;
        for (let k = 0; k < len; k++) if (this.services[base + k] === destination) at = k;
        posOut[i] = at < 0 ? 0 : at;
        return (destination << 2) | Hop.SERVICE;
      }
      case Action.NEXT: {
        const next = pos + 1;
        if (next < this.lengths[chain]) {
          posOut[i] = next;
          return (this.services[chain * ChainTable.MAX_LENGTH + next] << 2) | Hop.SERVICE;
        }
        const fa = this.finalAction[chain];
        if (fa === Action.OUT) return (this.finalDest[chain] << 2) | Hop.PORT;
        if (fa === Action.TONF) return (this.finalDest[chain] << 2) | Hop.SERVICE;
        return (ChainDrop.CHAIN_END << 2) | Hop.DROP;
      }
      default:
        return (ChainDrop.BAD_DESTINATION << 2) | Hop.DROP;
    }
  }
}

/**
 * Parses a chain written as `svc[,svc...][@final]`, e.g. `1,2@out:1`, with service names resolved
 * through `serviceIds` (a name or a numeric id). The final action defaults to `out:<defaultPort>`.
 * @throws Error naming the unknown service or the bad action.
 */
export function parseChain(text: string, serviceIds: (name: string) => number | undefined, defaultPort: number): ServiceChain {
  const [list, final] = text.split('@');
  const services = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((name) => {
      const id = /^\d+$/.test(name) ? Number(name) : serviceIds(name);
      if (id === undefined) throw new Error(`unknown service "${name}" in chain "${text}"`);
      return id;
    });
  const fa = final ? parseAction(final) : { action: Action.OUT, destination: defaultPort };
  return { services, finalAction: fa.action, finalDestination: fa.destination };
}
