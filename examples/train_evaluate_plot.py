# %% [markdown]
# # Train, evaluate and plot, notebook style
#
# Run it as a script (`python examples/train_evaluate_plot.py --data movielens-100k`) or cell by
# cell in an editor that understands `# %%` cells (VS Code, PyCharm, Jupytext). It needs the
# training side (`pip install -e '.[train,plot]'`) and writes, next to the artifact folder:
#
# - `<out>.curves.png`: loss and validation metric per epoch for both networks;
# - `<out>.metrics.png`: HR/NDCG/MRR@10 of the two-stage list, the candidate generator's own
#   order, and MostPopular, on the held-out test items;
# - `<out>.metrics.json`: the same numbers for machines.

# %%
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trainers.config import TrainConfig
from trainers.curves import plot_training_curves
from trainers.evaluate import evaluate_artifact
from trainers.pipeline import train_and_export

parser = argparse.ArgumentParser(description="Train, evaluate and plot.")
parser.add_argument("--data", default="movielens-100k", help="dataset name, folder or log file")
parser.add_argument("--items", default=None, help="item table, with a log file")
parser.add_argument("--users", default=None, help="user table, with a log file")
parser.add_argument("--out", type=Path, default=Path("artifacts/notebook"))
parser.add_argument("--preset", choices=["default", "small"], default="small")
args, _ = parser.parse_known_args()  # tolerate the arguments a notebook kernel passes
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

# %% [markdown]
# ## Train
# Progress (epoch, loss, validation metric, time left) is logged as it goes.

# %%
config = TrainConfig.small() if args.preset == "small" else TrainConfig()
result = train_and_export(args.data, args.out, config, items=args.items, users=args.users)
print(f"artifact: {result.artifact} ({result.seconds:.0f}s)")

# %% [markdown]
# ## Training curves

# %%
curves = plot_training_curves(
    result.history, Path(f"{args.out}.curves.png"), title=f"training on {args.data}"
)
print(f"training curves: {curves}")

# %% [markdown]
# ## Evaluate on the held-out test item of every user (through the ONNX/HNSW artifact)

# %%
metrics = evaluate_artifact(str(result.artifact), args.data, "test")
Path(f"{args.out}.metrics.json").write_text(json.dumps(metrics, indent=2))
lists = ["two_stage", "candidates_only", "most_popular"]
names = ["hr@10", "ndcg@10", "mrr@10"]
for name in lists:
    print(f"{name:<16}", "  ".join(f"{m}={metrics[name][m]:.4f}" for m in names))

# %%
figure, ax = plt.subplots(figsize=(7, 3.5))
width = 0.8 / len(lists)
for i, name in enumerate(lists):
    xs = [j + i * width for j in range(len(names))]
    ax.bar(xs, [metrics[name][m] for m in names], width, label=name)
ax.set_xticks([j + width for j in range(len(names))], names)
ax.set(title=f"test split, {metrics['users']} users", ylabel="metric")
ax.legend()
figure.tight_layout()
figure.savefig(f"{args.out}.metrics.png", dpi=100)
print(f"metrics plot: {args.out}.metrics.png")
