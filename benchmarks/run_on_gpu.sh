#!/usr/bin/env bash
# The GPU session's run, in one command: the whole test suite (CuPy parameters included) and
# the full benchmark profile, with everything they print written under $OUT.
#
# On the machine with the network, first:  bash ../shared/tools/gpu-wheels   (fills .whl/)
# then, through the device tool (carry [".whl"]):  bash benchmarks/run_on_gpu.sh
set -u
out=${OUT:-gpu-results}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=$PWD/src
fi
{ date -u; nvidia-smi -L; python3 -c "import xpnn.backend as b; print(b.gpu_status())"; } 2>&1 | tee "$out/device.txt"
python3 -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$out/tests.log"
python3 -m xpnn bench --full --backend numpy,gpu --out "$out/bench" 2>&1 | tee "$out/bench.log"
