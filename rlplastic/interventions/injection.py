"""Plasticity injection (Nikishin et al., arXiv 2305.15555).

At each injection every output head h_theta becomes h_theta(phi(x)) + h_theta'(phi(x)) - h_theta'-(phi(x)):
the old head theta is frozen, theta' is a freshly initialised trainable head and theta'- its frozen copy, so
the network's output is unchanged at the moment of injection while the new head brings fresh plasticity.
The encoder phi keeps training. Because all three heads are linear maps of the same features, a later
injection first folds the previous sum into one frozen head (W_old + W' - W'-), so the network never grows.
The paper injects once; by default we inject at each task switch (``--set injection.at_switch=false
--set injection.at_steps=[N]`` for the paper's single injection).
With SAC: the actor's heads and each critic's Q head are injected; the targets become copies of the injected
critics (the runner's sync, which copies the structure too); the temperature and the replay buffer are kept.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from rlplastic.agents import Learner
from rlplastic.interventions.base import Boundary, PointIntervention, When


def frozen(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class InjectedHead(nn.Module):
    """old(x) + new(x) - new_frozen(x), with only ``new`` trainable."""

    def __init__(self, old: nn.Linear, new: nn.Linear) -> None:
        super().__init__()
        self.old = frozen(old)
        self.new = new
        self.new_frozen = frozen(copy.deepcopy(new))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.old(x) + self.new(x) - self.new_frozen(x)

    @torch.no_grad()
    def folded(self) -> nn.Linear:
        """One frozen Linear computing the same function."""
        out = copy.deepcopy(self.old)
        for name in ("weight", "bias"):
            getattr(out, name).copy_(getattr(self.old, name) + getattr(self.new, name) - getattr(self.new_frozen, name))
        return frozen(out)


@dataclass(frozen=True)
class InjectionConfig(When):
    pass


WRAPPED = "injection wraps the output heads, which {} treats as plain trainable layers"


class Injection(PointIntervention):
    name = "injection"
    paper = "arXiv 2305.15555"
    Config = InjectionConfig
    conflicts: ClassVar[dict[str, str]] = {
        m: WRAPPED.format(m) for m in ("headreset", "redo", "cbp", "sp", "reset", "dash", "fire")
    }

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self.injections = 0

    def _inject(self, learner: Learner) -> None:
        for name, net in learner.networks.items():
            fresh = learner.fresh_network(name)
            new_params = []
            for head in net.head_names:
                current = getattr(net, head)
                old = current.folded() if isinstance(current, InjectedHead) else current
                injected = InjectedHead(old, fresh.heads[head])
                setattr(net, head, injected)
                new_params += list(injected.new.parameters())
            learner.set_extra_parameters(name, new_params)

    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        self._inject(learner)
        self.injections += 1

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"injections": self.injections}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        super().load_state_dict(state, learner)
        self.injections = state.get("injections", 0)
        if self.injections:
            self._inject(learner)  # rebuild the structure; the checkpoint's weights are loaded next
