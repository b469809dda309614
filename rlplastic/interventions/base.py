"""The Intervention seam: what a plasticity method may do to a learner, each hook optional."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from torch import nn

from rlplastic.agents import Hooks, Learner
from rlplastic.envs import Phase


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """For methods without hyper-parameters."""


class Intervention(Hooks):
    """Base class of every method. Subclasses set ``name``, ``paper`` and a ``Config`` dataclass.

    Hooks, all optional: ``on_task_switch`` (before training on a new task), ``after_update`` (after every
    optimiser step) and ``extra_loss`` (a term added to the agent's loss), the last two from ``Hooks``.
    """

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    Config: ClassVar[type] = NoConfig

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()

    def on_task_switch(self, learner: Learner, phase: Phase) -> None:
        """Act at a task boundary, before the first update on ``phase``."""

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must keep to resume this method exactly."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state

    def describe(self) -> dict[str, Any]:
        """Name and hyper-parameters, for the run's config file."""
        return {"name": self.name, **dataclasses.asdict(self.config)}


def weight_layers(module: nn.Module) -> Iterator[nn.Module]:
    """Every Linear and Conv2d layer of ``module``: the layers re-initialising methods act on."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            yield layer
