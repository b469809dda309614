"""Head reset (Nikishin et al., "The Primacy Bias in Deep RL", arXiv 2205.07802): re-initialise the last
layer(s) at each task switch, keeping the rest; reset layers get fresh optimiser state.

``layers = 1`` resets the output heads (policy and value for PPO); ``layers = 2`` also the last hidden layer,
as in the paper's Atari experiments. Target networks, where present, get the same fresh weights.
With SAC: the actor's mean and log-std heads and each critic's Q head are reset; targets become copies of the
online critics (the runner's sync); the temperature and the replay buffer are kept. With Gaussian PPO the
state-independent log-std is not a layer and is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, PointIntervention, When, copy_fresh


@dataclass(frozen=True)
class HeadResetConfig(When):
    layers: int = 1
    """1: re-initialise the output heads; 2: also the last hidden layer (the paper's Atari setting)."""

    def check(self) -> None:
        checks.one_of("", "layers", self.layers, (1, 2))


class HeadReset(PointIntervention):
    name = "headreset"
    paper = "arXiv 2205.07802"
    Config = HeadResetConfig

    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        for name, net in learner.networks.items():
            fresh = learner.fresh_network(name)
            pairs = [(net.heads[h], fresh.heads[h]) for h in net.head_names]
            if self.config.layers >= 2:
                pairs.append((net.hidden_layers()[-1].incoming, fresh.hidden_layers()[-1].incoming))
            copy_fresh(learner, pairs)
