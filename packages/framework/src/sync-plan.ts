/**
 * G-NET's data-sync plan: from each NF's declared read and write sets along a service chain, decide
 * which packet fields must be copied host→device before each NF's kernel and device→host after it,
 * so that a field already on the GPU and still clean is not copied again, and a field the GPU wrote
 * crosses back only if a CPU stage (or transmission) reads it before it is overwritten.
 *
 * A field is a named region of every packet (or of its meta) with a size in bytes, e.g.
 * `ip.dst` (4), `l4.ports` (4), `payload` (variable: give its typical size), `meta.nexthop` (4).
 * `*` in a host stage's reads or writes stands for every field: an NF that did not say what it
 * touches (a plain nflib NF in the chain) is planned as reading and rewriting everything.
 * @module
 */

/** What one NF of the chain reads and writes, per stage of its pipeline. */
export interface NfAccess {
  /** NF name, for the plan's report. */
  name: string;
  /** Fields the CPU pre-process stage reads / writes (before HtoD). */
  preReads?: readonly string[];
  preWrites?: readonly string[];
  /** Fields the kernel reads / writes on the GPU. A write overwrites the whole field. */
  gpuReads?: readonly string[];
  gpuWrites?: readonly string[];
  /** Fields the CPU post-process stage reads / writes (after DtoH). */
  postReads?: readonly string[];
  postWrites?: readonly string[];
}

/** Copies for one NF of the chain. */
export interface NfSync {
  name: string;
  /** Fields to copy host→device before the kernel. */
  htod: string[];
  /** Fields to copy device→host after the kernel. */
  dtoh: string[];
}

/** A whole chain's plan and what it saves over copying every kernel's reads in and writes out. */
export interface SyncPlan {
  nfs: NfSync[];
  /** Bytes per packet that cross PCIe with this plan. */
  bytesPerPacket: number;
  /** Bytes per packet that cross PCIe when each NF copies its GPU reads in and writes out. */
  naiveBytesPerPacket: number;
}

/** Every field, in a host stage's read or write set. */
export const ANY_FIELD = '*';

interface Where {
  host: boolean;
  dev: boolean;
}

/**
 * Computes the plan for `chain` (in order). `sizes` gives each field's bytes per packet (unknown
 * fields count 0 bytes but are still planned). `txReads` are the fields transmission needs on the
 * host at the end of the chain (default: every field not starting with `meta.`).
 */
export function computeSyncPlan(chain: readonly NfAccess[], sizes: Readonly<Record<string, number>> = {}, txReads?: readonly string[]): SyncPlan {
  const fields = new Set<string>();
  for (const nf of chain) for (const list of [nf.preReads, nf.preWrites, nf.gpuReads, nf.gpuWrites, nf.postReads, nf.postWrites]) for (const f of list ?? []) if (f !== ANY_FIELD) fields.add(f);
  const tx = new Set(txReads ?? [...fields].filter((f) => !f.startsWith('meta.')));
  const state = new Map<string, Where>([...fields].map((f) => [f, { host: true, dev: false }]));
  const size = (f: string) => sizes[f] ?? 0;
  const has = (list: readonly string[] | undefined, f: string) => list !== undefined && (list.includes(f) || list.includes(ANY_FIELD));
  // A host stage's writes: the host copy is the fresh one, a device copy is stale.
  const hostWrites = (list: readonly string[] | undefined) => {
    for (const f of list ?? []) {
      if (f === ANY_FIELD) for (const s of state.values()) Object.assign(s, { host: true, dev: false });
      else Object.assign(state.get(f)!, { host: true, dev: false });
    }
  };

  // Is `f` read on the host after the kernel of NF `i` before it is overwritten (or by TX)?
  const neededOnHostAfter = (f: string, i: number): boolean => {
    for (let j = i; j < chain.length; j++) {
      const nf = chain[j];
      if (j > i) {
        if (has(nf.preReads, f)) return true;
        if (has(nf.preWrites, f)) return false;
        if (nf.gpuWrites?.includes(f) && !nf.gpuReads?.includes(f)) return false;
      }
      if (has(nf.postReads, f)) return true;
      if (has(nf.postWrites, f)) return false;
    }
    return tx.has(f);
  };

  const nfs: NfSync[] = [];
  let bytes = 0;
  let naive = 0;
  chain.forEach((nf, i) => {
    const sync: NfSync = { name: nf.name, htod: [], dtoh: [] };
    hostWrites(nf.preWrites);
    for (const f of nf.gpuReads ?? []) {
      if (f === ANY_FIELD) throw new Error(`computeSyncPlan: ${nf.name}: a kernel's read set names its fields (no ${ANY_FIELD})`);
      naive += size(f);
      const s = state.get(f)!;
      if (!s.dev) {
        sync.htod.push(f);
        bytes += size(f);
        s.dev = true;
      }
    }
    for (const f of nf.gpuWrites ?? []) {
      if (f === ANY_FIELD) throw new Error(`computeSyncPlan: ${nf.name}: a kernel's write set names its fields (no ${ANY_FIELD})`);
      naive += size(f);
      Object.assign(state.get(f)!, { host: false, dev: true });
    }
    // Anything stale on the host that a later host stage (or TX) reads must come back now, while
    // this NF's stream still owns the batch.
    for (const [f, s] of state) {
      if (!s.host && neededOnHostAfter(f, i)) {
        sync.dtoh.push(f);
        bytes += size(f);
        s.host = true;
      }
    }
    hostWrites(nf.postWrites);
    sync.htod.sort();
    sync.dtoh.sort();
    nfs.push(sync);
  });
  return { nfs, bytesPerPacket: bytes, naiveBytesPerPacket: naive };
}
