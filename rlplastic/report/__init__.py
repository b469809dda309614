"""Reading results (torch-free by structure: nothing here imports torch, ``rlplastic.run``, the agents or the
interventions): run folders -> per-visit scores -> leaderboard tables and plots, and the ``table``/``plot``
commands (``commands.py``).

For a notebook::

    import rlplastic.report as report
    scores = report.load("results")  # one row per experiment, method label, seed and phase
    report.aggregate.interval(matrix, report.aggregate.iqm)  # rliable-style aggregates over a (runs, phases) matrix
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rlplastic.metrics import aggregate
from rlplastic.metrics.visits import WINDOW_FRACTION


def load(out: str | Path, window: float = WINDOW_FRACTION) -> pd.DataFrame:
    """The per-run, per-phase scores of every finished run under ``out`` (columns of ``scores.csv``, raw and
    normalised, plus ``experiment``: the experiment folder), checked and labelled as ``table`` does."""
    from rlplastic.report import commands, leaderboard

    groups, _ = commands.experiments(Path(out))
    frames = [
        leaderboard.collect(runs, str(group), window).scores.assign(experiment=str(group))
        for group, runs in sorted(groups.items())
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


__all__ = ["aggregate", "load"]
