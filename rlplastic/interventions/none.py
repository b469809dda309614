"""``none``: keep training the same network through every task switch (the plasticity-loss baseline)."""

from __future__ import annotations

from rlplastic.interventions.base import Intervention


class NoIntervention(Intervention):
    """Does nothing; the reference every method must beat."""

    name = "none"
    paper = "baseline"
