"""The Learner seam: what every agent offers the interventions.

Interventions only see this interface, never a concrete agent, so a method written once works for PPO,
DQN and SAC alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

Batch = dict[str, torch.Tensor]


@runtime_checkable
class Learner(Protocol):
    networks: dict[str, nn.Module]
    """Online networks by name."""
    target_networks: dict[str, nn.Module]
    """Target network of each online network that has one (same key); empty for PPO."""
    optimizers: dict[str, torch.optim.Optimizer]

    def sample(self, n: int) -> Batch:
        """A batch of ``n`` recent transitions from the rollout or replay buffer."""
        ...

    def loss(self, batch: Batch) -> torch.Tensor:
        """The agent's own training loss on ``batch`` (used by gradient-based interventions)."""
        ...

    def fresh_network(self, name: str) -> nn.Module:
        """A newly initialised network with the architecture of ``networks[name]``."""
        ...

    def reset_optimizer(self, params: Iterable[nn.Parameter] | None = None) -> None:
        """Forget optimiser state (moments, step counts) for ``params``, or for everything if None."""
        ...

    def set_extra_parameters(self, name: str, params: list[nn.Parameter]) -> None:
        """Train ``params``, added to network ``name`` after its optimiser was built, replacing earlier extras."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def clear_optimizer_state(optimizer: torch.optim.Optimizer, params: Iterable[nn.Parameter] | None) -> None:
    """Drop the per-parameter state (Adam moments and step) so those parameters start afresh."""
    if params is None:
        optimizer.state.clear()
        return
    for p in params:
        optimizer.state.pop(p, None)


def set_extra_parameters(optimizer: torch.optim.Optimizer, params: list[nn.Parameter]) -> None:
    """Keep one extra parameter group for parameters added after construction (plasticity injection):
    the first call adds it, later calls swap its parameters and drop the state of the ones replaced."""
    if len(optimizer.param_groups) == 1:
        optimizer.add_param_group({"params": params})
        return
    group = optimizer.param_groups[-1]
    for p in group["params"]:
        optimizer.state.pop(p, None)
    group["params"] = list(params)
