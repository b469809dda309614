"""The Intervention seam: what a plasticity method may do to a learner, each hook optional.

Methods never schedule themselves: the runner calls ``act`` at every iteration boundary, once per method,
and the method says whether it acted there (``When`` decides for the point-acting methods).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from rlplastic import checks
from rlplastic.agents import Batch, Hooks, Learner
from rlplastic.envs import Phase


@dataclass(frozen=True)
class NoConfig:
    """For methods without hyper-parameters."""


@dataclass(frozen=True)
class Boundary:
    """An iteration boundary, where the runner lets every method act once.

    ``step`` is the agent step there and ``previous`` the step of the boundary before it (``step`` minus one
    iteration); ``switch`` is true at the first boundary of every phase but the first. ``probe(n)`` returns
    ``n`` transitions of ``phase``'s task gathered with the current policy, neither trained on nor counted.
    """

    step: int
    previous: int
    phase: Phase
    switch: bool
    probe: Callable[[int], Batch]


class Intervention(Hooks):
    """Base class of every method. Subclasses set ``name``, ``paper`` and a ``Config`` dataclass.

    Hooks, all optional: ``modify_arch``, ``optimizer_options``, ``after_update`` and ``extra_loss`` (from
    ``Hooks``, see ``rlplastic.agents.learner``), ``attach`` (once, when the learner is built) and ``act`` (at
    iteration boundaries, called by the runner only).
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

    def act(self, learner: Learner, boundary: Boundary) -> bool:
        """Act at an iteration boundary if due; True if weights or structure changed (the runner then syncs
        the target networks and checks the weights are finite)."""
        return False

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must keep to resume this method exactly."""
        return {}

    def load_state_dict(self, state: dict[str, Any], learner: Learner) -> None:
        """Restore from a checkpoint; runs before the learner's weights are loaded, so structure can be rebuilt."""

    def describe(self) -> dict[str, Any]:
        """Name and hyper-parameters, for the run's config file."""
        return {"name": self.name, **dataclasses.asdict(self.config)}


@dataclass(frozen=True)
class When:
    """When a point-acting method acts: at task switches (default), and/or every ``every`` agent steps,
    and/or at the agent steps listed in ``at_steps``, each checked at iteration boundaries (a step between
    two boundaries falls due at the next one). A single-task suite with ``at_switch=false`` and
    ``at_steps=[N]`` gives the warm-start protocols (FIRE's Atari DQN: once at the midpoint; Plasticine:
    every 10k steps). However many conditions hold at one boundary, the method acts once."""

    at_switch: bool = True
    """Act at every task switch (the first boundary of each phase but the first)."""
    every: int = 0
    """Also act every this many agent steps (0: never)."""
    at_steps: list[int] = dataclasses.field(default_factory=list)
    """Also act at these agent steps (each at the first iteration boundary at or after it)."""

    def __post_init__(self) -> None:
        checks.counts("", {"every": self.every}, minimum=0)
        checks.steps("", "at_steps", self.at_steps)
        self.check()

    def check(self) -> None:
        """Range checks of a subclass's own options (raise ``ValueError`` naming the option)."""

    def due(self, b: Boundary) -> bool:
        if b.switch and self.at_switch:
            return True
        if self.every > 0 and b.step > 0 and b.step // self.every > b.previous // self.every:
            return True
        return any(b.previous < s <= b.step for s in self.at_steps)


class PointIntervention(Intervention):
    """A method that acts at points in training (``apply``), scheduled by its config's ``When`` fields."""

    Config: ClassVar[type] = When

    def apply(self, learner: Learner, boundary: Boundary | None = None) -> None:
        raise NotImplementedError

    def act(self, learner: Learner, boundary: Boundary) -> bool:
        if not self.config.due(boundary):
            return False
        self.apply(learner, boundary)
        return True


def copy_fresh(learner: Learner, pairs: list[tuple[nn.Module, nn.Module]]) -> None:
    """Load each fresh module's weights into its live twin and forget the optimiser state of those weights."""
    for live, fresh in pairs:
        live.load_state_dict(fresh.state_dict())
        learner.reset_optimizer(list(live.parameters()))


def weight_layers(module: nn.Module) -> Iterator[nn.Module]:
    """Every Linear and Conv2d layer of ``module``: the layers re-initialising methods act on."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            yield layer
