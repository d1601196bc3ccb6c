/**
 * openNetVM-style NF arguments: manager-level flags before `--`, the NF's own flags after it.
 *
 * ```
 * node my-nf.js -r 2 -n 1 -- --routes table.txt
 * ```
 * @module
 */

/** The NF-level options every NF accepts (onvm_nflib's `-r`, `-n`, `-t`, `-l` and gnet's own). */
export interface NfArgs {
  /** Service id (`-r`): chosen by the NF; chains name services by id or tag. */
  serviceId?: number;
  /** Instance id (`-n`): requested instance id; the manager assigns one when absent. */
  instanceId?: number;
  /** Seconds to run before stopping by itself (`-t`); 0 = until stopped. */
  timeToLive: number;
  /** Packets to process before stopping (`-l`); 0 = no limit. */
  packetLimit: number;
  /** Manager to join in multi-process mode (`-m NAME`, or `GNET_MANAGER`). */
  manager?: string;
  /** The NF's own arguments (everything after `--`). */
  nfArgs: string[];
}

/**
 * Parses `argv` (without `node script`): onvm flags up to `--`, NF arguments after.
 * @throws Error with the flag and what it expects, for unknown flags or bad values.
 */
export function parseNfArgs(argv: readonly string[]): NfArgs {
  const out: NfArgs = { timeToLive: 0, packetLimit: 0, nfArgs: [], manager: process.env.GNET_MANAGER || undefined };
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  out.nfArgs = split < 0 ? [] : argv.slice(split + 1);
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = v === undefined ? NaN : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} expects an integer in [${min}, ${max}], got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < own.length; i++) {
    const flag = own[i];
    const v = own[i + 1];
    switch (flag) {
      case '-r':
        out.serviceId = int(flag, v, 1, 65535);
        i++;
        break;
      case '-n':
        out.instanceId = int(flag, v, 0, 65535);
        i++;
        break;
      case '-t':
        out.timeToLive = int(flag, v, 0, 2 ** 31);
        i++;
        break;
      case '-l':
        out.packetLimit = int(flag, v, 0, Number.MAX_SAFE_INTEGER);
        i++;
        break;
      case '-m':
        if (!v) throw new Error('-m expects a manager name');
        out.manager = v;
        i++;
        break;
      default:
        throw new Error(`unknown NF flag ${flag} (NF flags: -r service, -n instance, -t seconds, -l packets, -m manager; NF arguments go after --)`);
    }
  }
  return out;
}
