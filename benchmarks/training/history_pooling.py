"""The generator's history pooling, forward and backward, two ways on the same inputs: one
lookup of history plus newest code whose rows are sliced (the form before
``layers.pooled_history``) against the one weighted ``embedding_bag`` that replaced it.

    python -m benchmarks.training.history_pooling --items 100001 --batch 8192 --threads 2

Prints the largest gradient difference between the two and milliseconds per call of each, two
rounds in turn.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from trainers.models.layers import newest_codes, pooled_history
from trainers.models.row_lookup import lookup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_001)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, length = args.batch, args.length
    table = torch.nn.Embedding(args.items, 64, padding_idx=0)
    lengths = torch.randint(1, length + 1, (batch,))
    history = torch.randint(1, args.items, (batch, length))
    history = history * (torch.arange(length)[None] < lengths[:, None])
    mean_grad, newest_grad = torch.randn(batch, 64), torch.randn(batch, 64)

    def sliced() -> None:
        codes = torch.cat([history, newest_codes(history).unsqueeze(1)], dim=1)
        rows = lookup(table, codes)
        mean = rows[:, :length].sum(1) / (history > 0).sum(1, keepdim=True).clamp(min=1)
        ((mean * mean_grad).sum() + (rows[:, length] * newest_grad).sum()).backward()

    def bag() -> None:
        mean, newest = pooled_history(table, history, True)
        assert newest is not None
        ((mean * mean_grad).sum() + (newest * newest_grad).sum()).backward()

    def timed(run: Callable[[], None], calls: int = 30) -> float:
        run()
        started = time.perf_counter()
        for _ in range(calls):
            table.weight.grad = None
            run()
        return (time.perf_counter() - started) / calls * 1000

    grads = []
    for run in (sliced, bag):
        table.weight.grad = None
        run()
        assert table.weight.grad is not None
        grads.append(table.weight.grad.clone())
    print(f"largest gradient difference {float((grads[0] - grads[1]).abs().max()):.2e}")
    for _ in range(2):
        print({run.__name__: round(timed(run), 2) for run in (sliced, bag)})


if __name__ == "__main__":
    main()
