"""The GPU run fails loudly: a CUDA configuration whose results differ from CPU exact search
makes ``benchmarks/gpu/end_to_end_bench.py`` (and so ``run.sh``) exit non-zero."""

from __future__ import annotations

from benchmarks.gpu.end_to_end_bench import differences


def _row(device: str, retrieval: str, same: float, single: float = 1.0) -> dict[str, object]:
    return {
        "device": device,
        "retrieval": retrieval,
        "float16": None,
        "same_top10_as_cpu_exact": same,
        "batch_equals_single": single,
    }


def test_matching_rows_pass_and_approximate_hnsw_is_only_recorded() -> None:
    assert differences([_row("cpu", "hnsw", 0.91), _row("cuda", "exact", 1.0)]) == []


def test_a_differing_exact_row_a_batch_mismatch_or_an_error_fails() -> None:
    rows = [
        _row("cuda", "exact", 0.96),
        _row("cpu", "hnsw", 0.91, single=0.99),
        {"device": "cuda", "retrieval": "exact", "float16": True, "error": "RuntimeError: boom"},
    ]
    found = differences(rows)
    assert len(found) == 3
    assert "96.00%" in found[0] and "batch equals single" in found[1] and "boom" in found[2]
