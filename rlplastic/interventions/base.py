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

    conflicts: ClassVar[dict[str, str]] = {}
    """Methods this one cannot be combined with, each with the reason (checked before training)."""

    def attach(self, learner: Learner) -> None:
        """Called once when the learner is built, before any training (snapshots, activation hooks)."""

    def on_task_switch(self, learner: Learner, phase: Phase) -> None:
        """Act at a task boundary, before the first update on ``phase``."""

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must keep to resume this method exactly."""
        return {}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        """Restore from a checkpoint; runs before the learner's weights are loaded, so structure can be rebuilt."""

    def describe(self) -> dict[str, Any]:
        """Name and hyper-parameters, for the run's config file."""
        return {"name": self.name, **dataclasses.asdict(self.config)}


@dataclasses.dataclass(frozen=True)
class When:
    """When a point-acting method acts: at task switches (default), and/or every ``every`` agent steps,
    and/or at the agent steps listed in ``at_steps`` (checked at rollout boundaries). A single-task suite
    with ``at_switch=false`` and ``at_steps=[N]`` gives the warm-start protocols (FIRE's Atari DQN: once at the
    midpoint; Plasticine: every 10k steps)."""

    at_switch: bool = True
    every: int = 0
    at_steps: list[int] = dataclasses.field(default_factory=list)


class PointIntervention(Intervention):
    """A method that acts at points in training (``apply``), scheduled by its config's ``When`` fields."""

    Config: ClassVar[type] = When

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self._last_step = 0

    def apply(self, learner: Learner) -> None:
        raise NotImplementedError

    def on_task_switch(self, learner: Learner, phase: Phase) -> None:
        if self.config.at_switch:
            self.apply(learner)

    def on_rollout(self, learner: Learner, step: int) -> None:
        last, self._last_step = self._last_step, step
        every = self.config.every
        periodic = every > 0 and step // every > last // every
        if step > last and (periodic or any(last < s <= step for s in self.config.at_steps)):
            self.apply(learner)

    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self._last_step}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        self._last_step = state.get("last_step", 0)


def copy_fresh(learner: Learner, pairs: list[tuple[nn.Module, nn.Module]]) -> None:
    """Load each fresh module's weights into its live twin and forget the optimiser state of those weights."""
    for live, fresh in pairs:
        live.load_state_dict(fresh.state_dict())
        learner.reset_optimizer(list(live.parameters()))


def sync_target(learner: Learner, name: str) -> None:
    """Give network ``name``'s target network (if it has one) the online network's current weights."""
    if name in learner.target_networks:
        learner.target_networks[name].load_state_dict(learner.networks[name].state_dict())


def weight_layers(module: nn.Module) -> Iterator[nn.Module]:
    """Every Linear and Conv2d layer of ``module``: the layers re-initialising methods act on."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            yield layer
