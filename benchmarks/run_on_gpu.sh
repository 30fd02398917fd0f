#!/usr/bin/env bash
# The GPU session's run: ONE device call of at most 8 minutes (CONTRIBUTING.md, "GPU tests").
#
#   bash benchmarks/run_on_gpu.sh [STEP ...]    STEP: tests-gpu | bench | tests-rest  (default: tests-gpu bench)
#
# tests-gpu   every test marked gpu (CuPy, torch-CUDA; dropout with the device RNG, early stopping,
#             class weights, mini-batches, pickling, MLP, Dask with CuPy chunks), XPNN_REQUIRE_GPU=1,
#             limit 180 s
# bench       `xpnn bench --full --no-loops --backend numpy,gpu,torch-cuda`: each case written to
#             $OUT/bench/journal.jsonl as it is measured, a failed check marks its case and the
#             run goes on; limit 270 s (what is measured by then is kept)
# tests-rest  the CPU-only rest of the suite (already green in CI; only when time is left over)
#
# Before anything it writes $OUT/device.txt: GPU, driver, CUDA (driver and CuPy runtime), CuPy,
# torch, NumPy and xpnn versions and the TF32 settings, and stops (exit 3) with the reason when
# the wheels it needs are missing or the GPU is not usable: a GPU run never passes by skipping.
# On the machine with the network first: bash ../shared/tools/gpu-wheels .whl dask==2026.8.0 \
#   toolz cloudpickle partd locket fsspec   (fills .whl/); then one device call with carry [".whl"].
set -uo pipefail
out=${OUT:-gpu-results}
mkdir -p "$out"
export XPNN_REQUIRE_GPU=${XPNN_REQUIRE_GPU:-1}
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-/tmp/xpnn-cupy-cache}
mkdir -p "$CUPY_CACHE_DIR"
export PYTHONPATH=$PWD/src
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD/src
fi

{ date -u; nvidia-smi -L; nvidia-smi --query-gpu=driver_version,name,memory.total --format=csv,noheader
  python3 - <<'PY'
import importlib, json, platform
versions = {"python": platform.python_version()}
for name in ("numpy", "cupy", "torch", "array_api_compat", "array_api_strict", "dask", "sklearn", "xpnn"):
    try:
        versions[name] = importlib.import_module(name).__version__
    except Exception as exc:  # report what failed to import, and why
        versions[name] = f"NOT IMPORTABLE: {type(exc).__name__}: {exc}"
print(json.dumps(versions, indent=1))
try:
    import torch
    print("torch cuda", torch.version.cuda, "available", torch.cuda.is_available(),
          "allow_tf32 matmul", torch.backends.cuda.matmul.allow_tf32, "cudnn", torch.backends.cudnn.allow_tf32)
except Exception as exc:
    print("torch:", type(exc).__name__, exc)
try:
    import xpnn.backend as b
    print(b.gpu_status()); print(json.dumps(b.cuda_facts()))
except Exception as exc:
    print("xpnn:", type(exc).__name__, exc)
PY
} 2>&1 | tee "$out/device.txt"
if ! python3 -c "import array_api_compat, array_api_strict" 2>>"$out/device.txt"; then
  echo "the wheels are missing (.whl/ empty or incomplete: array_api_compat/array_api_strict do not import):" \
       "run bash ../shared/tools/gpu-wheels first; nothing was run" | tee -a "$out/device.txt"
  exit 3
fi
if ! python3 -c "import sys, xpnn.backend as b; ok, why = b.gpu_status(); print(why); sys.exit(0 if ok else 1)"; then
  echo "GPU not usable: stopping (nothing was run)" | tee -a "$out/device.txt"
  exit 3
fi
if [ "$XPNN_REQUIRE_GPU" = "1" ] && ! python3 -c "import torch; assert torch.cuda.is_available()" 2>>"$out/device.txt"; then
  echo "XPNN_REQUIRE_GPU=1 but torch does not import or sees no CUDA device: stopping" | tee -a "$out/device.txt"
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
[ ${#steps[@]} -gt 0 ] || steps=(tests-gpu bench)
for step in "${steps[@]}"; do
  case $step in
    tests-gpu)  run_step tests-gpu 180 python3 -m pytest -p no:cacheprovider -rfE -m gpu tests ;;
    bench)      run_step bench 270 python3 -m xpnn bench --full --no-loops --backend numpy,gpu,torch-cuda --out "$out/bench" ;;
    tests-rest) run_step tests-rest 420 python3 -m pytest -q -p no:cacheprovider -m "not gpu and not slow" tests ;;
    *) echo "unknown step $step (tests-gpu, bench, tests-rest)"; exit 2 ;;
  esac
done
exit $status
