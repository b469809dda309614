"""Agents (PPO for now) and the networks they build, behind the Learner seam."""

from __future__ import annotations

from typing import Any

from rlplastic.agents.learner import Batch, Learner
from rlplastic.agents.ppo import PPO, Hooks, PPOConfig

AGENTS = {"ppo": (PPO, PPOConfig)}


def agent_options(name: str) -> list[str]:
    """The hyper-parameter names an agent accepts (for validating ``--set agent.X=...``)."""
    return AGENTS[name][1].option_names()


def make(
    name: str,
    options: dict[str, Any],
    obs_shape: tuple[int, ...],
    num_actions: int,
    seed: int,
    hooks: Hooks | None = None,
) -> PPO:
    """Build agent ``name`` with hyper-parameters ``options`` for the given spaces; ``hooks`` may edit the
    architecture and optimiser before they are built."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}")
    cls, config = AGENTS[name]
    return cls(config(**options), obs_shape, num_actions, seed, hooks)


__all__ = ["AGENTS", "PPO", "Batch", "Hooks", "Learner", "PPOConfig", "agent_options", "make"]
