"""The numeric precision of an update's forward passes: fp32, or bf16 autocast.

bf16 autocast runs matmuls and convolutions in bfloat16 and keeps reductions, losses, gradient accumulation
and Adam in fp32. It is a speed option only where the CPU multiplies bf16 natively (AVX512-BF16 or AMX:
the Nature-CNN update ~1.5x faster on a Zen4). Elsewhere oneDNN emulates it and it is much slower — measured
on an AVX2-only EPYC: PPO MinAtar update 10.4 s bf16 against 0.68 s fp32 — so choosing it there warns once.
"""

from __future__ import annotations

import functools
import warnings

import torch

PRECISIONS = ("fp32", "bf16")
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


@functools.cache  # once per process: every update enters autocast
def warn_if_emulated() -> bool:
    """Warn (once) that bf16 is emulated on this CPU; True when it is."""
    if native_bf16():
        return False
    warnings.warn(
        "agent.precision = 'bf16' on a CPU without native bf16 (no avx512_bf16/amx_bf16): autocast is "
        "emulated and slower than fp32 here; set agent.precision = 'fp32'",
        RuntimeWarning,
        stacklevel=3,
    )
    return True


def autocast(precision: str) -> torch.autocast:
    """The context a training forward pass runs in: fp32, or bf16 autocast."""
    if precision not in PRECISIONS:
        raise ValueError(f"agent.precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "bf16":
        warn_if_emulated()
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
