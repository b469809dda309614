"""Scores of one task visit (a phase) from a run's episodes: end, start, area under the curve and gain.

A continual-RL run trains through phases; each phase is a visit to a task. Four numbers describe a visit:
- ``end``: the mean return of all episodes that *ended* in the phase's last ``window`` steps (what the agent
  reached); averaging every episode of a step window, not the last k episodes, keeps the seed spread small;
- ``start``: the mean return of all episodes that *began* in the phase's first ``window`` steps (what the
  agent brought to the task: memory and transfer);
- ``auc``: the mean over the phase's ``window``-wide step bins of the bins' mean returns (the area under the
  learning curve divided by the phase length, so bins with many short episodes do not weigh more);
- ``gain``: ``end - start`` (how much the agent learned within the visit).
If no episode ended (began) inside the window, ``end`` (``start``) uses the phase's last (first) episode, so a
short phase of long episodes still has a score; a phase where no episode ended has none (NaN).
Episodes are the training episodes of the acting policy, as in CleanRL's and most continual-RL reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlplastic.envs.schedule import Phase
from rlplastic.metrics import dynamics as dyn

WINDOW_FRACTION = 0.05
"""Default window: the last (first) 5 % of a phase. A fraction, not a count of rollouts, so it means the same
at every budget and for agents without rollouts (DQN, SAC)."""

SCORES = ("end", "start", "auc", "gain")


@dataclass(frozen=True)
class Visit:
    """The scores of one phase of one run; ``visit`` counts the visits to its task (1 = first). The training
    dynamics (``metrics/dynamics.py``) come from the phase's binned learning curve."""

    phase: int
    task: str
    visit: int
    end: float
    start: float
    auc: float
    gain: float
    episodes: int
    plateau: float
    secondary_plateau: float  # 1.0, 0.0, or NaN where the phase has no curve to judge
    steepest_rise: float


def window_steps(phase: Phase, fraction: float = WINDOW_FRACTION) -> int:
    return max(1, round(phase.steps * fraction))


def _in_phase(episodes: pd.DataFrame, phase: Phase) -> pd.DataFrame:
    return episodes[(episodes["step"] > phase.start) & (episodes["step"] <= phase.end)]


def bins(mine: pd.DataFrame, phase: Phase, w: int) -> np.ndarray:
    """The mean return of the episodes ending in each ``w``-wide step bin of the phase (NaN where none did)."""
    count = -(-phase.steps // w)
    index = np.minimum((mine["step"].to_numpy() - phase.start - 1) // w, count - 1)
    values = np.full(count, np.nan)
    means = mine.groupby(index)["return"].mean()
    values[means.index.to_numpy(dtype=int)] = means.to_numpy()
    return values


def visit_scores(episodes: pd.DataFrame, phases: list[Phase], fraction: float = WINDOW_FRACTION) -> list[Visit]:
    """The scores of every phase; ``episodes`` has columns ``step`` (where an episode ended), ``start`` (where it
    began) and ``return``, in agent steps summed over environments."""
    seen: dict[str, int] = {}
    out = []
    for phase in phases:
        seen[phase.task] = seen.get(phase.task, 0) + 1
        mine = _in_phase(episodes, phase)
        w = window_steps(phase, fraction)
        curve_bins = bins(mine, phase, w)
        end, start = _end(mine, phase, w), _start(mine, phase, w)
        auc = float(np.nanmean(curve_bins)) if np.isfinite(curve_bins).any() else np.nan
        dynamics = dynamics_of(curve_bins, w) if len(mine) else (np.nan, np.nan, np.nan)
        out.append(Visit(phase.index, phase.task, seen[phase.task], end, start, auc, end - start, len(mine), *dynamics))
    return out


def dynamics_of(curve_bins: np.ndarray, w: int) -> tuple[float, float, float]:
    return (
        dyn.plateau_steps(curve_bins, w),
        dyn.secondary_plateau(curve_bins),
        dyn.steepest_rise(curve_bins, w),
    )


def _end(mine: pd.DataFrame, phase: Phase, w: int) -> float:
    if mine.empty:
        return np.nan
    late = mine[mine["step"] > phase.end - w]
    return float((late if len(late) else mine.tail(1))["return"].mean())


def _start(mine: pd.DataFrame, phase: Phase, w: int) -> float:
    if mine.empty:
        return np.nan
    early = mine[mine["start"] < phase.start + w]
    return float((early if len(early) else mine.sort_values("start", kind="stable").head(1))["return"].mean())


def curve(
    episodes: pd.DataFrame, phases: list[Phase], fraction: float = WINDOW_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """A learning curve on a fixed grid: the centres of every phase's ``window``-wide step bins and the bins'
    mean returns (``bins``). Curves of runs of one schedule share the grid, so they can be averaged."""
    xs, ys = [], []
    for phase in phases:
        w = window_steps(phase, fraction)
        values = bins(_in_phase(episodes, phase), phase, w)
        xs.append(phase.start + (np.arange(len(values)) + 0.5) * w)
        ys.append(values)
    return np.concatenate(xs), np.concatenate(ys)
