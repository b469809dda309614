"""Shrink & Perturb (Ash & Adams, arXiv 1910.08475): theta <- lam*theta + sigma*theta_fresh at each switch.

theta_fresh is a new random initialisation of the same network; every parameter (weights, biases,
normalisation) is interpolated, as in the reference code (JordanAsh/warm_start ``run.py``). Defaults
lam = 0.4, sigma = 0.1 (reference code).
Deliberate deviation: the reference builds a new Adam (fresh moments and step count) at every round, for
every method it compares, warm starting included; here the optimiser state is kept by default, as ``none``
keeps it, so that ``sp`` differs from ``none`` by its weight edit alone. ``sp.reset_optimizer=true`` gives the
reference's fresh optimiser state.
With SAC: the actor and both critics are interpolated alike, each with its own fresh draw; their targets
become copies of the results (the runner's sync); the temperature and the replay buffer are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, PointIntervention, When


@dataclass(frozen=True)
class ShrinkPerturbConfig(When):
    shrink: float = 0.4
    """lam: factor on the current weights."""
    perturb: float = 0.1
    """sigma: factor on a fresh initialisation added to them."""
    reset_optimizer: bool = False
    """Clear the optimiser state after the interpolation, as the reference does every round (kept by default)."""

    def check(self) -> None:
        checks.non_negative("", {"shrink": self.shrink, "perturb": self.perturb})


class ShrinkPerturb(PointIntervention):
    name = "sp"
    paper = "arXiv 1910.08475"
    Config = ShrinkPerturbConfig

    @torch.no_grad()
    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        for name, net in learner.networks.items():
            fresh = learner.fresh_network(name)
            for p, q in zip(net.parameters(), fresh.parameters(), strict=True):
                p.mul_(self.config.shrink).add_(q, alpha=self.config.perturb)
        if self.config.reset_optimizer:
            learner.reset_optimizer()
