"""Device and provider selection: ``device="cpu" | "cuda"`` or an explicit onnxruntime provider
list, resolved in this one module, with one error type and no silent fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import onnxruntime as ort

Device = Literal["cpu", "cuda"]
DEVICES: tuple[Device, ...] = ("cpu", "cuda")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
GPU_INSTALL_HINT = (
    "pip install 'ytrec-infer[gpu]' (onnxruntime-gpu, in place of onnxruntime) "
    "on a machine with an NVIDIA GPU and CUDA"
)


class DeviceUnavailableError(RuntimeError, ValueError):
    """The requested device or provider is missing from this onnxruntime installation, or a
    session could not start on it. Also a ValueError: a missing explicit provider was one
    before this type covered it."""


def install_hint(provider: str) -> str:
    """What to install to get ``provider``: the one hint every error here names."""
    if provider == CUDA_PROVIDER:
        return GPU_INSTALL_HINT
    return "install an onnxruntime build that includes it"


def check_device(device: str) -> Device:
    """``device`` if it is one of :data:`DEVICES`; a ValueError naming the choices otherwise."""
    if device == "cpu":
        return "cpu"
    if device == "cuda":
        return "cuda"
    raise ValueError(f"device must be one of {list(DEVICES)}, got {device!r}")


def device_providers(device: str, available: Sequence[str] | None = None) -> list[str]:
    """onnxruntime providers for ``device``; raises :class:`DeviceUnavailableError` naming the
    fix when the CUDA provider is missing (the CPU provider is never used in its place)."""
    checked = check_device(device)
    if checked == "cpu":
        return [CPU_PROVIDER]
    have = list(ort.get_available_providers() if available is None else available)
    if CUDA_PROVIDER not in have:
        raise DeviceUnavailableError(
            f"device='cuda' needs onnxruntime's {CUDA_PROVIDER}, which this installation lacks "
            f"(onnxruntime {ort.__version__} has {have}); {install_hint(CUDA_PROVIDER)}"
        )
    return [CUDA_PROVIDER, CPU_PROVIDER]


def resolve_providers(providers: Sequence[str] | None) -> list[str]:
    """The requested execution providers, checked against what this onnxruntime offers.

    ``None`` means the CPU provider. A requested provider that is missing raises
    :class:`DeviceUnavailableError` naming the fix; nothing falls back silently.
    """
    if providers is None:
        return [CPU_PROVIDER]
    if isinstance(providers, str) or not all(isinstance(p, str) for p in providers):
        raise TypeError("providers must be a list of provider names, e.g. ['CPUExecutionProvider']")
    available = ort.get_available_providers()
    for provider in providers:
        if provider not in available:
            raise DeviceUnavailableError(
                f"execution provider {provider} is not available (have {available}); "
                f"{install_hint(provider)}"
            )
    return list(providers)


def providers_device(providers: Sequence[str]) -> Device:
    """The device an explicit provider list runs on: ``cuda`` if it starts with CUDA."""
    return "cuda" if providers and providers[0] == CUDA_PROVIDER else "cpu"


def placement(device: str | None, providers: Sequence[str] | None) -> tuple[Device, list[str]]:
    """The device and provider list of a load: from ``device`` or from ``providers`` (not both;
    neither means the CPU)."""
    if device is not None and providers is not None:
        raise ValueError("give device= or providers=, not both")
    if device is not None:
        return check_device(device), device_providers(device)
    chosen = resolve_providers(providers)
    return providers_device(chosen), chosen


def provider_options(providers: Sequence[str]) -> list[str | tuple[str, dict[str, str]]]:
    """``providers`` with TF32 turned off on CUDA, so float32 matrix products stay float32."""
    return [(p, {"use_tf32": "0"}) if p == CUDA_PROVIDER else p for p in providers]


def ensure_on_device(session: ort.InferenceSession, device: str, what: str) -> None:
    """Raise if a CUDA session came up on the CPU (onnxruntime does that, with only a warning,
    when the CUDA or cuDNN libraries fail to load)."""
    if device == "cuda" and session.get_providers()[0] != CUDA_PROVIDER:
        raise DeviceUnavailableError(
            f"{what}: onnxruntime could not start {CUDA_PROVIDER} (it fell back to "
            f"{session.get_providers()}); check that the CUDA and cuDNN libraries onnxruntime-gpu "
            f"{ort.__version__} needs are installed (see docs/gpu.md)"
        )
