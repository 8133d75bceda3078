"""ONNX graphs for exact top-k inner-product search over a whole catalog.

One TopK over a million scores is slow on onnxruntime's CUDA provider (one thread block per
query row, many passes over the row). The blocked graph avoids any wide TopK with block-max
pruning, which is exact:

1. scores = queries @ items.T                                   [B, N]
2. level maxima: the max of each block of ``factors[0]`` items, then the max of each group of
   ``factors[1]`` blocks, and so on                              [B, N / f0], [B, N / (f0 f1)], ...
3. TopK(k) of the top level; then, level by level down to the items, gather the ``f`` children
   of each of the k winners and take TopK(k) of those k * f values.

Every item of the true top k lies in a block whose maximum is among the k largest block
maxima (if k blocks had a larger maximum, they would hold k items scoring above it), and the
same holds one level up, so the result is the exact top k (ties aside). Items past the largest
multiple of the block structure (the "tail", fewer than prod(factors)) are scored by a plain
MatMul + TopK and merged at the end.

The item matrix is a graph input, not a constant: the caller keeps it on the device (IO binding)
and the graph file stays a few kilobytes whatever the catalog size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ytrec_infer.retrieval.onnx_writer import FLOAT, FLOAT16, INT64, Graph, Node

TOP_WIDTH = 4096
"""The blocked plan adds levels until the top level has at most this many entries."""


@dataclass(frozen=True)
class TopKPlan:
    """How a graph finds the top ``k`` of ``num_items``.

    ``factors`` fix the item layout: the first ``main_items`` rows (a multiple of
    prod(factors)) are the ``items`` input, the rest the ``tail_items`` input, whatever ``k``.
    ``levels`` of those factors are used for this ``k`` (0: one TopK over all scores).
    """

    num_items: int
    dim: int
    k: int
    factors: tuple[int, ...] = ()
    levels: int = 0
    float16: bool = False
    rescore: bool = False
    """Float16 plans only: re-score the k found items in float32 from the ``items_f32`` and
    ``queries_f32`` inputs and re-sort them, so scores and order are float32's."""

    @property
    def main_items(self) -> int:
        """Rows in the ``items`` input (a multiple of prod(factors)); 0 without factors."""
        if not self.factors:
            return 0
        span = math.prod(self.factors)
        return self.num_items - self.num_items % span

    @property
    def tail_items(self) -> int:
        """Rows in the ``tail_items`` input: the rest of the catalog."""
        return self.num_items - self.main_items

    @property
    def kind(self) -> str:
        return f"blocked{self.levels}" if self.levels else "naive"


def item_factors(
    num_items: int, k_max: int, block: int = 32, group: int = 16, top_width: int = TOP_WIDTH
) -> tuple[int, ...]:
    """Block factors of a catalog: ``block`` items per block, then groups of ``group`` blocks
    until the top level has at most ``top_width`` entries, each level keeping at least
    ``k_max`` entries. Empty (no blocking) when the catalog has fewer than ``k_max`` blocks."""
    if block < 2 or group < 2:
        raise ValueError("block and group must be >= 2")
    factors: list[int] = []
    width = num_items // block
    if width >= max(k_max, 1) and num_items >= 4 * k_max:
        factors.append(block)
        while width > top_width and width // group >= k_max:
            factors.append(group)
            width //= group
    return tuple(factors)


def plan_topk(
    num_items: int,
    dim: int,
    k: int,
    factors: tuple[int, ...],
    float16: bool = False,
    rescore: bool = False,
) -> TopKPlan:
    """The plan for top ``k`` over a catalog laid out by ``factors``: as many levels as keep at
    least ``k`` entries at the top (and at least 4k items per block of the lowest level's
    winners), none when even one level is too narrow."""
    if not 1 <= k <= num_items:
        raise ValueError(f"k must be in 1..{num_items}, got {k}")
    main = TopKPlan(num_items, dim, k, factors).main_items
    levels, width = 0, main
    for factor in factors:
        if width // factor < k or main < 4 * k:
            break
        width //= factor
        levels += 1
    return TopKPlan(num_items, dim, k, factors, levels, float16, rescore and float16)


Blocked = Callable[[Graph, TopKPlan, str], tuple[str, str]]
"""Builds the block-max pruning of a plan into a graph; returns (values, item ids)."""
Gather = Callable[[Graph, str, str], str]
"""Gathers the candidate scores of ``children`` [B, k * f] from the item scores."""


def top_k(graph: Graph, values: str, k: str, prefix: str) -> tuple[str, str]:
    """A TopK node over the last axis of ``values``; returns its (values, indices) outputs."""
    graph.add_node(Node("TopK", [values, k], [f"{prefix}_v", f"{prefix}_i"], {"axis": -1}))
    return f"{prefix}_v", f"{prefix}_i"


def build_topk_graph(plan: TopKPlan, blocked: Blocked | None = None) -> bytes:
    """The serialised ONNX model for ``plan``.

    Inputs: ``queries`` [B, dim]; ``items`` [main_items, dim] when the plan has factors and
    ``tail_items`` [tail_items, dim] when rows are left over; all float16 when
    ``plan.float16`` else float32. Outputs: ``scores`` [B, k] float32 (best first) and
    ``indices`` [B, k] int64 (row numbers in the whole item matrix). ``blocked`` replaces
    the block-max pruning (benchmarks build their research variants with it).
    """
    elem = FLOAT16 if plan.float16 else FLOAT
    g = Graph(f"exact_top{plan.k}_{plan.kind}")
    g.inputs.append(("queries", elem, ["batch", plan.dim]))
    g.outputs.append(("scores", FLOAT, ["batch", plan.k]))
    g.outputs.append(("indices", INT64, ["batch", plan.k]))
    k = g.const("k", [plan.k])
    if plan.main_items:
        g.inputs.append(("items", elem, [plan.main_items, plan.dim]))
    if plan.tail_items:
        g.inputs.append(("tail_items", elem, [plan.tail_items, plan.dim]))
    if not plan.levels:
        names = [
            n for n, size in (("items", plan.main_items), ("tail_items", plan.tail_items)) if size
        ]
        scores = [g.add("Gemm", ["queries", n], f"{n}_scores", transB=1) for n in names]
        if len(scores) == 2:
            scores = [g.add("Concat", scores, "all_scores", axis=1)]
        values, ids = top_k(g, scores[0], k, "top")
    else:
        values, ids = (blocked or _blocked)(g, plan, k)
        if plan.tail_items:
            tail = g.add("Gemm", ["queries", "tail_items"], "tail_scores", transB=1)
            kt = g.const("k_tail", [min(plan.k, plan.tail_items)])
            tail_v, tail_i = top_k(g, tail, kt, "tail_top")
            tail_i = g.add("Add", [tail_i, g.const("tail_offset", [plan.main_items])], "tail_ids")
            merged_v = g.add("Concat", [values, tail_v], "merged_v", axis=1)
            merged_i = g.add("Concat", [ids, tail_i], "merged_i", axis=1)
            values, pos = top_k(g, merged_v, k, "final")
            ids = g.add("GatherElements", [merged_i, pos], "final_ids", axis=1)
    if plan.rescore:
        g.inputs.append(("items_f32", FLOAT, [plan.num_items, plan.dim]))
        g.inputs.append(("queries_f32", FLOAT, ["batch", plan.dim]))
        found = g.add("Gather", ["items_f32", ids], "found_vectors", axis=0)
        column = g.add("Unsqueeze", ["queries_f32", g.const("axis_2_q", [2])], "query_columns")
        exact = g.add("MatMul", [found, column], "exact_scores_3d")
        exact = g.add("Reshape", [exact, g.const("exact_shape", [0, -1])], "exact_scores")
        values, pos = top_k(g, exact, k, "rescored")
        g.add("Identity", [values], "scores")
        g.add("GatherElements", [ids, pos], "indices", axis=1)
        return g.to_bytes()
    g.add("Cast", [values], "scores", to=FLOAT)
    g.add("Identity", [ids], "indices")
    return g.to_bytes()


def _blocked(g: Graph, plan: TopKPlan, k: str) -> tuple[str, str]:
    """Nodes of the block-max pruning over the ``items`` input; returns (values, item ids)."""
    factors = plan.factors[: plan.levels]
    levels = [g.add("Gemm", ["queries", "items"], "scores_0", transB=1)]
    width = plan.main_items
    for level, factor in enumerate(factors, start=1):
        width //= factor
        levels.append(max_pool_blocks(g, levels[-1], factor, width, level))
    return descend(g, levels, factors, k)


def descend(
    g: Graph, levels: list[str], factors: tuple[int, ...], k: str, gather: Gather | None = None
) -> tuple[str, str]:
    """TopK of the top level, then level by level down to the items, TopK of the children of
    the k winners; ``gather`` reads the item level (default: GatherElements on axis 1)."""
    values, winners = top_k(g, levels[-1], k, f"top_{len(factors)}")
    flat = g.const("flat_shape", [0, -1])
    unsqueeze_axes = g.const("axis_2", [2])
    for level in range(len(factors), 0, -1):
        factor = factors[level - 1]
        below = level - 1
        start = g.add("Unsqueeze", [winners, unsqueeze_axes], f"winners_{level}")
        start = g.add("Mul", [start, g.const(f"factor_{level}", [factor])], f"first_{level}")
        children = g.add("Add", [start, g.const(f"offsets_{level}", range(factor))], f"ch_{level}")
        children = g.add("Reshape", [children, flat], f"children_{below}")
        if below == 0 and gather is not None:
            gathered = gather(g, levels[0], children)
        else:
            gathered = g.add("GatherElements", [levels[below], children], f"cand_{below}", axis=1)
        values, pos = top_k(g, gathered, k, f"top_{below}")
        winners = g.add("GatherElements", [children, pos], f"winners_at_{below}", axis=1)
    return values, winners


def max_pool_blocks(g: Graph, values: str, factor: int, width: int, level: int) -> str:
    """[B, width] maxima of consecutive runs of ``factor`` entries of ``values`` [B, width * f]."""
    rows = g.add("Reshape", [values, g.const(f"rows_shape_{level}", [0, 1, -1])], f"rows_{level}")
    pooled = [f"pooled_{level}"]
    sizes = {"kernel_shape": [factor], "strides": [factor]}
    g.add_node(Node("MaxPool", [rows], pooled, {}, sizes))
    return g.add("Reshape", [pooled[0], g.const(f"flat_{level}", [0, -1])], f"max_{level}")
