"""L2-Init, regenerative regularisation (Kumar et al., arXiv 2308.11958): loss += lam*||theta - theta_0||^2.

theta_0 are the weights at initialisation, snapshotted before training; the term is added to every update's
loss (all parameters), each network's term to its own loss. Default lam = 1e-2, the best value of the paper's sweep.
With SAC: the actor and each critic are pulled toward their own initial weights in their own losses; targets
follow by Polyak averaging; the temperature and the replay buffer are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rlplastic import checks
from rlplastic.agents import Learner
from rlplastic.interventions.base import Intervention


@dataclass(frozen=True)
class L2InitConfig:
    lam: float = 1e-2
    """Weight of the pull ||theta - theta_0||^2 toward the initial weights, in every update's loss."""

    def __post_init__(self) -> None:
        checks.non_negative("", {"lam": self.lam})


class L2Init(Intervention):
    name = "l2init"
    paper = "arXiv 2308.11958"
    Config = L2InitConfig

    def attach(self, learner: Learner) -> None:
        self._anchors = {
            (net_name, p_name): p.detach().clone()
            for net_name, net in learner.networks.items()
            for p_name, p in net.named_parameters()
        }

    def extra_loss(self, learner: Learner, network: str) -> torch.Tensor | None:
        terms = [
            ((p - self._anchors[(network, p_name)]) ** 2).sum()
            for p_name, p in learner.networks[network].named_parameters()
            if (network, p_name) in self._anchors
        ]
        return self.config.lam * torch.stack(terms).sum() if terms else None

    def state_dict(self) -> dict[str, Any]:
        return {"anchors": self._anchors}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        if state:  # checkpoints load onto the CPU: each anchor goes back beside its parameter
            nets = learner.networks.items()
            where = {(n, p_name): p.device for n, net in nets for p_name, p in net.named_parameters()}
            self._anchors = {key: a.to(where.get(key, a.device)) for key, a in state["anchors"].items()}
