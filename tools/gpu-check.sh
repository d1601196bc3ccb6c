#!/usr/bin/env bash
# The GPU checks, as one command for a lent GPU machine (no Node, no registry there): run from the
# repository root of a working-tree copy that carries `.gpu/` (made here by `npm run gpu:bundle`
# after `npm run build`). It unpacks Node and the build, prints what the GPU is, runs the test files
# that have gpu-mode cases, then the benches with GPU rows in order of what they prove (esp, router,
# gpu-proxy, framework; then the no-op chain on this machine's cores), and leaves in $OUT (or
# ./gpu-out): gpu-info.json, gpu-tests.log, gpu-tests.json (vitest's report), bench.log and
# BENCHMARKS-gpu.md (the benches' report for this machine; commit it as docs/BENCHMARKS-gpu.md).
# Budget: everything ends by GPU_CHECK_S seconds (default 540); the tests get GPU_TEST_S (default
# 200) of it, and each bench what is left (a bench is skipped with under 30 s left). GPU_BENCHES
# overrides the list (name:quick ...); GPU_KEEP_REPORT=1 keeps the committed report's other groups.
# Example (the device tool): run({ command: "bash tools/gpu-check.sh", carry: [".gpu"], timeout_s: 580 })
set -u
start=$(date +%s)
left() { echo $((${GPU_CHECK_S:-540} - ($(date +%s) - start))); }
cd "$(dirname "$0")/.."
export OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
[ -f .gpu/node.xz ] && [ -f .gpu/runtime.tar.xz ] || { echo "gpu-check: .gpu/ is missing: run npm run gpu:bundle here and carry .gpu"; exit 2; }

if ! command -v node >/dev/null || [ "$(node -v)" != "$(cat .gpu/node-version.txt)" ]; then
  mkdir -p /tmp/gnet-node
  xz -dc .gpu/node.xz >/tmp/gnet-node/node && chmod +x /tmp/gnet-node/node || { echo "gpu-check: cannot unpack .gpu/node.xz"; exit 2; }
  export PATH="/tmp/gnet-node:$PATH"
fi
tar -xJf .gpu/runtime.tar.xz || { echo "gpu-check: cannot unpack .gpu/runtime.tar.xz"; exit 2; }
echo "gpu-check: node $(node -v) on $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | head -4

node --input-type=module -e "
import { gpuInfo } from '@gnet/manager-native';
const g = gpuInfo();
console.log('gpu-check: gpuInfo', JSON.stringify(g));
(await import('node:fs')).writeFileSync(process.env.OUT + '/gpu-info.json', JSON.stringify(g, null, 2));
process.exit(g.available ? 0 : 3);
"
rc_info=$?
if [ "$rc_info" = 3 ]; then
  [ "${GPU_CHECK_FORCE:-0}" = 1 ] || { echo "gpu-check: no usable GPU: the gpu-mode cases would only skip (GPU_CHECK_FORCE=1 runs them anyway, to check the bundle)"; exit 3; }
elif [ "$rc_info" != 0 ]; then
  echo "gpu-check: the addon or Node does not run here (exit $rc_info; see above)"; exit 2
fi

# The test files with gpu-mode cases (each skips nothing here: the GPU is present).
FILES=(
  packages/manager-native/test/gpu-cuda.test.ts
  packages/manager-native/test/addon.test.ts
  packages/framework/test/lpm-nf.test.ts
  packages/framework/test/nf-define.test.ts
  packages/framework/test/resident-gpu.test.ts
  packages/nf-router/test/kernels.test.ts
  packages/nf-router/test/nf.test.ts
  packages/nf-firewall/test/kernel-equality.test.ts
  packages/nf-firewall/test/nf.test.ts
  packages/nf-ipsec/test/gateway.test.ts
  packages/nf-nat/test/nf.test.ts
)
echo "gpu-check: tests (${GPU_TEST_S:-200} s at most)"
timeout "${GPU_TEST_S:-200}" node node_modules/vitest/vitest.mjs run "${FILES[@]}" \
  --reporter=default --reporter=json --outputFile.json="$OUT/gpu-tests.json" >"$OUT/gpu-tests.log" 2>&1
rc_tests=$?
tail -n 25 "$OUT/gpu-tests.log"

# The benches with GPU rows, one group per call so that a bench cut short keeps the others; each
# writes its group into BENCHMARKS-gpu.md (a report of its own: this machine is not the one the
# committed BENCHMARKS.md ran on). The GPU goals' rows come first.
[ -f .gpu/internet-prefixes.txt.gz ] && export BENCH_ROUTES="$PWD/.gpu/internet-prefixes.txt.gz"
export BENCH_OUT=docs/BENCHMARKS-gpu.md
[ "${GPU_KEEP_REPORT:-0}" = 1 ] || rm -f "$BENCH_OUT"  # 1: measure again only the groups of GPU_BENCHES
rc_bench=0
for spec in ${GPU_BENCHES:-esp:0 router:0 gpu-proxy:0 framework:0 chain:0}; do
  name=${spec%%:*}
  budget=$(($(left) - 10))
  if [ "$budget" -lt 30 ]; then echo "gpu-check: bench $name skipped: ${budget} s left"; rc_bench=1; continue; fi
  echo "gpu-check: bench $name (quick=${spec##*:}, ${budget} s at most)"
  t0=$(date +%s)
  BENCH_QUICK=${spec##*:} timeout "$budget" node tools/bench.mjs "$name" >>"$OUT/bench.log" 2>&1 || { echo "gpu-check: bench $name exit $?"; rc_bench=1; }
  echo "gpu-check: bench $name took $(($(date +%s) - t0)) s"
  [ -f "$BENCH_OUT" ] && cp "$BENCH_OUT" "$OUT/BENCHMARKS-gpu.md"
done
if [ -f "$OUT/BENCHMARKS-gpu.md" ]; then
  grep -i -E "^- GPU|gpu|cuda|kernel" "$OUT/BENCHMARKS-gpu.md" | cut -c1-300 | head -40
else
  echo "gpu-check: no bench wrote a report; see bench.log"
fi
echo "gpu-check: tests exit $rc_tests, benches exit $rc_bench; $(( $(date +%s) - start )) s; results in $OUT"
[ "$rc_tests" = 0 ] && [ "$rc_bench" = 0 ]
