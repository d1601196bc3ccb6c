// The one place the tests reach into the monorepo (other packages' test helpers and the gnet CLI
// build), so a copied template can switch them to a published entry here.
import { join } from 'node:path';

export { writePcap, readPcap, ipChecksum, type Frame } from '../../nflib/test/pcap-util.js';
export { liveSkipReason, deleteNamespaces, createVethPair, type VethEnd } from '../../enso/test/afpacket-netns.js';
export { expectDualPackage } from '../../../tools/package-smoke.js';

/** The `gnet` CLI (`gnet run ...`) of the monorepo's nflib build. */
export const gnetCli = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');
