#!/usr/bin/env bash
# Training from an installed wheel alone: build the wheel, install it with the train extra into
# a clean venv (the CPU torch first), then, outside the checkout, write a small own log with
# string ids, `ytrec train --features` it, serve it and evaluate it; the runtime must still
# import no torch, and the wheel must install no top-level `trainers` or `export`.
# Usage: scripts/check-wheel-training.sh [PYTHON]   (TORCH_INDEX as in the Makefile)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip wheel --no-deps -q -w "$work/dist" .
wheel=$(ls "$work"/dist/ytrec_infer-*.whl)
"$python" -m venv "$work/venv"
bin="$work/venv/bin"
# shellcheck disable=SC2086
"$bin/python" -m pip install -q ${TORCH_INDEX:-} "torch==2.13.0"
"$bin/python" -m pip install -q "$wheel[train]"
site=$("$bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
for name in trainers export; do
  if [ -e "$site/$name" ]; then echo "the wheel installed a top-level '$name'" >&2; exit 1; fi
done
cd "$work"
"$bin/python" -c "
from pathlib import Path
from ytrec_trainers.synthetic_log import write_own_log
write_own_log(Path('data'), num_users=300, num_items=150)"
"$bin/ytrec" train --data data/log.csv --items data/items.csv --users data/users.csv \
  --features data/features.json --out art --preset small --quiet
"$bin/python" - <<'PY'
import sys
from ytrec_infer import Recommender
rec = Recommender.load("art")
history = [str(i) for i in rec.catalog.item_ids[:3]]
top = rec.recommend(history, k=5, user={"country": "DE"})
assert len(top) == 5 and all(isinstance(r.item_id, str) for r in top)
assert "torch" not in sys.modules and "onnx" not in sys.modules
print("wheel-only training: artifact serves string ids", top.item_ids.tolist(), "without torch")
PY
"$bin/ytrec" evaluate art --data data/log.csv --items data/items.csv --users data/users.csv
echo "check-wheel-training: OK"
