#!/usr/bin/env bash
# The GPU session's run, in steps that each finish well inside the device's 10 minutes per command.
#
#   bash benchmarks/run_on_gpu.sh [STEP ...]      STEP: tests-gpu | tests-rest | bench   (default: all)
#
# tests-gpu   every test marked gpu (CuPy, torch-CUDA) and the CuPy stand-in tests, XPNN_REQUIRE_GPU=1
# tests-rest  the rest of the suite, without the slow CPU course reproduction
# bench       the full benchmark profile with GPU columns, without the CPU-only loop columns
#
# It stops at once (exit 3) when the GPU probe fails, and prints why: a GPU run never passes by
# skipping. Each step writes its log (and the benchmark its JSON/markdown/PNG) under $OUT as it
# finishes. On the machine with the network first: bash ../shared/tools/gpu-wheels (fills .whl/);
# then one device call per step with carry [".whl"], e.g.  bash benchmarks/run_on_gpu.sh tests-gpu
set -uo pipefail
out=${OUT:-gpu-results}
mkdir -p "$out"
export XPNN_REQUIRE_GPU=${XPNN_REQUIRE_GPU:-1}
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-/tmp/xpnn-cupy-cache}
mkdir -p "$CUPY_CACHE_DIR"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=$PWD/src
fi

{ date -u; nvidia-smi -L; nvidia-smi --query-gpu=driver_version,name --format=csv,noheader
  python3 -c "import xpnn.backend as b, json; print(b.gpu_status()); print(json.dumps(b.cuda_facts()))"
} 2>&1 | tee "$out/device.txt"
if ! python3 -c "import sys, xpnn.backend as b; ok, why = b.gpu_status(); print(why); sys.exit(0 if ok else 1)"; then
  echo "GPU not usable: stopping (nothing was run)" | tee -a "$out/device.txt"
  exit 3
fi

status=0
run_step() {  # name, time limit in seconds, command...
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc" | tee -a "$out/$name.log"
  [ "$rc" -eq 0 ] || status=$rc
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(tests-gpu tests-rest bench)
for step in "${steps[@]}"; do
  case $step in
    tests-gpu)  run_step tests-gpu 240 python3 -m pytest -q -p no:cacheprovider -m gpu -k "not fake" tests
                run_step tests-fake-cupy 120 python3 -m pytest -q -p no:cacheprovider -k "fake" tests ;;
    tests-rest) run_step tests-rest 420 python3 -m pytest -q -p no:cacheprovider -m "not gpu and not slow" tests ;;
    bench)      run_step bench 540 python3 -m xpnn bench --full --no-loops --backend numpy,gpu --out "$out/bench" ;;
    *) echo "unknown step $step (tests-gpu, tests-rest, bench)"; exit 2 ;;
  esac
done
exit $status
