"""Methods applied in order: ``lnwd+fire`` runs LN+WD's hooks, then FIRE's."""

from __future__ import annotations

from typing import Any

import torch

from rlplastic.agents import Learner
from rlplastic.agents.networks import ArchSpec
from rlplastic.interventions.base import Boundary, Intervention


class Composite(Intervention):
    """Calls each part's hooks in the order the method string names them."""

    def __init__(self, parts: list[Intervention]) -> None:
        super().__init__()
        self.parts = parts
        self.name = "+".join(p.name for p in parts)

    def modify_arch(self, arch: ArchSpec) -> ArchSpec:
        for part in self.parts:
            arch = part.modify_arch(arch)
        return arch

    def optimizer_options(self, options: dict[str, Any]) -> dict[str, Any]:
        for part in self.parts:
            options = part.optimizer_options(options)
        return options

    def attach(self, learner: Learner) -> None:
        for part in self.parts:
            part.attach(learner)

    def act(self, learner: Learner, boundary: Boundary) -> bool:
        acted = [part.act(learner, boundary) for part in self.parts]  # every part gets its turn, in order
        return any(acted)

    def after_update(self, learner: Learner, update: int) -> None:
        for part in self.parts:
            part.after_update(learner, update)

    def extra_loss(self, learner: Learner, network: str) -> torch.Tensor | None:
        terms = [t for t in (p.extra_loss(learner, network) for p in self.parts) if t is not None]
        return sum(terms[1:], terms[0]) if terms else None

    def state_dict(self) -> dict[str, Any]:
        return {p.name: p.state_dict() for p in self.parts}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        for p in self.parts:
            p.load_state_dict(state.get(p.name, {}), learner)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "parts": [p.describe() for p in self.parts]}
