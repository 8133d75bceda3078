"""cProfile of one candidate-generator epoch on a scale log: where an epoch's time goes.

    python -m benchmarks.scale.profile_epoch --log DIR --out benchmarks/results/scale_profile_1m.txt

Reads and encodes the log first (not profiled), then profiles
:func:`trainers.train_candidates.train_candidates` with one epoch: the building of the
examples and the epoch's validation are in the profile too, under their own function names
(``build_examples``, ``validation_recall``), so the training loop's share can be read off.
Writes the top 20 functions by own time and by cumulative time. ``--ops N`` writes instead
the operator table of N training steps (``torch.profiler``, grouped by input shape): which
kernels of a step take the time, the view that found the generator step's slow parts
(docs/benchmarks.md, "Generator step").

    python -m benchmarks.scale.profile_epoch --log DIR --ops 10 --out benchmarks/results/scale_ops_10m.txt
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from dataclasses import replace
from pathlib import Path


def profile_epoch(log_dir: Path, threads: int = 1) -> str:
    """The profile report of one epoch, as text."""
    import torch

    from trainers.config import TrainConfig
    from trainers.holdout import holdout_set
    from trainers.train_candidates import train_candidates

    from benchmarks.scale.scale_data import prepare_scale_log

    torch.set_num_threads(threads)
    config = TrainConfig()
    data = prepare_scale_log(log_dir, config.candidate.max_history)
    valid = holdout_set(data, "valid")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    train_candidates(data, replace(config.candidate, epochs=1), valid, config.seed)
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    out.write(
        f"one candidate-generator epoch on {log_dir.name}: {seconds:.1f} s under cProfile, "
        f"torch threads {torch.get_num_threads()}\n\n"
    )
    for order in ("tottime", "cumulative"):
        out.write(f"--- top 20 by {order} ---\n")
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(20)
    return out.getvalue()


def profile_ops(log_dir: Path, threads: int, steps: int) -> str:
    """The ``torch.profiler`` operator table of ``steps`` generator steps, as text."""
    from torch.profiler import ProfilerActivity, profile

    from benchmarks.scale.scale_data import prepare_scale_log
    from benchmarks.training.loop import _examples, current_step
    from trainers.config import CandidateConfig

    config = CandidateConfig()
    data = prepare_scale_log(log_dir, config.max_history)
    examples, order, config = _examples(data, config, threads)
    step = current_step(data, examples, config, steps + 3)
    size = config.batch_size
    batches = [order[i * size : (i + 1) * size] for i in range(steps + 3)]
    for index in range(3):
        step(batches[index], index)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
        for index in range(3, steps + 3):
            step(batches[index], index)
    table = profiler.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=30, max_name_column_width=34,
        max_shapes_column_width=60,
    )
    return (
        f"{steps} candidate-generator steps on {log_dir.name}: batch {size}, "
        f"{data.num_items} items, torch threads {threads}\n\n{table}\n"
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: profile one epoch, write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="folder of a scale log")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ops", type=int, default=0, help="operator table of this many steps")
    args = parser.parse_args(argv)
    if args.ops:
        args.out.write_text(profile_ops(args.log, args.threads, args.ops))
    else:
        args.out.write_text(profile_epoch(args.log, args.threads))


if __name__ == "__main__":
    main()
