"""The numeric precision of an update's forward passes: fp32, bf16 autocast, or auto (bf16 where native).

bf16 autocast runs matmuls and convolutions in bfloat16 and keeps reductions, losses, gradient accumulation
and Adam in fp32. It is a speed option only where the hardware multiplies bf16 natively: CPUs with AVX512-BF16
or AMX (the Nature-CNN update ~1.5x faster on a Zen4) and bf16-capable GPUs (``torch.cuda.is_bf16_supported``).
Elsewhere oneDNN emulates it and it is much slower — measured on an AVX2-only EPYC: PPO MinAtar update 10.4 s
bf16 against 0.68 s fp32 — so choosing it there warns once. ``auto`` resolves per machine and device (bf16
where native, else fp32); the run records the resolved precision with its numerics (``run/numerics.py``).
"""

from __future__ import annotations

import functools
import warnings

import torch

PRECISIONS = ("fp32", "bf16", "auto")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags() -> set[str]:
    """This CPU's feature flags from ``/proc/cpuinfo``; empty where it cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            return {flag for line in f if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    except OSError:
        return set()


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (where flags are unknown: whether oneDNN says it can)."""
    flags = cpu_flags()
    if flags:
        return any(flag in flags for flag in NATIVE_BF16_FLAGS)
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@functools.cache  # once per process and device type: /proc/cpuinfo is read once
def _auto(device_type: str) -> str:
    if device_type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device_type == "cpu":
        return "bf16" if native_bf16() else "fp32"
    return "fp32"  # mps and others: no bf16 autocast worth choosing by default


def resolve(precision: str, device: torch.device | str = "cpu") -> str:
    """``precision`` with ``auto`` replaced by what this machine's ``device`` runs natively: bf16 or fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"agent.precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return _auto(torch.device(device).type) if precision == "auto" else precision


@functools.cache  # once per process: every update enters autocast
def warn_if_emulated() -> bool:
    """Warn (once) that bf16 is emulated on this CPU; True when it is."""
    if native_bf16():
        return False
    warnings.warn(
        "agent.precision = 'bf16' on a CPU without native bf16 (no avx512_bf16/amx_bf16): autocast is "
        "emulated and slower than fp32 here; set agent.precision = 'fp32' (or 'auto')",
        RuntimeWarning,
        stacklevel=3,
    )
    return True


def autocast(precision: str, device: torch.device | str = "cpu") -> torch.autocast:
    """The context a training forward pass on ``device`` runs in: fp32, or bf16 autocast."""
    resolved = resolve(precision, device)
    device_type = torch.device(device).type
    if resolved == "bf16" and device_type == "cpu":
        warn_if_emulated()
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=resolved == "bf16")
