"""The numerics a run trains under: torch's thread count, the CPU kernels torch picked, the torch version.

The thread count alone changes a seed's numbers (reductions split differently), as much as the effects the
benchmark measures, so every run records what it trained under. They are measured in the process that trains,
after its executor has set the thread count (``executor._safe_run``). They describe a run; they do not identify
it: ``RunStore.verify`` ignores them, so a run is reused or resumed under other numerics, and a resume under
numerics other than the recorded ones is written into the run's ``DONE`` summary (``numerics_at_resume``).
"""

from __future__ import annotations

from typing import Any

import torch


def measure() -> dict[str, Any]:
    """This process's numerics, under the key names the run folder readers (leaderboard) expect."""
    return {
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
    }


def changed(first: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``now`` that differ from ``first``; every entry if ``first`` is unknown (an older folder)."""
    return {key: value for key, value in now.items() if first.get(key) != value}
