#!/usr/bin/env bash
# Every GPU measurement of issue 5 in one go, sized to finish in under 5 minutes on an H100/H200:
#   1. exact top-100 retrieval over synthetic catalogs of 100k, 1M and 10M items, batch 1 and 256:
#      the blocked graph vs the naive MatMul + TopK graph (float32 and float16), recall against
#      numpy's exact float32 results, and the served ExactRetriever path;
#   2. the whole pipeline of a trained artifact (ARTIFACT, default artifacts/ml100k; skipped if
#      absent) on CPU and CUDA, one user and 256 users per call;
#   3. ytrec-bench --device cuda on that artifact.
# Needs onnxruntime-gpu (the CUDA provider) and hnswlib; ../shared/gpu/README.md says how to
# get them onto the GPU machine. Usage: benchmarks/gpu/run.sh [OUT_DIR]  (default
# benchmarks/results/gpu). Writes retrieval.json, end_to_end.json, ytrec_bench_cuda.json.
# Exits non-zero when a CUDA configuration's results differ from CPU exact search.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/benchmarks/results/gpu}
artifact=${ARTIFACT:-$root/artifacts/ml100k}
python=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
cd "$root"  # so that `python -c` imports this checkout's ytrec_infer
"$python" - <<'PY'
import onnxruntime as ort
have = ort.get_available_providers()
print("onnxruntime", ort.__version__, have)
if "CUDAExecutionProvider" not in have:
    raise SystemExit("no CUDAExecutionProvider: pip install 'ytrec-infer[gpu]' (onnxruntime-gpu)")
PY
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
start=$SECONDS
status=0  # non-zero when the GPU results differ from CPU exact search
timeout 200 "$python" "$here/retrieval_bench.py" --device cuda \
  --sizes 100000 1000000 10000000 --batches 1 256 --out "$out/retrieval.json" \
  || echo "retrieval_bench failed or timed out (rc $?); partial results are in $out/retrieval.json"
echo "retrieval: $((SECONDS - start)) s"
if [ -f "$artifact/manifest.json" ]; then
  timeout 60 "$python" "$here/end_to_end_bench.py" "$artifact" --device cuda \
    --out "$out/end_to_end.json" || { echo "end_to_end_bench failed (rc $?): GPU results differ \
from CPU exact search, or a configuration failed (see FAIL lines)"; status=1; }
  timeout 40 "$python" -c 'import sys; from ytrec_infer.bench import main; sys.exit(main())' \
    "$artifact" --device cuda --requests 1000 --warmup 100 --json "$out/ytrec_bench_cuda.json" \
    || echo "ytrec-bench --device cuda failed (rc $?)"
else
  echo "no artifact at $artifact: end-to-end runs skipped"
fi
echo "all: $((SECONDS - start)) s; results in $out"
exit "$status"
