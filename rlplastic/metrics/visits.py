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

WINDOW_FRACTION = 0.05
"""Default window: the last (first) 5 % of a phase. A fraction, not a count of rollouts, so it means the same
at every budget and for agents without rollouts (DQN, SAC)."""

SCORES = ("end", "start", "auc", "gain")


@dataclass(frozen=True)
class Visit:
    """The scores of one phase of one run; ``visit`` counts the visits to its task (1 = first)."""

    phase: int
    task: str
    visit: int
    end: float
    start: float
    auc: float
    gain: float
    episodes: int


def window_steps(phase: Phase, fraction: float = WINDOW_FRACTION) -> int:
    return max(1, round(phase.steps * fraction))


def visit_scores(episodes: pd.DataFrame, phases: list[Phase], fraction: float = WINDOW_FRACTION) -> list[Visit]:
    """The scores of every phase; ``episodes`` has columns ``step`` (where an episode ended), ``start`` (where it
    began) and ``return``, in agent steps summed over environments."""
    seen: dict[str, int] = {}
    out = []
    for phase in phases:
        seen[phase.task] = seen.get(phase.task, 0) + 1
        mine = episodes[(episodes["step"] > phase.start) & (episodes["step"] <= phase.end)]
        w = window_steps(phase, fraction)
        end, start = _end(mine, phase, w), _start(mine, phase, w)
        out.append(
            Visit(phase.index, phase.task, seen[phase.task], end, start, _auc(mine, phase, w), end - start, len(mine))
        )
    return out


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


def _auc(mine: pd.DataFrame, phase: Phase, w: int) -> float:
    if mine.empty:
        return np.nan
    bins = np.minimum((mine["step"].to_numpy() - phase.start - 1) // w, (phase.steps - 1) // w)
    return float(mine.groupby(bins)["return"].mean().mean())


def curve(
    episodes: pd.DataFrame, phases: list[Phase], fraction: float = WINDOW_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """A learning curve on a fixed grid: for each phase's ``window``-wide step bins, the bin's centre and the mean
    return of the episodes that ended in it (NaN where none did). Curves of runs of one schedule share the grid,
    so they can be averaged across seeds."""
    xs, ys = [], []
    for phase in phases:
        w = window_steps(phase, fraction)
        count = -(-phase.steps // w)
        mine = episodes[(episodes["step"] > phase.start) & (episodes["step"] <= phase.end)]
        bins = np.minimum((mine["step"].to_numpy() - phase.start - 1) // w, count - 1)
        values = np.full(count, np.nan)
        means = mine.groupby(bins)["return"].mean()
        values[means.index.to_numpy(dtype=int)] = means.to_numpy()
        xs.append(phase.start + (np.arange(count) + 0.5) * w)
        ys.append(values)
    return np.concatenate(xs), np.concatenate(ys)
