// gpu-check.mjs: what `--mode auto` will find: a usable GPU, or why there is none.
import { gpuInfo } from '@gnet/manager-native';

const gpu = gpuInfo();
if (gpu.available) {
  for (const d of gpu.devices) console.log(`gpu ${d.ordinal}: ${d.name}, sm_${d.computeCapability.replace('.', '')}, ${(d.totalMem / 2 ** 30).toFixed(0)} GiB`);
} else {
  console.log(`no usable GPU: ${gpu.reason} (auto mode runs the cpu hook; --mode emulated runs the kernel on the host)`);
}
