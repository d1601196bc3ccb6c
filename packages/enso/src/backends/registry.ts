/**
 * Port specs → backends. A spec is `KIND` or `KIND:TARGET` (split at the first `:`):
 * `mem[:NAME]`, `gen:SPEC`, `pcap:PATH`, `afpacket:IFNAME`. Each kind has a factory registered
 * with {@link registerBackend}; `mem` is registered here, the others by the modules that implement
 * them (so this module builds and runs without them).
 *
 * @module
 */

import { createMemBackend, type MemOptions } from './mem.js';
import type { PortRole, WireBackend } from './types.js';

/** Options passed through to a backend factory (each kind reads the fields it knows). */
export interface PortOptions extends MemOptions {
  /** Backend-specific fields. */
  readonly [key: string]: unknown;
}

/** Opens a backend for `target` (the part of the spec after `KIND:`, possibly empty). */
export type BackendFactory = (target: string, role: PortRole, options: PortOptions) => WireBackend | Promise<WireBackend>;

/** A spec split into its kind and target. */
export interface ParsedPortSpec {
  /** The kind before the first `:`, e.g. `pcap`. */
  readonly kind: string;
  /** Everything after the first `:` (empty when there is none). */
  readonly target: string;
}

/** How each standard kind is written; listed in errors about unknown or unavailable kinds. */
const USAGE: ReadonlyMap<string, string> = new Map([
  ['mem', 'mem[:NAME]        in-process loopback pair (two opens of one NAME are its two ends)'],
  ['gen', 'gen:SPEC          generated traffic'],
  ['pcap', 'pcap:PATH         frames read from / written to a pcap file'],
  ['afpacket', 'afpacket:IFNAME   a live Linux interface (AF_PACKET; needs privileges)'],
]);

interface Registration {
  readonly factory: BackendFactory;
  readonly usage: string;
}

const factories = new Map<string, Registration>();

/** Splits a spec into kind and target. Throws a `TypeError` when the kind is empty or malformed. */
export function parsePortSpec(spec: string): ParsedPortSpec {
  if (typeof spec !== 'string') throw new TypeError(`a port spec must be a string, got ${typeof spec}`);
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? '' : spec.slice(colon + 1);
  if (!/^[a-z][a-z0-9_-]*$/.test(kind)) {
    throw new TypeError(`bad port spec '${spec}': expected KIND or KIND:TARGET; valid specs:\n${validSpecs()}`);
  }
  return { kind, target };
}

/**
 * Registers (or replaces) the factory for `kind`. `usage` describes the spec form in error
 * messages (defaults to the standard text for standard kinds).
 */
export function registerBackend(kind: string, factory: BackendFactory, usage?: string): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(kind)) throw new TypeError(`bad backend kind '${kind}'`);
  factories.set(kind, { factory, usage: usage ?? USAGE.get(kind) ?? `${kind}:TARGET` });
}

/** The kinds that currently have a factory. */
export function registeredBackends(): string[] {
  return [...factories.keys()].sort();
}

/** One line per spec form: registered kinds, then standard kinds not registered in this build. */
function validSpecs(): string {
  const lines: string[] = [];
  for (const reg of factories.values()) lines.push(`  ${reg.usage}`);
  for (const [kind, usage] of USAGE) if (!factories.has(kind)) lines.push(`  ${usage}   (not available: backend not registered)`);
  return lines.join('\n');
}

/**
 * Opens the port `spec` for `role` through its kind's factory. Rejects with an `Error` that lists
 * the valid specs when the kind is unknown or not registered, and with the factory's own error
 * when opening fails.
 */
export async function openPort(spec: string, role: PortRole = 'rxtx', options: PortOptions = {}): Promise<WireBackend> {
  const { kind, target } = parsePortSpec(spec);
  const reg = factories.get(kind);
  if (reg === undefined) {
    const known = USAGE.has(kind) ? `the '${kind}' backend is not registered in this build` : `unknown port kind '${kind}'`;
    throw new Error(`cannot open port '${spec}': ${known}; valid specs:\n${validSpecs()}`);
  }
  return reg.factory(target, role, options);
}

registerBackend('mem', (target, role, options) => createMemBackend(target, role, options));
