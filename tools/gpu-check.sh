#!/usr/bin/env bash
# The GPU checks, as one command for a lent GPU machine (no Node, no registry there): run from the
# repository root of a working-tree copy that carries `.gpu/` (made here by `npm run gpu:bundle`
# after `npm run build`). It unpacks Node and the build, prints what the GPU is, runs the test files
# that have gpu-mode cases and the benches that have GPU rows, and leaves in $OUT (or ./gpu-out):
#   gpu-info.json, gpu-tests.log, gpu-tests.json (vitest's report), bench.log, BENCHMARKS.md.
# Budget: GPU_TEST_S (default 240) for the tests and GPU_BENCH_S (default 300) for the benches.
# Example (the device tool): run({ command: "bash tools/gpu-check.sh", carry: [".gpu"], timeout_s: 600 })
set -u
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
echo "gpu-check: tests (${GPU_TEST_S:-240} s at most)"
timeout "${GPU_TEST_S:-240}" node node_modules/vitest/vitest.mjs run "${FILES[@]}" \
  --reporter=default --reporter=json --outputFile.json="$OUT/gpu-tests.json" >"$OUT/gpu-tests.log" 2>&1
rc_tests=$?
tail -n 25 "$OUT/gpu-tests.log"

# The benches with GPU rows; a quick run each, so that all four fit in the budget.
echo "gpu-check: benches (${GPU_BENCH_S:-300} s at most)"
bench_start=$(date +%s)
BENCH_QUICK="${BENCH_QUICK:-1}" timeout "${GPU_BENCH_S:-300}" node tools/bench.mjs gpu-proxy framework esp router >"$OUT/bench.log" 2>&1
rc_bench=$?
# bench.mjs rewrites BENCHMARKS.md when it finishes (exit 1 when a bench failed): a timed-out run
# leaves the committed file, whose old numbers must not pass for this machine's.
if [ "$(stat -c %Y docs/BENCHMARKS.md)" -ge "$bench_start" ]; then
  cp docs/BENCHMARKS.md "$OUT/BENCHMARKS.md"
  grep -i -E "gpu|cuda|kernel" docs/BENCHMARKS.md | head -40
else
  echo "gpu-check: benches exit $rc_bench before writing BENCHMARKS.md (timed out?): none from this run; see bench.log"
fi
echo "gpu-check: tests exit $rc_tests, benches exit $rc_bench; results in $OUT"
[ "$rc_tests" = 0 ] && [ "$rc_bench" = 0 ]
