#!/usr/bin/env bash
# Install the runtime wheel into a clean venv for each given Python and use it for real:
# import, version, load an artifact, recommend (API and CLI), in a process without torch.
# Usage: scripts/check-pythons.sh ARTIFACT[,ARTIFACT...] python3.10 python3.12 ...
# hnswlib ships no wheels, so each install compiles it: needs a C++ compiler (g++) and headers.
set -euo pipefail
cd "$(dirname "$0")/.."
IFS=, read -r -a artifacts <<< "$1"; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel --no-deps -q -w "$work/dist" .
wheel=$(ls "$work"/dist/ytrec_infer-*.whl)
for python in "$@"; do
  venv="$work/venv-$(basename "$python")"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q "$wheel"
  for artifact in "${artifacts[@]}"; do
    artifact=$(realpath "$artifact")
    (cd "$work" && "$venv/bin/python" - "$artifact" <<'PY'
import sys
import ytrec_infer
from ytrec_infer import Recommender
top = Recommender.load(sys.argv[1]).recommend([1, 2, 3], k=3)
assert len(top) == 3 and "torch" not in sys.modules
print(f"python {sys.version.split()[0]}: ytrec-infer {ytrec_infer.__version__}, "
      f"{sys.argv[1]}: recommend -> {top.item_ids.tolist()}, torch imported: no")
PY
    )
    "$venv/bin/ytrec" recommend "$artifact" --history 1,2,3 -k 2 --json > "$work/out.json"
    "$venv/bin/python" -c "import json,sys; assert len(json.load(open(sys.argv[1]))['items']) == 2" "$work/out.json"
  done
  echo "$("$venv/bin/python" --version): wheel installed in a clean venv, API and CLI work; $("$venv/bin/pip" list 2>/dev/null | grep -E '^(numpy|onnxruntime|hnswlib|click) ' | tr -s ' ' | tr '\n' ';')"
done
