"""The numerics a run trains under, recorded in its ``config.json`` (key ``numerics``) and checked on resume and
reuse: torch's thread count, the CPU kernels torch picked, the torch version, the device type (and GPU model),
the resolved precision and whether deterministic algorithms were on.

Each changes a seed's numbers (the thread count alone splits reductions differently) by as much as the effects
the benchmark measures, so they are measured in the process that trains, after its executor has set the thread
count, the device and determinism (``apply``). They describe a run, not its identity (``RunStore.verify``
ignores them): two runs of one configuration are one run. But a run resumed or reused under other numerics
would silently mix them, so that is refused with one line naming the difference (``check``) unless the user
allows it (``--allow-numerics-change``); an allowed resume writes ``numerics_at_resume`` and
``numerics_change_allowed`` into the run's ``DONE``, and the leaderboard notes tables whose runs differ.

The device and precision are numerics like the thread count, not settings of the run: ``--device cpu`` and
``--device auto`` on a CPU machine compute the same numbers and are the same run; ``cuda`` computes others and
is refused as a resume or reuse of a CPU run, exactly as another ``--jobs`` is. Only keys a folder recorded are
compared: a folder written before a key existed cannot tell, and is not refused for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from rlplastic.agents import device as devices
from rlplastic.agents.precision import resolve as resolve_precision
from rlplastic.errors import UsageError

CPU = torch.device("cpu")
CUBLAS_WORKSPACE = ":4096:8"  # what cuBLAS needs for deterministic results (CUDA docs, "Reproducibility")


@dataclass(frozen=True)
class Options:
    """How runs compute, from the command line; not part of a run's identity (see the module docstring)."""

    device: str = "auto"
    """auto, cpu, cuda, cuda:N or mps; resolved in the training process."""
    deterministic: bool = False
    """torch's deterministic algorithms (and cuBLAS's fixed workspace): slower, reproducible on a GPU."""
    allow_change: bool = False
    """Resume or reuse runs recorded under other numerics (the run's DONE and the leaderboard say so)."""


DEFAULT = Options()


def apply(options: Options) -> torch.device:
    """Set this process's determinism and return its resolved device (call before any CUDA work)."""
    if options.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(options.deterministic)
    try:
        return devices.resolve(options.device)
    except ValueError as err:
        raise UsageError(str(err)) from err


def measure(device: torch.device = CPU, precision: str = "fp32", threads: int | None = None) -> dict[str, Any]:
    """This process's numerics on ``device`` with the agent's ``precision`` (``auto`` resolved here), under the
    key names the run folder readers (leaderboard) expect; ``threads`` as a training process will set them."""
    out: dict[str, Any] = {
        "threads": torch.get_num_threads() if threads is None else threads,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "device": device.type,
        "precision": resolve_precision(precision, device),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def changed(first: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``now`` that differ from ``first``; every entry if ``first`` is unknown (an older folder)."""
    return {key: value for key, value in now.items() if first.get(key) != value}


def difference(recorded: dict[str, Any], now: dict[str, Any]) -> str:
    """``key recorded -> now`` for each key the folder recorded that differs now ("" when none does)."""
    keys = [k for k in recorded if k in now and recorded[k] != now[k]]
    return "; ".join(f"{k} {recorded[k]!r} -> {now[k]!r}" for k in keys)


def check(folder: object, recorded: dict[str, Any], now: dict[str, Any], allow: bool, doing: str) -> bool:
    """Refuse to ``doing`` (resume, reuse) the run in ``folder`` under numerics other than ``recorded``, unless
    ``allow``; True when they differ (and it was allowed)."""
    diff = difference(recorded, now)
    if diff and not allow:
        raise UsageError(
            f"cannot {doing} {folder}: it was trained under other numerics ({diff}); rerun with the numerics it "
            "recorded (--jobs, --device, --deterministic, agent.precision), another --out, or "
            "--allow-numerics-change"
        )
    return bool(diff)
