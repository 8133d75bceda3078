"""Research variants of the exact top-k graph, measured against the served one (docs/gpu.md).

The runtime's graph (:mod:`ytrec_infer.retrieval.topk_graph`) takes block maxima with MaxPool
over a [B, N] score matrix. These variants take them with ReduceMax, or compute the [N, B]
matrix (items x queries) so the first block max reads contiguous rows; both lost on CUDA and
live here only so the comparison can be rerun. The naive graph (MatMul + one TopK) is the
baseline the blocked graph is measured against.
"""

from __future__ import annotations

from ytrec_infer.retrieval.onnx_writer import Graph, Node
from ytrec_infer.retrieval.topk_graph import (
    Blocked,
    TopKPlan,
    build_topk_graph,
    descend,
    max_pool_blocks,
)

REDUCTIONS = ("maxpool", "reducemax")


def naive_plan(num_items: int, dim: int, k: int, float16: bool = False) -> TopKPlan:
    """MatMul + one TopK over the whole catalog (input ``tail_items`` holds every item)."""
    return TopKPlan(num_items, dim, k, (), 0, float16)


def build_naive_graph(num_items: int, dim: int, k: int, float16: bool = False) -> bytes:
    """The serialised naive graph of :func:`naive_plan`."""
    return build_topk_graph(naive_plan(num_items, dim, k, float16))


def block_max(g: Graph, reduce: str, values: str, factor: int, width: int, level: int) -> str:
    """[B, width] maxima of runs of ``factor`` entries of ``values``, by MaxPool or ReduceMax."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    if reduce == "maxpool":
        return max_pool_blocks(g, values, factor, width, level)
    out = f"max_{level}"
    shape = g.const(f"shape_{level}", [0, width, factor])
    grouped = g.add("Reshape", [values, shape], f"grouped_{level}")
    g.add_node(Node("ReduceMax", [grouped], [out], {"keepdims": 0}, {"axes": [-1]}))
    return out


def _block_max_items_major(g: Graph, reduce: str, values: str, factor: int, width: int) -> str:
    """[width, B] maxima of consecutive runs of ``factor`` rows of ``values`` [width * f, B]."""
    if reduce == "reducemax":
        shape = g.const("items_major_shape", [width, factor, -1])
        grouped = g.add("Reshape", [values, shape], "items_major_grouped")
        g.add_node(
            Node("ReduceMax", [grouped], ["items_major_max"], {"keepdims": 0}, {"axes": [1]})
        )
        return "items_major_max"
    image = g.add("Reshape", [values, g.const("image_shape", [1, 1, width * factor, -1])], "image")
    sizes = {"kernel_shape": [factor, 1], "strides": [factor, 1]}
    g.add_node(Node("MaxPool", [image], ["items_major_pooled"], {}, sizes))
    shape = g.const("items_major_flat", [width, -1])
    return g.add("Reshape", ["items_major_pooled", shape], "items_major_max")


def _gather_items_major(g: Graph, scores: str, children: str) -> str:
    by_item = g.add("Transpose", [children], "children_by_item", perm=[1, 0])
    picked = g.add("GatherElements", [scores, by_item], "cand_by_item", axis=0)
    return g.add("Transpose", [picked], "cand_0", perm=[1, 0])


def blocked_variant(reduce: str = "maxpool", items_major: bool = False) -> Blocked:
    """The block-max pruning with ReduceMax and/or an items-major first level."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")

    def blocked(g: Graph, plan: TopKPlan, k: str) -> tuple[str, str]:
        factors = plan.factors[: plan.levels]
        width = plan.main_items // factors[0]
        if items_major:
            scores = g.add("Gemm", ["items", "queries"], "scores_0", transB=1)
            by_item = _block_max_items_major(g, reduce, scores, factors[0], width)
            levels = [scores, g.add("Transpose", [by_item], "max_1", perm=[1, 0])]
        else:
            scores = g.add("Gemm", ["queries", "items"], "scores_0", transB=1)
            levels = [scores, block_max(g, reduce, scores, factors[0], width, 1)]
        for level, factor in enumerate(factors[1:], start=2):
            width //= factor
            levels.append(block_max(g, reduce, levels[-1], factor, width, level))
        return descend(g, levels, factors, k, _gather_items_major if items_major else None)

    return blocked


def build_variant_graph(plan: TopKPlan, reduce: str = "maxpool", items_major: bool = False) -> bytes:
    """The serialised graph of ``plan`` with the block-max pruning of :func:`blocked_variant`."""
    if not plan.levels:
        return build_topk_graph(plan)
    return build_topk_graph(plan, blocked_variant(reduce, items_major))
