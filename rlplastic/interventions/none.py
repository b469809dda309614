"""``none``: keep training the same network through every task switch (the plasticity-loss baseline).
With SAC nothing is touched: both critics, their targets, the temperature and the replay buffer carry on.
"""

from __future__ import annotations

from rlplastic.interventions.base import Intervention


class NoIntervention(Intervention):
    """Does nothing; the reference every method must beat."""

    name = "none"
    paper = "baseline"
