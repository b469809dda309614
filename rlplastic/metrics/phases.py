"""The return on each task at the end of each phase: the headline number of a continual-RL run."""

from __future__ import annotations

import pandas as pd

from rlplastic.envs import Phase

LAST_EPISODES = 10


def end_of_phase_returns(episodes: pd.DataFrame, phases: list[Phase], last: int = LAST_EPISODES) -> list[float]:
    """Mean raw return of the last ``last`` episodes finished within each phase (NaN if none finished).

    Episodes are training episodes of the stochastic policy, as in CleanRL's and most continual-RL
    reports; an episode belongs to the phase in which it ended.
    """
    out = []
    for phase in phases:
        in_phase = episodes[(episodes["step"] > phase.start) & (episodes["step"] <= phase.end)]
        out.append(float(in_phase["return"].tail(last).mean()) if len(in_phase) else float("nan"))
    return out
