#!/usr/bin/env node
// `npm run doctor`: checks this machine for gnet — loads the native core in this
// process, report the GPU (or why there is none) and the kernels the reference NFs ship.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPtx, gpuInfo, ptxEntries } from '@gnet/manager-native';

const gpu = gpuInfo();
console.log(gpu.available ? `gpu: ${gpu.devices.map((d) => `${d.name} (sm_${d.computeCapability.replace('.', '')}, ${d.smCount} SMs)`).join(', ')}` : `gpu: unavailable (${gpu.reason})`);
const root = new URL('..', import.meta.url).pathname;
for (const pkg of readdirSync(join(root, 'packages')).filter((p) => p.startsWith('nf-'))) {
  let files = [];
  try {
    files = readdirSync(join(root, 'packages', pkg, 'kernels')).filter((f) => f.endsWith('.cu'));
  } catch {
    continue;
  }
  for (const f of files) {
    const st = checkPtx(join(root, 'packages', pkg, 'kernels', f));
    const entries = st.state === 'missing' ? [] : ptxEntries(readFileSync(st.ptxPath, 'utf8'));
    console.log(`kernel: @gnet/${pkg}/kernels/${f} -> ${st.state} PTX, entries: ${entries.join(', ')}`);
  }
}
