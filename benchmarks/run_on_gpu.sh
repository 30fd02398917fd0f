#!/usr/bin/env bash
# The GPU session's run: ONE device call of at most 6 minutes (CONTRIBUTING.md, "GPU tests").
#
#   bash benchmarks/run_on_gpu.sh [STEP ...]    STEP: tests-gpu | tests-jax | bench | tests-rest
#                                                (default: tests-gpu tests-jax bench)
#
# tests-gpu   every test marked gpu (CuPy, torch-CUDA: each estimator path of test_devices.py,
#             dropout with the device RNG, early stopping, batch norm, L-BFGS, save/load, Dask with
#             CuPy chunks), XPNN_REQUIRE_GPU=1 (a GPU that is not usable fails, never skips) and
#             XPNN_SYNC_DEBUG=1 (every epoch's steps run under cupyx.allow_synchronize(False) /
#             torch's sync debug mode "error": a hidden host read inside a step fails); limit 140 s
# tests-jax   tests/test_jax.py on JAX's default device (the GPU, with its CUDA plugin); limit 60 s
#             (its compiles take about 55 s on this repository's 2-core CPU)
# bench       `xpnn bench --full --no-loops --backend numpy,gpu,torch-cuda,jax`: every phase written
#             to $OUT/bench/journal.jsonl as it completes (`xpnn bench --report JOURNAL` rebuilds
#             the report of a run cut short); a failed check marks its case and the run goes on;
#             limit 140 s (what is measured by then is kept)
# tests-rest  the CPU-only rest of the suite (already green in CI; only when time is left over)
#
# Time: the limits add up to 340 s, plus about 10 s of setup: under 6 minutes whatever happens,
# which leaves a second call room within 15 minutes of device time, machine start included. (The
# estimate is the limits themselves: no GPU has run this script yet; on this repository's 2-core CPU
# the fake-GPU mode below takes about a minute and a half.)
#
# Before anything it writes $OUT/device.txt: GPU, driver, CUDA (driver and CuPy runtime), CuPy,
# torch, JAX, NumPy and xpnn versions and the TF32 settings, and stops (exit 3) with the reason when
# the wheels it needs are missing or the GPU is not usable: a GPU run never passes by skipping.
# On the machine with the network first: bash ../shared/tools/gpu-wheels .whl dask==2026.8.0 \
#   toolz cloudpickle partd locket fsspec   (fills .whl/); then one device call with carry [".whl"].
#
# XPNN_FAKE_GPU=1 runs the same steps on CPU through the CuPy stand-in (tests/fakecupy.py), each
# step cut down (a few GPU tests, two JAX tests, the bench's smoke profile): tests/test_run_on_gpu.py checks the
# script's plumbing this way in CI. Its output is never a GPU result.
set -uo pipefail
out=${OUT:-gpu-results}
mkdir -p "$out"
export XPNN_REQUIRE_GPU=${XPNN_REQUIRE_GPU:-1}
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-/tmp/xpnn-cupy-cache}
mkdir -p "$CUPY_CACHE_DIR"
export PYTHONPATH=$PWD/src
fake=${XPNN_FAKE_GPU:-0}
if [ "$fake" = "1" ]; then  # the CuPy stand-in as `cupy`, for every Python this script starts
  site=$(mktemp -d); trap 'rm -rf "$site"' EXIT
  printf 'import sys\nsys.path.insert(0, %s)\nimport fakecupy\nsys.modules.update(fakecupy.build())\n' \
    "'$PWD/tests'" > "$site/sitecustomize.py"
  export PYTHONPATH=$site:$PYTHONPATH
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD/src
fi

{ date -u; [ "$fake" = "1" ] && echo "FAKE GPU (the CuPy stand-in on CPU): nothing here is a GPU result"
  nvidia-smi -L; nvidia-smi --query-gpu=driver_version,name,memory.total --format=csv,noheader
  python3 - <<'PY'
import importlib, json, platform
versions = {"python": platform.python_version()}
for name in ("numpy", "cupy", "torch", "jax", "array_api_compat", "array_api_strict", "dask", "sklearn", "xpnn"):
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
    import jax
    print("jax devices", jax.devices())
except Exception as exc:
    print("jax:", type(exc).__name__, exc)
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
if [ "$fake" != "1" ] && [ "$XPNN_REQUIRE_GPU" = "1" ] && ! python3 -c "import torch; assert torch.cuda.is_available()" 2>>"$out/device.txt"; then
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

gpu_tests=(-m gpu tests); bench_size=--full; jax_tests=(tests/test_jax.py)
if [ "$fake" = "1" ]; then  # cut down: the plumbing, not the GPU
  export XPNN_REQUIRE_GPU=0
  gpu_tests=(-m gpu -k "second_gpu or reads_the_device or sync_debug or (devices and cupy and Deep)" tests)
  bench_size=--smoke
  jax_tests=(tests/test_jax.py -k "scanned_epochs or padded_shapes")
fi
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(tests-gpu tests-jax bench)
for step in "${steps[@]}"; do
  case $step in
    tests-gpu)  run_step tests-gpu 140 env XPNN_SYNC_DEBUG=1 python3 -m pytest -p no:cacheprovider -rfE \
                  "${gpu_tests[@]}" ;;
    tests-jax)  if [ "$fake" = "1" ] && ! python3 -c "import jax" 2>/dev/null; then
                  echo "== tests-jax: JAX is not installed here (fake-GPU mode): skipped" | tee "$out/tests-jax.log"
                else
                  run_step tests-jax 60 python3 -m pytest -p no:cacheprovider -q -rfE "${jax_tests[@]}"
                fi ;;
    bench)      run_step bench 140 python3 -m xpnn bench $bench_size --no-loops --backend numpy,gpu,torch-cuda,jax --out "$out/bench" ;;
    tests-rest) run_step tests-rest 420 python3 -m pytest -q -p no:cacheprovider -m "not gpu and not slow" tests ;;
    *) echo "unknown step $step (tests-gpu, tests-jax, bench, tests-rest)"; exit 2 ;;
  esac
done
exit $status
