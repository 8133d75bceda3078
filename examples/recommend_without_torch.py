"""Load an artifact and recommend in a process where PyTorch cannot be imported at all.

Usage: python examples/recommend_without_torch.py ARTIFACT [ITEM_ID ...]
"""

from __future__ import annotations

import importlib.abc
import sys
import time


class _BlockTrainingStack(importlib.abc.MetaPathFinder):
    """Make any import of torch/onnx fail loudly, proving the runtime never needs them."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.split(".")[0] in {"torch", "onnx", "onnxscript"}:
            raise ImportError(f"{name} is blocked in this process")


def main(argv: list[str]) -> int:
    sys.meta_path.insert(0, _BlockTrainingStack())
    import numpy as np

    from ytrec_infer import Recommender

    if not argv:
        print(__doc__)
        return 2
    history = [int(i) for i in argv[1:]] or [50, 172, 181]
    start = time.perf_counter()
    rec = Recommender.load(argv[0])
    loaded = time.perf_counter() - start
    result = rec.recommend(history, k=10)
    print(
        f"loaded {argv[0]} in {loaded * 1000:.0f} ms ({rec.num_items} items); torch imported: "
        f"{'yes' if 'torch' in sys.modules else 'no'}"
    )
    codes, _ = rec.catalog.codes(np.asarray(history, dtype=np.int64))
    print("history: " + "; ".join(rec.catalog.title(int(code)) for code in codes))
    for rank, item in enumerate(result, 1):
        print(f"{rank:>2}. {item.title} (id {item.item_id}, score {item.score:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
