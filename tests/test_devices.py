"""Device selection: CPU by default, CUDA only when its provider exists, never a silent fallback."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest

from ytrec_infer import Recommender
from ytrec_infer.devices import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    DeviceUnavailableError,
    device_providers,
    ensure_on_device,
)
from ytrec_infer.retrieval import ExactRetriever

NO_CUDA = CUDA_PROVIDER not in ort.get_available_providers()


def test_cpu_is_the_cpu_provider() -> None:
    assert device_providers("cpu") == [CPU_PROVIDER]


def test_cuda_puts_the_cuda_provider_first_when_it_exists() -> None:
    have = [CUDA_PROVIDER, CPU_PROVIDER]
    assert device_providers("cuda", available=have) == [CUDA_PROVIDER, CPU_PROVIDER]


def test_cuda_without_its_provider_names_the_fix() -> None:
    with pytest.raises(DeviceUnavailableError, match=r"pip install 'ytrec-infer\[gpu\]'"):
        device_providers("cuda", available=[CPU_PROVIDER])


@pytest.mark.parametrize("device", ["gpu", "CUDA", "", None])
def test_unknown_device_is_refused(device: object) -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        device_providers(device)  # type: ignore[arg-type]


def test_a_session_that_fell_back_to_cpu_is_an_error() -> None:
    fell_back = SimpleNamespace(get_providers=lambda: [CPU_PROVIDER])
    with pytest.raises(DeviceUnavailableError, match="fell back"):
        ensure_on_device(fell_back, "cuda", "ranker")  # type: ignore[arg-type]
    ensure_on_device(fell_back, "cpu", "ranker")  # type: ignore[arg-type]


@pytest.mark.skipif(not NO_CUDA, reason="this onnxruntime has the CUDA provider")
def test_exact_retriever_on_cuda_without_cuda_raises() -> None:
    with pytest.raises(DeviceUnavailableError, match="onnxruntime-gpu"):
        ExactRetriever(np.eye(4, dtype=np.float32), "cuda")


@pytest.mark.skipif(not NO_CUDA, reason="this onnxruntime has the CUDA provider")
def test_loading_on_cuda_without_cuda_raises(artifact_dir: Path) -> None:
    with pytest.raises(DeviceUnavailableError, match=r"ytrec-infer\[gpu\]"):
        Recommender.load(artifact_dir, device="cuda")


def test_load_options_are_checked(artifact_dir: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        Recommender.load(artifact_dir, device="cpu", providers=[CPU_PROVIDER])
    with pytest.raises(ValueError, match="retrieval must be one of"):
        Recommender.load(artifact_dir, retrieval="faiss")
    rec = Recommender.load(artifact_dir, device="cpu")
    assert rec.device == "cpu"
