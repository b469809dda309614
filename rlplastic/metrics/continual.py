"""Continual-learning metrics from per-visit scores: plasticity gap, forgetting and forward transfer.

Input: one row per run and phase with columns ``method``, ``seed``, ``phase``, ``task``, ``visit`` and score
columns (``end``, ``start``, ``auc``; raw or normalised, see ``visits.py``).

- **Plasticity gap** of a phase: method − ``reset`` on that phase's end score, paired by seed (the same seed
  sees the same environment seeds in both runs), so seed-to-seed variation cancels. ``reset`` is a fresh
  network on every phase: a method that keeps its plasticity should reach at least as far (gap ≥ 0).
- **Forgetting** on a revisit: the end score of the previous visit to the task minus the start score of this
  visit, per seed (what was lost while training on other tasks; < 0 means it improved meanwhile).
- **Forward transfer** (Continual World, Wołczyk et al. 2021, arXiv 2105.10919): the area under the phase's
  learning curve minus that of a network trained from scratch on the task, paired by seed; ``reset`` is that
  network. Continual World divides by (1 − AUC_scratch) because its success rates are capped at 1; returns are
  not capped, so the difference is reported as is (in normalised units).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REFERENCE = "reset"


def paired(scores: pd.DataFrame, method: str, baseline: str, column: str) -> pd.DataFrame:
    """``method − baseline`` of ``column`` per seed and phase, for the seeds both ran: columns seed, phase, diff."""
    mine = scores[scores["method"] == method].set_index(["seed", "phase"])[column]
    theirs = scores[scores["method"] == baseline].set_index(["seed", "phase"])[column]
    both = mine.index.intersection(theirs.index)
    diff = (mine.loc[both] - theirs.loc[both]).rename("diff")
    return diff.reset_index().sort_values(["phase", "seed"], kind="stable").reset_index(drop=True)


def forgetting(scores: pd.DataFrame) -> pd.DataFrame:
    """Per method, seed and revisit (visit ≥ 2): end of the previous visit − start of this one."""
    rows = []
    for (method, seed), run in scores.sort_values("phase").groupby(["method", "seed"], sort=False):
        last_end: dict[str, float] = {}
        for row in run.itertuples(index=False):
            if row.task in last_end:
                rows.append(
                    {
                        "method": method,
                        "seed": seed,
                        "phase": row.phase,
                        "task": row.task,
                        "visit": row.visit,
                        "forgetting": last_end[row.task] - row.start,
                    }
                )
            last_end[row.task] = row.end
    columns = ["method", "seed", "phase", "task", "visit", "forgetting"]
    return pd.DataFrame(rows, columns=columns)


def forward_transfer(scores: pd.DataFrame, method: str, reference: str = REFERENCE) -> pd.DataFrame:
    """AUC of ``method`` − AUC of ``reference`` per seed and phase (see the module docstring)."""
    return paired(scores, method, reference, "auc")


def per_seed_mean(rows: pd.DataFrame, column: str) -> np.ndarray:
    """One value per seed (the mean over its phases), so a summary's interval counts seeds, not phases."""
    if rows.empty:
        return np.array([])
    return rows.groupby("seed")[column].mean().to_numpy()
