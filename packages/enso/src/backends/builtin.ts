/**
 * Registers the standard backends with the port-spec registry: `gen`, `pcap`, `afpacket` and `null`
 * (`mem` registers itself). `afpacket` is loaded on first use, so the native addon is only opened
 * by programs that use live interfaces.
 *
 * @module
 */

import type { AfPacketOptions } from './afpacket.js';
import { createGenBackend, type GenOptions } from './gen.js';
import { createNullBackend } from './null.js';
import { createPcapBackend, type PcapOptions } from './pcap.js';
import { registerBackend } from './registry.js';

registerBackend('null', (target, role) => createNullBackend(target, role), 'null              a sink: counts and discards what is sent, never receives');
registerBackend('gen', (target, _role, options) => createGenBackend(target, options as GenOptions));
registerBackend('pcap', (target, role, options) => createPcapBackend(target, role, options as PcapOptions));
registerBackend('afpacket', async (target, role, options) => {
  const { createAfPacketBackend } = await import('./afpacket.js');
  return createAfPacketBackend(target, role, options as AfPacketOptions);
});
